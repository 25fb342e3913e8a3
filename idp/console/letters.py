"""Console: new initial passwords and their letters (PDF), for one person or a whole class.

A password exists in plain text only while its letter is rendered: it is hashed into the
database and printed into the PDF, which goes straight to the admin's browser (no-store).
"""

from __future__ import annotations

import datetime as dt
import uuid

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select

from idp import audit, clock
from idp.auth import accounts
from idp.auth.sessions import end_other
from idp.auth.settings import auth_settings
from idp.console.access import admin, guard, require
from idp.extensions import db
from idp.letters import Letter, letters_pdf
from idp.models import Organisation, OrganisationTyp, Person, Personenkontext, PersonStatus

blueprint = Blueprint("console_letters", __name__, url_prefix="/verwaltung")
guard(blueprint)
PRINT = "zugangsdaten.drucken"
RESET = "passwort.zuruecksetzen"


@blueprint.post("/personen/<uuid:person_id>/zugangsdaten")
def person_letter(person_id: uuid.UUID) -> Response:
    """A new initial password for one person, printed into their letter."""
    require(RESET, person_id)
    person = require(PRINT, person_id)
    school, klasse = _school_and_class(person.id)
    return _letters([(person, school, klasse)], f"zugangsdaten-{person.username}.pdf")


@blueprint.get("/klassen/<uuid:klasse_id>")
def klasse(klasse_id: uuid.UUID) -> str:
    """A class: its members the admin may see, and the letters button."""
    group = _klasse_or_404(klasse_id, "personen.lesen")
    members = _members(group, "personen.lesen")
    printable = _members(group, PRINT)
    return render_template(
        "console/klasse.html", klasse=group, members=members, printable=len(printable)
    )


@blueprint.post("/klassen/<uuid:klasse_id>/zugangsdaten")
def class_letters(klasse_id: uuid.UUID) -> Response:
    """New initial passwords and letters for the class's members the admin may print for;
    with `nur_neue`, only for those who never chose a password of their own."""
    group = _klasse_or_404(klasse_id, PRINT)
    members = [
        m
        for m in _members(group, PRINT)
        if admin().scope.may(db.session, RESET, m.id) and m.status == PersonStatus.AKTIV
    ]
    if request.form.get("nur_neue"):
        members = [m for m in members if m.password_hash is None or m.must_change_password]
    if not members:
        flash(_("Für diese Klasse gibt es keine Zugangsdaten zu drucken."))
        return redirect(url_for("console_letters.klasse", klasse_id=klasse_id), code=303)
    school = db.session.get(Organisation, group.parent_id)
    rows = [(m, school.name if school else "", group.name) for m in members]
    return _letters(
        rows, f"zugangsdaten-{_safe(school.kennung if school else '')}-{_safe(group.name)}.pdf"
    )


def _letters(rows: list[tuple[Person, str, str | None]], filename: str) -> Response:
    settings = auth_settings()
    valid_until = clock.today() + dt.timedelta(days=settings.initial_valid_days)
    letters = []
    for person, school, klasse in rows:
        password = accounts.issue_initial_password(settings, person)
        end_other(db.session, person.id)
        letters.append(
            Letter(
                person.vorname,
                person.familienname,
                person.username,
                password,
                school,
                klasse,
                valid_until,
            )
        )
        audit.record(
            db.session,
            audit.Event(admin().actor, "zugangsdaten.gedruckt", person.username),
        )
    login_url = current_app.config["IDP"].issuer.rstrip("/") + "/login"
    pdf = letters_pdf(letters, login_url)
    db.session.commit()
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _klasse_or_404(klasse_id: uuid.UUID, right: str) -> Organisation:
    group = db.session.get(Organisation, klasse_id)
    if group is None or group.typ != OrganisationTyp.KLASSE:
        abort(404)
    if not admin().scope.may_at(db.session, right, klasse_id):
        abort(404 if right == "personen.lesen" else 403)
    return group


def _members(group: Organisation, right: str) -> list[Person]:
    """The class's current members that `right` reaches, in name order."""
    return list(
        db.session.scalars(
            select(Person)
            .join(Personenkontext, Personenkontext.person_id == Person.id)
            .where(
                Personenkontext.organisation_id == group.id,
                Personenkontext.active_on(clock.today()),
                admin().scope.persons(right),
            )
            .order_by(Person.sortname)
            .distinct()
        )
    )


def _school_and_class(person_id: uuid.UUID) -> tuple[str, str | None]:
    """For the letter's head: the person's school and class today, if any."""
    rows = db.session.execute(
        select(Organisation.typ, Organisation.name, Organisation.parent_id)
        .join(Personenkontext, Personenkontext.organisation_id == Organisation.id)
        .where(Personenkontext.person_id == person_id, Personenkontext.active_on(clock.today()))
    ).all()
    klasse = next((row for row in rows if row.typ == OrganisationTyp.KLASSE), None)
    school = next((row.name for row in rows if row.typ == OrganisationTyp.SCHULE), None)
    if school is None and klasse is not None:
        parent = db.session.get(Organisation, klasse.parent_id)
        school = parent.name if parent else None
    if school is None and rows:
        school = rows[0].name
    return school or "", klasse.name if klasse else None


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)[:40]
