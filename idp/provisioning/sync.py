"""Reconciliation: compare what a target holds with what it should hold, and repair drift
(records created, changed or deleted behind our back), or only report it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from sqlalchemy import delete, select, union
from sqlalchemy.orm import Session

from connectors.base import Account, Connector, Group, write_batch
from idp.clock import today
from idp.models import Personenkontext, ProvisionedAccount, ProvisionedGroup
from idp.policy.entitlement import possible_roles
from idp.policy.loader import Policies
from idp.provisioning.desired import Desired, Planner
from idp.provisioning.fingerprint import fingerprint
from idp.provisioning.record import AccountRecord, Bookkeeping

EXAMPLES = 10
_ACCOUNT = ProvisionedAccount.__table__
_GROUP = ProvisionedGroup.__table__


@dataclass
class SyncReport:
    service: str
    connector: str
    desired: int = 0
    held: int = 0
    missing: list[str] = field(default_factory=list)  # target keys
    changed: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    groups_missing: list[str] = field(default_factory=list)
    groups_changed: list[str] = field(default_factory=list)
    groups_extra: list[str] = field(default_factory=list)
    repaired: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def drift(self) -> int:
        return sum(
            len(x)
            for x in (
                self.missing,
                self.changed,
                self.extra,
                self.groups_missing,
                self.groups_changed,
                self.groups_extra,
            )
        )

    def summary(self) -> dict:
        lists = ("missing", "changed", "extra", "groups_missing", "groups_changed", "groups_extra")
        return {
            "service": self.service,
            "connector": self.connector,
            "desired": self.desired,
            "held": self.held,
            **{name: len(getattr(self, name)) for name in lists},
            "examples": {name: getattr(self, name)[:EXAMPLES] for name in lists},
            "repaired": self.repaired,
            "problems": self.problems,
        }


def reconcile(
    session: Session, policies: Policies, secret_key: str, connector: Connector, repair: bool
) -> SyncReport:
    """Compare the target with the desired state; with `repair`, make them equal.

    What the target holds is read first; the desired accounts are then worked out a thousand
    persons at a time, and with `repair` each differing account goes to the connector as soon
    as it is known, so the target stores one part while the next is worked out. Groups follow
    once every account is known (a new group comes with all its members)."""
    service = connector.service
    report = SyncReport(service, connector.name)
    held = {a.key: a for a in connector.read_accounts()}
    held_groups = {g.key: g for g in connector.read_groups()} if connector.has_groups else {}
    comparison = _Comparison(connector, report, held, held_groups, recording=repair)
    differing = comparison.differing(_desired(session, policies, secret_key, service))
    if repair:
        rejected = write_batch(
            connector, comparison.groups_to_write, differing, _Absent(held), _Absent(held_groups)
        )
    else:
        rejected = {}
        for _ in differing:
            pass
    report.desired, report.held = len(comparison.wanted), len(held)
    if repair and report.drift:
        _repair(session, connector, report, comparison, rejected)
        report.repaired = True
    return report


class _Absent:
    """The keys a target does not hold (it holds `held`)."""

    def __init__(self, held: Mapping[str, object]):
        self.held = held

    def __contains__(self, key: object) -> bool:
        return key not in self.held


class _Comparison:
    """Desired against held, filled in as the desired accounts come."""

    def __init__(
        self, connector: Connector, report: SyncReport, held, held_groups, recording: bool
    ):
        self.connector, self.report = connector, report
        self.recording = recording
        self.held: dict[str, Account] = held
        self.held_groups: dict[str, Group] = held_groups
        self.same = getattr(connector, "comparable", lambda account: account)
        self.wanted: dict[str, Desired] = {}
        self.wanted_groups: dict[str, Group] = {}
        # With `recording`: the fingerprint of each account to write, taken as it goes out
        # (while the target stores the ones before it), for the record of what was written.
        self.written_hashes: dict[str, str] = {}
        # The groups to write: known, and filled in, once every account has been seen.
        self.groups_to_write: list[Group] = []

    def differing(self, desired: Iterable[Desired]) -> Iterator[Account]:
        """The accounts the target lacks or holds otherwise, as they come."""
        report = self.report
        for d in desired:
            assert d.account is not None
            self.wanted[d.key] = d
            for group in d.groups:
                self.wanted_groups.setdefault(group.key, group)
            if d.key not in self.held:
                report.missing.append(d.key)
            elif fingerprint(self.same(d.account)) != fingerprint(self.same(self.held[d.key])):
                report.changed.append(d.key)
            else:
                continue
            if self.recording:
                self.written_hashes[d.key] = d.account.fingerprint()
            yield d.account
        report.extra = sorted(set(self.held) - set(self.wanted))
        if self.connector.has_groups:
            for key, group in self.wanted_groups.items():
                if key not in self.held_groups:
                    report.groups_missing.append(key)
                elif _group_view(group) != _group_view(self.held_groups[key]):
                    report.groups_changed.append(key)
            report.groups_extra = sorted(set(self.held_groups) - set(self.wanted_groups))
            self.groups_to_write.extend(
                self.wanted_groups[key] for key in [*report.groups_missing, *report.groups_changed]
            )


def _repair(
    session: Session,
    connector: Connector,
    report: SyncReport,
    comparison: _Comparison,
    rejected: dict[str, str],
) -> None:
    """Record what was written, remove what is extra."""
    service = connector.service
    report.problems.extend(f"{key}: {why}" for key, why in rejected.items())
    book = Bookkeeping()
    held_groups = set(
        session.scalars(select(_GROUP.c.group_key).where(_GROUP.c.service_code == service))
    )
    for group in comparison.groups_to_write:
        book.group(service, group, group.key in held_groups)
    rows = {
        person_id: AccountRecord(target_key, desired_hash, applied_hash)
        for person_id, target_key, desired_hash, applied_hash in session.execute(
            select(
                _ACCOUNT.c.person_id,
                _ACCOUNT.c.target_key,
                _ACCOUNT.c.desired_hash,
                _ACCOUNT.c.applied_hash,
            ).where(_ACCOUNT.c.service_code == service)
        )
    }
    for key in [*report.missing, *report.changed]:
        d = comparison.wanted[key]
        if key in rejected or d.account is None:
            continue
        hashed = comparison.written_hashes[key]
        book.written(d, rows.get(d.person_id), hashed, d.account.active)
    book.execute(session)
    for key in report.extra:
        connector.delete_account(key)
        session.execute(
            delete(ProvisionedAccount).where(
                ProvisionedAccount.service_code == service, ProvisionedAccount.target_key == key
            )
        )
    for key in report.groups_extra:
        connector.delete_group(key)
        session.execute(
            delete(ProvisionedGroup).where(
                ProvisionedGroup.service_code == service, ProvisionedGroup.group_key == key
            )
        )
    session.commit()


def _desired(
    session: Session, policies: Policies, secret_key: str, service: str
) -> Iterator[Desired]:
    """The desired account of everyone who has a context today of a role that could grant the
    service, or an account there."""
    had = set(
        session.scalars(
            select(ProvisionedAccount.person_id).where(
                ProvisionedAccount.service_code == service,
                ProvisionedAccount.applied_hash.is_not(None),
            )
        )
    )
    candidates = session.scalars(
        union(
            select(Personenkontext.person_id).where(
                Personenkontext.active_on(today()),
                Personenkontext.rolle.in_(sorted(possible_roles(policies, [service]))),
            ),
            select(ProvisionedAccount.person_id).where(ProvisionedAccount.service_code == service),
        )
    ).all()
    planner = Planner(session, policies, secret_key)
    for d in planner.each_person(
        {person_id: (service,) for person_id in candidates},
        {person_id: (service,) for person_id in had},
    ):
        if d.account is not None:
            yield d


def _group_view(group: Group) -> tuple:
    return (group.key, group.name, group.kind, group.parent)
