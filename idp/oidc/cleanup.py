"""Nightly cleanup of what OIDC leaves behind once it can no longer matter."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.orm import Session

from idp.clock import now
from idp.models import AuthorizationCode, LogoutDelivery, RefreshToken, RevokedToken

# A used code is kept this long, so a second use is recognised and revokes what the first got.
USED_CODE_MEMORY = dt.timedelta(days=1)


def purge(session: Session) -> int:
    """Delete expired codes, refresh tokens, revocations and finished deliveries; how many."""
    at = now()
    statements = [
        delete(AuthorizationCode).where(AuthorizationCode.expires_at < at - USED_CODE_MEMORY),
        delete(RefreshToken).where(RefreshToken.expires_at < at),
        delete(RevokedToken).where(RevokedToken.expires_at < at),
        delete(LogoutDelivery).where(
            (LogoutDelivery.delivered_at.is_not(None)) | (LogoutDelivery.given_up.is_(True)),
            LogoutDelivery.created_at < at - dt.timedelta(days=7),
        ),
    ]
    return sum(session.execute(statement).rowcount or 0 for statement in statements)
