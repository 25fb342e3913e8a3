"""Who may enter the console, and the admin behind a request.

The console needs a login with a second factor (step-up, like a sensitive service) and at
least one right from policies/roles.toml. Every view then asks `g.admin.scope` about each
object it touches; an object outside the admin's scope is answered with 404, as if it did not
exist.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import Blueprint, abort, g, render_template, request, session
from werkzeug.wrappers import Response

from idp import clock
from idp.auth import stepup
from idp.auth.sessions import current_login
from idp.extensions import db
from idp.models import Person
from idp.policy import current_policies
from idp.policy.admin_scope import AdminScope, admin_scope

CONSOLE_LOGIN = stepup.Requirement(second_factor=True)


@dataclass(frozen=True)
class Admin:
    person: Person
    scope: AdminScope

    @property
    def actor(self) -> str:
        """How the audit trail names them."""
        return f"verwaltung:{self.person.username}"


def guard(blueprint: Blueprint) -> None:
    """Every view of `blueprint` needs a second-factor login and some admin right."""

    @blueprint.before_request
    def _admins_only() -> Response | tuple | None:
        login = current_login(session)  # type: ignore[arg-type]
        if not stepup.satisfies(login, CONSOLE_LOGIN):
            if request.method != "GET":
                abort(403)
            return stepup.ask_for_login(request.full_path, CONSOLE_LOGIN)
        assert login is not None
        person = db.session.get(Person, login.person_id)
        scope = admin_scope(db.session, current_policies(), login.person_id, clock.today())
        if person is None or not scope.is_admin:
            return render_template("console/no_access.html"), 403
        g.admin = Admin(person, scope)
        return None


def admin() -> Admin:
    return g.admin


def person_or_404(person_id: uuid.UUID, right: str = "personen.lesen") -> Person:
    """The person, if `right` reaches them; otherwise 404 (never a hint that they exist)."""
    if not admin().scope.may(db.session, right, person_id):
        abort(404)
    person = db.session.get(Person, person_id)
    if person is None:
        abort(404)
    return person


def require(right: str, person_id: uuid.UUID) -> Person:
    """The person, if the admin may do this to them: 404 if they may not even see them, 403
    if they may see but not do this."""
    person = person_or_404(person_id)
    if not admin().scope.may(db.session, right, person_id):
        abort(403)
    return person
