"""Writing outbox events: in the caller's transaction, next to the change that caused them."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from idp.models import OutboxEvent

PERSON = "person"
SCHULE = "schule"  # every person of a school (and its classes): e.g. an activation step
ORGANISATION = "organisation"


def person_changed(session: Session, person_id: uuid.UUID, service: str | None = None) -> None:
    session.add(
        OutboxEvent(object_type=PERSON, object_id=person_id, operation="upsert", service=service)
    )


def school_changed(session: Session, schule_id: uuid.UUID, service: str | None = None) -> None:
    session.add(
        OutboxEvent(object_type=SCHULE, object_id=schule_id, operation="upsert", service=service)
    )
