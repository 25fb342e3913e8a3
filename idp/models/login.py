"""What a login leaves in the database: sessions, second factors, failed-attempt counters."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.clock import now
from idp.extensions import db
from idp.ids import new_id
from idp.models.types import JSONType, UTCDateTime


class LoginSession(db.Model):
    """One browser's server-side session; the cookie carries a random token, we keep its hash.

    Anonymous until a login completes (then `person_id`, `auth_time` and `amr` are set).
    """

    __tablename__ = "login_session"

    # Public id: shown on "my sessions" and used to end one; never the cookie's token.
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    data: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    # How the login was made: RFC 8176 methods ("pwd", "otp") and when.
    auth_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    amr: Mapped[list] = mapped_column(JSONType, default=list)
    otp_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))


class TotpCredential(db.Model):
    """A person's TOTP secret, encrypted; confirmed once the person entered a first code."""

    __tablename__ = "totp_credential"

    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The last 30-second step a code was accepted for: a code works only once.
    last_step: Mapped[int] = mapped_column(Integer, default=0)


class RecoveryCode(db.Model):
    """One one-time recovery code, stored only as a password hash."""

    __tablename__ = "recovery_code"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class LoginThrottle(db.Model):
    """Failed logins per account name or client address, shared by all app processes.

    The key is a keyed hash, so neither names nor addresses are stored in clear.
    """

    __tablename__ = "login_throttle"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "account" or "ip"
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    blocked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
