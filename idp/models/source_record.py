"""SourceRecord: which row of which source an object came from, and that row's hash."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idp.clock import now
from idp.extensions import db
from idp.models.types import BigId, UTCDateTime


class SourceRecord(db.Model):
    """Stable matching across imports; an unchanged hash makes a re-import free.

    kind: what object_id points to; the imports use `person` (guardian links are matched
    through the persons they join, organisations by their kennung).
    """

    __tablename__ = "source_record"
    __table_args__ = (UniqueConstraint("source", "kind", "external_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    object_id: Mapped[uuid.UUID] = mapped_column(index=True)
    row_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)
