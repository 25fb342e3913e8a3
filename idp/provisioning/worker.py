"""The provisioning worker: claims outbox events, brings each affected account at each target
to its desired state, records what it wrote, retries what failed.

Claiming: a batch of due events is marked `working` in one statement; on PostgreSQL the rows
are picked with FOR UPDATE SKIP LOCKED, so several workers never take the same event. A worker
that dies leaves its events `working`; after the lease they are due again. Every write at a
target is idempotent and skipped when the target already holds what we would write (the
applied fingerprint), so an event done twice changes nothing twice.

Before claiming, due events about persons no connected service can concern (no context of a
role that could entitle them, no account) are marked done in one statement: after a whole
state's import, most of its events. A claimed batch is worked as a whole: its persons and
their facts are read with a few queries, each target gets its writes in one go
(connectors.base.write_batch), and the batch's outcome is committed once. A worker
killed in the middle loses only its uncommitted bookkeeping: the events come back after the
lease and the writes are redone idempotently.

Outcome per event: done; retried later with growing waits when a target was unreachable
(TargetUnavailable); parked as `dead` when a target refused a record (RecordRejected) or
after `max_attempts` tries.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field

from sqlalchemy import exists, or_, select, update
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
from idp.provisioning.settings import ProvisioningSettings

log = logging.getLogger(__name__)
ERROR_LENGTH = 2000
# Events passed over in SQL per statement, in batches of the claim's size (see pass_over).
PASS_OVER_BATCHES = 10
IN_CHUNK = 1000  # ids per IN (...) list
_EVENT = OutboxEvent.__table__


@dataclass
class Stats:
    events: int = 0
    written: int = 0
    deleted: int = 0
    unchanged: int = 0
    retried: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)


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
        self._down: dict[str, str] = {}  # services whose target failed in this run: why
        self._leases_checked: dt.datetime | None = None
        self._roles = sorted(possible_roles(policies, list(connectors)))

    def run_once(self, limit: int | None = None) -> Stats:
        """Claim up to one batch of due events and work them off."""
        stats = Stats()
        self._down.clear()
        size = limit or self.settings.batch_size
        # All due events nobody needs are passed over first (each chunk its own transaction),
        # so that the batch claimed next holds the ones that do.
        while True:
            passed = self.pass_over(size * PASS_OVER_BATCHES)
            stats.events += passed
            if passed < size * PASS_OVER_BATCHES:
                break
        ids = self.claim(size)
        if ids:
            self._work(ids, stats)
            self.session.commit()
        return stats

    def pass_over(self, limit: int) -> int:
        """Mark done, in one statement, up to `limit` due events about persons no connected
        service can concern: no context of a role that could entitle them to one, and no
        account at one (with only the mail directory connected, every learner and guardian).
        Nothing is desired of them and nothing is to be removed; returns how many."""
        at = now()
        kontexte = Personenkontext.__table__
        accounts = ProvisionedAccount.__table__
        concerned = or_(
            exists().where(
                kontexte.c.person_id == _EVENT.c.object_id, kontexte.c.rolle.in_(self._roles)
            ),
            exists().where(
                accounts.c.person_id == _EVENT.c.object_id,
                accounts.c.service_code.in_(list(self.connectors)),
            ),
        )
        due = (
            select(_EVENT.c.id)
            .where(
                _EVENT.c.status == "pending",
                _EVENT.c.not_before <= at,
                _EVENT.c.object_type == outbox.PERSON,
                ~concerned,
            )
            .order_by(_EVENT.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        passed = self.session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(due.scalar_subquery()))
            .values(status="done", claimed_at=None, last_error=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        self.session.commit()
        return passed

    def claim(self, limit: int) -> list[int]:
        at = now()
        # A dead worker's events are due again after the lease; looking for them at start and
        # then every half lease is often enough.
        if self._leases_checked is None or at - self._leases_checked >= self.settings.lease / 2:
            self.session.execute(
                update(OutboxEvent)
                .where(
                    OutboxEvent.status == "working",
                    OutboxEvent.claimed_at < at - self.settings.lease,
                )
                .values(status="pending")
            )
            self._leases_checked = at
        due = (
            select(OutboxEvent.id)
            .where(OutboxEvent.status == "pending", OutboxEvent.not_before <= at)
            .order_by(OutboxEvent.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claimed = self.session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(due.scalar_subquery()))
            .values(status="working", claimed_at=at)
            .returning(OutboxEvent.id)
            .execution_options(synchronize_session=False)
        ).scalars()
        ids = sorted(claimed)
        self.session.commit()
        return ids

    def _work(self, ids: list[int], stats: Stats) -> None:
        events = self.session.execute(
            select(_EVENT.c.id, _EVENT.c.object_type, _EVENT.c.object_id, _EVENT.c.service)
            .where(_EVENT.c.id.in_(ids), _EVENT.c.status == "working")
            .order_by(_EVENT.c.id)
        ).all()
        stats.events += len(events)
        problems: dict[int, Problems] = {}
        services_of: dict[uuid.UUID, set[str]] = {}
        events_of: dict[uuid.UUID, list[int]] = {}
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
                events_of.setdefault(person_id, []).append(event.id)
        for organisation_id, found in self._organisations(list(organisations)).items():
            for event_id in organisations[organisation_id]:
                problems[event_id] = found
        for person_id, found in self._provision(services_of, stats).items():
            for event_id in events_of[person_id]:
                problems.setdefault(event_id, Problems()).merge(found)
        self._finish([event.id for event in events], problems, stats)

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

    def _provision(
        self, services_of: dict[uuid.UUID, set[str]], stats: Stats
    ) -> dict[uuid.UUID, Problems]:
        """Bring every person of the batch to their desired state at each of their services;
        returns the persons whose accounts could not all be written, with why."""
        if not services_of:
            return {}
        rows: dict[tuple[uuid.UUID, str], ProvisionedAccount] = {}
        for ids in chunks(list(services_of), IN_CHUNK):
            for row in self.session.scalars(
                select(ProvisionedAccount).where(
                    ProvisionedAccount.person_id.in_(ids),
                    ProvisionedAccount.service_code.in_(list(self.connectors)),
                )
            ):
                rows[(row.person_id, row.service_code)] = row
        had: dict[uuid.UUID, set[str]] = {}
        for (person_id, service), row in rows.items():
            if row.applied_hash is not None:
                had.setdefault(person_id, set()).add(service)
        by_service: dict[str, list[Desired]] = {}
        for desired in self.planner.for_persons(services_of, had):
            by_service.setdefault(desired.service, []).append(desired)
        problems: dict[uuid.UUID, Problems] = {}
        for service, desireds in by_service.items():
            _Target(self, self.connectors[service], rows, stats, problems).apply(desireds)
        return problems

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

    def _organisations(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, Problems]:
        """Schools or classes renamed (or gone): their groups at the targets follow. Only
        groups we wrote before are touched; returns the organisations whose groups could not
        all be written, with why."""
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
    """One batch's work at one service's target."""

    def __init__(self, worker: Worker, connector: Connector, rows, stats, problems):
        self.worker, self.connector = worker, connector
        self.service = connector.service
        self.session = worker.session
        self.rows: dict[tuple[uuid.UUID, str], ProvisionedAccount] = rows
        self.stats: Stats = stats
        self.problems: dict[uuid.UUID, Problems] = problems

    def apply(self, desireds: list[Desired]) -> None:
        down = self.worker._down.get(self.service)
        if down is not None:  # no need to wait for it again
            for desired in desireds:
                self._unavailable(desired, down)
            return
        settled: set[uuid.UUID] = set()
        try:
            writes = []
            for desired in desireds:
                if desired.account is None:
                    self._remove(desired)
                    settled.add(desired.person_id)
                elif self._wanted(desired):
                    writes.append(desired)
                else:
                    settled.add(desired.person_id)
            self._write(writes, settled)
        except TargetUnavailable as exc:
            self.worker._down[self.service] = str(exc)
            for desired in desireds:
                if desired.person_id not in settled:
                    self._unavailable(desired, str(exc))

    def _remove(self, desired: Desired) -> None:
        row = self.rows.pop((desired.person_id, self.service), None)
        if row is None:
            return
        if row.applied_hash is not None:
            try:
                self.connector.delete_account(row.target_key)
            except RecordRejected as exc:
                self.rows[(desired.person_id, self.service)] = row
                self._rejected(desired, str(exc))
                return
            self.stats.deleted += 1
        self.session.delete(row)

    def _wanted(self, desired: Desired) -> bool:
        """Record the desired state; True if the target does not hold it yet."""
        assert desired.account is not None
        row = self._row(desired)
        row.desired_hash = desired.account.fingerprint()
        if row.applied_hash == row.desired_hash:
            self.stats.unchanged += 1
            return False
        return True

    def _write(self, writes: list[Desired], settled: set[uuid.UUID]) -> None:
        if not writes:
            return
        groups: dict[str, Group] = {}
        if self.connector.has_groups:
            for desired in writes:
                for group in desired.groups:
                    groups.setdefault(group.key, group)
        group_rows = self._group_rows(list(groups))
        changed = [g for k, g in groups.items() if _applied(group_rows.get(k)) != fingerprint(g)]
        absent_accounts = {d.key for d in writes if self._row(d).applied_hash is None}
        absent_groups = {g.key for g in changed if g.key not in group_rows}
        rejected = write_batch(
            self.connector,
            changed,
            [d.account for d in writes if d.account is not None],
            absent_accounts,
            absent_groups,
        )
        refused_groups = {
            m.group
            for d in writes
            if d.key in rejected and d.account is not None
            for m in d.account.memberships
        }
        for group in changed:
            if group.key in refused_groups:
                continue  # perhaps written, perhaps not: written again next time
            row = group_rows.get(group.key)
            if row is None:
                row = ProvisionedGroup(service_code=self.service, group_key=group.key)
                self.session.add(row)
            row.applied_hash = fingerprint(group)
        for desired in writes:
            settled.add(desired.person_id)
            if desired.key in rejected:
                self._rejected(desired, rejected[desired.key])
                continue
            assert desired.account is not None
            row = self._row(desired)
            row.applied_hash = row.desired_hash
            row.status = "ok" if desired.account.active else "disabled"
            row.last_error = None
            row.applied_at = now()
            self.stats.written += 1

    def _group_rows(self, keys: list[str]) -> dict[str, ProvisionedGroup]:
        found: dict[str, ProvisionedGroup] = {}
        for chunk in chunks(keys, IN_CHUNK):
            for row in self.session.scalars(
                select(ProvisionedGroup).where(
                    ProvisionedGroup.service_code == self.service,
                    ProvisionedGroup.group_key.in_(chunk),
                )
            ):
                found[row.group_key] = row
        return found

    def _row(self, desired: Desired) -> ProvisionedAccount:
        row = self.rows.get((desired.person_id, self.service))
        if row is None:
            row = ProvisionedAccount(
                person_id=desired.person_id, service_code=self.service, target_key=desired.key
            )
            self.session.add(row)
            self.rows[(desired.person_id, self.service)] = row
        return row

    def _unavailable(self, desired: Desired, why: str) -> None:
        self.problems.setdefault(desired.person_id, Problems()).unavailable.append(
            f"{self.service}: {why}"
        )
        self._note(desired, "pending", why)

    def _rejected(self, desired: Desired, why: str) -> None:
        self.problems.setdefault(desired.person_id, Problems()).rejected.append(
            f"{self.service}: {why}"
        )
        self._note(desired, "error", why)

    def _note(self, desired: Desired, status: str, error: str) -> None:
        row = self._row(desired)
        row.status = status
        row.last_error = error[:ERROR_LENGTH]


def _applied(row: ProvisionedGroup | None) -> str | None:
    return row.applied_hash if row is not None else None
