"""Probable matches: list them, and let an operator confirm or reject each one."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from idp import audit
from idp.clock import now
from idp.models import MatchCandidate, Person, SourceRecord


class UnknownMatch(LookupError):
    pass


def open_matches(session: Session) -> list[dict]:
    rows = session.execute(
        select(MatchCandidate, Person)
        .join(Person, Person.id == MatchCandidate.person_id)
        .where(MatchCandidate.decision.is_(None))
        .order_by(MatchCandidate.created_at)
    )
    return [
        {
            "source": m.source,
            "external_id": m.external_id,
            "username": p.username,
            "vorname": p.vorname,
            "familienname": p.familienname,
            "geburtsdatum": p.geburtsdatum.isoformat() if p.geburtsdatum else None,
            "created_at": m.created_at.isoformat(),
        }
        for m, p in rows
    ]


def decide(session: Session, source: str, external_id: str, confirm: bool, actor: str) -> str:
    """Confirm (the new id is that person) or reject (a different person); returns the username.

    Confirming ties the external id to the person, replacing any older id of the same source,
    so the next import updates that person instead of creating one. Rejecting lets the next
    import create a new person.
    """
    match = session.scalars(
        select(MatchCandidate).where(
            MatchCandidate.source == source,
            MatchCandidate.external_id == external_id,
            MatchCandidate.decision.is_(None),
        )
    ).one_or_none()
    if match is None:
        raise UnknownMatch(f"{source} {external_id}: no open probable match")
    person = session.get(Person, match.person_id)
    match.decision = "confirmed" if confirm else "rejected"
    match.decided_by, match.decided_at = actor, now()
    if confirm:
        session.execute(
            delete(SourceRecord).where(
                SourceRecord.source == source,
                SourceRecord.kind == "person",
                SourceRecord.object_id == person.id,
            )
        )
        # An empty hash: the next import compares everything and brings the person in step.
        session.add(
            SourceRecord(
                source=source,
                kind="person",
                external_id=external_id,
                object_id=person.id,
                row_hash="",
            )
        )
    audit.record(
        session,
        audit.Event(
            actor,
            "import.zuordnung_bestaetigt" if confirm else "import.zuordnung_abgelehnt",
            f"person:{person.username}",
            details={"quelle": source, "externe_id": external_id},
        ),
    )
    return person.username
