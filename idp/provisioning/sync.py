"""Reconciliation: compare what a target holds with what it should hold, and repair drift
(records created, changed or deleted behind our back), or only report it."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, insert, select, union
from sqlalchemy.orm import Session

from connectors.base import Connector, Group, write_batch
from idp.clock import now, today
from idp.models import Personenkontext, ProvisionedAccount, ProvisionedGroup
from idp.policy.entitlement import possible_roles
from idp.policy.loader import Policies
from idp.provisioning.desired import Desired, Planner
from idp.provisioning.fingerprint import fingerprint

EXAMPLES = 10


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
    """Compare the target with the desired state; with `repair`, make them equal."""
    service = connector.service
    report = SyncReport(service, connector.name)
    same = getattr(connector, "comparable", lambda account: account)
    wanted = {d.key: d for d in _desired(session, policies, secret_key, service)}
    wanted_groups: dict[str, Group] = {}
    for d in wanted.values():
        for group in d.groups:
            wanted_groups[group.key] = group
    held = {a.key: a for a in connector.read_accounts()}
    held_groups = {g.key: g for g in connector.read_groups()} if connector.has_groups else {}
    report.desired, report.held = len(wanted), len(held)
    for key, d in wanted.items():
        assert d.account is not None
        if key not in held:
            report.missing.append(key)
        elif fingerprint(same(d.account)) != fingerprint(same(held[key])):
            report.changed.append(key)
    report.extra = sorted(set(held) - set(wanted))
    if connector.has_groups:
        for key, group in wanted_groups.items():
            if key not in held_groups:
                report.groups_missing.append(key)
            elif _group_view(group) != _group_view(held_groups[key]):
                report.groups_changed.append(key)
        report.groups_extra = sorted(set(held_groups) - set(wanted_groups))
    if repair and report.drift:
        _repair(session, connector, report, wanted, wanted_groups)
        report.repaired = True
    return report


def _repair(
    session, connector, report, wanted: dict[str, Desired], groups: dict[str, Group]
) -> None:
    service = connector.service
    writes = [wanted[key] for key in [*report.missing, *report.changed]]
    written_groups = [groups[key] for key in [*report.groups_missing, *report.groups_changed]]
    rejected = write_batch(
        connector,
        written_groups,
        [d.account for d in writes if d.account is not None],
        set(report.missing),
        set(report.groups_missing),
    )
    report.problems.extend(f"{key}: {why}" for key, why in rejected.items())
    _record_groups(session, service, written_groups)
    rows = {
        row.person_id: row
        for row in session.scalars(
            select(ProvisionedAccount).where(ProvisionedAccount.service_code == service)
        )
    }
    added = []
    for d in writes:
        if d.key in rejected or d.account is None:
            continue
        state = {
            "desired_hash": d.account.fingerprint(),
            "status": "ok" if d.account.active else "disabled",
            "last_error": None,
            "applied_at": now(),
        }
        state["applied_hash"] = state["desired_hash"]
        row = rows.get(d.person_id)
        if row is None:  # most of them, when a new target is filled: one INSERT for all
            added.append(
                {"person_id": d.person_id, "service_code": service, "target_key": d.key, **state}
            )
        else:
            for name, value in state.items():
                setattr(row, name, value)
    if added:
        session.execute(insert(ProvisionedAccount), added)
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


def _desired(session: Session, policies: Policies, secret_key: str, service: str) -> list[Desired]:
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
    )
    planner = Planner(session, policies, secret_key)
    desired = planner.for_persons(
        {person_id: (service,) for person_id in candidates},
        {person_id: (service,) for person_id in had},
    )
    return [d for d in desired if d.account is not None]


def _group_view(group: Group) -> tuple:
    return (group.key, group.name, group.kind, group.parent)


def _record_groups(session: Session, service: str, written: list[Group]) -> None:
    rows = {
        row.group_key: row
        for row in session.scalars(
            select(ProvisionedGroup).where(ProvisionedGroup.service_code == service)
        )
    }
    for group in written:
        row = rows.get(group.key)
        if row is None:
            session.add(
                ProvisionedGroup(
                    service_code=service, group_key=group.key, applied_hash=fingerprint(group)
                )
            )
        else:
            row.applied_hash = fingerprint(group)
