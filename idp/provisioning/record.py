"""The record of what the worker wrote at each target (provisioned_account, provisioned_group):
a batch's changes gathered as plain rows and written with a few executemany statements."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, delete, insert, update
from sqlalchemy.orm import Session

from connectors.base import Group
from idp.bulk import bulk_insert
from idp.clock import now
from idp.models import ProvisionedAccount, ProvisionedGroup
from idp.provisioning.desired import Desired
from idp.provisioning.fingerprint import fingerprint

ERROR_LENGTH = 2000
_ACCOUNT = ProvisionedAccount.__table__
_GROUP = ProvisionedGroup.__table__


@dataclass
class AccountRecord:
    """What we recorded of one account at one service."""

    target_key: str
    desired_hash: str | None
    applied_hash: str | None


class Bookkeeping:
    """A batch's changes to the record of accounts and groups, written with a few executemany
    statements (plain rows: nothing here is loaded into the session)."""

    def __init__(self):
        self.at = now()  # one time for the batch: converted once for all its rows
        self.inserts: list[dict] = []
        self.group_inserts: list[dict] = []
        self.updates: dict[tuple[str, ...], list[dict]] = {}  # by the columns they set
        self.group_updates: list[dict] = []
        self.removals: list[dict] = []

    def desired(self, person_id: uuid.UUID, service: str, wanted: str) -> None:
        self._update(person_id, service, desired_hash=wanted)

    def written(
        self, desired: Desired, row: AccountRecord | None, wanted: str, active: bool
    ) -> None:
        state = {
            "desired_hash": wanted,
            "applied_hash": wanted,
            "status": "ok" if active else "disabled",
            "last_error": None,
            "applied_at": self.at,
        }
        self._upsert(desired, row, state)

    def note(
        self,
        desired: Desired,
        row: AccountRecord | None,
        status: str,
        error: str,
        wanted: str | None,
    ) -> None:
        state = {"status": status, "last_error": error[:ERROR_LENGTH]}
        if wanted is not None:
            state["desired_hash"] = wanted
        self._upsert(desired, row, state)

    def remove(self, person_id: uuid.UUID, service: str) -> None:
        self.removals.append({"b_person": person_id, "b_service": service})

    def group(self, service: str, group: Group, recorded: bool) -> None:
        hashed = fingerprint(group)
        if recorded:
            self.group_updates.append(
                {"b_service": service, "b_key": group.key, "applied_hash": hashed}
            )
        else:
            self.group_inserts.append(
                {"service_code": service, "group_key": group.key, "applied_hash": hashed}
            )

    def _upsert(self, desired: Desired, row: AccountRecord | None, state: dict) -> None:
        if row is None:
            self.inserts.append(
                {
                    "person_id": desired.person_id,
                    "service_code": desired.service,
                    "target_key": desired.key,
                    "desired_hash": None,
                    "applied_hash": None,
                    "applied_at": None,
                    "last_error": None,
                    "updated_at": self.at,
                    **state,
                }
            )
        else:
            self._update(desired.person_id, desired.service, **state)

    def _update(self, person_id: uuid.UUID, service: str, **values) -> None:
        key = tuple(sorted(values))
        self.updates.setdefault(key, []).append(
            {"b_person": person_id, "b_service": service, **values}
        )

    def execute(self, session: Session) -> None:
        one_account = and_(
            _ACCOUNT.c.person_id == bindparam("b_person"),
            _ACCOUNT.c.service_code == bindparam("b_service"),
        )
        if self.inserts:
            bulk_insert(session, _ACCOUNT, self.inserts)
        for rows in self.updates.values():  # SET: the columns the rows name
            session.execute(update(_ACCOUNT).where(one_account), rows)
        if self.removals:
            session.execute(delete(_ACCOUNT).where(one_account), self.removals)
        if self.group_inserts:
            session.execute(insert(_GROUP), self.group_inserts)
        if self.group_updates:
            session.execute(
                update(_GROUP).where(
                    _GROUP.c.service_code == bindparam("b_service"),
                    _GROUP.c.group_key == bindparam("b_key"),
                ),
                self.group_updates,
            )
