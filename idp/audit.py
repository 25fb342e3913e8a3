"""The audit trail: append events to a hash chain, and verify that nothing was changed.

Each event's hash covers its own fields and the previous event's hash. Changing a row breaks
its hash; deleting a row breaks the link of the next one; deleting the newest rows no longer
matches the head row, which is updated in the same transaction as every append.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.bulk import bulk_insert
from idp.clock import now
from idp.models.audit import AuditEvent, AuditHead

GENESIS = "0" * 64
HEAD_ID = 1


@dataclass(frozen=True)
class Event:
    """What happened, before it is numbered and chained."""

    actor: str
    action: str
    target: str | None = None
    organisation_id: uuid.UUID | None = None
    details: dict = field(default_factory=dict)


# One encoder for all events: json.dumps with options builds a new one per call.
_CANONICAL = json.JSONEncoder(
    sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
)


def canonical_json(data: dict) -> str:
    return _CANONICAL.encode(data)


@lru_cache(maxsize=64)
def _utc_text(time: dt.datetime) -> str:
    # An import stamps half a million events with the same time.
    return time.astimezone(dt.UTC).isoformat()


def event_hash(
    id: int,
    time: dt.datetime,
    actor: str,
    action: str,
    target: str | None,
    organisation_id: uuid.UUID | None,
    details: str,
    prev_hash: str,
) -> str:
    """SHA-256 over every field, each length-prefixed so no two events encode the same."""
    fields = (
        str(id),
        _utc_text(time),
        actor,
        action,
        "" if target is None else "t" + target,
        "" if organisation_id is None else str(organisation_id),
        details,
        prev_hash,
    )
    encoded = "".join(f"{len(f)}:{f}" for f in fields)
    return hashlib.sha256(encoded.encode()).hexdigest()


def row_hash(row: AuditEvent) -> str:
    """The hash a stored event (or a row of the table) must carry."""
    return event_hash(
        row.id,
        row.time,
        row.actor,
        row.action,
        row.target,
        row.organisation_id,
        row.details,
        row.prev_hash,
    )


def record(session: Session, event: Event) -> None:
    """Append one event in the caller's transaction."""
    append_many(session, [event])


def append_many(session: Session, events: Iterable[Event], at: dt.datetime | None = None) -> int:
    """Append events in the caller's transaction, in one INSERT; returns how many."""
    head = _locked_head(session)
    last_id, last_hash = head.last_id, head.last_hash
    time = at or now()
    rows = []
    for event in events:
        last_id += 1
        details = canonical_json(event.details)
        digest = event_hash(
            last_id,
            time,
            event.actor,
            event.action,
            event.target,
            event.organisation_id,
            details,
            last_hash,
        )
        rows.append(
            {
                "id": last_id,
                "time": time,
                "actor": event.actor,
                "action": event.action,
                "target": event.target,
                "organisation_id": event.organisation_id,
                "details": details,
                "prev_hash": last_hash,
                "hash": digest,
            }
        )
        last_hash = digest
    if rows:
        bulk_insert(session, AuditEvent.__table__, rows)
        head.last_id, head.last_hash = last_id, last_hash
        session.flush()
    return len(rows)


def _locked_head(session: Session) -> AuditHead:
    # FOR UPDATE serialises appenders on PostgreSQL; SQLite has one writer at a time anyway.
    head = session.scalars(
        select(AuditHead).where(AuditHead.id == HEAD_ID).with_for_update()
    ).one_or_none()
    if head is None:
        head = AuditHead(id=HEAD_ID, last_id=0, last_hash=GENESIS)
        session.add(head)
        session.flush()
    return head


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    problems: tuple[str, ...]


def verify(session: Session, batch: int = 5000) -> VerifyResult:
    """Walk the whole chain; report every changed, missing or re-ordered row."""
    problems: list[str] = []
    expected_id, prev_hash, checked = 1, GENESIS, 0
    for row in _rows(session, batch):
        checked += 1
        if row.id != expected_id:
            problems.append(f"event {expected_id}..{row.id - 1}: missing (deleted)")
        if row.prev_hash != prev_hash:
            problems.append(f"event {row.id}: does not follow the event before it")
        if row_hash(row) != row.hash:
            problems.append(f"event {row.id}: content changed")
        expected_id, prev_hash = row.id + 1, row.hash
    head = session.get(AuditHead, HEAD_ID)
    head_id, head_hash = (head.last_id, head.last_hash) if head else (0, GENESIS)
    if head_id != expected_id - 1 or head_hash != prev_hash:
        problems.append(
            f"newest events missing: chain ends at {expected_id - 1}, head says {head_id}"
        )
    return VerifyResult(ok=not problems, checked=checked, problems=tuple(problems))


def _rows(session: Session, batch: int) -> Iterator:
    # Plain rows, fetched in batches: the chain can hold millions of events.
    table = AuditEvent.__table__
    last = 0
    while True:
        rows = session.execute(
            select(table).where(table.c.id > last).order_by(table.c.id).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id
