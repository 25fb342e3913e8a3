"""OutboxEvent: written in the same transaction as the change that caused it."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from idp.clock import now
from idp.extensions import db
from idp.models.types import BigId, UTCDateTime


class OutboxEvent(db.Model):
    """service None means: every connector that cares about this object."""

    __tablename__ = "outbox_event"
    __table_args__ = (
        # Only the events still to do, in id order (what workers look for), and the claimed
        # ones (whose lease may run out). Marking an event done only takes it out of these:
        # after a whole state's import that is done to some 450,000 events at once.
        Index(
            "ix_outbox_event_pending",
            "id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "ix_outbox_event_working",
            "claimed_at",
            sqlite_where=text("status = 'working'"),
            postgresql_where=text("status = 'working'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    service: Mapped[str | None] = mapped_column(String(40))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[uuid.UUID] = mapped_column(index=True)
    operation: Mapped[str] = mapped_column(String(16))
    payload_hash: Mapped[str | None] = mapped_column(String(64))
    not_before: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # pending, working (claimed by a worker since claimed_at), done, dead (parked)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
