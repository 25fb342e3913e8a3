"""SAML messages held while the browser is elsewhere: an AuthnRequest waiting for the login,
a single logout going round the service providers.

The browser carries only a random token (in our own URL or a RelayState); the database keeps
its SHA-256 and the message. A token works until its hold is dropped or expires.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from idp.clock import now
from idp.models import SamlHold

LOGIN = "anmeldung"
LOGOUT = "abmeldung"
# Long enough to log in, reset a forgotten second factor with the school office on the phone,
# or walk a logout round several services; short enough not to pile up.
HOLD_MINUTES = 30


@dataclass(frozen=True)
class Held:
    token: str
    payload: dict
    created_at: dt.datetime


def put(session: Session, kind: str, payload: dict) -> Held:
    token = secrets.token_urlsafe(24)
    at = now()
    session.add(
        SamlHold(
            token_hash=_hash(token),
            kind=kind,
            payload=payload,
            created_at=at,
            expires_at=at + dt.timedelta(minutes=HOLD_MINUTES),
        )
    )
    return Held(token, payload, at)


def get(session: Session, kind: str, token: str | None) -> Held | None:
    if not token or len(token) > 64:
        return None
    row = session.scalar(
        select(SamlHold).where(
            SamlHold.token_hash == _hash(token), SamlHold.kind == kind, SamlHold.expires_at > now()
        )
    )
    return None if row is None else Held(token, dict(row.payload), row.created_at)


def replace(session: Session, held: Held, payload: dict) -> Held:
    row = session.get(SamlHold, _hash(held.token))
    if row is not None:
        row.payload = payload
    return Held(held.token, payload, held.created_at)


def drop(session: Session, token: str) -> None:
    session.execute(delete(SamlHold).where(SamlHold.token_hash == _hash(token)))


def purge(session: Session) -> int:
    """Delete expired holds (the retention run); returns how many."""
    return session.execute(delete(SamlHold).where(SamlHold.expires_at <= now())).rowcount


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
