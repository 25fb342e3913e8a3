"""Console: find people, see one person, and act on them within the admin's rights."""

from __future__ import annotations

import datetime as dt
import uuid

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from idp import audit, clock
from idp.auth import totp
from idp.auth.sessions import end_other
from idp.console.access import admin, guard, person_or_404, require
from idp.console.person_page import MANUAL_SOURCE, person_page, sources_of
from idp.console.search import Query, search
from idp.extensions import db
from idp.models import (
    OptOut,
    Organisation,
    OrganisationTyp,
    Personenkontext,
    PersonStatus,
)
from idp.naming.din91379 import is_valid_name
from idp.naming.sorting import sort_key
from idp.policy import current_policies
from idp.provisioning import outbox

blueprint = Blueprint("console", __name__, url_prefix="/verwaltung")
guard(blueprint)


@blueprint.context_processor
def _words() -> dict:
    return {
        "status_names": {
            PersonStatus.AKTIV.value: _("aktiv"),
            PersonStatus.GESPERRT.value: _("gesperrt"),
            PersonStatus.AUSGESCHIEDEN.value: _("ausgeschieden"),
        }
    }


@blueprint.get("/")
def start() -> str:
    return render_template("console/start.html", admin=admin())


@blueprint.get("/personen")
def persons() -> str:
    query = Query(
        request.args.get("q", "")[:100],
        request.args.get("schule", "")[:100],
        request.args.get("klasse", "")[:40],
    )
    role_names = {code: role.name for code, role in current_policies().roles.items()}
    found, more = search(db.session, admin().scope, query, clock.today(), role_names)
    return render_template("console/persons.html", query=query, found=found, more=more)


@blueprint.get("/personen/<uuid:person_id>")
def person(person_id: uuid.UUID) -> str:
    target = person_or_404(person_id)
    policies = current_policies()
    page = person_page(db.session, policies, target, clock.today())
    scope = admin().scope
    rights = {
        right: scope.may(db.session, right, person_id)
        for right in (
            "sperren",
            "passwort.zuruecksetzen",
            "zweiter_faktor.zuruecksetzen",
            "kontexte.verwalten",
            "optout.verwalten",
            "zugangsdaten.drucken",
            "personen.bearbeiten",
        )
    }
    return render_template(
        "console/person.html",
        page=page,
        rights=rights,
        roles=_assignable_roles(policies) if rights["kontexte.verwalten"] else [],
        places=_places() if rights["kontexte.verwalten"] else [],
        today=clock.today(),
    )


@blueprint.post("/personen/<uuid:person_id>/sperren")
def lock(person_id: uuid.UUID) -> Response:
    target = require("sperren", person_id)
    if target.status == PersonStatus.AKTIV:
        target.status = PersonStatus.GESPERRT
        end_other(db.session, target.id)
        _audit("person.gesperrt", target)
        db.session.commit()
        flash(_("Der Zugang ist gesperrt; alle Sitzungen sind beendet."))
    return _back(person_id)


@blueprint.post("/personen/<uuid:person_id>/entsperren")
def unlock(person_id: uuid.UUID) -> Response:
    target = require("sperren", person_id)
    if target.status == PersonStatus.GESPERRT:
        target.status = PersonStatus.AKTIV
        _audit("person.entsperrt", target)
        db.session.commit()
        flash(_("Der Zugang ist wieder freigegeben."))
    return _back(person_id)


@blueprint.post("/personen/<uuid:person_id>/zweiter-faktor/zuruecksetzen")
def reset_second_factor(person_id: uuid.UUID) -> Response:
    target = require("zweiter_faktor.zuruecksetzen", person_id)
    if totp.remove(db.session, target.id):
        end_other(db.session, target.id)
        _audit("zweitfaktor.zurueckgesetzt", target)
        db.session.commit()
        flash(
            _(
                "Der zweite Faktor ist zurückgesetzt; "
                "bei der nächsten Anmeldung wird er neu eingerichtet."
            )
        )
    return _back(person_id)


@blueprint.post("/personen/<uuid:person_id>/stammdaten")
def edit_person(person_id: uuid.UUID) -> Response:
    """Name and birth date, for people the console made; imported ones are kept at the source."""
    target = require("personen.bearbeiten", person_id)
    sources = sources_of(db.session, target.id)
    if sources:
        flash(
            _(
                "Name und Geburtsdatum kommen aus %(quellen)s: die nächste Übernahme würde Ihre "
                "Änderung überschreiben. Bitte ändern Sie sie dort.",
                quellen=", ".join(sources),
            )
        )
        return _back(person_id)
    vorname = request.form.get("vorname", "").strip()
    familienname = request.form.get("familienname", "").strip()
    geburtsdatum = _date(request.form.get("geburtsdatum"))
    problems = [
        _("%(feld)s: %(text)s ist kein gültiger Name (DIN 91379).", feld=label, text=value)
        for label, value in ((_("Vorname"), vorname), (_("Familienname"), familienname))
        if not value or len(value) > 255 or not is_valid_name(value)
    ]
    if problems:
        for problem in problems:
            flash(problem)
        return _back(person_id)
    before = {"vorname": target.vorname, "familienname": target.familienname}
    target.vorname, target.familienname = vorname, familienname
    target.sortname = sort_key(familienname, vorname)
    if request.form.get("geburtsdatum") is not None:
        target.geburtsdatum = geburtsdatum
    _audit("person.geaendert", target, details={"vorher": before})
    db.session.commit()
    flash(_("Die Stammdaten sind geändert."))
    return _back(person_id)


@blueprint.post("/personen/<uuid:person_id>/kontexte")
def add_kontext(person_id: uuid.UUID) -> Response:
    target = require("kontexte.verwalten", person_id)
    policies = current_policies()
    rolle = request.form.get("rolle", "")
    role = policies.roles.get(rolle)
    organisation = _place(request.form.get("organisation", ""))
    valid_from = _date(request.form.get("valid_from")) or clock.today()
    valid_until = _date(request.form.get("valid_until"))
    problem = None
    if role is None or rolle not in {r.code for r in _assignable_roles(policies)}:
        problem = _("Diese Rolle können Sie nicht vergeben.")
    elif organisation is None:
        problem = _("Diese Organisation liegt nicht in Ihrem Bereich.")
    elif organisation.typ.value not in role.org_types:
        problem = _(
            "Die Rolle %(rolle)s gibt es an dieser Art von Organisation nicht.", rolle=role.name
        )
    elif valid_until is not None and valid_until < valid_from:
        problem = _("Das Ende liegt vor dem Beginn.")
    if problem:
        flash(problem)
        return _back(person_id)
    kontext = Personenkontext(
        person_id=target.id,
        organisation_id=organisation.id,
        rolle=rolle,
        valid_from=valid_from,
        valid_until=valid_until,
        source=MANUAL_SOURCE,
    )
    db.session.add(kontext)
    _audit(
        "kontext.angelegt",
        target,
        organisation.id,
        {"rolle": rolle, "organisation": organisation.kennung, "von": str(valid_from)},
    )
    db.session.commit()
    flash(_("Die Rolle ist eingetragen."))
    return _back(person_id)


@blueprint.post("/personen/<uuid:person_id>/kontexte/<uuid:kontext_id>/beenden")
def end_kontext(person_id: uuid.UUID, kontext_id: uuid.UUID) -> Response:
    target = require("kontexte.verwalten", person_id)
    kontext = _owned(Personenkontext, kontext_id, target)
    if not admin().scope.may_at(db.session, "kontexte.verwalten", kontext.organisation_id):
        abort(403)
    if kontext.source != MANUAL_SOURCE:
        flash(
            _(
                "Diese Rolle kommt aus dem Import und wird dort gepflegt: die nächste Übernahme "
                "würde Ihre Änderung überschreiben. Bitte ändern Sie sie im Quellsystem."
            )
        )
        return _back(person_id)
    yesterday = clock.today() - dt.timedelta(days=1)
    kontext.valid_until = max(yesterday, kontext.valid_from - dt.timedelta(days=1))
    _audit("kontext.beendet", target, kontext.organisation_id, {"rolle": kontext.rolle})
    db.session.commit()
    flash(_("Die Rolle ist beendet."))
    return _back(person_id)


@blueprint.post("/personen/<uuid:person_id>/widerspruch")
def add_opt_out(person_id: uuid.UUID) -> Response:
    target = require("optout.verwalten", person_id)
    service = request.form.get("dienst", "")
    if service not in current_policies().services:
        abort(400)
    active = db.session.scalar(
        select(OptOut).where(
            OptOut.person_id == target.id,
            OptOut.service_code == service,
            OptOut.withdrawn_at.is_(None),
        )
    )
    if active is None:
        db.session.add(
            OptOut(
                person_id=target.id,
                service_code=service,
                reason=(request.form.get("grund") or "")[:500] or None,
                created_by=admin().actor,
            )
        )
        _audit("widerspruch.eingetragen", target, details={"dienst": service})
        db.session.commit()
        flash(_("Der Widerspruch ist eingetragen: der Dienst erhält keine Daten mehr."))
    return _back(person_id)


@blueprint.post("/personen/<uuid:person_id>/widerspruch/<uuid:opt_out_id>/zuruecknehmen")
def withdraw_opt_out(person_id: uuid.UUID, opt_out_id: uuid.UUID) -> Response:
    target = require("optout.verwalten", person_id)
    opt_out = _owned(OptOut, opt_out_id, target)
    if opt_out.withdrawn_at is None:
        opt_out.withdrawn_at = clock.now()
        opt_out.withdrawn_by = admin().actor
        _audit("widerspruch.zurueckgenommen", target, details={"dienst": opt_out.service_code})
        db.session.commit()
        flash(_("Der Widerspruch ist zurückgenommen."))
    return _back(person_id)


def _owned(model, object_id: uuid.UUID, person):
    """A row of `model` that belongs to `person`, or 404."""
    found = db.session.get(model, object_id)
    if found is None or found.person_id != person.id:
        abort(404)
    return found


def _assignable_roles(policies):
    """Roles an admin may hand out: only those whose rollenart their targets allow."""
    targets = {
        t for reach in admin().scope.reaches.get("kontexte.verwalten", ()) for t in reach.targets
    }
    unrestricted = any(not r.targets for r in admin().scope.reaches.get("kontexte.verwalten", ()))
    return [
        role
        for role in policies.roles.values()
        if (unrestricted or role.rollenart in targets) and not role.is_admin
    ]


def _places() -> list[Organisation]:
    """Schools and classes inside the admin's reach for managing contexts (at most 500)."""
    return list(
        db.session.scalars(
            select(Organisation)
            .where(
                admin().scope.organisations("kontexte.verwalten"),
                Organisation.typ.in_(
                    [OrganisationTyp.SCHULE, OrganisationTyp.KLASSE, OrganisationTyp.SCHULTRAEGER]
                ),
            )
            .order_by(Organisation.kennung)
            .limit(500)
        )
    )


def _place(raw: str) -> Organisation | None:
    try:
        organisation_id = uuid.UUID(raw)
    except ValueError:
        return None
    if not admin().scope.may_at(db.session, "kontexte.verwalten", organisation_id):
        return None
    return db.session.get(Organisation, organisation_id)


def _date(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _audit(action, target, organisation_id=None, details=None) -> None:
    """Record the change, and tell provisioning the person changed (same transaction)."""
    audit.record(
        db.session,
        audit.Event(admin().actor, action, target.username, organisation_id, details or {}),
    )
    if action != "zweitfaktor.zurueckgesetzt":
        outbox.person_changed(db.session, target.id)


def _back(person_id: uuid.UUID) -> Response:
    return redirect(url_for("console.person", person_id=person_id), code=303)
