"""Nightly cleanup of what SAML leaves behind: expired holds, and the SP sessions of logins
that ended without a logout (they expired, so no SP can be told any more)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from idp.models import LoginSession, SamlSession
from idp.saml import holds


def purge(session: Session) -> int:
    """Delete expired holds and orphaned SP sessions; returns how many rows went."""
    orphaned = delete(SamlSession).where(
        SamlSession.login_session_id.not_in(select(LoginSession.id))
    )
    return holds.purge(session) + (session.execute(orphaned).rowcount or 0)
