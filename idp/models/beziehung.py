"""Beziehung: an Erziehungsberechtigte(r) and a learner in their care."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.clock import now
from idp.extensions import db
from idp.ids import new_id
from idp.models.person import Person
from idp.models.types import UTCDateTime


class Beziehung(db.Model):
    __tablename__ = "beziehung"
    __table_args__ = (UniqueConstraint("erziehungsberechtigter_id", "lernender_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    erziehungsberechtigter_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    lernender_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    art: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    erziehungsberechtigter: Mapped[Person] = relationship(foreign_keys=[erziehungsberechtigter_id])
    lernender: Mapped[Person] = relationship(foreign_keys=[lernender_id])
