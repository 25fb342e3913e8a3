"""Console: per-school service activations (the itslearning application), both sides.

A Schulleitung (right `aktivierung.beantragen`) applies for their school, names at most two
contact persons and confirms both agreements, and later asks for the learners' access; the
ministry (right `aktivierung.freigeben`) approves and records that access data are set up.
Both see every step with who and when (idp.activations).
"""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from idp import activations, clock
from idp.console.access import admin, guard
from idp.extensions import db
from idp.models import (
    ActivationState,
    Organisation,
    OrganisationTyp,
    Person,
    Personenkontext,
    ServiceActivation,
)
from idp.policy import current_policies

blueprint = Blueprint("console_activations", __name__, url_prefix="/verwaltung/aktivierungen")
guard(blueprint)
APPLY = "aktivierung.beantragen"
APPROVE = "aktivierung.freigeben"
MAX_SCHOOLS = 200


@blueprint.before_request
def _some_side_only() -> None:
    if not (admin().scope.has(APPLY) or admin().scope.has(APPROVE)):
        abort(403)


@blueprint.get("/")
def overview() -> str:
    policies = current_policies()
    services = {c: s for c, s in policies.services.items() if s.activation}
    scope = admin().scope
    own = []
    if scope.has(APPLY):
        for school in _schools(APPLY):
            existing = {
                a.service_code: a
                for a in db.session.scalars(
                    select(ServiceActivation).where(ServiceActivation.schule_id == school.id)
                )
            }
            rows = activations.describe(db.session, list(existing.values()))
            described = {row["service"]: row for row in rows}
            own.append(
                {
                    "school": school,
                    "services": [
                        (code, service, described.get(code)) for code, service in services.items()
                    ],
                    "candidates": _contact_candidates(school),
                }
            )
    pending = []
    if scope.has(APPROVE):
        chosen = request.args.get("stand") or "offen"
        query = (
            select(ServiceActivation)
            .join(Organisation, Organisation.id == ServiceActivation.schule_id)
            .where(scope.organisations(APPROVE))
            .order_by(Organisation.kennung)
            .limit(500)
        )
        if chosen == "offen":
            query = query.where(
                ServiceActivation.state.in_(
                    [
                        ActivationState.VERTRAEGE_BESTAETIGT,
                        ActivationState.FREIGEGEBEN,
                        ActivationState.LERNENDE_BEANTRAGT,
                        ActivationState.LERNENDE_FREIGEGEBEN,
                    ]
                )
            )
        found = list(db.session.scalars(query))
        pending = list(zip(found, activations.describe(db.session, found), strict=True))
    return render_template(
        "console/activations.html",
        own=own,
        pending=pending,
        services=services,
        approver=scope.has(APPROVE),
        states=ActivationState,
        limit=activations.MAX_CONTACT_PERSONS,
    )


@blueprint.post("/<uuid:schule_id>/<service>/beantragen")
def apply(schule_id: uuid.UUID, service: str) -> Response:
    school = _school(schule_id, APPLY)
    contacts = []
    for raw in request.form.getlist("kontakt")[: activations.MAX_CONTACT_PERSONS + 1]:
        try:
            contacts.append(uuid.UUID(raw))
        except ValueError:
            abort(400)
    return _step(
        lambda: activations.request(
            db.session,
            current_policies(),
            school,
            service,
            admin().actor,
            contacts,
            bool(request.form.get("avv")),
            bool(request.form.get("gemeinsame_verantwortung")),
            actor_person_id=admin().person.id,
        ),
        _("Der Antrag ist gestellt. Das Ministerium prüft ihn."),
    )


@blueprint.post("/<uuid:schule_id>/<service>/lernende-beantragen")
def apply_learners(schule_id: uuid.UUID, service: str) -> Response:
    school = _school(schule_id, APPLY)
    return _step(
        lambda: activations.request_learners(
            db.session, school, service, admin().actor, actor_person_id=admin().person.id
        ),
        _("Die Zugänge für Schülerinnen und Schüler sind beantragt."),
    )


@blueprint.post("/<uuid:schule_id>/<service>/<any(freigeben, eingerichtet):schritt>")
def ministry_step(schule_id: uuid.UUID, service: str, schritt: str) -> Response:
    """The ministry approves (freigeben) or records access set up (eingerichtet), for the
    teachers or, with `lernende`, the learners."""
    school = _school(schule_id, APPROVE)
    take = activations.approve if schritt == "freigeben" else activations.mark_provisioned
    return _step(
        lambda: take(
            db.session,
            school,
            service,
            admin().actor,
            learners=bool(request.form.get("lernende")),
            actor_person_id=admin().person.id,
        ),
        _("Freigegeben.") if schritt == "freigeben" else _("Als eingerichtet vermerkt."),
    )


def _step(take, done: str) -> Response:
    try:
        take()
    except activations.ActivationError as error:
        db.session.rollback()
        flash(error.message)
    else:
        db.session.commit()
        flash(done)
    return redirect(url_for("console_activations.overview"), code=303)


def _school(schule_id: uuid.UUID, right: str) -> Organisation:
    school = db.session.get(Organisation, schule_id)
    if school is None or school.typ != OrganisationTyp.SCHULE:
        abort(404)
    if not admin().scope.may_at(db.session, right, schule_id):
        abort(404)
    return school


def _schools(right: str) -> list[Organisation]:
    return list(
        db.session.scalars(
            select(Organisation)
            .where(admin().scope.organisations(right), Organisation.typ == OrganisationTyp.SCHULE)
            .order_by(Organisation.kennung)
            .limit(MAX_SCHOOLS)
        )
    )


def _contact_candidates(school: Organisation) -> list[Person]:
    """Staff of the school who may be named as contact persons (teachers and leadership)."""
    staff_roles = [
        code
        for code, role in current_policies().roles.items()
        if role.rollenart in ("LEHR", "LEIT", "NLEHR", "ORGADMIN")
    ]
    return list(
        db.session.scalars(
            select(Person)
            .join(Personenkontext, Personenkontext.person_id == Person.id)
            .where(
                Personenkontext.organisation_id == school.id,
                Personenkontext.rolle.in_(staff_roles),
                Personenkontext.active_on(clock.today()),
            )
            .order_by(Person.sortname)
            .distinct()
            .limit(300)
        )
    )
