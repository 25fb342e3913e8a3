"""The provisioning worker: claims outbox events, brings each affected account at each target
to its desired state, records what it wrote, retries what failed.

Claiming: a batch of due events is marked `working` in one statement; on PostgreSQL the rows
are picked with FOR UPDATE SKIP LOCKED, so several workers never take the same event. A worker
that dies leaves its events `working`; after the lease they are due again. Every write at a
target is idempotent and skipped when the target already holds what we would write (the
applied fingerprint), so an event done twice changes nothing twice.

Outcome per event: done; retried later with growing waits when a target was unreachable
(TargetUnavailable); parked as `dead` when a target refused a record (RecordRejected) or
after `max_attempts` tries. Each event is committed on its own.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from connectors.base import Connector, Group, RecordRejected, TargetUnavailable
from idp.clock import now
from idp.models import (
    Organisation,
    OrganisationTyp,
    OutboxEvent,
    Person,
    Personenkontext,
    ProvisionedAccount,
    ProvisionedGroup,
)
from idp.policy.loader import Policies
from idp.provisioning import outbox
from idp.provisioning.desired import Desired, Planner
from idp.provisioning.fingerprint import fingerprint
from idp.provisioning.settings import ProvisioningSettings

log = logging.getLogger(__name__)
ERROR_LENGTH = 2000


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

    def run_once(self, limit: int | None = None) -> Stats:
        """Claim up to one batch of due events and work them off."""
        stats = Stats()
        self._down.clear()
        for event_id in self.claim(limit or self.settings.batch_size):
            self.process(event_id, stats)
        return stats

    def claim(self, limit: int) -> list[int]:
        at = now()
        self.session.execute(
            update(OutboxEvent)
            .where(
                OutboxEvent.status == "working", OutboxEvent.claimed_at < at - self.settings.lease
            )
            .values(status="pending")
        )
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

    def process(self, event_id: int, stats: Stats) -> None:
        event = self.session.get(OutboxEvent, event_id)
        if event is None or event.status != "working":
            return
        stats.events += 1
        unavailable: list[str] = []
        rejected: list[str] = []
        for person_id in self._persons(event):
            for desired in self._desired(person_id, event.service):
                if desired.service in self._down:  # no need to wait for it again
                    unavailable.append(f"{desired.service}: {self._down[desired.service]}")
                    continue
                try:
                    self._apply(desired, stats)
                except TargetUnavailable as exc:
                    self._down[desired.service] = str(exc)
                    unavailable.append(f"{desired.service}: {exc}")
                    self._note(desired, "pending", str(exc))
                except RecordRejected as exc:
                    rejected.append(f"{desired.service}: {exc}")
                    self._note(desired, "error", str(exc))
        self._finish(event, unavailable, rejected, stats)
        self.session.commit()

    def _finish(self, event: OutboxEvent, unavailable, rejected, stats: Stats) -> None:
        event.claimed_at = None
        if rejected:
            event.status, event.last_error = "dead", "; ".join(rejected)[:ERROR_LENGTH]
            stats.dead += 1
            stats.errors.extend(rejected)
        elif unavailable:
            event.attempts += 1
            event.last_error = "; ".join(unavailable)[:ERROR_LENGTH]
            if event.attempts >= self.settings.max_attempts:
                event.status = "dead"
                stats.dead += 1
            else:
                event.status = "pending"
                event.not_before = now() + self.settings.backoff(event.attempts)
                stats.retried += 1
            stats.errors.extend(unavailable)
        else:
            event.status, event.last_error = "done", None

    def _persons(self, event: OutboxEvent) -> list[uuid.UUID]:
        if event.object_type == outbox.PERSON:
            return [event.object_id]
        if event.object_type == outbox.SCHULE:
            places = select(Organisation.id).where(
                or_(Organisation.id == event.object_id, Organisation.parent_id == event.object_id)
            )
            return list(
                self.session.scalars(
                    select(Personenkontext.person_id)
                    .where(Personenkontext.organisation_id.in_(places))
                    .distinct()
                )
            )
        if event.object_type == outbox.ORGANISATION:
            self._organisation(event.object_id)
        return []

    def _desired(self, person_id: uuid.UUID, service: str | None) -> list[Desired]:
        services = [s for s in self.connectors if service is None or s == service]
        if not services:
            return []
        had = set(
            self.session.scalars(
                select(ProvisionedAccount.service_code).where(
                    ProvisionedAccount.person_id == person_id,
                    ProvisionedAccount.applied_hash.is_not(None),
                )
            )
        )
        person = self.session.get(Person, person_id)
        return self.planner.for_person(person, person_id, services, had)

    def _apply(self, desired: Desired, stats: Stats) -> None:
        connector = self.connectors[desired.service]
        row = self.session.get(ProvisionedAccount, (desired.person_id, desired.service))
        if desired.account is None:
            if row is not None:
                if row.applied_hash is not None:
                    connector.delete_account(row.target_key)
                    stats.deleted += 1
                self.session.delete(row)
            return
        wanted = desired.account.fingerprint()
        if row is None:
            row = ProvisionedAccount(
                person_id=desired.person_id, service_code=desired.service, target_key=desired.key
            )
            self.session.add(row)
        row.desired_hash = wanted
        if row.applied_hash == wanted:
            stats.unchanged += 1
            return
        if connector.has_groups:
            for group in desired.groups:
                self._group(connector, group)
        connector.upsert_account(desired.account)
        row.applied_hash = wanted
        row.status = "ok" if desired.account.active else "disabled"
        row.last_error = None
        row.applied_at = now()
        stats.written += 1

    def _group(self, connector: Connector, group: Group) -> None:
        wanted = fingerprint(group)
        row = self.session.get(ProvisionedGroup, (connector.service, group.key))
        if row is not None and row.applied_hash == wanted:
            return
        connector.upsert_group(group)
        if row is None:
            self.session.add(
                ProvisionedGroup(
                    service_code=connector.service, group_key=group.key, applied_hash=wanted
                )
            )
        else:
            row.applied_hash = wanted

    def _organisation(self, organisation_id: uuid.UUID) -> None:
        """A school or class renamed (or gone): its groups at the targets follow."""
        organisation = self.session.get(Organisation, organisation_id)
        for connector in self.connectors.values():
            if not connector.has_groups or organisation is None:
                continue
            row = self.session.get(ProvisionedGroup, (connector.service, organisation.kennung))
            if row is None:
                continue
            parent = None
            if organisation.typ == OrganisationTyp.KLASSE and organisation.parent_id:
                parent_org = self.session.get(Organisation, organisation.parent_id)
                parent = parent_org.kennung if parent_org else None
            kind = "klasse" if organisation.typ == OrganisationTyp.KLASSE else "schule"
            self._group(connector, Group(organisation.kennung, organisation.name, kind, parent))

    def _note(self, desired: Desired, status: str, error: str) -> None:
        row = self.session.get(ProvisionedAccount, (desired.person_id, desired.service))
        if row is None:
            row = ProvisionedAccount(
                person_id=desired.person_id, service_code=desired.service, target_key=desired.key
            )
            self.session.add(row)
        row.status = status
        row.last_error = error[:ERROR_LENGTH]
