"""The login pages: password, second factor, forced password change and enrolment, logout.

A login in progress lives in the server-side session under "anmeldung" (who, by which methods,
since when); it becomes a real login only in `_complete`, which gives the browser a new token.
"""

from __future__ import annotations

import datetime as dt

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from idp.auth import accounts, stepup, totp
from idp.auth.form_token import csrf_token
from idp.auth.forms import (
    ActionForm,
    CodeForm,
    EnrolForm,
    LoginWithCodeForm,
    NewPasswordForm,
)
from idp.auth.sessions import current_login, end, establish
from idp.auth.settings import auth_settings
from idp.clock import now
from idp.extensions import db
from idp.models import Person
from idp.policy import current_policies
from idp.saml import slo
from idp.secretbox import SecretUnreadable
from idp.ui import select_locale

blueprint = Blueprint("auth", __name__)

IN_PROGRESS = "anmeldung"
PENDING_SECRET = "totp_neu"  # noqa: S105 (a session key, not a secret)
IN_PROGRESS_LIMIT = dt.timedelta(minutes=10)
_TOKEN_SLOT = "csrf-token-of-this-visitor"  # noqa: S105 (where the real token goes)


def failed_message() -> str:
    # One message for unknown names, wrong passwords and locked accounts.
    return _(
        "Die Anmeldung ist fehlgeschlagen. Bitte prüfen Sie Benutzername und Passwort. "
        "Nach mehreren Fehlversuchen müssen Sie einige Minuten warten."
    )


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Response | str:
    """Name and password. Every visitor of the state passes here, so this page does without
    WTForms (the costliest part of a request after the hash); CSRFProtect still checks it."""
    return_to, requirement = stepup.pending()
    current = current_login(session)  # type: ignore[arg-type]
    if current is not None and stepup.satisfies(current, requirement):
        stepup.take_return_to()
        return redirect(return_to or url_for("portal.start"))
    # A GET has no form to parse.
    login_name = request.form.get("login_name", "") if request.method == "POST" else ""
    if request.method == "GET" and "login_hint" in session:
        login_name = session.pop("login_hint")  # OIDC login_hint of the service
    if current is not None and request.method == "GET":
        person = db.session.get(Person, current.person_id)
        login_name = person.username if person is not None else ""
    if request.method == "GET" and current is None and not login_name:
        return _empty_login_form()
    errors: dict[str, str] = {}
    error = None
    if request.method == "POST":
        password = request.form.get("password", "")
        if not login_name.strip():
            errors["login_name"] = _("Bitte geben Sie Ihren Benutzernamen ein.")
        if not password:
            errors["password"] = _("Bitte geben Sie Ihr Passwort ein.")
        if not errors:
            attempt = accounts.check_credentials(
                db.session, auth_settings(), login_name, password, _ip()
            )
            if attempt.ok:
                # The next step changes the session, whose saving commits (rehash, guard).
                return _advance(attempt.person, list(attempt.amr), attempt, requirement)
            db.session.commit()
            error = failed_message()
    return render_template(
        "auth/login.html",
        login_name=login_name,
        errors=errors,
        error=error,
        reauth=current is not None,
    )


def _empty_login_form() -> str:
    """The login form as an anonymous visitor first sees it. Only its CSRF token differs from
    one visitor to the next, so it is rendered once per language and process, not per visit."""
    if request.query_string or "_flashes" in session or current_app.jinja_env.auto_reload:
        # The language link carries the query; messages are shown once; templates may change.
        return _render_login_form(csrf_token=csrf_token)
    pages = current_app.extensions.setdefault("idp.login_forms", {})
    # The language by name: the Babel locale object is only needed to render the page.
    key = (select_locale(), request.script_root)
    page = pages.get(key)
    if page is None:
        page = pages[key] = _render_login_form(csrf_token=lambda: _TOKEN_SLOT)
    return page.replace(_TOKEN_SLOT, csrf_token(), 1)


def _render_login_form(**context) -> str:
    return render_template(
        "auth/login.html", login_name="", errors={}, error=None, reauth=False, **context
    )


@blueprint.route("/login/mit-code", methods=["GET", "POST"])
def login_with_code() -> Response | str:
    """Name, password and code in one form: the way through a temporary lock."""
    form = LoginWithCodeForm()
    error = None
    if form.validate_on_submit():
        attempt = accounts.check_credentials(
            db.session,
            auth_settings(),
            form.login_name.data,
            form.password.data,
            _ip(),
            code=form.code.data,
        )
        if attempt.ok:
            return _advance(attempt.person, list(attempt.amr))
        db.session.commit()
        error = failed_message()
    return render_template("auth/login_with_code.html", form=form, error=error)


@blueprint.route("/login/code", methods=["GET", "POST"])
def code() -> Response | str:
    person, amr = _in_progress()
    if person is None:
        return redirect(url_for("auth.login"))
    form = CodeForm()
    error = None
    if form.validate_on_submit():
        result = accounts.check_code(db.session, auth_settings(), person, form.code.data, _ip())
        if not result:
            session[IN_PROGRESS] = {**session[IN_PROGRESS], "failures": True}
        db.session.commit()
        if result is None:
            session.pop(IN_PROGRESS, None)
            return render_template(
                "auth/login.html", login_name="", errors={}, error=failed_message(), reauth=False
            )
        if result:
            return _advance(person, [*amr, "otp"])
        error = _("Der Code ist nicht richtig oder wurde schon verwendet.")
    return render_template("auth/code.html", form=form, error=error)


@blueprint.route("/login/neues-passwort", methods=["GET", "POST"])
def first_password() -> Response | str:
    person, amr = _in_progress()
    if person is None or not person.must_change_password:
        return redirect(url_for("auth.login"))
    form = NewPasswordForm()
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            accounts.set_password(
                db.session, current_policies(), auth_settings(), person, form.new.data
            )
        except accounts.PasswordRejected as rejected:
            problems = rejected.problems
        else:
            db.session.commit()
            return _advance(person, amr)
    return render_template(
        "auth/new_password.html",
        form=form,
        problems=problems,
        min_length=accounts.min_length(db.session, current_policies(), auth_settings(), person),
    )


@blueprint.route("/login/zweiter-faktor", methods=["GET", "POST"])
def enrol_at_login() -> Response | str:
    person, amr = _in_progress()
    if person is None:
        return redirect(url_for("auth.login"))
    form = EnrolForm()
    if form.validate_on_submit():
        step = confirm_enrolment(person, form.code.data)
        if step is not None:
            codes = totp.new_recovery_codes(db.session, auth_settings().hashing, person.id)
            response = _complete(person, [*amr, "otp"])
            return render_template(
                "auth/recovery_codes.html", codes=codes, next_url=response.location
            )
        form.code.errors = [_("Der Code passt nicht. Bitte versuchen Sie es noch einmal.")]
    return render_template("auth/enrol.html", form=form, **enrolment_page(person), forced=True)


@blueprint.route("/logout", methods=["GET", "POST"])
def logout() -> Response | str:
    form = ActionForm()
    if form.validate_on_submit():
        end(session)  # type: ignore[arg-type]
        round_token = slo.round_started()
        db.session.commit()
        if round_token:  # tell the SAML services first, through this browser
            return redirect(url_for("saml.logout_round", t=round_token), code=303)
        return render_template("auth/logged_out.html")
    if current_login(session) is None:  # type: ignore[arg-type]
        return redirect(url_for("auth.login"))
    return render_template("auth/logout.html", form=form)


@blueprint.get("/sprache/<code>")
def language(code: str) -> Response:
    target = request.args.get("weiter", "/")
    response = redirect(target if stepup.is_local_path(target) else "/")
    if code in ("de", "en"):
        response.set_cookie(
            "sprache",
            code,
            max_age=365 * 86400,
            samesite="Lax",
            httponly=True,
            secure=request.is_secure,
        )
    return response


def enrolment_page(person: Person) -> dict:
    """The secret being enrolled (new one per enrolment, kept sealed in the session), as QR."""
    sealed = session.get(PENDING_SECRET)
    secret = None
    if sealed:
        try:
            secret = totp.unseal_secret(sealed)
        except SecretUnreadable:
            secret = None
    if secret is None:
        secret = totp.new_secret()
        session[PENDING_SECRET] = totp.seal_secret(secret).decode()
    uri = totp.provisioning_uri(secret, person.username, auth_settings().totp_issuer)
    return {
        "qr": totp.qr_data_uri(uri),
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
    }


def confirm_enrolment(person: Person, code: str) -> int | None:
    """Store the pending secret if `code` matches it; returns the matched step."""
    sealed = session.get(PENDING_SECRET)
    if not sealed:
        return None
    secret = totp.unseal_secret(sealed)
    step = totp.matching_step(secret, code, auth_settings().totp_window)
    if step is None:
        return None
    totp.save_confirmed(db.session, person.id, secret, step)
    session.pop(PENDING_SECRET, None)
    return step


def _advance(
    person: Person | accounts.LoginPerson | None,
    amr: list[str],
    attempt: accounts.Attempt | None = None,
    requirement: stepup.Requirement | None = None,
) -> Response:
    """The next step of a login, or its completion.

    Right after the password check, `attempt` already knows whether the person has a second
    factor, failed attempts and which roles, and the login page what the login must satisfy:
    that spares queries on the busiest path.
    """
    enrolled = attempt.enrolled if attempt is not None else None
    if person is None:
        abort(400)
    earlier = session.get(IN_PROGRESS) or {}
    had_failures = bool(
        earlier.get("failures", attempt.had_failures if attempt is not None else True)
    )
    if enrolled is None:
        enrolled = totp.credential(db.session, person.id) is not None
    step = None
    if enrolled and "otp" not in amr:
        step = "auth.code"
    elif person.must_change_password:
        step = "auth.first_password"
    elif "otp" not in amr:
        if requirement is None:
            _, requirement = stepup.pending()
        if requirement.second_factor or accounts.needs_second_factor(
            db.session, current_policies(), person, attempt.roles if attempt else None
        ):
            step = "auth.enrol_at_login"
    if step is None:  # nothing left to ask: the login completes without a step in progress
        return _complete(person, amr, had_failures)
    session[IN_PROGRESS] = {
        "person": str(person.id),
        "amr": sorted(set(amr)),
        "since": earlier.get("since") or now().isoformat(),
        "failures": had_failures,
    }
    return redirect(url_for(step))


def _complete(
    person: Person | accounts.LoginPerson, amr: list[str], had_failures: bool | None = None
) -> Response:
    in_progress = session.pop(IN_PROGRESS, None) or {}
    if had_failures is None:
        had_failures = in_progress.get("failures", True)
    target = stepup.take_return_to() or url_for("portal.start")
    establish(session, person.id, amr)  # type: ignore[arg-type]
    accounts.logged_in(db.session, auth_settings(), person, _ip(), had_failures)
    # Saving the session (it was just changed) commits all of this in one transaction.
    return redirect(target)


def _in_progress() -> tuple[Person | None, list[str]]:
    data = session.get(IN_PROGRESS)
    if not data:
        return None, []
    since = dt.datetime.fromisoformat(data["since"])
    if now() - since > IN_PROGRESS_LIMIT:
        session.pop(IN_PROGRESS, None)
        return None, []
    person = accounts.person_by_id(db.session, data["person"])
    return person, list(data["amr"])


def _ip() -> str:
    return request.remote_addr or "-"
