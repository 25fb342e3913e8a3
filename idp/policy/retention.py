"""policies/retention.toml: how long after leaving an account is locked, then deleted."""

from __future__ import annotations

from dataclasses import dataclass

from idp.policy.tables import Table
from idp.policy.vocabulary import ROLLENARTEN


@dataclass(frozen=True)
class RetentionRule:
    lock_after_days: int
    delete_after_days: int


@dataclass(frozen=True)
class RetentionPolicy:
    default: RetentionRule
    by_rollenart: dict[str, RetentionRule]

    def for_rollenart(self, rollenart: str) -> RetentionRule:
        return self.by_rollenart.get(rollenart, self.default)


def parse_retention(data: dict, file: str) -> RetentionPolicy:
    root = Table(data, file, "")
    default = _parse_rule(root.sub("default", required=True))
    section = root.sub("rollenart")
    by_rollenart = {}
    for rollenart in section.data:
        if rollenart not in ROLLENARTEN:
            raise section.error(f"unknown rollenart (allowed: {', '.join(ROLLENARTEN)})", rollenart)
        by_rollenart[rollenart] = _parse_rule(section.sub(rollenart))
    root.done()
    return RetentionPolicy(default=default, by_rollenart=by_rollenart)


def _parse_rule(table: Table) -> RetentionRule:
    lock = table.get("lock_after_days", int, required=True)
    delete = table.get("delete_after_days", int, required=True)
    if lock < 0:
        raise table.error("must not be negative", "lock_after_days")
    if delete < lock:
        raise table.error("must be at least lock_after_days", "delete_after_days")
    table.done()
    return RetentionRule(lock_after_days=lock, delete_after_days=delete)
