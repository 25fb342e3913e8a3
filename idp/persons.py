"""Read persons for operators: the list and the detail view, as plain dicts with stable names.

The field names here are a public interface (`idp users ... --json`, docs/cli.md).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased

from idp.clock import today
from idp.models import Beziehung, Organisation, OrganisationTyp, Person, Personenkontext


def find_school(session: Session, kennung: str) -> Organisation | None:
    return session.scalars(
        select(Organisation).where(
            Organisation.typ == OrganisationTyp.SCHULE, Organisation.kennung == kennung
        )
    ).one_or_none()


def list_persons(
    session: Session,
    *,
    school: Organisation | None = None,
    limit: int = 100,
    on: dt.date | None = None,
) -> list[dict[str, Any]]:
    """Persons ordered by name; with `school`, only those with an active context there."""
    on = on or today()
    query = _persons_query(school, on)
    persons = session.scalars(query.limit(limit)).all()
    kontexte = _kontexte_of(session, [p.id for p in persons], active_on=on)
    return [{**_person_fields(p), "kontexte": kontexte.get(p.id, [])} for p in persons]


def persons_of_school(
    session: Session, school: Organisation, on: dt.date | None = None
) -> list[Person]:
    """Everyone with an active context at the school or one of its classes, ordered by name."""
    return list(session.scalars(_persons_query(school, on or today())).all())


def _persons_query(school: Organisation | None, on: dt.date):
    query = select(Person).order_by(Person.sortname, Person.username)
    if school is not None:
        klasse = aliased(Organisation)
        at_school = (
            select(Personenkontext.person_id)
            .outerjoin(klasse, klasse.id == Personenkontext.organisation_id)
            .where(
                Personenkontext.active_on(on),
                or_(Personenkontext.organisation_id == school.id, klasse.parent_id == school.id),
            )
        )
        query = query.where(Person.id.in_(at_school))
    return query


def person_detail(session: Session, username: str, on: dt.date | None = None) -> dict | None:
    """Everything an operator needs about one person, or None if the username is unknown."""
    on = on or today()
    person = session.scalars(
        select(Person).where(Person.username == username.strip().lower())
    ).one_or_none()
    if person is None:
        return None
    kontexte = _kontexte_of(session, [person.id], active_on=None, on=on).get(person.id, [])
    return {
        **_person_fields(person),
        "geburtsdatum": person.geburtsdatum.isoformat() if person.geburtsdatum else None,
        "auskunftssperre": person.auskunftssperre,
        "ausgeschieden_am": _iso(person.ausgeschieden_am),
        "loeschdatum": _iso(person.loeschdatum),
        "created_at": person.created_at.isoformat(),
        "kontexte": kontexte,
        "erziehungsberechtigte": _related(
            session, Beziehung.lernender_id, person.id, Beziehung.erziehungsberechtigter_id
        ),
        "kinder": _related(
            session, Beziehung.erziehungsberechtigter_id, person.id, Beziehung.lernender_id
        ),
    }


def _person_fields(person: Person) -> dict[str, Any]:
    return {
        "id": str(person.id),
        "username": person.username,
        "vorname": person.vorname,
        "familienname": person.familienname,
        "mail": person.mail,
        "status": str(person.status),
    }


def _kontexte_of(
    session: Session,
    person_ids: list[uuid.UUID],
    *,
    active_on: dt.date | None,
    on: dt.date | None = None,
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    if not person_ids:
        return {}
    on = on or active_on or today()
    parent = aliased(Organisation)
    query = (
        select(Personenkontext, Organisation, parent)
        .join(Organisation, Organisation.id == Personenkontext.organisation_id)
        .outerjoin(parent, parent.id == Organisation.parent_id)
        .where(Personenkontext.person_id.in_(person_ids))
        .order_by(Personenkontext.valid_from, Organisation.kennung)
    )
    if active_on is not None:
        query = query.where(Personenkontext.active_on(active_on))
    result: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for kontext, org, par in session.execute(query):
        result.setdefault(kontext.person_id, []).append(
            {
                "rolle": kontext.rolle,
                "organisation_kennung": org.kennung,
                "organisation_name": org.name,
                "organisation_typ": str(org.typ),
                "schule_kennung": par.kennung
                if org.typ == OrganisationTyp.KLASSE and par
                else None,
                "valid_from": kontext.valid_from.isoformat(),
                "valid_until": _iso(kontext.valid_until),
                "aktiv": kontext.is_active(on),
                "source": kontext.source,
            }
        )
    return result


def _related(session: Session, match_col, person_id: uuid.UUID, other_col) -> list[dict]:
    rows = session.execute(
        select(Person.username, Person.vorname, Person.familienname, Beziehung.art)
        .join(Beziehung, other_col == Person.id)
        .where(match_col == person_id)
        .order_by(Person.username)
    )
    return [{"username": u, "vorname": v, "familienname": f, "art": art} for u, v, f, art in rows]


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None
