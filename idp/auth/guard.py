"""Brute-force guard: failed logins counted per account name and per client address.

The counters live in the database, so every app process sees the same ones. After a few free
attempts each further failure doubles the wait before the next attempt is looked at; after
`lock_after` failures the name (or address) is soft-locked for a while. Nothing here tells a
caller whether an account exists: names are counted whether or not anyone holds them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import case, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from idp.clock import now
from idp.models import LoginThrottle

ACCOUNT = "account"
IP = "ip"


@dataclass(frozen=True)
class Limits:
    free_attempts: int
    lock_after: int
    lock_minutes: int
    max_delay_seconds: int
    forget_after_minutes: int

    def blocked_until(self, failures: int, at: dt.datetime) -> dt.datetime | None:
        """When the next attempt may be looked at, after `failures` failures."""
        if failures >= self.lock_after:
            return at + dt.timedelta(minutes=self.lock_minutes)
        if failures < self.free_attempts:
            return None
        delay = min(2 ** (failures - self.free_attempts), self.max_delay_seconds)
        return at + dt.timedelta(seconds=delay)


@dataclass(frozen=True)
class GuardState:
    blocked: set[str]
    counted: set[str]


@dataclass(frozen=True)
class Guard:
    """The limits for both kinds of key, and the secret that hides the keys."""

    account: Limits
    ip: Limits
    secret: bytes

    @classmethod
    def from_config(cls, guard: dict, secret: str) -> Guard:
        shared = {
            "max_delay_seconds": guard["max_delay_seconds"],
            "forget_after_minutes": guard["forget_after_minutes"],
        }
        return cls(
            account=Limits(
                guard["account_free_attempts"],
                guard["account_lock_after"],
                guard["account_lock_minutes"],
                **shared,
            ),
            ip=Limits(
                guard["ip_free_attempts"],
                guard["ip_lock_after"],
                guard["ip_lock_minutes"],
                **shared,
            ),
            secret=secret.encode(),
        )

    def key(self, kind: str, value: str) -> str:
        normal = value.strip().casefold() if kind == ACCOUNT else value
        return hmac.new(self.secret, f"{kind}:{normal}".encode(), hashlib.sha256).hexdigest()

    def limits(self, kind: str) -> Limits:
        return self.account if kind == ACCOUNT else self.ip

    def blocked(self, session: Session, keys: dict[str, str]) -> set[str]:
        """Which of the kinds (ACCOUNT, IP) are waiting or locked now."""
        return self.look(session, keys).blocked

    def look(self, session: Session, keys: dict[str, str]) -> GuardState:
        """The kinds that are blocked now, and those with failures on record at all."""
        at = now()
        rows = session.scalars(
            select(LoginThrottle).where(LoginThrottle.key_hash.in_(keys.values()))
        ).all()
        return GuardState(
            blocked={
                row.kind
                for row in rows
                if row.blocked_until is not None
                and row.blocked_until > at
                and not self._forgotten(row, at)
            },
            counted={row.kind for row in rows},
        )

    def failed(self, session: Session, keys: dict[str, str]) -> None:
        """Count one failure on each key, atomically, whatever process records it."""
        at = now()
        for kind, key in keys.items():
            row = self._count(session, kind, key, at)
            row.blocked_until = self.limits(kind).blocked_until(row.failures, at)

    def succeeded(self, session: Session, account_keys: list[str]) -> None:
        """A completed login forgets the account's failures (the address's are kept)."""
        session.execute(delete(LoginThrottle).where(LoginThrottle.key_hash.in_(account_keys)))

    def forget(self, session: Session, kind: str, value: str) -> int:
        """Drop the counter of one name or address (`idp users unlock`)."""
        result = session.execute(
            delete(LoginThrottle).where(LoginThrottle.key_hash == self.key(kind, value))
        )
        return result.rowcount or 0

    def purge(self, session: Session) -> int:
        """Delete counters nobody needs any more."""
        horizon = now() - dt.timedelta(
            minutes=max(
                self.account.forget_after_minutes + self.account.lock_minutes,
                self.ip.forget_after_minutes + self.ip.lock_minutes,
            )
        )
        result = session.execute(
            delete(LoginThrottle).where(LoginThrottle.last_failure_at < horizon)
        )
        return result.rowcount or 0

    def _forgotten(self, row: LoginThrottle, at: dt.datetime) -> bool:
        limits = self.limits(row.kind)
        quiet_since = max(row.last_failure_at, row.blocked_until or row.last_failure_at)
        return at - quiet_since > dt.timedelta(minutes=limits.forget_after_minutes)

    def _count(self, session: Session, kind: str, key: str, at: dt.datetime) -> LoginThrottle:
        # An upsert, so two processes counting the same key at once both count.
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        forget_before = at - dt.timedelta(minutes=self.limits(kind).forget_after_minutes)
        table = LoginThrottle.__table__
        statement = insert(table).values(
            key_hash=key, kind=kind, failures=1, last_failure_at=at, blocked_until=None
        )
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.key_hash],
            set_={
                "failures": _restart_or_add(table, forget_before),
                "last_failure_at": at,
            },
        )
        session.execute(statement)
        return session.get(LoginThrottle, key, populate_existing=True)


def _restart_or_add(table, forget_before: dt.datetime):
    quiet_since = case(
        (table.c.blocked_until > table.c.last_failure_at, table.c.blocked_until),
        else_=table.c.last_failure_at,
    )
    return case((quiet_since < forget_before, 1), else_=table.c.failures + 1)
