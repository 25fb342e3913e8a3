"""SAML endpoints: metadata, Web SSO (SP- and IdP-initiated), single logout.

The protocol work is pysaml2's (idp.saml.server); the rules are the ones OIDC uses: the
same step-up (idp.auth.stepup), the same entitlement and opt-out check
(idp.policy.entitlement), the same person facts.
"""

from __future__ import annotations

import time
import uuid

from flask import Blueprint, Response, abort, redirect, request, session
from flask_babel import gettext as _
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, samlp

from idp.auth import stepup
from idp.auth.sessions import current_login
from idp.extensions import db
from idp.models import Person, SamlServiceProvider
from idp.oidc.server import person_facts
from idp.policy import current_policies
from idp.policy.entitlement import entitlement
from idp.saml import holds, providers, slo, sso
from idp.saml.pages import denied, encoded, logged_out, post_form, refused
from idp.saml.server import metadata_xml

blueprint = Blueprint("saml", __name__)
METADATA_TYPE = "application/samlmetadata+xml"


@blueprint.get("/saml/metadata")
def metadata() -> Response:
    xml = metadata_xml(db.session)
    db.session.commit()  # a database without SAML key gets one on first use
    return Response(xml, mimetype=METADATA_TYPE)


@blueprint.route("/saml/sso", methods=["GET", "POST"])
def single_sign_on() -> Response:
    binding, values = _binding()
    try:
        ask, provider = sso.read_authn_request(db.session, binding, values)
    except sso.Refused as refusal:
        return refused(refusal.message)
    if binding == BINDING_HTTP_POST:
        # A cross-site POST brings no login cookie (SameSite=Lax): hold the request and
        # come back with a GET, which does.
        held = holds.put(db.session, holds.LOGIN, ask.payload())
        db.session.commit()
        return redirect(_resume_path(held.token), code=303)
    return _answer(ask, provider, None)


@blueprint.get("/saml/sso/weiter")
def resume() -> Response:
    held = holds.get(db.session, holds.LOGIN, request.args.get("t"))
    if held is None:
        return refused(
            _("Diese Anmeldung ist abgelaufen. Bitte starten Sie die Anmeldung beim Dienst neu.")
        )
    ask = sso.AuthnAsk.from_payload(held.payload)
    provider = providers.find(db.session, ask.sp_entity_id)
    if provider is None:
        return refused(_("Der Dienst ist hier nicht mehr registriert."))
    return _answer(ask, provider, held)


@blueprint.get("/saml/start/<uuid:provider_id>")
def start(provider_id: uuid.UUID) -> Response:
    """IdP-initiated login (a tile of the start page), for SPs registered to allow it."""
    provider = db.session.get(SamlServiceProvider, provider_id)
    if provider is None or not provider.idp_initiated:
        abort(404)
    return _answer(sso.unsolicited(db.session, provider), provider, None)


@blueprint.route("/saml/slo", methods=["GET", "POST"])
def single_logout() -> Response:
    binding, values = _binding()
    if values.get("SAMLRequest"):
        try:
            token = slo.from_sp(db.session, binding, values)
        except sso.Refused as refusal:
            return refused(refusal.message)
        db.session.commit()
        return slo.next_step(db.session, token)
    if values.get("SAMLResponse"):
        token = slo.answered(db.session, binding, values)
        if token is not None:
            return slo.next_step(db.session, token)
        return logged_out()
    return refused(_("Die Abmeldenachricht des Dienstes enthält keine SAML-Nachricht."))


@blueprint.get("/saml/abmelden")
def logout_round() -> Response:
    """Go on with a logout round (after our own logout page or an OIDC logout)."""
    return slo.next_step(db.session, request.args.get("t", ""))


def _answer(ask: sso.AuthnAsk, provider: SamlServiceProvider, held: holds.Held | None):
    login = current_login(session)  # type: ignore[arg-type]
    requirement = _requirement(ask, provider, held)
    if not stepup.satisfies(login, requirement):
        if ask.is_passive:
            return _error(ask, samlp.STATUS_NO_PASSIVE, "Keine Anmeldung ohne Rückfrage möglich")
        if held is None:
            held = holds.put(db.session, holds.LOGIN, ask.payload())
            db.session.commit()
            requirement = _requirement(ask, provider, held)
        return stepup.ask_for_login(_resume_path(held.token), requirement)
    assert login is not None
    if ask.status is not None:
        return _finish(held, _error(ask, ask.status, "Anfrage nicht erfüllbar"))
    person = db.session.get(Person, login.person_id)
    facts = person_facts(person)
    policies = current_policies()
    decision = entitlement(policies, facts, provider.service_code)
    if not decision.allowed:
        xml = sso.error_response(db.session, ask, samlp.STATUS_REQUEST_DENIED, "Kein Zugang")
        fields = {"SAMLResponse": encoded(xml)}
        if ask.relay_state:
            fields["RelayState"] = ask.relay_state
        name = policies.services[provider.service_code].name
        return _finish(held, denied(decision.message, name, (ask.acs, fields)))
    xml = sso.respond(db.session, ask, provider, person, login, facts)
    return _finish(held, post_form(ask.acs, "SAMLResponse", xml, ask.relay_state))


def _requirement(
    ask: sso.AuthnAsk, provider: SamlServiceProvider, held: holds.Held | None
) -> stepup.Requirement:
    """The service's needs (sensitive: fresh login with second factor), tightened by the
    request (RequestedAuthnContext, ForceAuthn). A request can only ask for more."""
    requirement = stepup.requirement_for(provider.service_code)
    if ask.second_factor:
        requirement = requirement.stricter(stepup.Requirement(second_factor=True))
    sensitive = current_policies().services[provider.service_code].sensitive
    if ask.force_authn or sensitive:
        since = held.created_at.timestamp() if held is not None else time.time()
        requirement = requirement.stricter(stepup.Requirement(made_after=since))
    return requirement


def _error(ask: sso.AuthnAsk, status: str, message: str) -> Response:
    xml = sso.error_response(db.session, ask, status, message)
    return post_form(ask.acs, "SAMLResponse", xml, ask.relay_state)


def _finish(held: holds.Held | None, response: Response) -> Response:
    if held is not None:
        holds.drop(db.session, held.token)
    db.session.commit()
    return response


def _binding() -> tuple[str, dict]:
    if request.method == "POST":
        return BINDING_HTTP_POST, request.form.to_dict()
    return BINDING_HTTP_REDIRECT, request.args.to_dict()


def _resume_path(token: str) -> str:
    return f"/saml/sso/weiter?t={token}"


def init_app(app) -> None:
    from idp.auth import csrf
    from idp.auth.sessions import logins_ended

    # SPs POST their messages from their own pages; they are checked by signature and
    # metadata, not by a browser session.
    for view in (single_sign_on, single_logout):
        csrf.exempt(view)
    app.register_blueprint(blueprint)
    logins_ended.connect(slo.on_logins_ended)
