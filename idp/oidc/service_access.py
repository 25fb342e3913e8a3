"""The services a person has given lasting access (refresh tokens), and taking it back
(ASVS V10.4.9)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from idp.clock import now
from idp.models import OAuthClient, RefreshToken
from idp.oidc.server import revoke_family


@dataclass(frozen=True)
class ServiceAccess:
    """One client holding at least one live refresh token of the person."""

    client_id: str
    name: str
    service_code: str
    since: dt.datetime  # the earliest login still behind one of its tokens
    last_used: dt.datetime  # when it last got a new token


def _live(person_id: uuid.UUID) -> ColumnElement[bool]:
    # Only the newest token of a family is neither used nor revoked.
    return (
        (RefreshToken.person_id == person_id)
        & RefreshToken.used_at.is_(None)
        & RefreshToken.revoked_at.is_(None)
        & (RefreshToken.expires_at > now())
    )


def services_with_access(session: Session, person_id: uuid.UUID) -> list[ServiceAccess]:
    """The clients that can still get tokens for the person without a login, by name."""
    rows = session.execute(
        select(
            OAuthClient.client_id,
            OAuthClient.name,
            OAuthClient.service_code,
            func.min(RefreshToken.auth_time),
            func.max(RefreshToken.issued_at),
        )
        .join(RefreshToken, RefreshToken.client_id == OAuthClient.client_id)
        .where(_live(person_id))
        .group_by(OAuthClient.client_id, OAuthClient.name, OAuthClient.service_code)
        .order_by(OAuthClient.name, OAuthClient.client_id)
    ).all()
    return [ServiceAccess(*row) for row in rows]


def revoke_access(session: Session, person_id: uuid.UUID, client_id: str) -> int:
    """End every refresh-token family of the person at the client, with its access tokens;
    how many families ended (0 if the client held none)."""
    families = session.scalars(
        select(RefreshToken.family_id)
        .where(_live(person_id), RefreshToken.client_id == client_id)
        .distinct()
    ).all()
    for family in families:
        revoke_family(family)
    return len(families)
