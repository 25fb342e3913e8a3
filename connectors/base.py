"""The one small interface every connector implements, and what it is given.

The provisioning core (idp.provisioning) computes, for a service, the accounts and groups the
target should hold, from the person, their contexts and the policy (entitlement, attribute
release, opt-out); a connector only writes them to its target and reads them back for
reconciliation. Only fields the service's policy releases ever reach a connector.

Every write is idempotent: `upsert_account` creates the account if the target lacks it and
changes it if it differs; `delete_*` of something absent is no error. A connector raises
`TargetUnavailable` when the target cannot be reached (the event is retried later, with
backoff) and `RecordRejected` when the target refuses this one record (only that event is
parked; the queue goes on).
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

# Roles of a member in a group, as IMS Enterprise and most targets name them.
LEARNER = "Learner"
INSTRUCTOR = "Instructor"
MEMBER = "Member"


@dataclass(frozen=True)
class Membership:
    group: str  # Group.key
    role: str  # LEARNER, INSTRUCTOR or MEMBER


@dataclass(frozen=True)
class Account:
    """What one service should hold about one person.

    key         the person's stable id at this service (pairwise per service: the `sub`
                the service also sees at login); never the internal person id
    attributes  only what the service's policy releases, by the policy's attribute names
                (username, vorname, familienname, mail, geburtsdatum, rollenart, rolle,
                organisation_kennung, organisation_name, klasse, schulart); list values for
                the per-context ones
    active      False: the person left or is locked; the target disables the account but
                keeps it until retention deletes it (then the account is no longer desired)
    memberships the school and class groups the person belongs to, with their role
    """

    key: str
    attributes: Mapping[str, object]
    active: bool = True
    memberships: tuple[Membership, ...] = ()

    @property
    def username(self) -> str | None:
        value = self.attributes.get("username")
        return str(value) if value else None

    def fingerprint(self) -> str:
        """A stable hash of everything the target should hold (to skip unchanged writes)."""
        from idp.provisioning.fingerprint import fingerprint

        return fingerprint(self)


@dataclass(frozen=True)
class Group:
    """A school or class as a group at the target (for services that have groups)."""

    key: str  # stable: the organisation's kennung, e.g. "750001" or "750001/7b"
    name: str
    kind: str  # "schule" or "klasse"
    parent: str | None = None  # the school's key for a class
    attributes: Mapping[str, object] = field(default_factory=dict)


class TargetUnavailable(Exception):
    """The target cannot be reached now (down, timeout, overloaded): try again later."""


class RecordRejected(Exception):
    """The target refuses this record (e.g. a duplicate mail); retrying will not help."""


class Connector(Protocol):
    """One target of one service."""

    name: str  # "ldap_mail", "itslearning", "scim"
    service: str  # the policy's service code
    has_groups: bool  # whether groups and memberships are kept at the target

    def upsert_group(self, group: Group) -> None: ...

    def delete_group(self, key: str) -> None: ...

    def upsert_account(self, account: Account) -> None: ...

    def delete_account(self, key: str) -> None: ...

    def read_accounts(self) -> Iterable[Account]:
        """Everything the target holds that this connector manages (reconciliation)."""
        ...

    def read_groups(self) -> Iterable[Group]: ...

    def close(self) -> None: ...


def write_batch(
    connector: Connector,
    groups: Sequence[Group],
    accounts: Iterable[Account],
    absent_accounts: Container[str],
    absent_groups: Container[str],
) -> dict[str, str]:
    """Write `accounts` and `groups`; returns the keys of refused accounts with the reason.

    `accounts` may be an iterator that is still being worked out; `groups` is read only once
    every account has been taken (so a caller may fill it in as the accounts come).
    `absent_*` hold the keys we never wrote there: a hint a connector may use to create
    without looking first. A connector may do all this in fewer round trips with a
    `write_batch` method of its own (same arguments); otherwise groups first, then accounts,
    one at a time. An account whose group was refused is refused with it.
    TargetUnavailable stops the batch."""
    own = getattr(connector, "write_batch", None)
    if own is not None:
        return own(groups, accounts, absent_accounts, absent_groups)
    accounts = list(accounts)
    refused_groups: dict[str, str] = {}
    for group in groups:
        try:
            connector.upsert_group(group)
        except RecordRejected as exc:
            refused_groups[group.key] = str(exc)
    rejected: dict[str, str] = {}
    for account in accounts:
        refused = group_refusal(account, refused_groups)
        if refused is not None:
            rejected[account.key] = refused
            continue
        try:
            connector.upsert_account(account)
        except RecordRejected as exc:
            rejected[account.key] = str(exc)
    return rejected


def group_refusal(account: Account, refused_groups: Mapping[str, str]) -> str | None:
    """Why one of the account's groups was refused (the account is refused with it), or None."""
    return next(
        (refused_groups[m.group] for m in account.memberships if m.group in refused_groups), None
    )
