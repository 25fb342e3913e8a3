"""Carry out a plan in one transaction, in bulk SQL, with audit and outbox events.

Either everything in the plan is written, or (error, kill -9, stale plan, circuit breaker)
nothing is: the caller commits once at the end, and a crash rolls the transaction back.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, delete, select, text, update
from sqlalchemy.orm import Session

from idp import audit
from idp.bulk import CHUNK, batched, bulk_insert, chunks
from idp.clock import now
from idp.ids import new_id, new_ids
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
        self.new_person_ids: dict[str, uuid.UUID] = {}  # "new:<external id>" -> person id
        self.next_id = _id_stream().__next__
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

    def _insert(
        self, model: type, rows: Iterable[dict] | Iterable[tuple], columns: Sequence[str] | None
    ) -> int:
        return bulk_insert(self.session, model.__table__, rows, columns)

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
        person_id = self.new_person_ids.get(ref)
        return uuid.UUID(ref) if person_id is None else person_id

    def _records(self, kind: str, items: list[tuple[str, uuid.UUID, str]]) -> None:
        source, stamp = self.source, self.stamp
        self._insert(
            SourceRecord,
            ((source, kind, ext, obj, digest, stamp) for ext, obj, digest in items),
            ("source", "kind", "external_id", "object_id", "row_hash", "updated_at"),
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
            self._insert(Organisation, rows, None)
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
        created = self._insert(
            Person,
            self._new_person_rows(records),
            (
                "id", "vorname", "familienname", "geburtsdatum", "sortname", "username", "mail",
                "status", "must_change_password", "auskunftssperre", "created_at", "updated_at",
            ),
        )  # fmt: skip
        self._records("person", records)
        self.progress("Personen angelegt", created)

    def _new_person_rows(self, records: list[tuple[str, uuid.UUID, str]]) -> Iterator[tuple]:
        """The rows of the new persons, made as they are inserted (memory stays flat)."""
        stamp, new_ids, next_id = self.stamp, self.new_person_ids, self.next_id
        for new in self.changes.persons_create:
            person_id = next_id()
            new_ids["new:" + new.external_id] = person_id
            records.append((new.external_id, person_id, new.row_hash))
            self._event(
                "person.angelegt", f"person:{new.username}", None, externe_id=new.external_id
            )
            self._notify("person", person_id, "upsert")
            yield (
                person_id,
                new.vorname,
                new.familienname,
                _date(new.geburtsdatum),
                sort_key(new.familienname, new.vorname),
                new.username,
                new.mail,
                "aktiv",
                True,
                False,
                stamp,
                stamp,
            )

    def _person_updates(self) -> None:
        # One executemany per set of changed fields, not one statement per person.
        by_fields: dict[tuple[str, ...], list[dict]] = defaultdict(list)
        for change in self.changes.persons_update:
            person_id = uuid.UUID(change.id)
            values = {
                f"b_{name}": _date(new) if name == "geburtsdatum" else new
                for name, (_old, new) in change.changes.items()
            }
            by_fields[tuple(sorted(change.changes))].append({"b_id": person_id, **values})
            self._event(
                "person.geaendert", f"person:{change.username}", None, aenderungen=change.changes
            )
            self._notify("person", person_id, "upsert")
        table = Person.__table__
        for names, rows in by_fields.items():
            self._exec(
                update(table)
                .where(table.c.id == bindparam("b_id"))
                .values(updated_at=self.stamp, **{name: bindparam(f"b_{name}") for name in names}),
                rows,
            )
        self._rehash("person", [(c.external_id, c.row_hash) for c in self.changes.persons_update])
        self._rehash(
            "person",
            [(ext, digest) for kind, ext, digest in self.changes.hashes_only if kind == "person"],
        )
        self.progress("Personen geändert", len(self.changes.persons_update))

    def _kontexte(self) -> None:
        started = self._insert(
            Personenkontext,
            self._started_kontexte(),
            (
                "id", "person_id", "organisation_id", "rolle", "valid_from", "valid_until",
                "source", "created_at",
            ),
        )  # fmt: skip
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

    def _started_kontexte(self) -> Iterator[tuple]:
        source, stamp, org_ids, next_id = self.source, self.stamp, self.org_ids, self.next_id
        new_ids = self.new_person_ids
        for start in self.changes.kontexte_start:
            org_id = org_ids[(start.org_typ, start.org_kennung)]
            person_id = new_ids.get(start.person)
            if person_id is None:
                # A new person's contexts are part of its creation (event and outbox).
                person_id = uuid.UUID(start.person)
                self._event(
                    "kontext.begonnen",
                    f"person:{start.person}",
                    org_id,
                    rolle=start.rolle,
                    organisation=start.org_kennung,
                )
                self._notify("person", person_id, "upsert")
            yield (
                next_id(),
                person_id,
                org_id,
                start.rolle,
                _date(start.valid_from),
                _date(start.valid_until),
                source,
                stamp,
            )

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
            # Found by object id alone, then by primary key: given the source as well, SQLite
            # walks the whole (source, kind, external id) index instead.
            records = SourceRecord.__table__
            ids = []
            for chunk in chunks(list(leaving)):
                ids += [
                    row.id
                    for row in self.session.execute(
                        select(records.c.id, records.c.source, records.c.kind).where(
                            records.c.object_id.in_(chunk)
                        )
                    )
                    if row.source == self.source and row.kind == "person"
                ]
            for chunk in chunks(ids):
                self.session.execute(
                    update(records).where(records.c.id.in_(chunk)).values(row_hash="")
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
        source, stamp, next_id, new_ids = self.source, self.stamp, self.next_id, self.new_person_ids
        rows = []
        for link in self.changes.links_start:
            guardian = self._person(link.guardian)
            learner = new_ids.get(link.learner)
            # A link made together with the learner is part of that person's creation.
            if learner is None:
                learner = uuid.UUID(link.learner)
                self._event(
                    "beziehung.angelegt", f"beziehung:{link.external_id}", None, art=link.art
                )
                self._notify("person", learner, "upsert")
            rows.append((next_id(), guardian, learner, link.art, source, stamp))
        self._insert(
            Beziehung,
            rows,
            ("id", "erziehungsberechtigter_id", "lernender_id", "art", "source", "created_at"),
        )
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
        self._insert(MatchCandidate, rows, None)

    def _write_outbox(self) -> None:
        stamp = self.stamp
        rows = (
            (stamp, None, kind, object_id, operation, stamp, 0, "pending")
            for (kind, object_id), operation in self.outbox.items()
        )
        columns = (
            "created_at", "service", "object_type", "object_id", "operation", "not_before",
            "attempts", "status",
        )  # fmt: skip
        self.progress("Ausgang (Provisionierung)", self._insert(OutboxEvent, rows, columns))


def _id_stream() -> Iterator[uuid.UUID]:
    """New ids for inserted rows, made a chunk at a time."""
    while True:
        yield from new_ids(CHUNK)


@lru_cache(maxsize=1 << 16)
def _date(value: str | None) -> dt.date | None:
    """A plan's ISO date (plans are JSON) as a date; None stays None (a plan names few
    distinct days, each many times)."""
    return dt.date.fromisoformat(value) if value else None
