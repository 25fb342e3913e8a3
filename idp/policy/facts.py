"""Read the facts the entitlement rules need about one person from the database."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

from sqlalchemy import Date, and_, bindparam, case, literal, null, select, union_all
from sqlalchemy.orm import Session

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
from idp.prepared import Prepared

# Built once: every token request reads these, and building a statement costs more than
# running it. Core tables, not ORM entities: only the columns the rules need.
_KONTEXT = Personenkontext.__table__
_ORG = Organisation.__table__
_PARENT = _ORG.alias("parent")
_OPT_OUT = OptOut.__table__
_ACTIVATION = ServiceActivation.__table__
_PERSON_ID = bindparam("person_id", type_=_KONTEXT.c.person_id.type)
_ON = bindparam("on", type_=Date())

_KONTEXT_ORGS = _KONTEXT.join(_ORG, _KONTEXT.c.organisation_id == _ORG.c.id).outerjoin(
    _PARENT, _ORG.c.parent_id == _PARENT.c.id
)
_ACTIVE_ON = and_(_KONTEXT.c.person_id == _PERSON_ID, Personenkontext.active_on(_ON))
_KONTEXT_COLUMNS = (
    _KONTEXT.c.rolle,
    _ORG.c.typ,
    _ORG.c.kennung,
    _ORG.c.name,
    _ORG.c.id,
    _ORG.c.schulart,
    _PARENT.c.id,
    _PARENT.c.schulart,
)
# A Klasse's school is its parent; other organisations (Schulamt, ...) have none.
_SCHOOL_ID = case(
    (_ORG.c.typ == OrganisationTyp.KLASSE, _PARENT.c.id),
    (_ORG.c.typ == OrganisationTyp.SCHULE, _ORG.c.id),
)
# Everything about one person in one round trip: the contexts, their schools' activations and
# the person's opt-outs, as rows of one shape, told apart by their first column. Contexts come
# first: a union's result columns take their types from its first select (an activation's
# state comes back as the plain string in the name's place, its service in the kennung's).
_KONTEXT_ROW, _ACTIVATION_ROW, _OPT_OUT_ROW = "k", "a", "o"
_FACT_ROWS = Prepared(
    union_all(
        select(literal(_KONTEXT_ROW), *_KONTEXT_COLUMNS)
        .select_from(_KONTEXT_ORGS)
        .where(_ACTIVE_ON),
        select(
            literal(_ACTIVATION_ROW),
            null(),
            null(),
            _ACTIVATION.c.service_code,
            _ACTIVATION.c.state,
            _ACTIVATION.c.schule_id,
            null(),
            null(),
            null(),
        ).where(
            _ACTIVATION.c.schule_id.in_(
                select(_SCHOOL_ID).select_from(_KONTEXT_ORGS).where(_ACTIVE_ON)
            )
        ),
        select(
            literal(_OPT_OUT_ROW), null(), null(), _OPT_OUT.c.service_code, *(null(),) * 5
        ).where(_OPT_OUT.c.person_id == _PERSON_ID, _OPT_OUT.c.withdrawn_at.is_(None)),
    )
)


def load_person_facts(
    session: Session, policies: Policies, person: Person, on: dt.date | None = None
) -> PersonFacts:
    """Everything the rules ask about `person` on day `on` (default: today), in one query."""
    parameters = {"person_id": person.id, "on": on or today()}
    kontexte: list[KontextFacts] = []
    opt_outs: set[str] = set()
    activations: dict[tuple[uuid.UUID, str], ActivationState] = {}
    for kind, *row in _FACT_ROWS.run(session.connection(), parameters):
        if kind == _KONTEXT_ROW:
            kontexte.append(_kontext(policies, *row))
        elif kind == _ACTIVATION_ROW:
            _, _, service_code, state, schule_id, *_ = row
            activations[(schule_id, service_code)] = ActivationState(state)
        else:
            opt_outs.add(row[2])
    return _facts(person, tuple(kontexte), opt_outs, activations)


# What the rules read of a person: rows of these columns serve `load_person_facts` and
# `load_facts_of_many` as well as Person objects do, at a fraction of the cost.
PERSON_COLUMNS = tuple(
    Person.__table__.c[name]
    for name in (
        "id",
        "status",
        "username",
        "vorname",
        "familienname",
        "mail",
        "mail_aliases",
        "geburtsdatum",
    )
)


# The same facts for many persons at once (provisioning, reconciliation): three queries for
# the lot instead of two per person.
_PERSON_IDS = bindparam("person_ids", expanding=True, type_=_KONTEXT.c.person_id.type)
_SCHOOL_IDS = bindparam("school_ids", expanding=True, type_=_ACTIVATION.c.schule_id.type)
_KONTEXTE_OF_MANY = (
    select(_KONTEXT.c.person_id, *_KONTEXT_COLUMNS)
    .select_from(_KONTEXT_ORGS)
    .where(_KONTEXT.c.person_id.in_(_PERSON_IDS), Personenkontext.active_on(_ON))
)
_OPT_OUTS_OF_MANY = select(_OPT_OUT.c.person_id, _OPT_OUT.c.service_code).where(
    _OPT_OUT.c.person_id.in_(_PERSON_IDS), _OPT_OUT.c.withdrawn_at.is_(None)
)
_ACTIVATIONS_OF_SCHOOLS = select(
    _ACTIVATION.c.schule_id, _ACTIVATION.c.service_code, _ACTIVATION.c.state
).where(_ACTIVATION.c.schule_id.in_(_SCHOOL_IDS))


def load_facts_of_many(
    session: Session, policies: Policies, persons: Iterable, on: dt.date | None = None
) -> dict[uuid.UUID, PersonFacts]:
    """`load_person_facts` for each of `persons` (Person objects or rows with the same
    column names), by person id.

    Plain Core statements on the session's connection, in its transaction: rows, no ORM
    loading and no autoflush (provisioning, the one caller, never changes what they read)."""
    persons = list(persons)
    if not persons:
        return {}
    ids = [person.id for person in persons]
    connection = session.connection()
    kontexte: dict[uuid.UUID, list[KontextFacts]] = {}
    for person_id, *row in connection.execute(
        _KONTEXTE_OF_MANY, {"person_ids": ids, "on": on or today()}
    ):
        kontexte.setdefault(person_id, []).append(_kontext(policies, *row))
    opt_outs: dict[uuid.UUID, set[str]] = {}
    for person_id, service_code in connection.execute(_OPT_OUTS_OF_MANY, {"person_ids": ids}):
        opt_outs.setdefault(person_id, set()).add(service_code)
    schools = {k.schule_id for found in kontexte.values() for k in found if k.schule_id}
    by_school: dict[uuid.UUID, dict[tuple[uuid.UUID, str], ActivationState]] = {}
    if schools:
        for schule_id, service_code, state in connection.execute(
            _ACTIVATIONS_OF_SCHOOLS, {"school_ids": sorted(schools)}
        ):
            by_school.setdefault(schule_id, {})[(schule_id, service_code)] = ActivationState(state)
    result = {}
    for person in persons:
        found = kontexte.get(person.id, [])
        activations: dict[tuple[uuid.UUID, str], ActivationState] = {}
        for schule_id in {k.schule_id for k in found if k.schule_id}:
            activations.update(by_school.get(schule_id, {}))
        result[person.id] = _facts(
            person, tuple(found), opt_outs.get(person.id, set()), activations
        )
    return result


def _facts(person, kontexte, opt_outs, activations) -> PersonFacts:
    return PersonFacts(
        person_id=person.id,
        status=str(person.status),
        kontexte=kontexte,
        opt_outs=frozenset(opt_outs),
        activations=activations,
        attributes={
            "username": person.username,
            "vorname": person.vorname,
            "familienname": person.familienname,
            "mail": person.mail,
            "mail_aliases": list(person.mail_aliases or []),
            "geburtsdatum": person.geburtsdatum.isoformat() if person.geburtsdatum else None,
        },
    )


def _kontext(
    policies: Policies,
    rolle: str,
    typ: OrganisationTyp,
    kennung: str,
    name: str,
    org_id: uuid.UUID,
    schulart: str | None,
    parent_id: uuid.UUID | None,
    parent_schulart: str | None,
) -> KontextFacts:
    is_klasse = typ == OrganisationTyp.KLASSE
    if is_klasse:
        schule_id, schule_schulart = parent_id, parent_schulart
    elif typ == OrganisationTyp.SCHULE:
        schule_id, schule_schulart = org_id, schulart
    else:
        schule_id = schule_schulart = None
    return KontextFacts(
        rolle=rolle,
        rollenart=policies.roles[rolle].rollenart,
        org_typ=str(typ),
        org_kennung=kennung,
        org_name=name,
        schule_id=schule_id,
        klasse=name if is_klasse else None,
        schulart=schule_schulart,
    )
