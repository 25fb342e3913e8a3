"""Everything the console shows about one person, read in a few queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from idp.auth import totp
from idp.models import (
    AuditEvent,
    Beziehung,
    OptOut,
    Organisation,
    OrganisationTyp,
    Person,
    Personenkontext,
    ProvisionedAccount,
    SourceRecord,
)
from idp.policy.entitlement import entitlement
from idp.policy.facts import load_person_facts
from idp.policy.loader import Policies

MANUAL_SOURCE = "verwaltung"  # contexts an admin made in the console
SOURCE_NAMES = {"sip": "SIP-Schule", "personal": "Personalverwaltung", MANUAL_SOURCE: "Verwaltung"}
RECENT_EVENTS = 20


@dataclass(frozen=True)
class KontextLine:
    id: object
    organisation_id: object
    is_klasse: bool
    rolle: str
    rolle_name: str
    organisation: str
    kennung: str
    valid_from: dt.date
    valid_until: dt.date | None
    source: str
    active: bool

    @property
    def imported(self) -> bool:
        return self.source != MANUAL_SOURCE

    @property
    def source_name(self) -> str:
        return source_name(self.source)


@dataclass(frozen=True)
class ServiceLine:
    code: str
    name: str
    allowed: bool
    reason: str
    opted_out: bool
    sensitive: bool
    connector: str | None = None  # the service's provisioning target, if it has one
    provisioning: str | None = None  # ok, disabled, pending, error (None: nothing yet)
    provisioning_error: str | None = None
    provisioned_at: dt.datetime | None = None


@dataclass(frozen=True)
class PersonPage:
    person: Person
    sources: tuple[str, ...]  # the imports this person comes from
    kontexte: tuple[KontextLine, ...]
    guardians: tuple[Person, ...]
    children: tuple[Person, ...]
    services: tuple[ServiceLine, ...]
    opt_outs: tuple[OptOut, ...]
    second_factor: bool
    recovery_codes_left: int
    events: tuple[AuditEvent, ...]


def source_name(source: str) -> str:
    return SOURCE_NAMES.get(source, source)


def sources_of(session: Session, person_id) -> tuple[str, ...]:
    """The imports the person comes from, by their display names."""
    return tuple(
        sorted(
            {
                source_name(s)
                for s in session.scalars(
                    select(SourceRecord.source).where(
                        SourceRecord.object_id == person_id, SourceRecord.kind == "person"
                    )
                )
            }
        )
    )


def person_page(session: Session, policies: Policies, person: Person, on: dt.date) -> PersonPage:
    rows = session.execute(
        select(Personenkontext, Organisation.name, Organisation.kennung, Organisation.typ)
        .join(Organisation, Organisation.id == Personenkontext.organisation_id)
        .where(Personenkontext.person_id == person.id)
        .order_by(Personenkontext.valid_from.desc())
    ).all()
    kontexte = tuple(
        KontextLine(
            id=k.id,
            organisation_id=k.organisation_id,
            is_klasse=typ == OrganisationTyp.KLASSE,
            rolle=k.rolle,
            rolle_name=policies.roles[k.rolle].name if k.rolle in policies.roles else k.rolle,
            organisation=name,
            kennung=kennung,
            valid_from=k.valid_from,
            valid_until=k.valid_until,
            source=k.source,
            active=k.valid_from <= on and (k.valid_until is None or k.valid_until >= on),
        )
        for k, name, kennung, typ in rows
    )
    links = session.scalars(
        select(Beziehung).where(
            or_(
                Beziehung.lernender_id == person.id,
                Beziehung.erziehungsberechtigter_id == person.id,
            )
        )
    ).all()
    guardians = tuple(b.erziehungsberechtigter for b in links if b.lernender_id == person.id)
    children = tuple(b.lernender for b in links if b.erziehungsberechtigter_id == person.id)
    opt_outs = tuple(
        session.scalars(
            select(OptOut).where(OptOut.person_id == person.id).order_by(OptOut.created_at.desc())
        )
    )
    active_opt_outs = {o.service_code for o in opt_outs if o.withdrawn_at is None}
    facts = load_person_facts(session, policies, person)
    provisioned = {
        row.service_code: row
        for row in session.scalars(
            select(ProvisionedAccount).where(ProvisionedAccount.person_id == person.id)
        )
    }
    services = tuple(
        ServiceLine(
            code=code,
            name=service.name,
            allowed=(decision := entitlement(policies, facts, code)).allowed,
            reason=decision.message,
            opted_out=code in active_opt_outs,
            sensitive=service.sensitive,
            connector=service.connector,
            provisioning=(row := provisioned.get(code)) and row.status,
            provisioning_error=row.last_error if row else None,
            provisioned_at=row.applied_at if row else None,
        )
        for code, service in policies.services.items()
    )
    credential = totp.credential(session, person.id)
    sources = sources_of(session, person.id)
    events = tuple(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.target == person.username)
            .order_by(AuditEvent.id.desc())
            .limit(RECENT_EVENTS)
        )
    )
    return PersonPage(
        person=person,
        sources=sources,
        kontexte=kontexte,
        guardians=guardians,
        children=children,
        services=services,
        opt_outs=opt_outs,
        second_factor=credential is not None and credential.confirmed_at is not None,
        recovery_codes_left=totp.unused_recovery_codes(session, person.id) if credential else 0,
        events=events,
    )
