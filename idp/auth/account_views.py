"""Self-service ("Mein Konto"): sessions, password, second factor, recovery codes, and the
services holding lasting access."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from idp import audit
from idp.auth import accounts, passwords, stepup, totp
from idp.auth.forms import ActionForm, ChangePasswordForm, EnrolForm
from idp.auth.sessions import SessionRow, current_login, end_one, end_other, establish, sessions_of
from idp.auth.settings import auth_settings
from idp.auth.views import confirm_enrolment, enrolment_page
from idp.extensions import db
from idp.models import OAuthClient, Person
from idp.oidc.service_access import revoke_access, services_with_access
from idp.policy import current_policies

blueprint = Blueprint("account", __name__, url_prefix="/konto")

# Changing the second factor or its recovery codes needs a login with that factor of at most
# five minutes ago (ASVS V6.4: changing authenticators requires re-authentication).
RECENT_WITH_FACTOR = stepup.Requirement(second_factor=True, max_age=300)
# Ending sessions or setting up a first factor: any login of at most five minutes ago (V7.5.2).
RECENT = stepup.Requirement(max_age=300)


def login_required(view: Callable) -> Callable:
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        login = current_login(session)  # type: ignore[arg-type]
        if login is None:
            return stepup.ask_for_login(request.full_path.rstrip("?"))
        person = db.session.get(Person, login.person_id)
        if person is None:
            return stepup.ask_for_login(request.full_path.rstrip("?"))
        return view(person, login, *args, **kwargs)

    return wrapper


@blueprint.get("")
@login_required
def overview(person: Person, login: SessionRow) -> str:
    return render_template(
        "account/overview.html",
        person=person,
        login=login,
        sessions=sessions_of(db.session, person.id),
        has_factor=totp.credential(db.session, person.id) is not None,
        factor_required=accounts.needs_second_factor(db.session, current_policies(), person),
        recovery_left=totp.unused_recovery_codes(db.session, person.id),
        services=services_with_access(db.session, person.id),
        form=ActionForm(),
    )


@blueprint.post("/sitzungen/beenden")
@login_required
def end_session(person: Person, login: SessionRow) -> Response:
    form = ActionForm()
    if not stepup.satisfies(login, RECENT):
        return stepup.ask_for_login(url_for("account.overview"), RECENT)
    if form.validate_on_submit():
        try:
            target = uuid.UUID(form.target.data or "")
        except ValueError:
            target = None
        if target is not None and end_one(db.session, person.id, target):
            db.session.commit()
            flash(_("Die Sitzung wurde beendet."))
    return redirect(url_for("account.overview"))


@blueprint.post("/sitzungen/alle-beenden")
@login_required
def end_all(person: Person, login: SessionRow) -> Response:
    if not stepup.satisfies(login, RECENT):
        return stepup.ask_for_login(url_for("account.overview"), RECENT)
    if ActionForm().validate_on_submit():
        count = end_other(db.session, person.id, keep=login.id)
        db.session.commit()
        flash(_("%(count)s andere Sitzungen wurden beendet.", count=count))
    return redirect(url_for("account.overview"))


@blueprint.post("/dienste/zugriff-entziehen")
@login_required
def revoke_service(person: Person, login: SessionRow) -> Response:
    """End a service's lasting access (its refresh tokens), ASVS V10.4.9. No fresh login
    needed: this can only take access away."""
    form = ActionForm()
    if form.validate_on_submit():
        client_id = form.target.data or ""
        count = revoke_access(db.session, person.id, client_id)
        if count:
            client = db.session.get(OAuthClient, client_id)
            assert client is not None  # its refresh tokens were there a moment ago
            audit.record(
                db.session,
                audit.Event(
                    f"konto:{person.username}",
                    "dienstzugriff.entzogen",
                    person.username,
                    details={"client_id": client_id, "name": client.name, "familien": count},
                ),
            )
            db.session.commit()
            flash(_("Der Zugriff von %(name)s wurde entzogen.", name=client.name))
    return redirect(url_for("account.overview"))


@blueprint.route("/passwort", methods=["GET", "POST"])
@login_required
def change_password(person: Person, login: SessionRow) -> Response | str:
    form = ChangePasswordForm()
    problems: list[str] = []
    settings = auth_settings()
    if form.validate_on_submit():
        right, _rehash = passwords.verify(settings.hashing, form.current.data, person.password_hash)
        if not right:
            problems = [_("Das bisherige Passwort ist nicht richtig.")]
        else:
            try:
                accounts.set_password(
                    db.session, current_policies(), settings, person, form.new.data
                )
            except accounts.PasswordRejected as rejected:
                problems = rejected.problems
            else:
                # Whoever else was logged in with the old password is logged out.
                end_other(db.session, person.id, keep=login.id)
                db.session.commit()
                flash(_("Ihr Passwort wurde geändert. Andere Sitzungen wurden beendet."))
                return redirect(url_for("account.overview"))
    return render_template(
        "account/password.html",
        form=form,
        problems=problems,
        min_length=accounts.min_length(db.session, current_policies(), settings, person),
    )


@blueprint.route("/zweiter-faktor", methods=["GET", "POST"])
@login_required
def enrol(person: Person, login: SessionRow) -> Response | str:
    """Set up a second factor, or replace the existing one (then only after a fresh login)."""
    replacing = totp.credential(db.session, person.id) is not None
    needed = RECENT_WITH_FACTOR if replacing else RECENT
    if not stepup.satisfies(login, needed):
        return stepup.ask_for_login(url_for("account.enrol"), needed)
    form = EnrolForm()
    if form.validate_on_submit():
        if confirm_enrolment(person, form.code.data) is not None:
            codes = totp.new_recovery_codes(db.session, auth_settings().hashing, person.id)
            # The session now counts as made with the second factor, with a new token;
            # logins elsewhere made before the change end (V7.4.3).
            record = establish(session, person.id, [*login.amr, "otp"])  # type: ignore[arg-type]
            db.session.flush()
            end_other(db.session, person.id, keep=record.id)
            db.session.commit()
            return render_template(
                "auth/recovery_codes.html", codes=codes, next_url=url_for("account.overview")
            )
        form.code.errors = [_("Der Code passt nicht. Bitte versuchen Sie es noch einmal.")]
    return render_template("auth/enrol.html", form=form, **enrolment_page(person), forced=False)


@blueprint.post("/zweiter-faktor/entfernen")
@login_required
def remove_factor(person: Person, login: SessionRow) -> Response | str:
    if not ActionForm().validate_on_submit():
        return redirect(url_for("account.overview"))
    if accounts.needs_second_factor(db.session, current_policies(), person):
        flash(
            _("Für Ihre Rollen ist ein zweiter Faktor vorgeschrieben; Sie können ihn nur ersetzen.")
        )
        return redirect(url_for("account.overview"))
    if not stepup.satisfies(login, RECENT_WITH_FACTOR):
        return stepup.ask_for_login(url_for("account.overview"), RECENT_WITH_FACTOR)
    totp.remove(db.session, person.id)
    end_other(db.session, person.id, keep=login.id)
    db.session.commit()
    flash(_("Der zweite Faktor wurde entfernt."))
    return redirect(url_for("account.overview"))


@blueprint.post("/wiederherstellungscodes")
@login_required
def new_recovery_codes(person: Person, login: SessionRow) -> Response | str:
    if not ActionForm().validate_on_submit() or totp.credential(db.session, person.id) is None:
        return redirect(url_for("account.overview"))
    if not stepup.satisfies(login, RECENT_WITH_FACTOR):
        return stepup.ask_for_login(url_for("account.overview"), RECENT_WITH_FACTOR)
    codes = totp.new_recovery_codes(db.session, auth_settings().hashing, person.id)
    db.session.commit()
    return render_template(
        "auth/recovery_codes.html", codes=codes, next_url=url_for("account.overview")
    )
