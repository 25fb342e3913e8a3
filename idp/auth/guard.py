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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import bindparam, case, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from idp.clock import now
from idp.models import LoginThrottle
from idp.prepared import Prepared

ACCOUNT = "account"
IP = "ip"

# Built once: every login attempt looks its counters up, every failure counts. Core
# statements, no ORM objects.
_THROTTLE = LoginThrottle.__table__
# An attempt always has one key of each kind: two fixed parameters, no list to expand (an
# expanding IN is compiled anew on every execution).
_LOOK = Prepared(
    select(_THROTTLE.c.kind, _THROTTLE.c.last_failure_at, _THROTTLE.c.blocked_until).where(
        _THROTTLE.c.key_hash.in_([bindparam(ACCOUNT), bindparam(IP)])
    ),
    named=True,
)
_AT = bindparam("at", type_=_THROTTLE.c.last_failure_at.type)
_QUIET_SINCE = case(
    (_THROTTLE.c.blocked_until > _THROTTLE.c.last_failure_at, _THROTTLE.c.blocked_until),
    else_=_THROTTLE.c.last_failure_at,
)
_FORGET_BEFORE = bindparam("forget_before", type_=_AT.type)
# A counter quiet for longer than `forget_after_minutes` starts again at one.
_RESTART_OR_ADD = case(
    (_QUIET_SINCE < _FORGET_BEFORE, 1),
    else_=_THROTTLE.c.failures + 1,
)


def _upsert(insert):
    # An upsert, so two processes counting the same key at once both count; it returns the
    # count including this failure, whatever another process added meanwhile.
    statement = insert(_THROTTLE).values(
        key_hash=bindparam("key"), kind=bindparam("kind"), failures=1, last_failure_at=_AT
    )
    return Prepared(
        statement.on_conflict_do_update(
            index_elements=[_THROTTLE.c.key_hash],
            set_={"failures": _RESTART_OR_ADD, "last_failure_at": _AT},
        ).returning(_THROTTLE.c.failures)
    )


# By "is PostgreSQL": the two dialects write the upsert alike, but each has its own class.
_COUNT = (_upsert(sqlite_insert), _upsert(pg_insert))
_BLOCK = Prepared(
    update(_THROTTLE)
    .where(_THROTTLE.c.key_hash == bindparam("key"))
    .values(blocked_until=bindparam("until"))
)


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


class Counter(NamedTuple):
    """One key's record as the guard judges it (a row of `_LOOK`, or read with a login)."""

    kind: str
    last_failure_at: dt.datetime
    blocked_until: dt.datetime | None


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
        params = {ACCOUNT: keys[ACCOUNT], IP: keys[IP]}
        return self.judge(_LOOK.run(session.connection(), params).all())

    def judge(self, rows: Sequence[Counter | tuple]) -> GuardState:
        """`look`'s answer from the records of its keys, read by the caller."""
        at = now()
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
            failures = self._count(session, kind, key, at)
            until = self.limits(kind).blocked_until(failures, at)
            _BLOCK.run(session.connection(), {"key": key, "until": until})

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

    def _forgotten(self, row: Counter | LoginThrottle | tuple, at: dt.datetime) -> bool:
        limits = self.limits(row.kind)
        quiet_since = max(row.last_failure_at, row.blocked_until or row.last_failure_at)
        return at - quiet_since > dt.timedelta(minutes=limits.forget_after_minutes)

    def _count(self, session: Session, kind: str, key: str, at: dt.datetime) -> int:
        """One more failure on `key`; returns the failures counted now."""
        statement = _COUNT[session.get_bind().dialect.name == "postgresql"]
        forget_before = at - dt.timedelta(minutes=self.limits(kind).forget_after_minutes)
        params = {"key": key, "kind": kind, "at": at, "forget_before": forget_before}
        return statement.run(session.connection(), params).scalar()
