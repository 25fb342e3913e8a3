"""ImportRun and MatchCandidate: the trace of every import, and the matches a human must confirm."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idp.clock import now
from idp.extensions import db
from idp.ids import new_id
from idp.models.types import JSONType, UTCDateTime


class ImportRun(db.Model):
    """One plan or apply: who, when, which files (by hash), what it counted, how it ended.

    outcome: `planned`, `applied`, `nothing_to_do`, `rejected` (validation), `breaker`
    (circuit breaker), `stale` (database changed since the plan).
    """

    __tablename__ = "import_run"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    source: Mapped[str] = mapped_column(String(64), index=True)
    actor: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now, index=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    files: Mapped[dict] = mapped_column(JSONType, default=dict)
    summary: Mapped[dict] = mapped_column(JSONType, default=dict)
    outcome: Mapped[str] = mapped_column(String(16))
    message: Mapped[str | None] = mapped_column(Text)
    # What the run read with (config, policies) and the audit head after it: with the same
    # files, settings and head, a new run of the source has nothing to do (see runner.py).
    settings_hash: Mapped[str | None] = mapped_column(String(64))
    db_state_after: Mapped[list | None] = mapped_column(JSONType)


class MatchCandidate(db.Model):
    """A new external id that looks like a known person (same name and birth date).

    The import neither creates nor merges such a person; an operator decides: `confirmed` links
    the external id to the existing person, `rejected` lets the next import create a new one.
    """

    __tablename__ = "match_candidate"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(128))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    decision: Mapped[str | None] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
