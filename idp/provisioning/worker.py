"""The provisioning worker: claims outbox events, brings each affected account at each target
to its desired state, records what it wrote, retries what failed.

Finding work: a short queue of due events is claimed in id order, a batch at a time (the
first batches of each look smaller, so the target gets its first writes soon). A long one
(after a whole state's import) is sorted first, with two queries: the events about persons
some connected service may concern (a context of a role that could entitle them, or an
account there) and about organisations are claimed, each batch a share of both. The others
(after a whole state's import: every learner and guardian, with only the mail directory
connected) are marked done in SQL, a range of ids per statement, while the target is busy.
Claiming marks a batch `working` in one statement; on PostgreSQL the rows are locked with
FOR UPDATE SKIP LOCKED, so several workers never take the same event. A worker that dies
leaves its events `working`; after the lease they are due again. Every write at a target is
idempotent and skipped when the target already holds what we would write (the applied
fingerprint), so an event done twice changes nothing twice.

A batch is worked in three steps. Planning (here): its persons and their facts are read with
a few queries and the writes each target needs are worked out. Writing (in one writer
thread): each target gets its writes in one go (connectors.base.write_batch). Recording
(here, with idp.provisioning.record): the outcome is committed once. The writer stores one
batch while this thread records the batch before and plans the next (the LDAP and database
drivers release the GIL while they wait), so neither the target nor we wait for the other. A
batch with a person in common with a batch in flight, or a renamed organisation whose groups
must change, waits for it. A worker killed in the middle loses only its uncommitted
bookkeeping: the events come back after the lease and the writes are redone idempotently.

Outcome per event: done; retried later with growing waits when a target was unreachable
(TargetUnavailable); parked as `dead` when a target refused a record (RecordRejected) or
after `max_attempts` tries.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from operator import itemgetter

from sqlalchemy import func, or_, select, union, update
from sqlalchemy.orm import Session

from connectors.base import Connector, Group, RecordRejected, TargetUnavailable, write_batch
from idp.bulk import chunks
from idp.clock import now
from idp.models import (
    Organisation,
    OrganisationTyp,
    OutboxEvent,
    Personenkontext,
    ProvisionedAccount,
    ProvisionedGroup,
)
from idp.policy.entitlement import possible_roles
from idp.policy.loader import Policies
from idp.provisioning import outbox
from idp.provisioning.desired import Desired, Planner
from idp.provisioning.fingerprint import fingerprint
from idp.provisioning.record import ERROR_LENGTH, AccountRecord, Bookkeeping
from idp.provisioning.settings import ProvisioningSettings

log = logging.getLogger(__name__)
BACKLOG = 10  # batches: a longer queue of due events is sorted first (see _Sweep)
PASS_CHUNK = 5_000  # ids per pass-over statement (and transaction)
IN_CHUNK = 1000  # ids per IN (...) list elsewhere
# The first batch of a look at the due events is small, so that the target gets its first
# writes soon after the worker starts; each next one may be four times as big as the one before.
FIRST_BATCH = 100
IN_FLIGHT = 2  # batches dispatched to the writer and not yet recorded: one written, one waiting
_EVENT = OutboxEvent.__table__
_ACCOUNT = ProvisionedAccount.__table__
_GROUP = ProvisionedGroup.__table__


@dataclass
class Stats:
    events: int = 0
    written: int = 0
    deleted: int = 0
    unchanged: int = 0
    retried: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)

    COUNTS = ("events", "written", "deleted", "unchanged", "retried", "dead")

    def add(self, other: Stats) -> None:
        for name in self.COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors)

    def summary(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.COUNTS}


class Worker:
    def __init__(
        self,
        session: Session,
        policies: Policies,
        settings: ProvisioningSettings,
        connectors: dict[str, Connector],
    ):
        self.session = session
        self.policies = policies
        self.settings = settings
        self.connectors = connectors
        self.planner = Planner(session, policies, settings.secret_key)
        # Services whose target failed in this run: why. Set by the writer thread, read by both.
        self._down: dict[str, str] = {}
        self._leases_checked: dt.datetime | None = None
        self._roles = sorted(possible_roles(policies, list(connectors)))
        # Groups sent to a target in a batch not yet recorded: (service, key) -> fingerprint.
        self._groups_sent: dict[tuple[str, str], str] = {}

    def work_off(self, stop: Callable[[], bool] = lambda: False) -> Stats:
        """Work off every event due now, batch after batch, until none is left (or `stop()`
        says so between batches); returns what was done. Everything is committed on return.

        The writer always has the next batch waiting (IN_FLIGHT): while it stores one, the
        next is planned; only then are the events nobody needs passed over."""
        stats = Stats()
        self._down.clear()
        self._release_expired()
        sweep = _Sweep(self)
        # Dispatched, not yet recorded, oldest first. An error leaves them `working`
        # (uncommitted): due again after the lease.
        in_flight: deque[_Batch] = deque()
        with ThreadPoolExecutor(1, thread_name_prefix="provisioning-writer") as writer:
            while not stop():
                if len(in_flight) < IN_FLIGHT and sweep.more:
                    events = self._claim(sweep.next_ids(self.settings.batch_size))
                    if events:  # (none: another worker's, or none left; either way look again)
                        batch = self._plan(events, stats, in_flight)
                        batch.dispatch(writer)
                        in_flight.append(batch)
                    continue
                if in_flight:
                    stats.events += sweep.pass_over(until=in_flight[0].written)
                    self._record(in_flight.popleft(), stats)
                    continue
                stats.events += sweep.pass_over()
                if not sweep.found:
                    break
                self._release_expired()
                sweep = _Sweep(self)  # what has come due meanwhile
            while in_flight:
                self._record(in_flight.popleft(), stats)
        return stats

    def pass_over(self, limit: int) -> int:
        """Mark done, in one statement, up to `limit` due events about persons no connected
        service can concern; returns how many."""
        return self._mark_passed(limit=limit)

    def _mark_passed(self, *where, limit: int | None = None, judged: bool = False) -> int:
        """Mark done (and commit) the due events (of `where`, at most `limit`) about persons
        no connected service can concern: no context of a role that could entitle them to one,
        and no account at one. Nothing is desired of them, nothing is to be removed. With
        `judged`, `where` alone picks them (the caller has judged them)."""
        passable = (
            select(_EVENT.c.id)
            .where(
                _EVENT.c.status == "pending",
                _EVENT.c.not_before <= now(),
                _EVENT.c.object_type == outbox.PERSON,
                *(() if judged else (~self._concerned_person(),)),
                *where,
            )
            .order_by(_EVENT.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        passed = self.session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(passable.scalar_subquery()))
            .values(status="done", claimed_at=None, last_error=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        self.session.commit()
        return passed

    def _release_expired(self) -> None:
        """A dead worker's events are due again after the lease: looked for before each walk
        through the due events, at most every half lease."""
        at = now()
        if self._leases_checked is None or at - self._leases_checked >= self.settings.lease / 2:
            self.session.execute(
                update(OutboxEvent)
                .where(
                    OutboxEvent.status == "working",
                    OutboxEvent.claimed_at < at - self.settings.lease,
                )
                .values(status="pending")
            )
            self.session.commit()
            self._leases_checked = at

    def _claim(self, ids: list[int]) -> list:
        """Claim those of `ids` still pending; returns the claimed events (id, object_type,
        object_id, service), in id order."""
        if not ids:
            return []
        claimed = (
            self.session.connection()  # plain rows: no ORM statement, no objects to load
            .execute(
                update(_EVENT)
                .where(_EVENT.c.id.in_(_still_pending(ids)))
                .values(status="working", claimed_at=now())
                .returning(_EVENT.c.id, _EVENT.c.object_type, _EVENT.c.object_id, _EVENT.c.service)
            )
            .all()
        )
        self.session.commit()
        return sorted(claimed, key=itemgetter(0))

    # -- planning ---------------------------------------------------------------------------
    def _plan(self, events: list, stats: Stats, in_flight: deque[_Batch]) -> _Batch:
        """Work out what each target needs for the claimed `events`. The batches in flight
        are recorded first (and taken off `in_flight`) where this one touches what they
        write."""
        stats.events += len(events)
        batch = _Batch([event.id for event in events])
        services_of: dict[uuid.UUID, set[str]] = {}
        organisations: dict[uuid.UUID, list[int]] = {}
        services_for: dict[str | None, list[str]] = {}
        for event in events:
            services = services_for.get(event.service)
            if services is None:
                services = services_for[event.service] = [
                    code for code in self.connectors if event.service in (None, code)
                ]
            if event.object_type == outbox.ORGANISATION:
                organisations.setdefault(event.object_id, []).append(event.id)
                continue
            for person_id in self._persons(event.object_type, event.object_id):
                services_of.setdefault(person_id, set()).update(services)
                batch.events_of.setdefault(person_id, []).append(event.id)

        def settle() -> None:
            while in_flight:
                self._record(in_flight.popleft(), stats)

        if any(not batch.persons.isdisjoint(services_of) for batch in in_flight):
            settle()  # one of them writes one of these persons: read what it recorded
        for organisation_id, found in self._organisations(list(organisations), settle).items():
            for event_id in organisations[organisation_id]:
                batch.problems[event_id] = found
        batch.persons = set(services_of)
        if services_of:
            applied = self._applied(list(services_of))
            had: dict[uuid.UUID, set[str]] = {}
            for (person_id, service), row in applied.items():
                if row.applied_hash is not None:
                    had.setdefault(person_id, set()).add(service)
            by_service: dict[str, list[Desired]] = {}
            for desired in self.planner.for_persons(services_of, had):
                by_service.setdefault(desired.service, []).append(desired)
            for service, desireds in by_service.items():
                target = _Target(self, self.connectors[service], applied)
                target.plan(desireds)
                batch.targets.append(target)
        return batch

    def _applied(self, person_ids: list[uuid.UUID]) -> dict[tuple[uuid.UUID, str], AccountRecord]:
        """What we recorded of these persons' accounts at the connected services."""
        found: dict[tuple[uuid.UUID, str], AccountRecord] = {}
        connection = self.session.connection()  # plain rows (the records are written in Core)
        for ids in chunks(person_ids, IN_CHUNK):
            for row in connection.execute(
                select(
                    _ACCOUNT.c.person_id,
                    _ACCOUNT.c.service_code,
                    _ACCOUNT.c.target_key,
                    _ACCOUNT.c.desired_hash,
                    _ACCOUNT.c.applied_hash,
                ).where(
                    _ACCOUNT.c.person_id.in_(ids),
                    _ACCOUNT.c.service_code.in_(list(self.connectors)),
                )
            ):
                found[(row.person_id, row.service_code)] = AccountRecord(
                    row.target_key, row.desired_hash, row.applied_hash
                )
        return found

    def _persons(self, object_type: str, object_id: uuid.UUID) -> list[uuid.UUID]:
        if object_type == outbox.PERSON:
            return [object_id]
        if object_type == outbox.SCHULE:
            places = select(Organisation.id).where(
                or_(Organisation.id == object_id, Organisation.parent_id == object_id)
            )
            return list(
                self.session.scalars(
                    select(Personenkontext.person_id)
                    .where(Personenkontext.organisation_id.in_(places))
                    .distinct()
                )
            )
        return []

    def _organisations(
        self, ids: list[uuid.UUID], settle: Callable[[], None]
    ) -> dict[uuid.UUID, Problems]:
        """Schools or classes renamed (or gone): their groups at the targets follow. Only
        groups we wrote before are touched, here, once `settle()` has seen the batch in flight
        done; returns the organisations whose groups could not all be written, with why."""
        problems: dict[uuid.UUID, Problems] = {}
        services = [code for code, c in self.connectors.items() if c.has_groups]
        if not ids or not services:
            return problems
        parent = Organisation.__table__.alias("parent")
        places = self.session.execute(
            select(
                Organisation.id,
                Organisation.kennung,
                Organisation.name,
                Organisation.typ,
                parent.c.kennung,
            )
            .outerjoin(parent, parent.c.id == Organisation.parent_id)
            .where(Organisation.id.in_(ids))
        ).all()
        rows = {
            (row.service_code, row.group_key): row
            for row in self.session.scalars(
                select(ProvisionedGroup).where(
                    ProvisionedGroup.service_code.in_(services),
                    ProvisionedGroup.group_key.in_([place.kennung for place in places]),
                )
            )
        }
        for organisation_id, kennung, name, typ, parent_kennung in places:
            is_klasse = typ == OrganisationTyp.KLASSE
            group = Group(
                kennung,
                name,
                "klasse" if is_klasse else "schule",
                parent_kennung if is_klasse else None,
            )
            for service in services:
                row = rows.get((service, kennung))
                if row is None or row.applied_hash == fingerprint(group):
                    continue
                settle()
                found = problems.setdefault(organisation_id, Problems())
                if service in self._down:
                    found.unavailable.append(f"{service}: {self._down[service]}")
                    continue
                try:
                    self.connectors[service].upsert_group(group)
                    row.applied_hash = fingerprint(group)
                except TargetUnavailable as exc:
                    self._down[service] = str(exc)
                    found.unavailable.append(f"{service}: {exc}")
                except RecordRejected as exc:
                    found.rejected.append(f"{service}: {exc}")
        return {key: found for key, found in problems.items() if found}

    # -- recording --------------------------------------------------------------------------
    def _record(self, batch: _Batch, stats: Stats) -> None:
        """Wait until the writer has done `batch`, then record its outcome and commit."""
        batch.written.result()
        book = Bookkeeping()
        for target in batch.targets:
            target.record(book, stats)
        book.execute(self.session)
        problems = batch.problems
        for target in batch.targets:
            for person_id, found in target.problems.items():
                for event_id in batch.events_of[person_id]:
                    problems.setdefault(event_id, Problems()).merge(found)
        self._finish(batch.ids, problems, stats)
        self.session.commit()

    def _finish(self, ids: list[int], problems: dict[int, Problems], stats: Stats) -> None:
        done = [event_id for event_id in ids if event_id not in problems]
        for chunk in chunks(done, IN_CHUNK):
            self.session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id.in_(chunk))
                .values(status="done", last_error=None, claimed_at=None)
                .execution_options(synchronize_session=False)
            )
        for event_id, found in problems.items():
            event = self.session.get(OutboxEvent, event_id)
            if event is None:
                continue
            event.claimed_at = None
            if found.rejected:
                event.status, event.last_error = "dead", "; ".join(found.rejected)[:ERROR_LENGTH]
                stats.dead += 1
                stats.errors.extend(found.rejected)
                continue
            event.attempts += 1
            event.last_error = "; ".join(found.unavailable)[:ERROR_LENGTH]
            if event.attempts >= self.settings.max_attempts:
                event.status = "dead"
                stats.dead += 1
            else:
                event.status = "pending"
                event.not_before = now() + self.settings.backoff(event.attempts)
                stats.retried += 1
            stats.errors.extend(found.unavailable)

    def _concerning(self):
        """SQL: the persons some connected service may concern, two ways: a context of a role
        that could entitle them to one, or an account at one (person_id selects)."""
        kontexte = Personenkontext.__table__
        return (
            select(kontexte.c.person_id).where(kontexte.c.rolle.in_(self._roles)),
            select(_ACCOUNT.c.person_id).where(_ACCOUNT.c.service_code.in_(list(self.connectors))),
        )

    def _concerned_person(self):
        """SQL: the event's person is one of them (judged per event)."""
        return or_(
            *(
                persons.where(persons.selected_columns[0] == _EVENT.c.object_id).exists()
                for persons in self._concerning()
            )
        )

    def _concerned_persons(self):
        """SQL: their ids as one list, which the database makes once per statement: for a
        statement that judges many events."""
        return union(*self._concerning())


def _still_pending(ids: list[int]):
    """Those of `ids` still pending, locked (PostgreSQL skips those another worker holds)."""
    return (
        select(_EVENT.c.id)
        .where(_EVENT.c.id.in_(ids), _EVENT.c.status == "pending")
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )


class _Sweep:
    """One look at the due events. A short queue is claimed in id order as it is. A long one
    (after a whole state's import) is sorted first, with two queries: the events some connected
    service may concern are claimed, in id order (each batch a share of the persons' and of
    the organisations'); the others are marked done in SQL, a range of ids per statement,
    while the target is busy with a batch (on PostgreSQL each judged again then)."""

    def __init__(self, worker: Worker):
        self.worker = worker
        self.session = worker.session
        self.found = 0  # due events when it looked
        self.ramp = FIRST_BATCH  # the most the next batch takes (then four times as many)
        self.wanted: deque[int] | None = None
        # Of a long queue, the events about organisations: each batch takes some along (read
        # while the target stores the batch before), after all the persons' would be a tail.
        self.others: deque[int] = deque()
        self.ranges: deque[tuple[int, int]] = deque()  # [from, to) ids to pass over
        self.at = now()  # when it looked
        self.concerned: list[int] = []  # the due events some service may concern, by id
        # SQLite has one writer at a time, and a writer's new rows get ids above every
        # committed one: each due event up to the last id was seen, and judged, when the
        # queue was sorted. On PostgreSQL a lower id may commit later: each is judged again.
        self.judged = self.session.get_bind().dialect.name == "sqlite"

    def next_ids(self, size: int) -> list[int]:
        """Up to `size` due events to claim (fewer in the first batches: FIRST_BATCH)."""
        if self.wanted is None:
            self._sort(size * BACKLOG)
        assert self.wanted is not None
        size, self.ramp = min(size, self.ramp), self.ramp * 4
        taken = [self.wanted.popleft() for _ in range(min(size, len(self.wanted)))]
        taken += [self.others.popleft() for _ in range(min(size, len(self.others)))]
        return taken

    @property
    def more(self) -> bool:
        """Events left to claim (or not looked for yet)."""
        return self.wanted is None or bool(self.wanted or self.others)

    def _sort(self, short: int) -> None:
        due = _EVENT.c.status == "pending", _EVENT.c.not_before <= self.at
        first = self.session.scalars(
            select(_EVENT.c.id).where(*due).order_by(_EVENT.c.id).limit(short + 1)
        ).all()
        self.found = len(first)
        if len(first) <= short:
            self.wanted = deque(first)
            return
        last = self.session.scalar(select(func.max(_EVENT.c.id)))
        # Two statements: the persons' events found from the concerned persons (through the
        # object_id index, not by walking every due event), the organisations' among the due.
        due = *due, _EVENT.c.id <= last
        events = select(_EVENT.c.id, _EVENT.c.object_type)
        persons = self.worker._concerned_persons()
        found = sorted(
            (
                *self.session.execute(
                    events.where(
                        *due,
                        _EVENT.c.object_type == outbox.PERSON,
                        _EVENT.c.object_id.in_(persons),
                    )
                ),
                *self.session.execute(events.where(*due, _EVENT.c.object_type != outbox.PERSON)),
            ),
            key=itemgetter(0),
        )
        self.concerned = [event_id for event_id, _ in found]
        self.wanted = deque(event_id for event_id, kind in found if kind == outbox.PERSON)
        self.others.extend(event_id for event_id, kind in found if kind != outbox.PERSON)
        self.ranges.extend(
            (start, min(start + PASS_CHUNK, last + 1))
            for start in range(first[0], last + 1, PASS_CHUNK)
        )

    def pass_over(self, until: Future | None = None) -> int:
        """Mark done the due events of the ranges no connected service can concern, a range
        per transaction; with `until`, only while that write goes on. Returns how many."""
        passed = 0
        while self.ranges and (until is None or not until.done()):
            start, end = self.ranges.popleft()
            where = [_EVENT.c.id >= start, _EVENT.c.id < end]
            if self.judged:
                claimed = self.concerned[
                    bisect.bisect_left(self.concerned, start) : bisect.bisect_left(
                        self.concerned, end
                    )
                ]
                where += [  # not sorted out then, not claimed (and let go) since
                    _EVENT.c.id.not_in(claimed),
                    _EVENT.c.not_before <= self.at,
                    _EVENT.c.claimed_at.is_(None),
                ]
            passed += self.worker._mark_passed(*where, judged=self.judged)
        return passed


@dataclass
class _Batch:
    ids: list[int]
    events_of: dict[uuid.UUID, list[int]] = field(default_factory=dict)
    persons: set[uuid.UUID] = field(default_factory=set)
    problems: dict[int, Problems] = field(default_factory=dict)
    targets: list[_Target] = field(default_factory=list)
    written: Future = field(default_factory=Future)

    def dispatch(self, writer: ThreadPoolExecutor) -> None:
        self.written = writer.submit(self._write)

    def _write(self) -> None:
        for target in self.targets:
            target.write()


@dataclass
class Problems:
    """Why a person's or event's accounts could not all be written."""

    unavailable: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.unavailable or self.rejected)

    def merge(self, other: Problems) -> None:
        self.unavailable.extend(other.unavailable)
        self.rejected.extend(other.rejected)


class _Target:
    """One batch's work at one service's target: planned and recorded by the worker, written
    by the writer thread."""

    def __init__(self, worker: Worker, connector: Connector, applied):
        self.worker, self.connector = worker, connector
        self.service = connector.service
        self.applied: dict[tuple[uuid.UUID, str], AccountRecord] = applied
        self.problems: dict[uuid.UUID, Problems] = {}
        self.removals: list[Desired] = []
        self.writes: list[tuple[Desired, str]] = []  # with the account's fingerprint
        self.unchanged: list[tuple[Desired, str]] = []
        self.groups: list[Group] = []  # to write
        self.group_rows: dict[str, str] = {}  # key -> recorded fingerprint
        # The writer's outcome:
        self.removed: dict[uuid.UUID, str | None] = {}  # person -> None, or why refused
        self.rejected: dict[str, str] = {}  # account key -> why
        self.unavailable: str | None = None

    def plan(self, desireds: list[Desired]) -> None:
        for desired in desireds:
            row = self.applied.get((desired.person_id, self.service))
            if desired.account is None:
                if row is not None:
                    self.removals.append(desired)
                continue
            wanted = desired.account.fingerprint()
            if row is not None and row.applied_hash == wanted:
                self.unchanged.append((desired, wanted))
            else:
                self.writes.append((desired, wanted))
        if not self.connector.has_groups or not self.writes:
            return
        groups: dict[str, Group] = {}
        for desired, _ in self.writes:
            for group in desired.groups:
                groups.setdefault(group.key, group)
        self.group_rows = self._group_rows(list(groups))
        sent = self.worker._groups_sent
        for key, group in groups.items():
            hashed = fingerprint(group)
            if sent.get((self.service, key), self.group_rows.get(key)) != hashed:
                self.groups.append(group)
                sent[(self.service, key)] = hashed

    def _group_rows(self, keys: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in chunks(keys, IN_CHUNK):
            found.update(
                (key, applied)
                for key, applied in self.worker.session.execute(
                    select(_GROUP.c.group_key, _GROUP.c.applied_hash).where(
                        _GROUP.c.service_code == self.service, _GROUP.c.group_key.in_(chunk)
                    )
                )
            )
        return found

    def write(self) -> None:
        """The connector's part (in the writer thread: no database here)."""
        down = self.worker._down
        if self.service in down:  # no need to wait for it again
            self.unavailable = down[self.service]
            return
        try:
            for desired in self.removals:
                row = self.applied[(desired.person_id, self.service)]
                if row.applied_hash is not None:
                    try:
                        self.connector.delete_account(row.target_key)
                    except RecordRejected as exc:
                        self.removed[desired.person_id] = str(exc)
                        continue
                self.removed[desired.person_id] = None
            if self.writes:
                self.rejected = write_batch(
                    self.connector,
                    self.groups,
                    [desired.account for desired, _ in self.writes if desired.account],
                    {d.key for d, _ in self.writes if self._row(d, "applied_hash") is None},
                    {group.key for group in self.groups if group.key not in self.group_rows},
                )
        except TargetUnavailable as exc:
            down[self.service] = self.unavailable = str(exc)

    def record(self, book: Bookkeeping, stats: Stats) -> None:
        service = self.service
        sent = self.worker._groups_sent
        for desired, wanted in self.unchanged:
            stats.unchanged += 1
            if self._row(desired, "desired_hash") != wanted:
                book.desired(desired.person_id, service, wanted)
        for desired in self.removals:
            row = self.applied[(desired.person_id, service)]
            if desired.person_id not in self.removed:  # the target went away before
                self._problem(desired).unavailable.append(f"{service}: {self.unavailable}")
                book.note(desired, row, "pending", self.unavailable or "", None)
            elif self.removed[desired.person_id] is not None:
                why = self.removed[desired.person_id] or ""
                self._problem(desired).rejected.append(f"{service}: {why}")
                book.note(desired, row, "error", why, None)
            else:
                if row.applied_hash is not None:
                    stats.deleted += 1
                book.remove(desired.person_id, service)
        refused_groups = {
            m.group
            for desired, _ in self.writes
            if desired.key in self.rejected and desired.account is not None
            for m in desired.account.memberships
        }
        for group in self.groups:
            sent.pop((service, group.key), None)
            if self.unavailable is None and group.key not in refused_groups:
                book.group(service, group, group.key in self.group_rows)
            # else perhaps written, perhaps not: written again next time
        for desired, wanted in self.writes:
            row = self.applied.get((desired.person_id, service))
            if self.unavailable is not None:
                self._problem(desired).unavailable.append(f"{service}: {self.unavailable}")
                book.note(desired, row, "pending", self.unavailable, wanted)
            elif desired.key in self.rejected:
                why = self.rejected[desired.key]
                self._problem(desired).rejected.append(f"{service}: {why}")
                book.note(desired, row, "error", why, wanted)
            else:
                assert desired.account is not None
                book.written(desired, row, wanted, desired.account.active)
                stats.written += 1

    def _row(self, desired: Desired, name: str) -> str | None:
        row = self.applied.get((desired.person_id, self.service))
        return getattr(row, name) if row is not None else None

    def _problem(self, desired: Desired) -> Problems:
        return self.problems.setdefault(desired.person_id, Problems())
