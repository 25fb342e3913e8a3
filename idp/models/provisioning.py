"""What each service holds of each person, as we last wrote it, and which groups we made."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.clock import now
from idp.extensions import db
from idp.models.types import UTCDateTime


class ProvisionedAccount(db.Model):
    """One person's account at one service: the desired and the applied state, the last error.

    No foreign key to person: when retention deletes a person, this row still says which
    account the worker must delete at the target.
    """

    __tablename__ = "provisioned_account"

    person_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    service_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    target_key: Mapped[str] = mapped_column(String(128))
    # fingerprint of the desired account (connectors.base.Account), None: none desired
    desired_hash: Mapped[str | None] = mapped_column(String(64))
    applied_hash: Mapped[str | None] = mapped_column(String(64))
    # ok, pending (not yet written), disabled, error (the target refused it)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    applied_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)


class ProvisionedGroup(db.Model):
    """A school or class group we made at a service's target, and what we wrote."""

    __tablename__ = "provisioned_group"

    service_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    group_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    applied_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)
