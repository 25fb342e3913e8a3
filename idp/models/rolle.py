"""Rolle and Personenkontext: "person P has role R at organisation O from .. until ..".

Rollen are defined in policies/roles.toml and copied here by `idp db upgrade` so that
contexts can reference them.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint, and_, or_
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from idp.clock import now
from idp.extensions import db
from idp.ids import new_id
from idp.models.organisation import Organisation
from idp.models.person import Person
from idp.models.types import JSONType, UTCDateTime


class Rolle(db.Model):
    __tablename__ = "rolle"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    rollenart: Mapped[str] = mapped_column(String(16))
    org_types: Mapped[list[str]] = mapped_column(JSONType, default=list)
    rights: Mapped[list[dict]] = mapped_column(JSONType, default=list)


class Personenkontext(db.Model):
    """Effective-dated: valid_from and valid_until are both inclusive; no valid_until = open."""

    __tablename__ = "personenkontext"
    __table_args__ = (UniqueConstraint("person_id", "organisation_id", "rolle", "valid_from"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    rolle: Mapped[str] = mapped_column(ForeignKey("rolle.code", ondelete="RESTRICT"))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    person: Mapped[Person] = relationship(back_populates="kontexte")
    organisation: Mapped[Organisation] = relationship()
    rolle_def: Mapped[Rolle] = relationship(foreign_keys=[rolle], viewonly=True)

    def is_active(self, on: dt.date) -> bool:
        return self.valid_from <= on and (self.valid_until is None or on <= self.valid_until)

    @classmethod
    def active_on(cls, on: dt.date) -> ColumnElement[bool]:
        """SQL condition: the context is valid on `on`."""
        return and_(cls.valid_from <= on, or_(cls.valid_until.is_(None), cls.valid_until >= on))
