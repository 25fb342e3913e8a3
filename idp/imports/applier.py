"""Carry out a plan in one transaction, in bulk SQL, with audit and outbox events.

Either everything in the plan is written, or (error, kill -9, stale plan, circuit breaker)
nothing is: the caller commits once at the end, and a crash rolls the transaction back.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sqlalchemy import bindparam, delete, select, text, update
from sqlalchemy.orm import Session

from idp import audit
from idp.bulk import CHUNK, batched, bulk_insert, chunks
from idp.clock import now
from idp.ids import new_id
from idp.imports import plan as p
from idp.models import (
    AuditHead,
    Beziehung,
    MatchCandidate,
    Organisation,
    OutboxEvent,
    Person,
    Personenkontext,
    SourceRecord,
)
from idp.naming import sort_key

Progress = Callable[[str, int], None]

# Parents before children, so every parent id is known when a child is inserted.
TYPE_ORDER = ["LAND", "MINISTERIUM", "SCHULAMT", "SCHULTRAEGER", "SCHULE", "KLASSE"]


class StalePlan(Exception):
    """The database changed after the plan was made."""


class BreakerTripped(Exception):
    """The deletion circuit breaker refuses the plan."""


def check_applicable(session: Session, plan: p.Plan) -> None:
    """Refuse a stale plan or one the circuit breaker stopped (raises, changes nothing)."""
    head = session.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).first()
    current = [head.last_id, head.last_hash] if head else [0, audit.GENESIS]
    if current != list(plan.db_state):
        raise StalePlan(
            "the database changed after this plan was made (audit event "
            f"{plan.db_state[0]} then, {current[0]} now): make a new plan"
        )
    if plan.breaker.tripped and not plan.allow_mass_end:
        raise BreakerTripped(plan.breaker.message())


def _tune_for_bulk(session: Session) -> None:
    # A first import writes millions of index entries: give SQLite a page cache to match.
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA cache_size=-262144"))


def apply_plan(
    session: Session,
    plan: p.Plan,
    actor: str,
    progress: Progress | None = None,
) -> None:
    """Write the plan's changes into the caller's transaction (the caller commits)."""
    check_applicable(session, plan)
    _tune_for_bulk(session)
    _Applier(session, plan, actor, progress or (lambda step, n: None)).run()


class _Applier:
    def __init__(self, session: Session, plan: p.Plan, actor: str, progress: Progress) -> None:
        self.session, self.plan, self.actor, self.progress = session, plan, actor, progress
        self.changes = plan.changes
        self.source = plan.source
        self.stamp = now()
        self.on = dt.date.fromisoformat(plan.on)
        self.org_ids: dict[tuple[str, str], uuid.UUID] = {}
        self.new_person_ids: dict[str, uuid.UUID] = {}
        self.events: list[audit.Event] = []
        self.audited = 0
        self.outbox: dict[tuple[str, uuid.UUID], str] = {}

    def run(self) -> None:
        for step in (
            self._orgs,
            self._new_persons,
            self._person_updates,
            self._kontexte,
            self._leaving_and_returning,
            self._links,
            self._matches,
        ):
            step()
            self._write_events()
        self.progress("Protokoll", self.audited)
        self._write_outbox()

    # -- helpers ------------------------------------------------------------------------

    def _exec(self, statement: Any, rows: Iterable[dict]) -> None:
        """Execute `statement` for every row, a chunk at a time (memory stays flat)."""
        for chunk in batched(rows, CHUNK):
            self.session.execute(statement, chunk)

    def _insert(self, model: type, rows: Iterable[dict]) -> int:
        return bulk_insert(self.session, model.__table__, rows)

    def _event(self, action: str, target: str, org: uuid.UUID | None = None, **details) -> None:
        self.events.append(
            audit.Event(
                actor=self.actor,
                action=action,
                target=target,
                organisation_id=org,
                details={"quelle": self.source, **details},
            )
        )
        if len(self.events) >= CHUNK:
            self._write_events()

    def _write_events(self) -> None:
        # Audit as we go: a first import's half a million events are never all in memory.
        self.audited += audit.append_many(self.session, self.events, at=self.stamp)
        self.events.clear()

    def _notify(self, object_type: str, object_id: uuid.UUID, operation: str) -> None:
        # One outbox event per object and plan: the worker reads the object's current state.
        self.outbox.setdefault((object_type, object_id), operation)

    def _person(self, ref: str) -> uuid.UUID:
        if ref.startswith("new:"):
            return self.new_person_ids[ref[4:]]
        return uuid.UUID(ref)

    def _records(self, kind: str, items: list[tuple[str, uuid.UUID, str]]) -> None:
        self._insert(
            SourceRecord,
            [
                {
                    "source": self.source,
                    "kind": kind,
                    "external_id": ext,
                    "object_id": obj,
                    "row_hash": digest,
                    "updated_at": self.stamp,
                }
                for ext, obj, digest in items
            ],
        )

    def _rehash(self, kind: str, items: list[tuple[str, str]]) -> None:
        table = SourceRecord.__table__
        self._exec(
            update(table)
            .where(
                table.c.source == bindparam("b_source"),
                table.c.kind == bindparam("b_kind"),
                table.c.external_id == bindparam("b_ext"),
            )
            .values(row_hash=bindparam("b_hash"), updated_at=bindparam("b_at")),
            [
                {
                    "b_source": self.source,
                    "b_kind": kind,
                    "b_ext": ext,
                    "b_hash": digest,
                    "b_at": self.stamp,
                }
                for ext, digest in items
            ],
        )

    # -- steps --------------------------------------------------------------------------

    def _orgs(self) -> None:
        for org in self.session.execute(
            select(Organisation.typ, Organisation.kennung, Organisation.id)
        ):
            self.org_ids[(str(org.typ), org.kennung)] = org.id
        creates = sorted(self.changes.orgs_create, key=lambda o: TYPE_ORDER.index(o.typ))
        for level in TYPE_ORDER:
            rows = []
            for org in (o for o in creates if o.typ == level):
                org_id = new_id()
                self.org_ids[(org.typ, org.kennung)] = org_id
                rows.append(
                    {
                        "id": org_id,
                        "typ": org.typ,
                        "kennung": org.kennung,
                        "name": org.name,
                        "parent_id": self.org_ids[tuple(org.parent)] if org.parent else None,
                        "schultraeger_id": self.org_ids.get(("SCHULTRAEGER", org.schultraeger)),
                        "schulart": org.schulart,
                        "source": self.source,
                        "created_at": self.stamp,
                    }
                )
                self._event(
                    "organisation.angelegt",
                    f"organisation:{org.kennung}",
                    org_id,
                    typ=org.typ,
                    name=org.name,
                )
                self._notify("organisation", org_id, "upsert")
            self._insert(Organisation, rows)
        for change in self.changes.orgs_update:
            org_id = uuid.UUID(change.id)
            values: dict[str, Any] = {}
            for name, (_old, new) in change.changes.items():
                if name == "parent":
                    values["parent_id"] = self.org_ids[tuple(new)]
                elif name == "schultraeger":
                    values["schultraeger_id"] = self.org_ids.get(("SCHULTRAEGER", new))
                else:
                    values[name] = new
            self.session.execute(
                update(Organisation).where(Organisation.id == org_id).values(**values)
            )
            self._event(
                "organisation.geaendert",
                f"organisation:{change.kennung}",
                org_id,
                aenderungen=change.changes,
            )
            self._notify("organisation", org_id, "upsert")
        self.progress("Organisationen", len(creates) + len(self.changes.orgs_update))

    def _new_persons(self) -> None:
        records: list[tuple[str, uuid.UUID, str]] = []
        created = self._insert(Person, self._new_person_rows(records))
        self._records("person", records)
        self.progress("Personen angelegt", created)

    def _new_person_rows(self, records: list[tuple[str, uuid.UUID, str]]) -> Iterator[dict]:
        """The rows of the new persons, made as they are inserted (memory stays flat)."""
        for new in self.changes.persons_create:
            person_id = new_id()
            self.new_person_ids[new.external_id] = person_id
            records.append((new.external_id, person_id, new.row_hash))
            self._event(
                "person.angelegt", f"person:{new.username}", None, externe_id=new.external_id
            )
            self._notify("person", person_id, "upsert")
            yield {
                "id": person_id,
                "vorname": new.vorname,
                "familienname": new.familienname,
                "geburtsdatum": _date(new.geburtsdatum),
                "sortname": sort_key(new.familienname, new.vorname),
                "username": new.username,
                "mail": new.mail,
                "status": "aktiv",
                "must_change_password": True,
                "auskunftssperre": False,
                "created_at": self.stamp,
                "updated_at": self.stamp,
            }

    def _person_updates(self) -> None:
        for change in self.changes.persons_update:
            person_id = uuid.UUID(change.id)
            values = {
                name: _date(new) if name == "geburtsdatum" else new
                for name, (_old, new) in change.changes.items()
            }
            self.session.execute(
                update(Person).where(Person.id == person_id).values(updated_at=self.stamp, **values)
            )
            self._event(
                "person.geaendert", f"person:{change.username}", None, aenderungen=change.changes
            )
            self._notify("person", person_id, "upsert")
        self._rehash("person", [(c.external_id, c.row_hash) for c in self.changes.persons_update])
        self._rehash(
            "person",
            [(ext, digest) for kind, ext, digest in self.changes.hashes_only if kind == "person"],
        )
        self.progress("Personen geändert", len(self.changes.persons_update))

    def _kontexte(self) -> None:
        started = self._insert(Personenkontext, self._started_kontexte())
        # Ended and changed contexts both get a new last day: one statement serves both.
        table = Personenkontext.__table__
        new_last_days = [(e.id, e.valid_until) for e in self.changes.kontexte_end if e.valid_until]
        new_last_days += [(c.id, c.valid_until[1]) for c in self.changes.kontexte_change]
        self._exec(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(valid_until=bindparam("b_until")),
            [{"b_id": uuid.UUID(k), "b_until": _date(day)} for k, day in new_last_days],
        )
        dropped = [uuid.UUID(e.id) for e in self.changes.kontexte_end if not e.valid_until]
        for chunk in chunks(dropped):
            self.session.execute(delete(Personenkontext).where(Personenkontext.id.in_(chunk)))
        for end in self.changes.kontexte_end:
            self._event(
                "kontext.beendet",
                f"person:{end.person}",
                None,
                rolle=end.rolle,
                organisation=end.org_kennung,
                bis=end.valid_until,
            )
            self._notify("person", uuid.UUID(end.person), "upsert")
        for change in self.changes.kontexte_change:
            self._event(
                "kontext.geaendert", f"person:{change.person}", None, gueltig_bis=change.valid_until
            )
            self._notify("person", uuid.UUID(change.person), "upsert")
        self.progress(
            "Kontexte",
            started + len(self.changes.kontexte_end) + len(self.changes.kontexte_change),
        )

    def _started_kontexte(self) -> Iterator[dict]:
        for start in self.changes.kontexte_start:
            person_id = self._person(start.person)
            org_id = self.org_ids[(start.org_typ, start.org_kennung)]
            if not start.person.startswith("new:"):
                self._event(
                    "kontext.begonnen",
                    f"person:{start.person}",
                    org_id,
                    rolle=start.rolle,
                    organisation=start.org_kennung,
                )
            self._notify("person", person_id, "upsert")
            yield {
                "id": new_id(),
                "person_id": person_id,
                "organisation_id": org_id,
                "rolle": start.rolle,
                "valid_from": _date(start.valid_from),
                "valid_until": _date(start.valid_until),
                "source": self.source,
                "created_at": self.stamp,
            }

    def _leaving_and_returning(self) -> None:
        table = Person.__table__
        self._exec(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(
                ausgeschieden_am=bindparam("b_left"),
                loeschdatum=bindparam("b_delete"),
                status=bindparam("b_status"),
                updated_at=self.stamp,
            ),
            [
                {
                    "b_id": uuid.UUID(leave.id),
                    "b_left": _date(leave.ausgeschieden_am),
                    "b_delete": _date(leave.loeschdatum),
                    "b_status": "ausgeschieden" if leave.lock else "aktiv",
                }
                for leave in self.changes.persons_leave
            ],
        )
        leaving = {uuid.UUID(leave.id) for leave in self.changes.persons_leave}
        if leaving:
            # Forget the last row's hash, so the person's return is seen as a change.
            records = SourceRecord.__table__
            for chunk in chunks(list(leaving)):
                self.session.execute(
                    update(records)
                    .where(
                        records.c.source == self.source,
                        records.c.kind == "person",
                        records.c.object_id.in_(chunk),
                    )
                    .values(row_hash="")
                )
        for leave in self.changes.persons_leave:
            self._event(
                "person.ausgeschieden",
                f"person:{leave.username}",
                None,
                gesperrt=leave.lock,
                loeschdatum=leave.loeschdatum,
            )
            self._notify("person", uuid.UUID(leave.id), "upsert")
        for back in self.changes.persons_return:
            self.session.execute(
                update(Person)
                .where(Person.id == uuid.UUID(back.id))
                .values(
                    ausgeschieden_am=None, loeschdatum=None, status="aktiv", updated_at=self.stamp
                )
            )
            self._event("person.zurueckgekehrt", f"person:{back.username}", None)
            self._notify("person", uuid.UUID(back.id), "upsert")
        self.progress("Ausgeschieden/zurück", len(leaving) + len(self.changes.persons_return))

    def _links(self) -> None:
        rows = []
        for link in self.changes.links_start:
            guardian, learner = self._person(link.guardian), self._person(link.learner)
            rows.append(
                {
                    "id": new_id(),
                    "erziehungsberechtigter_id": guardian,
                    "lernender_id": learner,
                    "art": link.art,
                    "source": self.source,
                    "created_at": self.stamp,
                }
            )
            # A link made together with the learner is part of that person's creation event.
            if not link.learner.startswith("new:"):
                self._event(
                    "beziehung.angelegt", f"beziehung:{link.external_id}", None, art=link.art
                )
            self._notify("person", learner, "upsert")
        self._insert(Beziehung, rows)
        ended = [uuid.UUID(e.id) for e in self.changes.links_end]
        for chunk in chunks(ended):
            self.session.execute(delete(Beziehung).where(Beziehung.id.in_(chunk)))
        for end in self.changes.links_end:
            self._event("beziehung.beendet", f"beziehung:{end.persons}", None)
        self.progress("Beziehungen", len(rows) + len(ended))

    def _matches(self) -> None:
        known = set(
            self.session.scalars(
                select(MatchCandidate.external_id).where(MatchCandidate.source == self.source)
            )
        )
        rows = []
        for match in self.changes.probable_matches:
            if match.external_id in known:
                continue
            rows.append(
                {
                    "id": new_id(),
                    "source": self.source,
                    "external_id": match.external_id,
                    "person_id": uuid.UUID(match.person_id),
                    "created_at": self.stamp,
                }
            )
            self._event(
                "import.zuordnung_vorgeschlagen",
                f"person:{match.username}",
                None,
                externe_id=match.external_id,
            )
        self._insert(MatchCandidate, rows)

    def _write_outbox(self) -> None:
        rows = (
            {
                "created_at": self.stamp,
                "service": None,
                "object_type": kind,
                "object_id": object_id,
                "operation": operation,
                "not_before": self.stamp,
                "attempts": 0,
                "status": "pending",
            }
            for (kind, object_id), operation in self.outbox.items()
        )
        self.progress("Ausgang (Provisionierung)", self._insert(OutboxEvent, rows))


def _date(value: str | None) -> dt.date | None:
    """A plan's ISO date (plans are JSON) as a date; None stays None."""
    return dt.date.fromisoformat(value) if value else None
