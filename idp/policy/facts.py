"""Read the facts the entitlement rules need about one person from the database."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from idp.clock import today
from idp.models import (
    ActivationState,
    OptOut,
    Organisation,
    OrganisationTyp,
    Person,
    Personenkontext,
    ServiceActivation,
)
from idp.policy.entitlement import KontextFacts, PersonFacts
from idp.policy.loader import Policies


def load_person_facts(
    session: Session, policies: Policies, person: Person, on: dt.date | None = None
) -> PersonFacts:
    """Everything the rules ask about `person` on day `on` (default: today), in three queries."""
    on = on or today()
    parent = aliased(Organisation)
    rows = session.execute(
        select(Personenkontext.rolle, Organisation, parent)
        .join(Organisation, Personenkontext.organisation_id == Organisation.id)
        .outerjoin(parent, Organisation.parent_id == parent.id)
        .where(Personenkontext.person_id == person.id, Personenkontext.active_on(on))
    ).all()
    kontexte = tuple(_kontext(policies, rolle, org, par) for rolle, org, par in rows)
    opt_outs = frozenset(
        session.scalars(
            select(OptOut.service_code).where(
                OptOut.person_id == person.id, OptOut.withdrawn_at.is_(None)
            )
        )
    )
    schools = {k.schule_id for k in kontexte if k.schule_id is not None}
    activations: dict[tuple[uuid.UUID, str], ActivationState] = {}
    if schools:
        for act in session.scalars(
            select(ServiceActivation).where(ServiceActivation.schule_id.in_(schools))
        ):
            activations[(act.schule_id, act.service_code)] = ActivationState(act.state)
    return PersonFacts(
        person_id=person.id,
        status=str(person.status),
        kontexte=kontexte,
        opt_outs=opt_outs,
        activations=activations,
        attributes={
            "username": person.username,
            "vorname": person.vorname,
            "familienname": person.familienname,
            "mail": person.mail,
            "geburtsdatum": person.geburtsdatum.isoformat() if person.geburtsdatum else None,
        },
    )


def _kontext(
    policies: Policies, rolle: str, org: Organisation, parent: Organisation | None
) -> KontextFacts:
    is_klasse = org.typ == OrganisationTyp.KLASSE
    school = parent if is_klasse else org if org.typ == OrganisationTyp.SCHULE else None
    return KontextFacts(
        rolle=rolle,
        rollenart=policies.roles[rolle].rollenart,
        org_typ=str(org.typ),
        org_kennung=org.kennung,
        org_name=org.name,
        schule_id=school.id if school is not None else None,
        klasse=org.name if is_klasse else None,
        schulart=school.schulart if school is not None else None,
    )
