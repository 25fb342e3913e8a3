"""Single logout: a login ends at every SAML SP and OIDC client it signed in to.

OIDC clients hear of it on the back channel (idp.oidc.logout, on the `logins_ended` signal).
SAML SPs are told through the browser, one after the other: we send each a LogoutRequest,
it answers with a LogoutResponse, and when all have answered, the browser goes where the
logout began: back to the SP that started it (with our LogoutResponse), to an OIDC client's
post-logout address, or to our "logged out" page. The round's state is a hold named by the
RelayState, so it needs no cookie (SPs may answer with a cross-site POST).
"""

from __future__ import annotations

import logging

from flask import g, has_request_context, redirect
from flask import session as browser_session
from flask_babel import lazy_gettext as _l
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, samlp
from saml2.s_utils import UnsupportedBinding
from saml2.saml import NameID
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from idp.auth.sessions import current_login, end, end_logins
from idp.models import SamlServiceProvider, SamlSession
from idp.saml import holds, providers
from idp.saml.pages import logged_out, post_form
from idp.saml.server import idp_server
from idp.saml.settings import saml_settings
from idp.saml.sso import Refused, check_signature

log = logging.getLogger(__name__)
ROUND = "idp_saml_abmelderunde"  # flask.g: the token of the round this request started
STARTED_BY_SP = "idp_saml_abmeldung_vom_dienst"


def on_logins_ended(db_session: Session, ended) -> None:
    """`logins_ended` handler: when this browser's login ends, plan a round of its SPs."""
    login_ids = [login_id for login_id, _ in ended]
    if has_request_context() and not g.get(STARTED_BY_SP):
        record = getattr(browser_session, "record", None)
        if record is not None and record.id in login_ids:
            queue = _entries(db_session, [record.id])
            if queue:
                held = holds.put(db_session, holds.LOGOUT, {"queue": queue})
                g.setdefault(ROUND, held.token)
    db_session.execute(delete(SamlSession).where(SamlSession.login_session_id.in_(login_ids)))


def round_started() -> str | None:
    """The token of the logout round this request planned, if its login had SAML SPs."""
    return g.get(ROUND)


def finish_at(db_session: Session, token: str, url: str) -> None:
    """After the round, go to `url` (e.g. an OIDC client's post-logout address)."""
    held = holds.get(db_session, holds.LOGOUT, token)
    if held is not None:
        holds.replace(db_session, held, {**held.payload, "finish": url})


def from_sp(db_session: Session, binding: str, values) -> str:
    """A LogoutRequest from an SP: end the logins it names and plan the round; returns its token."""
    server = idp_server(db_session)
    encoded = values.get("SAMLRequest")
    try:
        xml = server.unravel(encoded, binding, "logout_request")
        peek = samlp.logout_request_from_string(xml)
        issuer = peek.issuer.text.strip()
    except Exception as exc:
        raise Refused(_l("Die Abmeldeanfrage des Dienstes ist nicht lesbar.")) from exc
    provider = providers.find(db_session, issuer)
    if provider is None:
        raise Refused(_l("Der Dienst, der die Abmeldung anfragt, ist hier nicht registriert."))
    try:
        message = server.parse_logout_request(encoded, binding).message
    except Exception as exc:
        raise Refused(_l("Die Abmeldeanfrage des Dienstes ist ungültig.")) from exc
    check_signature(server, provider, binding, values, message)
    query = select(SamlSession.login_session_id).where(
        SamlSession.sp_id == provider.id,
        SamlSession.name_id == (message.name_id.text if message.name_id is not None else None),
    )
    indexes = [index.text for index in message.session_index if index.text]
    if indexes:
        query = query.where(SamlSession.session_index.in_(indexes))
    login_ids = list(db_session.scalars(query))
    reply = {"encoded": encoded, "binding": binding, "relay_state": values.get("RelayState")}
    queue = _entries(db_session, login_ids, skip=provider.entity_id)
    held = holds.put(db_session, holds.LOGOUT, {"queue": queue, "reply": reply})
    g.setdefault(STARTED_BY_SP, True)
    current = current_login(browser_session)  # type: ignore[arg-type]
    if current is not None and current.id in login_ids:
        end(browser_session)  # type: ignore[arg-type]
    end_logins(db_session, [i for i in login_ids if current is None or i != current.id])
    return held.token


def answered(db_session: Session, binding: str, values) -> str | None:
    """An SP's LogoutResponse: note it; returns the round's token to go on with."""
    token = values.get("RelayState")
    held = holds.get(db_session, holds.LOGOUT, token)
    if held is None:
        return None
    try:
        idp_server(db_session).parse_logout_request_response(values.get("SAMLResponse"), binding)
    except Exception as exc:  # a broken SP must not stop the others from being told
        log.warning("SAML-Abmeldung: Antwort von %s unlesbar: %s", held.payload.get("waiting"), exc)
    return held.token


def next_step(db_session: Session, token: str):
    """Tell the next SP, or end the round; returns a response (redirect or POST form)."""
    held = holds.get(db_session, holds.LOGOUT, token)
    if held is None:
        return logged_out()
    server = idp_server(db_session)
    payload = dict(held.payload)
    queue = list(payload.get("queue") or [])
    while queue:
        entry = queue.pop(0)
        binding, location = _endpoint(server, entry["sp"])
        if location is None:
            continue
        name_id = NameID(
            format=entry["format"],
            name_qualifier=saml_settings().entity_id,
            sp_name_qualifier=entry["sp"],
            text=entry["name_id"],
        )
        post = binding == BINDING_HTTP_POST
        _, request = server.create_logout_request(
            location,
            entry["sp"],
            name_id=name_id,
            session_indexes=[entry["session_index"]] if entry["session_index"] else None,
            sign=post,
            sign_alg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
        )
        holds.replace(db_session, held, {**payload, "queue": queue, "waiting": entry["sp"]})
        db_session.commit()
        return _send(server, binding, location, str(request), token, "SAMLRequest")
    holds.drop(db_session, token)
    db_session.commit()
    reply = payload.get("reply")
    if reply:
        return _reply(db_session, server, reply)
    if payload.get("finish"):
        return redirect(payload["finish"])
    return logged_out()


def _reply(db_session: Session, server, reply: dict):
    """Our LogoutResponse to the SP that started the logout."""
    message = server.parse_logout_request(reply["encoded"], reply["binding"]).message
    bindings = [BINDING_HTTP_REDIRECT, BINDING_HTTP_POST]
    response = server.create_logout_response(
        message, bindings, sign=False, sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256
    )
    binding, location = _endpoint(server, message.issuer.text.strip(), response=True)
    if location is None:
        return logged_out()
    if binding == BINDING_HTTP_POST:
        response = server.create_logout_response(
            message,
            [BINDING_HTTP_POST],
            sign=True,
            sign_alg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
        )
    return _send(server, binding, location, str(response), reply.get("relay_state"), "SAMLResponse")


def _send(server, binding: str, location: str, xml: str, relay_state: str | None, field: str):
    if binding == BINDING_HTTP_REDIRECT:
        info = server.apply_binding(
            BINDING_HTTP_REDIRECT,
            xml,
            location,
            relay_state=relay_state or "",
            response=field == "SAMLResponse",
            sign=True,
            sigalg=SIG_RSA_SHA256,
        )
        return redirect(dict(info["headers"])["Location"], code=303)
    return post_form(location, field, xml, relay_state)


def _endpoint(server, entity_id: str, response: bool = False) -> tuple[str, str | None]:
    """The SP's SingleLogoutService: HTTP-Redirect if it has one, else HTTP-POST."""
    for binding in (BINDING_HTTP_REDIRECT, BINDING_HTTP_POST):
        try:
            endpoints = server.metadata.single_logout_service(entity_id, binding, "spsso")
        except UnsupportedBinding:
            continue
        if endpoints:
            first = endpoints[0]
            location = (first.get("response_location") if response else None) or first["location"]
            return binding, location
    return BINDING_HTTP_REDIRECT, None


def _entries(db_session: Session, login_ids, skip: str | None = None) -> list[dict]:
    if not login_ids:
        return []
    rows = db_session.execute(
        select(SamlSession, SamlServiceProvider.entity_id)
        .join(SamlServiceProvider, SamlServiceProvider.id == SamlSession.sp_id)
        .where(SamlSession.login_session_id.in_(list(login_ids)))
    ).all()
    return [
        {
            "sp": entity_id,
            "name_id": row.name_id,
            "format": row.name_id_format,
            "session_index": row.session_index,
        }
        for row, entity_id in rows
        if entity_id != skip
    ]
