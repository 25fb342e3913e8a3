"""ServiceActivationStep: who took which step of a school's application, and when."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.clock import now
from idp.extensions import db
from idp.models.organisation import str_enum
from idp.models.service import ActivationState
from idp.models.types import BigId, UTCDateTime


class ServiceActivationStep(db.Model):
    """One row per state a ServiceActivation reached; ids give the order within one moment."""

    __tablename__ = "service_activation_step"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    activation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("service_activation.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[ActivationState] = mapped_column(str_enum(ActivationState, "activation_state"))
    # As the audit trail names them ("verwaltung:anna.schmidt", "cli:root").
    actor: Mapped[str] = mapped_column(String(255))
    actor_person_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL")
    )
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    note: Mapped[str | None] = mapped_column(Text)
