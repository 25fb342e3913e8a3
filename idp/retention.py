"""Retention: lock the accounts of people who left, and delete them when their time is up.

The periods come from policies/retention.toml; the import sets `ausgeschieden_am` and
`loeschdatum` when a person's last context ends. Deleting removes the person with their
contexts, relations and source records; the audit trail keeps that it happened.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from idp import audit
from idp.bulk import chunks
from idp.clock import today
from idp.models import (
    OutboxEvent,
    Person,
    Personenkontext,
    PersonStatus,
    SourceRecord,
)
from idp.policy.loader import Policies


@dataclass
class RetentionResult:
    locked: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def run_retention(
    session: Session, policies: Policies, actor: str, on: dt.date | None = None
) -> RetentionResult:
    """Lock and delete what is due on `on` (default today), in the caller's transaction."""
    on = on or today()
    result = RetentionResult()
    _note_leavers_by_date(session, policies, on)
    leavers = session.scalars(
        select(Person).where(Person.ausgeschieden_am.is_not(None)).order_by(Person.username)
    ).all()
    rollenarten = _rollenarten(session, policies, [p.id for p in leavers])
    events = []
    for person in leavers:
        if person.loeschdatum is not None and person.loeschdatum <= on:
            result.deleted.append(person.username)
            events.append(
                audit.Event(
                    actor,
                    "person.geloescht",
                    f"person:{person.username}",
                    details={"ausgeschieden_am": str(person.ausgeschieden_am)},
                )
            )
            _delete(session, person)
            continue
        rules = [policies.retention.for_rollenart(r) for r in rollenarten.get(person.id, ())]
        lock_after = max(
            (r.lock_after_days for r in rules), default=policies.retention.default.lock_after_days
        )
        due = person.ausgeschieden_am + dt.timedelta(days=lock_after) <= on
        if due and person.status == PersonStatus.AKTIV:
            person.status = PersonStatus.AUSGESCHIEDEN
            result.locked.append(person.username)
            events.append(
                audit.Event(
                    actor,
                    "person.gesperrt",
                    f"person:{person.username}",
                    details={"grund": "ausgeschieden"},
                )
            )
            session.add(OutboxEvent(object_type="person", object_id=person.id, operation="upsert"))
    audit.append_many(session, events)
    return result


def _note_leavers_by_date(session: Session, policies: Policies, on: dt.date) -> None:
    """Persons whose last context ran out by its date (a Referendar's end) have left too."""
    still_there = select(Personenkontext.person_id).where(
        or_(Personenkontext.valid_until.is_(None), Personenkontext.valid_until >= on)
    )
    rows = session.execute(
        select(Person, func.max(Personenkontext.valid_until))
        .join(Personenkontext, Personenkontext.person_id == Person.id)
        .where(Person.ausgeschieden_am.is_(None), Person.id.not_in(still_there))
        .group_by(Person.id)
    ).all()
    rollenarten = _rollenarten(session, policies, [p.id for p, _ in rows])
    for person, last_day in rows:
        rules = [policies.retention.for_rollenart(r) for r in rollenarten.get(person.id, ())]
        delete_after = max(
            (r.delete_after_days for r in rules),
            default=policies.retention.default.delete_after_days,
        )
        person.ausgeschieden_am = last_day + dt.timedelta(days=1)
        person.loeschdatum = person.ausgeschieden_am + dt.timedelta(days=delete_after)
    session.flush()


def _rollenarten(
    session: Session, policies: Policies, ids: list[uuid.UUID]
) -> dict[uuid.UUID, set[str]]:
    found: dict[uuid.UUID, set[str]] = {}
    for chunk in chunks(ids):
        rows = session.execute(
            select(Personenkontext.person_id, Personenkontext.rolle).where(
                Personenkontext.person_id.in_(chunk)
            )
        )
        for person_id, rolle in rows:
            if rolle in policies.roles:
                found.setdefault(person_id, set()).add(policies.roles[rolle].rollenart)
    return found


def _delete(session: Session, person: Person) -> None:
    session.add(OutboxEvent(object_type="person", object_id=person.id, operation="delete"))
    session.execute(
        delete(SourceRecord).where(
            SourceRecord.kind == "person", SourceRecord.object_id == person.id
        )
    )
    session.delete(person)
