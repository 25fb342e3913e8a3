"""Service (copied from policies/services.toml), ServiceActivation per school, and OptOut."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.clock import now
from idp.extensions import db
from idp.ids import new_id
from idp.models.organisation import Organisation, str_enum
from idp.models.person import Person
from idp.models.types import JSONType, UTCDateTime


class Service(db.Model):
    __tablename__ = "service"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    protocol: Mapped[str] = mapped_column(String(8))
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    connector: Mapped[str | None] = mapped_column(String(40))
    activation_required: Mapped[bool] = mapped_column(Boolean, default=False)


class ActivationState(enum.StrEnum):
    """The itslearning application of the state, step by step, in order."""

    BEANTRAGT = "beantragt"
    VERTRAEGE_BESTAETIGT = "vertraege_bestaetigt"
    FREIGEGEBEN = "freigegeben"
    LEHRKRAEFTE_PROVISIONIERT = "lehrkraefte_provisioniert"
    LERNENDE_BEANTRAGT = "lernende_beantragt"
    LERNENDE_FREIGEGEBEN = "lernende_freigegeben"
    LERNENDE_PROVISIONIERT = "lernende_provisioniert"

    @property
    def rank(self) -> int:
        return list(ActivationState).index(self)


class ServiceActivation(db.Model):
    __tablename__ = "service_activation"
    __table_args__ = (UniqueConstraint("schule_id", "service_code"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    schule_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    service_code: Mapped[str] = mapped_column(ForeignKey("service.code", ondelete="CASCADE"))
    state: Mapped[ActivationState] = mapped_column(
        str_enum(ActivationState, "activation_state"), default=ActivationState.BEANTRAGT
    )
    # At most two first contact persons (person ids), as the state's guidance asks.
    kontaktpersonen: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)

    schule: Mapped[Organisation] = relationship()


class OptOut(db.Model):
    """An objection of a person (or their guardian) to one service; active until withdrawn."""

    __tablename__ = "opt_out"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    service_code: Mapped[str] = mapped_column(ForeignKey("service.code", ondelete="CASCADE"))
    reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    withdrawn_by: Mapped[str | None] = mapped_column(String(255))
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    person: Mapped[Person] = relationship()
