"""A school's application for a service (`activation = true` in services.toml), step by step.

The state's guidance for itslearning ("Beantragung des Lernmanagementsystems", ISY M-V):
the Schulleitung applies for its school; the ministry sends the data-processing agreement
(Auftragsverarbeitungsvertrag, AVV) with the vendor and the agreement on joint responsibility
and asks for at most two first contact persons; once the agreements are back, the ministry
prepares the teachers' access data; when the school is ready, it asks for the learners' access
data, which the ministry prepares in turn.

In the console the Schulleitung reads and confirms both agreements and names the contact
persons in the application itself, so the round trip by mail is gone: `vertraege_bestaetigt`
is part of the request, not a step of its own. A request without both confirmations is
refused; a new application reaches `vertraege_bestaetigt` at once, and its history shows both
`beantragt` and `vertraege_bestaetigt` (same actor, same moment). An application left at
`beantragt` (one that came in another way) is completed by `request`; `approve` refuses it,
since the ministry begins only once the agreements are confirmed.

    request:            (none) or beantragt  -> vertraege_bestaetigt
    approve:            vertraege_bestaetigt -> freigegeben
    mark_provisioned:   freigegeben          -> lehrkraefte_provisioniert
    request_learners:   lehrkraefte_provisioniert -> lernende_beantragt
    approve (learners): lernende_beantragt   -> lernende_freigegeben
    mark_provisioned (learners): lernende_freigegeben -> lernende_provisioniert

Entitlement (idp.policy.entitlement) reads the state: for itslearning teachers from
`freigegeben`, learners from `lernende_freigegeben`. The guidance knows no rejection and no
withdrawal, so there are none here.

Who may take a step (rights `aktivierung.beantragen`, `aktivierung.freigeben`) is the
caller's business: the console asks the admin's scope, the command line is for operators.
Every step works in the caller's transaction: it records who and when
(ServiceActivationStep) and an audit event, and flushes; the caller commits.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased

from idp import audit
from idp.clock import now, today
from idp.models import (
    ActivationState,
    Organisation,
    OrganisationTyp,
    Person,
    Personenkontext,
    ServiceActivation,
    ServiceActivationStep,
)
from idp.policy.loader import Policies
from idp.provisioning import outbox

MAX_CONTACT_PERSONS = 2

LABELS = {
    ActivationState.BEANTRAGT: "beantragt",
    ActivationState.VERTRAEGE_BESTAETIGT: "Verträge bestätigt",
    ActivationState.FREIGEGEBEN: "freigegeben",
    ActivationState.LEHRKRAEFTE_PROVISIONIERT: "Zugänge der Lehrkräfte eingerichtet",
    ActivationState.LERNENDE_BEANTRAGT: "Zugänge der Schülerinnen und Schüler beantragt",
    ActivationState.LERNENDE_FREIGEGEBEN: "Zugänge der Schülerinnen und Schüler freigegeben",
    ActivationState.LERNENDE_PROVISIONIERT: "Zugänge der Schülerinnen und Schüler eingerichtet",
}

CONTRACTS_NOTE = (
    "Auftragsverarbeitungsvertrag und Vereinbarung zur gemeinsamen Verantwortung bestätigt"
)


class ActivationError(Exception):
    """A step that cannot be taken; `message` is German and shown as it is."""

    def __init__(self, message: str, schule: Organisation | None = None) -> None:
        self.message = message
        self.schule_kennung = schule.kennung if schule else None
        prefix = f"{schule.kennung} ({schule.name}): " if schule else ""
        super().__init__(prefix + message)


@dataclass(frozen=True)
class _Step:
    what: str  # for the error message: "<what> ist nicht möglich"
    action: str  # audit action
    before: ActivationState
    after: ActivationState


_APPROVE = _Step(
    "Die Freigabe",
    "aktivierung.freigegeben",
    ActivationState.VERTRAEGE_BESTAETIGT,
    ActivationState.FREIGEGEBEN,
)
_TEACHERS_PROVISIONED = _Step(
    "Das Einrichten der Zugänge der Lehrkräfte",
    "aktivierung.lehrkraefte_provisioniert",
    ActivationState.FREIGEGEBEN,
    ActivationState.LEHRKRAEFTE_PROVISIONIERT,
)
_REQUEST_LEARNERS = _Step(
    "Der Antrag auf Zugänge für Schülerinnen und Schüler",
    "aktivierung.lernende_beantragt",
    ActivationState.LEHRKRAEFTE_PROVISIONIERT,
    ActivationState.LERNENDE_BEANTRAGT,
)
_APPROVE_LEARNERS = _Step(
    "Die Freigabe der Zugänge für Schülerinnen und Schüler",
    "aktivierung.lernende_freigegeben",
    ActivationState.LERNENDE_BEANTRAGT,
    ActivationState.LERNENDE_FREIGEGEBEN,
)
_LEARNERS_PROVISIONED = _Step(
    "Das Einrichten der Zugänge der Schülerinnen und Schüler",
    "aktivierung.lernende_provisioniert",
    ActivationState.LERNENDE_FREIGEGEBEN,
    ActivationState.LERNENDE_PROVISIONIERT,
)


def find(session: Session, schule: Organisation, service_code: str) -> ServiceActivation | None:
    """The school's application for the service, if there is one."""
    return session.scalars(
        select(ServiceActivation).where(
            ServiceActivation.schule_id == schule.id,
            ServiceActivation.service_code == service_code,
        )
    ).one_or_none()


def request(
    session: Session,
    policies: Policies,
    schule: Organisation,
    service_code: str,
    actor: str,
    contact_person_ids: Sequence[uuid.UUID],
    confirmed_avv: bool,
    confirmed_joint: bool,
    *,
    actor_person_id: uuid.UUID | None = None,
    note: str | None = None,
) -> ServiceActivation:
    """The school applies, names its first contact persons and confirms both agreements."""
    service = policies.services.get(service_code)
    if service is None:
        raise ActivationError(f"Einen Dienst „{service_code}“ gibt es nicht.", schule)
    if not service.activation:
        raise ActivationError(
            f"{service.name} braucht keinen Antrag: die Schulen nutzen ihn ohne Freischaltung.",
            schule,
        )
    if schule.typ != OrganisationTyp.SCHULE:
        raise ActivationError("Einen Antrag kann nur eine Schule stellen.", schule)
    missing = [
        text
        for confirmed, text in (
            (confirmed_avv, "des Auftragsverarbeitungsvertrags"),
            (confirmed_joint, "der Vereinbarung zur gemeinsamen Verantwortung"),
        )
        if not confirmed
    ]
    if missing:
        raise ActivationError(
            f"Ohne Bestätigung {' und '.join(missing)} kann der Antrag nicht gestellt werden.",
            schule,
        )
    activation = find(session, schule, service_code)
    before = activation.state if activation else None
    if before is not None and before != ActivationState.BEANTRAGT:
        raise ActivationError(
            f"{service.name} ist bereits beantragt (Stand: {LABELS[before]}).", schule
        )
    _check_contact_persons(session, schule, contact_person_ids)
    at = now()
    if activation is None:
        activation = ServiceActivation(
            schule_id=schule.id, service_code=service_code, state=ActivationState.BEANTRAGT
        )
        session.add(activation)
        session.flush()
        _record_step(session, activation, actor, actor_person_id, note, at)
    activation.state = ActivationState.VERTRAEGE_BESTAETIGT
    activation.kontaktpersonen = [str(p) for p in contact_person_ids]
    _record_step(session, activation, actor, actor_person_id, CONTRACTS_NOTE, at)
    _audit(
        session,
        schule,
        activation,
        actor,
        "aktivierung.beantragt",
        before,
        note,
        kontaktpersonen=activation.kontaktpersonen,
        avv_bestaetigt=True,
        gemeinsame_verantwortung_bestaetigt=True,
    )
    return activation


def approve(
    session: Session,
    schule: Organisation,
    service_code: str,
    actor: str,
    *,
    learners: bool = False,
    actor_person_id: uuid.UUID | None = None,
    note: str | None = None,
) -> ServiceActivation:
    """The ministry approves the application, or (`learners`) the learners' access data."""
    step = _APPROVE_LEARNERS if learners else _APPROVE
    return _advance(session, schule, service_code, step, actor, actor_person_id, note)


def request_learners(
    session: Session,
    schule: Organisation,
    service_code: str,
    actor: str,
    *,
    actor_person_id: uuid.UUID | None = None,
    note: str | None = None,
) -> ServiceActivation:
    """The school, ready to work with its learners, asks for their access data."""
    return _advance(session, schule, service_code, _REQUEST_LEARNERS, actor, actor_person_id, note)


def mark_provisioned(
    session: Session,
    schule: Organisation,
    service_code: str,
    actor: str,
    *,
    learners: bool = False,
    actor_person_id: uuid.UUID | None = None,
    note: str | None = None,
) -> ServiceActivation:
    """The teachers' (or `learners`') access data have been set up and sent to the school."""
    step = _LEARNERS_PROVISIONED if learners else _TEACHERS_PROVISIONED
    return _advance(session, schule, service_code, step, actor, actor_person_id, note)


def for_schools(
    schools: Sequence[Organisation], step: Callable[[Organisation], ServiceActivation]
) -> list[ServiceActivation]:
    """Take `step` for every school; if any cannot, raise naming each that cannot.

    All or nothing: after an error the caller rolls back, and nothing of the others is kept.
    """
    if not schools:
        raise ActivationError("Keine Schulen gefunden: nichts geändert.")
    done: list[ServiceActivation] = []
    problems: list[ActivationError] = []
    for schule in schools:
        try:
            done.append(step(schule))
        except ActivationError as problem:
            problems.append(problem)
    if len(schools) == 1 and problems:
        raise problems[0]
    if problems:
        raise ActivationError(
            f"Nichts geändert, {len(problems)} von {len(schools)} Schulen können diesen Schritt "
            "nicht gehen: " + "; ".join(str(p) for p in problems)
        )
    return done


def schools_of(session: Session, schulamt: Organisation) -> list[Organisation]:
    """The schools under a Schulamt, by Kennung."""
    return list(
        session.scalars(
            select(Organisation)
            .where(
                Organisation.parent_id == schulamt.id,
                Organisation.typ == OrganisationTyp.SCHULE,
            )
            .order_by(Organisation.kennung)
        )
    )


def history(session: Session, activation: ServiceActivation) -> list[ServiceActivationStep]:
    """The steps of one application, oldest first."""
    return list(
        session.scalars(
            select(ServiceActivationStep)
            .where(ServiceActivationStep.activation_id == activation.id)
            .order_by(ServiceActivationStep.at, ServiceActivationStep.id)
        )
    )


def list_activations(
    session: Session,
    service_code: str | None = None,
    schulamt: Organisation | None = None,
    state: ActivationState | None = None,
) -> list[dict[str, Any]]:
    """Applications with their steps, as plain dicts with stable names (`--json`, console)."""
    query = (
        select(ServiceActivation)
        .join(Organisation, Organisation.id == ServiceActivation.schule_id)
        .order_by(Organisation.kennung, ServiceActivation.service_code)
    )
    if service_code is not None:
        query = query.where(ServiceActivation.service_code == service_code)
    if schulamt is not None:
        query = query.where(Organisation.parent_id == schulamt.id)
    if state is not None:
        query = query.where(ServiceActivation.state == state)
    return describe(session, list(session.scalars(query)))


def describe(session: Session, activations: Sequence[ServiceActivation]) -> list[dict[str, Any]]:
    """The applications as `list_activations` shows them, in the order given."""
    if not activations:
        return []
    ids = [a.id for a in activations]
    steps: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for step in session.scalars(
        select(ServiceActivationStep)
        .where(ServiceActivationStep.activation_id.in_(ids))
        .order_by(ServiceActivationStep.at, ServiceActivationStep.id)
    ):
        steps.setdefault(step.activation_id, []).append(
            {
                "state": str(step.state),
                "actor": step.actor,
                "actor_person_id": str(step.actor_person_id) if step.actor_person_id else None,
                "at": step.at.isoformat(),
                "note": step.note,
            }
        )
    person_ids = {uuid.UUID(p) for a in activations for p in a.kontaktpersonen}
    persons = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(person_ids)))}
    schulamt = aliased(Organisation)
    schools = {
        school.id: (school, amt_kennung)
        for school, amt_kennung in session.execute(
            select(Organisation, schulamt.kennung)
            .outerjoin(schulamt, schulamt.id == Organisation.parent_id)
            .where(Organisation.id.in_({a.schule_id for a in activations}))
        )
    }
    rows = []
    for activation in activations:
        school, amt_kennung = schools[activation.schule_id]
        rows.append(
            {
                "schule_kennung": school.kennung,
                "schule_name": school.name,
                "schulamt_kennung": amt_kennung,
                "service": activation.service_code,
                "state": str(activation.state),
                "state_label": LABELS[activation.state],
                "kontaktpersonen": [
                    _contact(persons.get(uuid.UUID(p)), p) for p in activation.kontaktpersonen
                ],
                "created_at": activation.created_at.isoformat(),
                "updated_at": activation.updated_at.isoformat(),
                "steps": steps.get(activation.id, []),
            }
        )
    return rows


def _contact(person: Person | None, person_id: str) -> dict[str, Any]:
    if person is None:  # deleted since (retention)
        return {"id": person_id, "username": None, "vorname": None, "familienname": None}
    return {
        "id": person_id,
        "username": person.username,
        "vorname": person.vorname,
        "familienname": person.familienname,
    }


def _check_contact_persons(
    session: Session, schule: Organisation, person_ids: Sequence[uuid.UUID]
) -> None:
    if len(person_ids) > MAX_CONTACT_PERSONS:
        raise ActivationError(
            f"Höchstens {MAX_CONTACT_PERSONS} Erstansprechpersonen, nicht {len(person_ids)}.",
            schule,
        )
    if len(set(person_ids)) != len(person_ids):
        raise ActivationError("Dieselbe Person ist zweimal als Erstansprechperson genannt.", schule)
    if not person_ids:
        return
    klasse = aliased(Organisation)
    at_school = set(
        session.scalars(
            select(Personenkontext.person_id)
            .outerjoin(klasse, klasse.id == Personenkontext.organisation_id)
            .where(
                Personenkontext.person_id.in_(person_ids),
                Personenkontext.active_on(today()),
                or_(Personenkontext.organisation_id == schule.id, klasse.parent_id == schule.id),
            )
        )
    )
    for person_id in person_ids:
        if person_id not in at_school:
            person = session.get(Person, person_id)
            who = person.username if person else str(person_id)
            raise ActivationError(
                f"{who} ist an dieser Schule nicht tätig und kann nicht Erstansprechperson sein.",
                schule,
            )


def _advance(
    session: Session,
    schule: Organisation,
    service_code: str,
    step: _Step,
    actor: str,
    actor_person_id: uuid.UUID | None,
    note: str | None,
) -> ServiceActivation:
    activation = find(session, schule, service_code)
    if activation is None:
        raise ActivationError(f"Für {service_code} liegt kein Antrag dieser Schule vor.", schule)
    if activation.state != step.before:
        raise ActivationError(
            f"{step.what} ist nicht möglich: {service_code} steht auf "
            f"„{LABELS[activation.state]}“, nötig ist „{LABELS[step.before]}“.",
            schule,
        )
    activation.state = step.after
    _record_step(session, activation, actor, actor_person_id, note, now())
    _audit(session, schule, activation, actor, step.action, step.before, note)
    # Who may use the service at this school may have changed: provisioning looks again.
    outbox.school_changed(session, schule.id, service_code)
    return activation


def _record_step(
    session: Session,
    activation: ServiceActivation,
    actor: str,
    actor_person_id: uuid.UUID | None,
    note: str | None,
    at: dt.datetime,
) -> None:
    session.add(
        ServiceActivationStep(
            activation_id=activation.id,
            state=activation.state,
            actor=actor,
            actor_person_id=actor_person_id,
            at=at,
            note=note,
        )
    )
    session.flush()


def _audit(
    session: Session,
    schule: Organisation,
    activation: ServiceActivation,
    actor: str,
    action: str,
    before: ActivationState | None,
    note: str | None,
    **details: Any,
) -> None:
    details = {
        "dienst": activation.service_code,
        "schule": schule.kennung,
        "vorher": str(before) if before else None,
        "stand": str(activation.state),
        **details,
    }
    if note:
        details["notiz"] = note
    audit.record(
        session,
        audit.Event(
            actor,
            action,
            f"{activation.service_code}@{schule.kennung}",
            organisation_id=schule.id,
            details=details,
        ),
    )
