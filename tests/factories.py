"""Small builders for a state: organisations, persons and contexts, written through the models."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from idp.models import (
    ActivationState,
    Beziehung,
    Organisation,
    OrganisationTyp,
    Person,
    Personenkontext,
    ServiceActivation,
)

LONG_AGO = dt.date(2020, 8, 1)


@dataclass
class State:
    land: Organisation
    ministerium: Organisation
    schulamt: Organisation
    traeger: Organisation
    schule: Organisation
    klasse: Organisation
    andere_schule: Organisation


def org(
    session: Session,
    typ: OrganisationTyp,
    kennung: str,
    name: str,
    parent: Organisation | None = None,
    **fields,
) -> Organisation:
    organisation = Organisation(
        typ=typ, kennung=kennung, name=name, parent_id=parent.id if parent else None, **fields
    )
    session.add(organisation)
    session.flush()
    return organisation


def small_state(session: Session) -> State:
    land = org(session, OrganisationTyp.LAND, "MV", "Mecklenburg-Vorpommern")
    ministerium = org(session, OrganisationTyp.MINISTERIUM, "BM", "Bildungsministerium", land)
    schulamt = org(
        session, OrganisationTyp.SCHULAMT, "SSA-HRO", "Staatliches Schulamt Rostock", land
    )
    traeger = org(session, OrganisationTyp.SCHULTRAEGER, "ST-0001", "Hansestadt Rostock", land)
    schule = org(
        session,
        OrganisationTyp.SCHULE,
        "750001",
        "Gymnasium am Strand",
        schulamt,
        schultraeger_id=traeger.id,
        schulart="Gymnasium",
    )
    klasse = org(session, OrganisationTyp.KLASSE, "750001/7b", "7b", schule)
    andere = org(
        session,
        OrganisationTyp.SCHULE,
        "750002",
        "Grundschule Warnemünde",
        schulamt,
        schultraeger_id=traeger.id,
        schulart="Grundschule",
    )
    return State(land, ministerium, schulamt, traeger, schule, klasse, andere)


def person(session: Session, username: str, vorname: str, familienname: str, **fields) -> Person:
    p = Person(username=username, vorname=vorname, familienname=familienname, **fields)
    session.add(p)
    session.flush()
    return p


def kontext(
    session: Session,
    p: Person,
    organisation: Organisation,
    rolle: str,
    valid_from: dt.date = LONG_AGO,
    valid_until: dt.date | None = None,
    source: str = "test",
) -> Personenkontext:
    k = Personenkontext(
        person_id=p.id,
        organisation_id=organisation.id,
        rolle=rolle,
        valid_from=valid_from,
        valid_until=valid_until,
        source=source,
    )
    session.add(k)
    session.flush()
    return k


def beziehung(session: Session, guardian: Person, learner: Person, art: str = "Mutter") -> None:
    session.add(
        Beziehung(
            erziehungsberechtigter_id=guardian.id, lernender_id=learner.id, art=art, source="test"
        )
    )
    session.flush()


def activation(
    session: Session, schule: Organisation, service: str, state: ActivationState
) -> None:
    session.add(ServiceActivation(schule_id=schule.id, service_code=service, state=state))
    session.flush()
