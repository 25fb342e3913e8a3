"""Access tokens (signed JWTs, RFC 9068 profile, not stored), refresh tokens (random, stored
as hashes), and the checks every resource endpoint makes: signature, expiry, revocation."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
import time
import uuid
from dataclasses import dataclass

from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from idp.models import RevokedToken
from idp.oidc import keys
from idp.secretbox import SecretUnreadable, seal, unseal

PERSON_REF = "access-token-person"
ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 (a media type, RFC 9068)
# Every resource request asks this; built once.
_REVOKED = (
    select(RevokedToken.__table__.c.key)
    .where(RevokedToken.__table__.c.key.in_(bindparam("keys", expanding=True)))
    .limit(1)
)


def opaque_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_opaque() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class AccessToken:
    """The verified content of an access token we issued."""

    claims: dict
    person_id: uuid.UUID | None  # None for a client-credentials token

    @property
    def client_id(self) -> str:
        return self.claims["client_id"]

    @property
    def scopes(self) -> set[str]:
        return set(str(self.claims.get("scope", "")).split())


def issue_access_token(
    session: Session,
    *,
    issuer: str,
    client_id: str,
    sub: str,
    scope: str,
    lifetime: int,
    alg: str,
    person_id: uuid.UUID | None = None,
    family_id: uuid.UUID | None = None,
    sid: str | None = None,
    extra: dict | None = None,
) -> str:
    """Sign an access token; the person behind a pairwise `sub` travels only encrypted."""
    issued = int(time.time())
    claims = {
        "iss": issuer,
        "sub": sub,
        "aud": client_id,
        "client_id": client_id,
        "scope": scope,
        "iat": issued,
        "exp": issued + lifetime,
        "jti": secrets.token_urlsafe(16),
        **(extra or {}),
    }
    if person_id is not None:
        claims["ref"] = seal(PERSON_REF, str(person_id)).decode()
    if family_id is not None:
        claims["fam"] = str(family_id)
    if sid is not None:
        claims["sid"] = sid
    return keys.sign(session, alg, ACCESS_TOKEN_TYPE, claims)


def read_access_token(session: Session, token: str, issuer: str) -> AccessToken | None:
    """The token's content if we issued it, it has not expired and was not revoked."""
    try:
        kid = _kid(token)
        key = keys.verification_key(session, kid) if kid else None
        if key is None:
            return None
        decoded = jwt.decode(token, key, algorithms=["ES256", "RS256"])
    except (JoseError, ValueError):
        return None
    claims = decoded.claims
    if decoded.header.get("typ") != ACCESS_TOKEN_TYPE or claims.get("iss") != issuer:
        return None
    if int(claims.get("exp", 0)) <= int(time.time()):
        return None
    if is_revoked(session, claims.get("jti"), claims.get("fam")):
        return None
    person_id = None
    if "ref" in claims:
        try:
            person_id = uuid.UUID(unseal(PERSON_REF, claims["ref"].encode()))
        except (SecretUnreadable, ValueError):
            return None
    return AccessToken(claims, person_id)


def _kid(token: str) -> str | None:
    """The key id from the token's header, read before any key is chosen."""
    try:
        head = token.split(".", 1)[0]
        padded = head + "=" * (-len(head) % 4)
        return json.loads(base64.urlsafe_b64decode(padded)).get("kid")
    except (ValueError, json.JSONDecodeError):
        return None


def is_revoked(session: Session, jti: str | None, family: str | None) -> bool:
    wanted = [k for k in (jti, family) if k]
    if not wanted:
        return False
    return session.execute(_REVOKED, {"keys": wanted}).first() is not None


def revoke(session: Session, key: str, kind: str, until: dt.datetime) -> None:
    """Record a revoked access token (`jti`) or family, until its tokens expire anyway."""
    if session.get(RevokedToken, key) is None:
        session.add(RevokedToken(key=key, kind=kind, expires_at=until))
