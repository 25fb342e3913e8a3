"""Organisation: the tree Land → Schulamt → Schule → Klasse, plus Ministerium and Schulträger."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.clock import now
from idp.extensions import db
from idp.ids import new_id
from idp.models.types import UTCDateTime


class OrganisationTyp(enum.StrEnum):
    LAND = "LAND"
    MINISTERIUM = "MINISTERIUM"
    SCHULAMT = "SCHULAMT"
    SCHULTRAEGER = "SCHULTRAEGER"
    SCHULE = "SCHULE"
    KLASSE = "KLASSE"


def str_enum(enum_cls: type[enum.StrEnum], name: str) -> Enum:
    """A portable enum column: a VARCHAR with a CHECK constraint, the same on both databases."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
    )


class Organisation(db.Model):
    """A node of the organisation tree. A Schule also points to its Schulträger."""

    __tablename__ = "organisation"
    __table_args__ = (UniqueConstraint("typ", "kennung"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    kennung: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    typ: Mapped[OrganisationTyp] = mapped_column(str_enum(OrganisationTyp, "organisation_typ"))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    schultraeger_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    schulart: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    parent: Mapped[Organisation | None] = relationship(
        remote_side=[id], foreign_keys=[parent_id], back_populates="children"
    )
    children: Mapped[list[Organisation]] = relationship(
        foreign_keys=[parent_id], back_populates="parent"
    )
    schultraeger: Mapped[Organisation | None] = relationship(
        remote_side=[id], foreign_keys=[schultraeger_id]
    )

    def __repr__(self) -> str:
        return f"<Organisation {self.typ} {self.kennung} {self.name!r}>"
