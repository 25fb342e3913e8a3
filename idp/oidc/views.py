"""OpenID Connect endpoints: discovery, keys, authorize, token, userinfo, introspection,
revocation. The protocol work is Authlib's (idp.oidc.server); these views add what is ours:
the login and step-up, the entitlement check, and German pages for people."""

from __future__ import annotations

import hashlib
import time

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import validate_csrf
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from werkzeug.wrappers import Response
from wtforms import ValidationError

from idp.auth import stepup
from idp.auth.sessions import current_login
from idp.clock import now
from idp.extensions import db
from idp.models import ClientSession, OAuthClient
from idp.oidc import clients, keys, logout, tokens
from idp.oidc.claims import CLAIMS, SCOPES, pairwise_sub, user_claims
from idp.oidc.server import (
    ACR_PASSWORD,
    ACR_SECOND_FACTOR,
    RESPONSE_MODES,
    authorization,
    person_facts,
    person_may_use,
    person_row,
    run,
)
from idp.oidc.settings import oidc_settings
from idp.policy import current_policies
from idp.policy.entitlement import entitlement
from idp.prepared import Prepared
from idp.saml import slo

blueprint = Blueprint("oidc", __name__)
CLAIMS_SUPPORTED = [
    "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "name",
    "given_name", "family_name", "preferred_username", "birthdate", "email", "email_verified",
    *(claim for claim, _scope in CLAIMS.values() if claim.startswith("urn:")),
]  # fmt: skip
ASKED = "oidc_gefragt"  # session: authorize requests sent to log in afresh, and when
# Built once: every authorization notes which client the login signed in to, in one
# statement that leaves a note made before as it is. (SQLite, PostgreSQL)
_CLIENT_SESSIONS = ClientSession.__table__
_NOTE_CLIENT_SESSION = (
    Prepared(sqlite_insert(_CLIENT_SESSIONS).on_conflict_do_nothing()),
    Prepared(pg_insert(_CLIENT_SESSIONS).on_conflict_do_nothing()),
)


@blueprint.get("/.well-known/openid-configuration")
def discovery() -> Response:
    issuer = oidc_settings().issuer
    return jsonify(
        {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/oidc/authorize",
            "token_endpoint": f"{issuer}/oidc/token",
            "userinfo_endpoint": f"{issuer}/oidc/userinfo",
            "jwks_uri": f"{issuer}/oidc/jwks",
            "revocation_endpoint": f"{issuer}/oidc/revoke",
            "end_session_endpoint": f"{issuer}/oidc/logout",
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
            "introspection_endpoint": f"{issuer}/oidc/introspect",
            "scopes_supported": list(SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": list(RESPONSE_MODES),
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["ES256", "RS256"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            "code_challenge_methods_supported": ["S256"],
            "claims_parameter_supported": False,
            "request_parameter_supported": False,
            "acr_values_supported": [ACR_PASSWORD, ACR_SECOND_FACTOR],
            "prompt_values_supported": ["none", "login"],
            "claims_supported": CLAIMS_SUPPORTED,
        }
    )


@blueprint.get("/oidc/jwks")
def jwks() -> Response:
    response = jsonify(keys.jwks(db.session))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@blueprint.route("/oidc/authorize", methods=["GET", "POST"])
def authorize() -> Response | str | tuple:
    login = current_login(session)  # type: ignore[arg-type]
    person = person_row(login.person_id) if login is not None else None
    try:
        grant = authorization.get_consent_grant(end_user=person)
    except OAuth2Error as error:
        if getattr(error, "redirect_uri", None):
            return authorization.handle_error_response(None, error)
        # No valid client or redirect URI: tell the person, never redirect anywhere.
        return _problem(_("Die Anmeldeanfrage des Dienstes ist ungültig."), 400)
    client: OAuthClient = grant.client
    requirement = _requirement(client)
    if not stepup.satisfies(login, requirement):
        if "none" in _prompt():
            return _redirect_error(grant, "login_required")
        return _ask_for_login(requirement)
    assert person is not None and login is not None
    facts = person_facts(person)
    decision = entitlement(current_policies(), facts, client.service_code)
    if not decision.allowed:
        return _denied(grant, decision.message)
    _forget_asked()
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    run(
        _NOTE_CLIENT_SESSION[postgresql],
        {
            "login_session_id": login.id,
            "client_id": client.client_id,
            "person_id": person.id,
            "created_at": now(),
        },
    )
    grant.request.idp_login = login
    response = authorization.create_authorization_response(grant=grant, grant_user=person)
    db.session.commit()
    return response


def _requirement(client: OAuthClient) -> stepup.Requirement:
    """What this request demands of the login: the service's own needs, tightened by the
    request (max_age, acr_values), and for prompt=login, max_age=0 and sensitive services a
    login made after the request was first seen. A client can only ask for more."""
    max_age = _max_age()
    requirement = stepup.requirement_for(client.service_code, max_age or None)
    if ACR_SECOND_FACTOR in (request.values.get("acr_values") or "").split():
        requirement = requirement.stricter(stepup.Requirement(second_factor=True))
    sensitive = current_policies().services[client.service_code].sensitive
    if "login" in _prompt() or max_age == 0 or sensitive:
        requirement = requirement.stricter(stepup.Requirement(made_after=_first_seen()))
    return requirement


def _prompt() -> set[str]:
    return set((request.values.get("prompt") or "").split())


@blueprint.route("/oidc/logout", methods=["GET", "POST"])
def end_session() -> Response | str | tuple:
    """RP-initiated logout. Without a valid id_token_hint the person confirms first."""
    try:
        logout = authorization.validate_endpoint_request("end_session")
    except OAuth2Error:
        return _problem(_("Die Abmeldeanfrage des Dienstes ist ungültig."), 400)
    if logout.needs_confirmation and not _confirmed():
        return render_template(
            "oidc/logout.html", client=logout.client, fields=request.values.items(multi=True)
        )
    response = authorization.create_endpoint_response("end_session", logout)
    round_token = slo.round_started()
    if round_token:  # the login's SAML services hear of it first, through this browser
        if response is not None and response.location:
            slo.finish_at(db.session, round_token, response.location)
        db.session.commit()
        return redirect(url_for("saml.logout_round", t=round_token), code=303)
    return response or render_template("auth/logged_out.html")


def _confirmed() -> bool:
    """The confirmation form was sent, with this browser's CSRF token."""
    if request.method != "POST" or request.form.get("bestaetigt") != "1":
        return False
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return False
    return True


@blueprint.post("/oidc/token")
def token() -> Response:
    response = authorization.create_token_response()
    # Also on errors: a reused code or refresh token has revoked its family. A grant that
    # read nothing (client credentials, warm caches) has not even opened a session.
    if db.session.registry.has() and db.session().in_transaction():
        db.session.commit()
    return response


@blueprint.post("/oidc/revoke")
def revoke() -> Response:
    response = authorization.create_endpoint_response("revocation")
    db.session.commit()
    return response


@blueprint.post("/oidc/introspect")
def introspect() -> Response:
    return authorization.create_endpoint_response("introspection")


@blueprint.route("/oidc/userinfo", methods=["GET", "POST"])
def userinfo() -> Response | tuple:
    header = request.headers.get("Authorization", "")
    value = header[7:] if header[:7].lower() == "bearer " else ""
    settings = oidc_settings()
    access = tokens.read_access_token(db.session, value, settings.issuer) if value else None
    if access is None or access.person_id is None or "openid" not in access.scopes:
        return _bearer_error("invalid_token")
    client = clients.lookup(db.session, access.client_id)
    person = person_row(access.person_id)
    if client is None or not person_may_use(person, client):
        return _bearer_error("invalid_token")
    policies = current_policies()
    facts = person_facts(person)
    claims = user_claims(policies, facts, client.service_code, access.scopes)
    claims["sub"] = pairwise_sub(settings.secret_key, client.service_code, person.id)
    return jsonify(claims)


def _bearer_error(code: str) -> tuple:
    body = jsonify({"error": code})
    return body, 401, {"WWW-Authenticate": f'Bearer error="{code}"'}


def _max_age() -> int | None:
    raw = request.values.get("max_age")
    return int(raw) if raw and raw.isdigit() else None


def _request_key() -> str:
    return hashlib.sha256(request.full_path.encode()).hexdigest()[:32]


def _first_seen() -> float:
    """When this very authorization request was first seen in this browser (epoch seconds)."""
    asked = dict(session.get(ASKED) or {})
    key = _request_key()
    if key not in asked:
        asked[key] = time.time()
        session[ASKED] = dict(list(asked.items())[-5:])  # a few pending requests at most
    return float(asked[key])


def _forget_asked() -> None:
    asked = dict(session.get(ASKED) or {})
    if asked.pop(_request_key(), None) is not None:
        session[ASKED] = asked


def _ask_for_login(requirement: stepup.Requirement) -> Response:
    """Log in (again), then come back to this very request."""
    hint = request.values.get("login_hint")
    if hint:
        session["login_hint"] = hint[:255]
    return stepup.ask_for_login(request.full_path, requirement)


def _redirect_error(grant, error: str) -> Response:
    """Send the browser back to the client with `error` (RFC 6749 4.1.2.1)."""
    failure = OAuth2Error(
        error=error, redirect_uri=grant.redirect_uri, state=grant.request.payload.state
    )
    failure.error = error
    return authorization.handle_error_response(grant.request, failure)


def _denied(grant, message: str) -> tuple:
    """A German page for the person; the service learns `access_denied` if they go back."""
    back = _redirect_error(grant, "access_denied").headers.get("Location")
    return (
        render_template("oidc/denied.html", message=message, back=back, client=grant.client),
        403,
    )


def _problem(message: str, status: int) -> tuple:
    return render_template("error.html", message=message), status


def init_app(app) -> None:
    from idp.auth import csrf, sessions

    # Clients authenticate these with their credentials or a bearer token, not with a
    # browser session: no session is read or saved for them. The logout endpoint is called
    # by clients too and checks its confirmation form itself; an authorization request may
    # come as a POST from the client's page (OIDC Core 3.1.2.1) and can only send a code to
    # the client's own registered address.
    api = (token, revoke, introspect, userinfo)
    for view in (*api, end_session, authorize):
        csrf.exempt(view)
    app.register_blueprint(blueprint)
    api_endpoints = {f"{blueprint.name}.{view.__name__}" for view in api}
    sessions.without_session(
        app, *(rule.rule for rule in app.url_map.iter_rules() if rule.endpoint in api_endpoints)
    )
    logout.init_app(app)
