"""Signing keys of the OpenID provider: generation, sealing at rest, JWKS, rotation, pruning."""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import time
from collections import Counter

import pytest
import time_machine
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, import_key
from joserfc.jws import extract_compact
from sqlalchemy import delete, event, func, select, text
from sqlalchemy.orm import Session

from idp import audit
from idp.extensions import db
from idp.models import AuditEvent, SigningKey
from idp.oidc import keys
from idp.secretbox import SecretUnreadable, seal, unseal

START = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)
GRACE = dt.timedelta(seconds=86400)  # [oidc] retired_key_seconds, the default
CLAIMS = {"iss": "https://idp.example", "sub": "abc", "aud": "client"}
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi"}


def states(session) -> Counter:
    rows = session.execute(select(SigningKey.alg, SigningKey.state))
    return Counter((r.alg, r.state) for r in rows)


def sign(session, alg: str = "ES256") -> str:
    kid, key = keys.signing_key(session, alg)
    return jwt.encode({"alg": alg, "kid": kid}, CLAIMS, key, [alg])


def verifies_with_jwks(session, token: str) -> bool:
    key_set = KeySet.import_key_set(keys.jwks(session))
    try:
        return jwt.decode(token, key_set, algorithms=["ES256", "RS256"]).claims == CLAIMS
    except JoseError:  # e.g. no key with this kid
        return False


def published_kids(session) -> set[str]:
    return {k["kid"] for k in keys.jwks(session)["keys"]}


@pytest.fixture(autouse=True)
def fresh_installation(request):
    """Start without keys, like an installation before its first token (the test template
    database already has some)."""
    if "session" in request.fixturenames:
        session = request.getfixturevalue("session")
        session.execute(delete(SigningKey))
        session.commit()


def test_generated_keys_are_p256_and_rsa_3072(session):
    keys.ensure_keys(session)
    rows = session.scalars(select(SigningKey)).all()
    assert {(r.alg, r.state) for r in rows} == {
        (alg, state) for alg in ("ES256", "RS256", "SAML") for state in ("active", "next")
    }
    for row in rows:
        private = load_pem_private_key(unseal(keys.PURPOSE, row.private_key_sealed).encode(), None)
        if row.alg == "ES256":
            assert isinstance(private, ec.EllipticCurvePrivateKey)
            assert isinstance(private.curve, ec.SECP256R1)
        else:
            assert isinstance(private, rsa.RSAPrivateKey)
            assert private.key_size >= 3072
        public = import_key(row.public_jwk)
        assert public.thumbprint() == row.kid  # RFC 7638
        assert public.as_dict()["kid"] == row.kid


def test_private_keys_are_sealed_at_rest(session):
    keys.ensure_keys(session)
    session.commit()
    stored = session.execute(text("SELECT private_key_sealed FROM signing_key")).scalars().all()
    assert len(stored) == 6  # ES256, RS256 and SAML, each active and next
    for value in stored:
        assert b"PRIVATE KEY" not in bytes(value)
        assert b"-----BEGIN" not in bytes(value)
        with pytest.raises(SecretUnreadable):
            unseal(keys.PURPOSE, value, secret_key="another-installations-secret")
        with pytest.raises(SecretUnreadable):  # a sealed key is no TOTP seed, and vice versa
            unseal("totp", value)


def test_values_sealed_with_fernet_before_stay_readable():
    """Keys (and TOTP seeds) stored before sealing moved to AES-GCM-SIV are Fernet tokens."""
    secret = "an-installations-secret"
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"schul-idp/" + keys.PURPOSE.encode()
    ).derive(secret.encode())
    old = Fernet(base64.urlsafe_b64encode(derived)).encrypt(b"-----BEGIN PRIVATE KEY-----")
    assert unseal(keys.PURPOSE, old, secret_key=secret) == "-----BEGIN PRIVATE KEY-----"
    with pytest.raises(SecretUnreadable):
        unseal("totp", old, secret_key=secret)
    new = seal(keys.PURPOSE, "-----BEGIN PRIVATE KEY-----", secret_key=secret)
    assert new != old and b"PRIVATE" not in new
    assert unseal(keys.PURPOSE, new, secret_key=secret) == "-----BEGIN PRIVATE KEY-----"
    with pytest.raises(SecretUnreadable):
        unseal("totp", new, secret_key=secret)


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
def test_token_signed_with_the_active_key_verifies_with_the_jwks(session, alg):
    token = sign(session, alg)  # the first signing creates the keys
    session.commit()

    assert verifies_with_jwks(session, token)
    kid = jwt.decode(token, keys.verification_key(session, _kid(token)), [alg]).header["kid"]
    assert kid == session.scalar(
        select(SigningKey.kid).where(SigningKey.alg == alg, SigningKey.state == "active")
    )
    assert keys.verification_key(session, "no-such-kid") is None
    assert keys.verification_key(session, {"kid": "forged"}) is None  # type: ignore[arg-type]
    published = keys.jwks(session)["keys"]
    assert len(published) == 4  # the SAML key is published in the SAML metadata only
    for jwk in published:
        assert jwk["use"] == "sig"
        assert jwk["alg"] in ("ES256", "RS256")
        assert jwk["kid"]
        assert not PRIVATE_MEMBERS & set(jwk)


def test_an_unknown_algorithm_is_refused(session):
    with pytest.raises(ValueError, match="HS256"):
        keys.signing_key(session, "HS256")


def test_the_decrypted_key_is_cached_until_the_active_key_changes(session):
    first = keys.signing_key(session, "RS256")
    assert keys.signing_key(session, "RS256") is first
    keys.rotate(session, ("RS256",))
    second = keys.signing_key(session, "RS256")
    assert second[0] != first[0]
    assert keys.signing_key(session, "RS256") is second


def test_rotation_moves_next_to_active_and_active_to_retired(session):
    keys.ensure_keys(session)
    before = {(r.alg, r.state): r.kid for r in session.scalars(select(SigningKey))}
    old_token = sign(session)

    rotations, pruned = keys.rotate(session, actor="cli:admin")
    session.commit()

    after = {(r.alg, r.state): r.kid for r in session.scalars(select(SigningKey))}
    for alg in ("ES256", "RS256", "SAML"):
        assert after[(alg, "active")] == before[(alg, "next")]
        assert after[(alg, "retired")] == before[(alg, "active")]
        assert after[(alg, "next")] not in before.values()
    assert {r.alg: r.active for r in rotations} == {
        "ES256": before[("ES256", "next")],
        "RS256": before[("RS256", "next")],
        "SAML": before[("SAML", "next")],
    }
    assert pruned == []
    saml_kids = {kid for (alg, _), kid in after.items() if alg == "SAML"}
    assert published_kids(session) == set(after.values()) - saml_kids
    assert verifies_with_jwks(session, old_token)  # signed before, still valid after
    assert _kid(sign(session)) == after[("ES256", "active")]
    logged = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "signierschluessel.rotiert")
    ).all()
    assert [(e.actor, e.target) for e in logged] == [("cli:admin", r.active) for r in rotations]
    assert audit.verify(session).ok


def test_retired_key_leaves_the_jwks_after_its_grace_period(session):
    with time_machine.travel(START, tick=False) as clock:
        token = sign(session)
        retired = _kid(token)
        keys.rotate(session)
        session.commit()

        clock.shift(GRACE - dt.timedelta(seconds=1))
        assert retired in published_kids(session)
        assert keys.verification_key(session, retired) is not None
        assert verifies_with_jwks(session, token)

        clock.shift(dt.timedelta(seconds=2))
        assert retired not in published_kids(session)
        assert keys.verification_key(session, retired) is None
        assert not verifies_with_jwks(session, token)

        _, pruned = keys.rotate(session)
        session.commit()
    assert retired in pruned
    assert session.get(SigningKey, retired) is None
    assert Counter(state for _, state in states(session).elements()) == {
        "active": 3,
        "next": 3,
        "retired": 3,  # those of this rotation stay for their own grace period
    }
    removed = session.scalars(
        select(AuditEvent.target).where(AuditEvent.action == "signierschluessel.entfernt")
    ).all()
    assert sorted(removed) == sorted(pruned)


def test_a_failed_rotation_changes_nothing(session, monkeypatch):
    keys.ensure_keys(session)
    session.commit()
    before = {(r.alg, r.state): r.kid for r in session.scalars(select(SigningKey))}
    generate = keys._generate

    def fail_for_rsa(alg):
        if alg == "RS256":
            raise RuntimeError("no entropy")
        return generate(alg)

    monkeypatch.setattr(keys, "_generate", fail_for_rsa)
    with pytest.raises(RuntimeError):
        keys.rotate(session)  # ES256 is rotated before RS256 fails
    session.rollback()
    assert {(r.alg, r.state): r.kid for r in session.scalars(select(SigningKey))} == before


def test_ensure_keys_twice_keeps_one_active_and_one_next_per_algorithm(session):
    keys.ensure_keys(session)
    keys.ensure_keys(session)
    session.commit()
    keys.ensure_keys(session)
    assert states(session) == {
        ("ES256", "active"): 1,
        ("ES256", "next"): 1,
        ("RS256", "active"): 1,
        ("RS256", "next"): 1,
        ("SAML", "active"): 1,
        ("SAML", "next"): 1,
    }


def test_ensure_keys_racing_another_process_creates_keys_once(app, session):
    last_event = session.scalar(select(func.max(AuditEvent.id))) or 0
    keys.ensure_keys(session)  # ours: created, not yet committed
    other_waits = threading.Event()
    errors: list[BaseException] = []

    def note_lock(conn, cursor, statement, parameters, context, executemany):
        if threading.current_thread() is other and (
            "pg_advisory_xact_lock" in statement or "WHERE 0 = 1" in statement
        ):
            other_waits.set()

    def other_process():
        try:
            with app.app_context(), Session(db.engine) as own:
                keys.ensure_keys(own)
                own.commit()
        except BaseException as exc:
            errors.append(exc)

    event.listen(db.engine, "before_cursor_execute", note_lock)
    other = threading.Thread(target=other_process)
    try:
        other.start()
        assert other_waits.wait(timeout=30)  # it saw no keys and asks for the lock
        time.sleep(0.3)
        assert other.is_alive()  # held up by our uncommitted keys
        session.commit()
        other.join(timeout=30)
    finally:
        event.remove(db.engine, "before_cursor_execute", note_lock)
    assert errors == []
    assert set(states(session).values()) == {1}
    assert len(states(session)) == 6
    created = session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "signierschluessel.erzeugt", AuditEvent.id > last_event
        )
    ).all()
    assert len(created) == 6


def test_cli_rotate_and_list_never_show_private_keys(database_url, run_idp):
    env = {"IDP_DATABASE_URL": database_url}
    first = run_idp("keys", "rotate", "--json", env=env)
    assert first.returncode == 0, first.stderr
    rotated = json.loads(first.stdout)
    assert [r["alg"] for r in rotated["rotated"]] == ["ES256", "RS256", "SAML"]
    assert rotated["pruned"] == []

    only_rsa = run_idp("keys", "rotate", "--alg", "RS256", "--json", env=env)
    assert only_rsa.returncode == 0, only_rsa.stderr
    assert [r["alg"] for r in json.loads(only_rsa.stdout)["rotated"]] == ["RS256"]

    listed = run_idp("keys", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert Counter((r["alg"], r["state"]) for r in rows) == {
        ("ES256", "active"): 1,
        ("ES256", "next"): 1,
        ("ES256", "retired"): 1,
        ("RS256", "active"): 1,
        ("RS256", "next"): 1,
        ("RS256", "retired"): 2,
        ("SAML", "active"): 1,
        ("SAML", "next"): 1,
        ("SAML", "retired"): 1,
    }
    for row in rows:
        assert set(row) == {
            "kid",
            "alg",
            "state",
            "published",
            "created_at",
            "activated_at",
            "retired_at",
        }
        assert row["published"] is True
    for output in (
        first.stdout,
        only_rsa.stdout,
        listed.stdout,
        run_idp("keys", "list", env=env).stdout,
    ):
        assert "PRIVATE" not in output
        assert '"d"' not in output

    wrong = run_idp("keys", "rotate", "--alg", "HS256", env=env)
    assert wrong.returncode == 2


def _kid(token: str) -> str:
    return extract_compact(token.encode()).headers()["kid"]
