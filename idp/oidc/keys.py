"""Our signing keys: create, rotate, publish (JWKS, SAML metadata), hand out for signing.

A key is published as `next` before it signs anything, signs while `active`, and stays
published as `retired` for `[oidc] retired_key_seconds`, so every token it signed still
verifies; then it is deleted. Relying parties that cache our JWKS thus know every key
before they meet a token signed with it.

The SAML IdP's key (alg `SAML`, RSA with SHA-256) follows the same life; it carries a
self-signed certificate, and our SAML metadata publishes the active and the next one.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID
from flask import current_app
from joserfc.jwk import ECKey, RSAKey, import_key
from sqlalchemy import ColumnElement, case, delete, false, func, or_, select, update
from sqlalchemy.orm import Session

from idp import audit
from idp.clock import now
from idp.models.signing_key import KeyState, SigningAlg, SigningKey
from idp.secretbox import seal, unseal

PURPOSE = "signing-key"
RSA_BITS = 3072
# A SAML certificate only carries the key; SPs trust it because our metadata names it. It
# outlives every rotation schedule an operator would choose.
CERTIFICATE_DAYS = 3650
SYSTEM_ACTOR = "idp"
# How long a process trusts the active kid it read: a rotation in another process takes
# effect within this time (meanwhile the retired key is still published, tokens verify).
ACTIVE_KID_SECONDS = 5.0
# Identifies key management among PostgreSQL's advisory locks ("SIGN").
_PG_LOCK_ID = 0x5349474E
# Order in the JWKS: the signing key first, for relying parties that try keys in order.
_STATE_ORDER = {KeyState.ACTIVE: 0, KeyState.NEXT: 1, KeyState.RETIRED: 2}

SigningJWK = ECKey | RSAKey
_JWS_ALGS = ("ES256", "RS256")
_ES256 = ec.ECDSA(hashes.SHA256())
_PKCS1 = padding.PKCS1v15()
# One encoder for every token's claims: json.dumps with options builds a new one per call.
_CLAIMS_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Rotation:
    """What `rotate` did for one algorithm (kids)."""

    alg: str
    active: str
    next: str
    retired: str


@dataclass(frozen=True)
class SamlKeys:
    """What the SAML IdP signs with and publishes: the active key and certificate (PEM), and
    the next certificate, published before it signs anything."""

    kid: str
    private_pem: str
    certificate_pem: str
    next_certificate_pem: str | None


@dataclass
class _AppKeys:
    """Per app and process: the grace period, and the decrypted active key of each algorithm.

    Decrypting and loading a key costs up to 0.1 s (RSA checks the key), too much per
    token; the cached key is used as long as the database names it as active.
    """

    retired_key_seconds: int
    signers: dict[str, tuple[str, SigningJWK]] = field(default_factory=dict)
    saml: SamlKeys | None = None
    # (kid, typ) -> the encoded protected header and the key to sign with
    compact: dict[tuple[str, str], tuple[bytes, Any]] = field(default_factory=dict)
    # kid -> the public key, parsed; a kid is the key's thumbprint, so this never goes stale
    verifiers: dict[str, SigningJWK] = field(default_factory=dict)


def signing_key(session: Session, alg: str = "ES256") -> tuple[str, SigningJWK]:
    """The active key for `alg` as (kid, joserfc key); creates the first keys if there are none.

    Asks the database for the active kid at most every ACTIVE_KID_SECONDS; raises ValueError
    for an algorithm we do not sign with.
    """
    algorithm = _algorithm(alg)
    cache = _app_keys().signers
    cached = cache.get(algorithm)
    if cached is None or cached[0] != _active_kid(session, algorithm):
        cached = cache[algorithm] = _load_active(session, algorithm)
    return cached


def sign(session: Session, alg: str, typ: str, claims: dict[str, Any]) -> str:
    """`claims` as a compact JWS (a JWT of type `typ`) signed with the active key for `alg`.

    What joserfc's `jwt.encode` makes, without its checks of header and key on every call:
    the header is the same for every token of a key and type, so it is encoded once.
    """
    if alg not in _JWS_ALGS:
        raise ValueError(f"{alg}: not a JWS algorithm of ours")
    kid, key = signing_key(session, alg)
    cache = _app_keys().compact
    found = cache.get((kid, typ))
    if found is None:
        header = {"alg": alg, "kid": kid, "typ": typ}
        encoded = _b64(json.dumps(header, separators=(",", ":")).encode())
        found = cache[(kid, typ)] = (encoded, key.get_op_key("sign"))
    head, private = found
    payload = _b64(_CLAIMS_JSON.encode(claims).encode())
    message = head + b"." + payload
    if alg == "ES256":
        r, s = decode_dss_signature(private.sign(message, _ES256))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        signature = private.sign(message, _PKCS1, hashes.SHA256())
    return (message + b"." + _b64(signature)).decode()


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def verification_key(session: Session, kid: str) -> SigningJWK | None:
    """The public key with this kid if it is still published (tokens signed with it are valid)."""
    if not isinstance(kid, str):  # it comes from an untrusted token header
        return None
    # Asked every time: a key stops verifying the moment its grace period ends.
    jwk = session.scalar(select(SigningKey.public_jwk).where(SigningKey.kid == kid, _published()))
    if jwk is None:
        return None
    parsed = _app_keys().verifiers
    found = parsed.get(kid)
    if found is None:
        found = parsed[kid] = import_key(jwk)  # type: ignore[assignment]
    return found


def saml_keys(session: Session) -> SamlKeys:
    """The SAML key pair to sign with and the certificates to publish; one query per call.

    The decrypted key is kept per process while the database names it as active and the
    next certificate is unchanged.
    """
    rows = {
        row.state: row
        for row in session.execute(
            select(SigningKey.kid, SigningKey.state, SigningKey.certificate_pem).where(
                SigningKey.alg == SigningAlg.SAML, SigningKey.state != KeyState.RETIRED
            )
        )
    }
    if KeyState.ACTIVE not in rows:
        ensure_keys(session)
        return saml_keys(session)
    active, upcoming = rows[KeyState.ACTIVE], rows.get(KeyState.NEXT)
    next_pem = upcoming.certificate_pem if upcoming is not None else None
    app_keys = _app_keys()
    cached = app_keys.saml
    if cached is None or cached.kid != active.kid or cached.next_certificate_pem != next_pem:
        sealed = session.scalar(
            select(SigningKey.private_key_sealed).where(SigningKey.kid == active.kid)
        )
        cached = app_keys.saml = SamlKeys(
            kid=active.kid,
            private_pem=unseal(PURPOSE, sealed),
            certificate_pem=active.certificate_pem,
            next_certificate_pem=next_pem,
        )
    return cached


def jwks(session: Session) -> dict[str, list[dict[str, Any]]]:
    """The JWK Set to publish: next, active, and retired keys within their grace period.

    Read-only: keys are created by the first signing, by `ensure_keys` or `idp keys rotate`.
    """
    rows = session.scalars(
        select(SigningKey.public_jwk)
        .where(_published(), SigningKey.alg != SigningAlg.SAML)
        .order_by(SigningKey.alg, _state_order(), SigningKey.created_at.desc())
    )
    return {"keys": list(rows)}


def ensure_keys(session: Session, actor: str = SYSTEM_ACTOR) -> None:
    """Create the missing active and next key of each algorithm, in the caller's transaction.

    Safe when processes race: key changes are serialised (see `_lock`), and a unique index
    allows one active and one next key per algorithm.
    """
    complete = 2 * len(SigningAlg)
    if _current_count(session) == complete:
        return
    _lock(session)
    present = {
        (row.alg, row.state)
        for row in session.execute(
            select(SigningKey.alg, SigningKey.state).where(SigningKey.state != KeyState.RETIRED)
        )
    }
    at = now()
    for alg in SigningAlg:
        for state in (KeyState.ACTIVE, KeyState.NEXT):
            if (alg, state) not in present:
                key = _create(session, alg, state, at)
                audit.record(
                    session,
                    audit.Event(
                        actor,
                        "signierschluessel.erzeugt",
                        key.kid,
                        details={"alg": alg.value, "state": state.value},
                    ),
                )
    session.flush()


def rotate(
    session: Session, algs: tuple[str, ...] = tuple(SigningAlg), actor: str = SYSTEM_ACTOR
) -> tuple[list[Rotation], list[str]]:
    """Per algorithm: next becomes active, active becomes retired, a new next key is created.

    Then prunes expired retired keys. All in the caller's transaction; returns what was
    rotated and the kids pruned.
    """
    algorithms = [_algorithm(alg) for alg in algs]
    _lock(session)
    ensure_keys(session, actor)
    at = now()
    rotations = []
    for alg in algorithms:
        current = {
            key.state: key
            for key in session.scalars(
                select(SigningKey).where(
                    SigningKey.alg == alg, SigningKey.state != KeyState.RETIRED
                )
            )
        }
        old, promoted = current[KeyState.ACTIVE], current[KeyState.NEXT]
        # One flush per step: the unique index must never see two active keys.
        old.state, old.retired_at = KeyState.RETIRED, at
        session.flush()
        promoted.state, promoted.activated_at = KeyState.ACTIVE, at
        session.flush()
        new = _create(session, alg, KeyState.NEXT, at)
        rotation = Rotation(alg=alg.value, active=promoted.kid, next=new.kid, retired=old.kid)
        audit.record(
            session,
            audit.Event(
                actor,
                "signierschluessel.rotiert",
                promoted.kid,
                details={
                    "alg": rotation.alg,
                    "aktiv": rotation.active,
                    "naechster": rotation.next,
                    "zurueckgezogen": rotation.retired,
                },
            ),
        )
        rotations.append(rotation)
    forget_active_kids()
    return rotations, prune(session, actor)


def prune(session: Session, actor: str = SYSTEM_ACTOR) -> list[str]:
    """Delete retired keys whose grace period is over; returns their kids."""
    kids = list(
        session.scalars(
            select(SigningKey.kid).where(
                SigningKey.state == KeyState.RETIRED, SigningKey.retired_at <= _retire_cutoff()
            )
        )
    )
    if kids:
        session.execute(delete(SigningKey).where(SigningKey.kid.in_(kids)))
        audit.append_many(
            session, [audit.Event(actor, "signierschluessel.entfernt", kid) for kid in kids]
        )
    return kids


def list_keys(session: Session) -> list[dict[str, Any]]:
    """Every stored key without private material, in JWKS order, for operators."""
    cutoff = _retire_cutoff()
    return [
        {
            "kid": key.kid,
            "alg": key.alg.value,
            "state": key.state.value,
            "published": key.state != KeyState.RETIRED or key.retired_at > cutoff,
            "created_at": key.created_at.isoformat(),
            "activated_at": _iso(key.activated_at),
            "retired_at": _iso(key.retired_at),
        }
        for key in session.scalars(
            select(SigningKey).order_by(
                SigningKey.alg, _state_order(), SigningKey.created_at.desc()
            )
        )
    ]


def _create(session: Session, alg: SigningAlg, state: KeyState, at: dt.datetime) -> SigningKey:
    pem = _generate(alg)
    key = _load(alg, pem)
    row = SigningKey(
        kid=key.kid,
        alg=alg,
        state=state,
        private_key_sealed=seal(PURPOSE, pem),
        public_jwk=key.as_dict(private=False),
        certificate_pem=_certificate(pem, at) if alg is SigningAlg.SAML else None,
        created_at=at,
        activated_at=at if state is KeyState.ACTIVE else None,
    )
    session.add(row)
    session.flush()
    return row


def _generate(alg: SigningAlg) -> str:
    """A new private key as unencrypted PKCS#8 PEM (it is sealed before it is stored)."""
    private: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    if alg is SigningAlg.ES256:
        private = ec.generate_private_key(ec.SECP256R1())
    else:
        private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    return private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _certificate(private_pem: str, at: dt.datetime) -> str:
    """A self-signed X.509 certificate for a SAML key (SHA-256), as PEM."""
    private = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    issuer = current_app.config["IDP"].issuer
    host = issuer.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "schul-idp"
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, host[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "schul-idp SAML"),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(at - dt.timedelta(hours=1))
        .not_valid_after(at + dt.timedelta(days=CERTIFICATE_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def _load(alg: SigningAlg, pem: str, kid: str | None = None) -> SigningJWK:
    """The joserfc key for a PEM; its kid is the RFC 7638 thumbprint."""
    cls = ECKey if alg is SigningAlg.ES256 else RSAKey
    jws_alg = "RS256" if alg is SigningAlg.SAML else alg.value
    parameters: dict[str, Any] = {"alg": jws_alg, "use": "sig"}
    if kid:
        parameters["kid"] = kid
    key = cls.import_key(pem, parameters=parameters)  # type: ignore[arg-type]
    key.ensure_kid()
    return key


def _algorithm(alg: str) -> SigningAlg:
    try:
        return SigningAlg(alg)
    except ValueError:
        raise ValueError(f"{alg}: not a signing algorithm of ours") from None


def _load_active(session: Session, alg: SigningAlg) -> tuple[str, SigningJWK]:
    """The active key, decrypted; the first keys are created here if there are none."""
    query = select(SigningKey.kid, SigningKey.private_key_sealed).where(
        SigningKey.alg == alg, SigningKey.state == KeyState.ACTIVE
    )
    row = session.execute(query).one_or_none()
    if row is None:
        ensure_keys(session)
        row = session.execute(query).one()
    return row.kid, _load(alg, unseal(PURPOSE, row.private_key_sealed), row.kid)


def _active_kid(session: Session, alg: SigningAlg) -> str | None:
    """The active kid as this process read it at most ACTIVE_KID_SECONDS ago."""
    known = _active_kids()
    kid, read_at = known.get(alg, (None, 0.0))
    if kid is not None and time.monotonic() - read_at < ACTIVE_KID_SECONDS:
        return kid
    kid = session.scalar(
        select(SigningKey.kid).where(SigningKey.alg == alg, SigningKey.state == KeyState.ACTIVE)
    )
    if kid is not None:
        known[alg] = (kid, time.monotonic())
    return kid


def forget_active_kids() -> None:
    """The next signing reads the active kid from the database again (after a rotation)."""
    _active_kids().clear()


def _active_kids() -> dict[SigningAlg, tuple[str, float]]:
    """Per app and process: each algorithm's active kid and when it was read (monotonic)."""
    return current_app.extensions.setdefault("idp.oidc.keys.active_kids", {})


def _current_count(session: Session) -> int:
    return session.scalar(
        select(func.count()).select_from(SigningKey).where(SigningKey.state != KeyState.RETIRED)
    )


def _lock(session: Session) -> None:
    """Serialise key changes between processes (two first signings, two rotations at once).

    Whoever waits reads the winner's keys afterwards and does not create or rotate twice.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_PG_LOCK_ID)))
    else:
        # SQLite has one writer at a time; a write that changes nothing takes that lock.
        table = SigningKey.__table__
        session.execute(update(table).where(false()).values(state=table.c.state))


def _published() -> ColumnElement[bool]:
    return or_(SigningKey.state != KeyState.RETIRED, SigningKey.retired_at > _retire_cutoff())


def _state_order() -> ColumnElement[int]:
    return case(_STATE_ORDER, value=SigningKey.state)


def _retire_cutoff() -> dt.datetime:
    return now() - dt.timedelta(seconds=_app_keys().retired_key_seconds)


def _app_keys() -> _AppKeys:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get("idp.oidc.keys")
    if found is None:
        found = app.extensions["idp.oidc.keys"] = _AppKeys(
            app.config["IDP"]["oidc"]["retired_key_seconds"]
        )
    return found


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None
