"""Web SSO: read an AuthnRequest, decide what it asks of the login, answer with a signed
Response (both the Response and its Assertion signed, RSA-SHA256).

What may be refused to the person only (no answer to the service, because its address or
identity cannot be trusted): an unreadable message, an unknown SP, a wrong
AssertionConsumerService, a missing or bad signature where the SP signs, an expired request.
Everything else is answered to the SP with a SAML status.
"""

from __future__ import annotations

import calendar
import re
import secrets
import time
from dataclasses import asdict, dataclass

from flask_babel import lazy_gettext as _l
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, samlp
from saml2.saml import (
    NAMEID_FORMAT_PERSISTENT,
    NAMEID_FORMAT_TRANSIENT,
    NAMEID_FORMAT_UNSPECIFIED,
    NameID,
)
from saml2.server import Server
from saml2.sigver import verify_redirect_signature
from saml2.time_util import str_to_time
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256
from sqlalchemy.orm import Session

from idp.auth.sessions import SessionRow
from idp.models import Person, SamlServiceProvider, SamlSession
from idp.oidc.claims import pairwise_sub
from idp.oidc.server import ACR_PASSWORD, ACR_SECOND_FACTOR
from idp.policy import current_policies
from idp.policy.entitlement import PersonFacts
from idp.saml import providers
from idp.saml.attributes import saml_attributes
from idp.saml.server import idp_server
from idp.saml.settings import saml_settings

PASSWORD_CLASS = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"  # noqa: S105
REFEDS_MFA = "https://refeds.org/profile/mfa"
PASSWORD_CLASSES = (
    PASSWORD_CLASS,
    "urn:oasis:names:tc:SAML:2.0:ac:classes:Password",
    ACR_PASSWORD,
)
MFA_CLASSES = (
    REFEDS_MFA,
    ACR_SECOND_FACTOR,
    "urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken",
)
FUTURE_SKEW_SECONDS = 60
_SESSION_INDEX = re.compile(r'SessionIndex="([^"]+)"')


class Refused(Exception):
    """A request we cannot answer to its sender; `message` is for the person, in German."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message  # a lazy translation: rendered in the person's language


@dataclass(frozen=True)
class AuthnAsk:
    """What an SP asked for, checked; kept in a hold while the person logs in."""

    sp_entity_id: str
    acs: str
    request_id: str | None = None
    relay_state: str | None = None
    force_authn: bool = False
    is_passive: bool = False
    transient: bool = False
    second_factor: bool = False
    classes: tuple[str, ...] = ()
    exact: bool = True
    # A SAML status to answer with instead of an assertion (e.g. an unsupported NameID format).
    status: str | None = None

    def payload(self) -> dict:
        return asdict(self)

    @classmethod
    def from_payload(cls, payload: dict) -> AuthnAsk:
        return cls(**{**payload, "classes": tuple(payload.get("classes") or ())})


def read_authn_request(
    session: Session, binding: str, values
) -> tuple[AuthnAsk, SamlServiceProvider]:
    """Check an AuthnRequest as it arrived (`values`: the query or form fields)."""
    server = idp_server(session)
    encoded = values.get("SAMLRequest")
    relay_state = values.get("RelayState")
    if not encoded:
        raise Refused(_l("Die Anmeldeanfrage des Dienstes enthält keine SAML-Nachricht."))
    provider = providers.find(session, _issuer(server, encoded, binding))
    if provider is None:
        raise Refused(_l("Der Dienst, der die Anmeldung anfragt, ist hier nicht registriert."))
    try:
        parsed = server.parse_authn_request(encoded, binding)
    except Exception as exc:  # pysaml2 raises many kinds: bad signature, schema, destination
        raise Refused(_l("Die Anmeldeanfrage des Dienstes ist ungültig.")) from exc
    message = parsed.message
    check_signature(server, provider, binding, values, message)
    _check_age(message.issue_instant)
    try:
        destination = server.response_args(message, [BINDING_HTTP_POST])["destination"]
    except Exception as exc:
        raise Refused(
            _l("Die Rücksprungadresse der Anmeldeanfrage ist für diesen Dienst nicht registriert.")
        ) from exc
    return _ask(provider, message, destination, relay_state), provider


def unsolicited(session: Session, provider: SamlServiceProvider) -> AuthnAsk:
    """An IdP-initiated login: an answer to no request, sent to the SP's first POST ACS."""
    metadata = providers.read_metadata(provider.metadata_xml, provider.entity_id)
    return AuthnAsk(sp_entity_id=provider.entity_id, acs=metadata.acs_post[0])


def respond(
    session: Session,
    ask: AuthnAsk,
    provider: SamlServiceProvider,
    person: Person,
    login: SessionRow,
    facts: PersonFacts,
) -> str:
    """The signed Response carrying the assertion; the SP is remembered for single logout."""
    server = idp_server(session)
    settings = saml_settings()
    if ask.transient:
        name_format, value = NAMEID_FORMAT_TRANSIENT, secrets.token_urlsafe(24)
    else:
        sector = f"saml:{provider.entity_id}"
        name_format = NAMEID_FORMAT_PERSISTENT
        value = pairwise_sub(settings.secret_key, sector, person.id)
    name_id = NameID(
        format=name_format,
        name_qualifier=settings.entity_id,
        sp_name_qualifier=provider.entity_id,
        text=value,
    )
    identity = saml_attributes(current_policies(), facts, provider.service_code, settings.scope)
    assert login.auth_time is not None
    xml = str(
        server.create_authn_response(
            identity,
            ask.request_id,
            ask.acs,
            provider.entity_id,
            name_id=name_id,
            authn={
                "class_ref": context_class(ask, login.amr or []),
                "authn_instant": calendar.timegm(login.auth_time.utctimetuple()),
            },
            sign_response=True,
            sign_assertion=True,
            sign_alg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
            best_effort=True,
        )
    )
    found = _SESSION_INDEX.search(xml)
    _remember(session, login, provider, person, name_id, found.group(1) if found else "")
    return xml


def error_response(session: Session, ask: AuthnAsk, status: str, message: str) -> str:
    """A signed Response with a SAML error status (Responder / `status`)."""
    server = idp_server(session)
    return str(
        server.create_error_response(
            ask.request_id,
            ask.acs,
            (status, message),
            sign=True,
            sign_alg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
        )
    )


def context_class(ask: AuthnAsk, amr: list[str]) -> str:
    """The AuthnContextClassRef for what the login did, in the SP's words where it asked."""
    done = MFA_CLASSES if "otp" in amr else PASSWORD_CLASSES
    for asked in ask.classes:
        if asked in done:
            return asked
    if "otp" in amr and not (ask.exact and set(ask.classes) & set(PASSWORD_CLASSES)):
        return REFEDS_MFA
    return PASSWORD_CLASS


def _ask(
    provider: SamlServiceProvider, message: samlp.AuthnRequest, acs: str, relay_state
) -> AuthnAsk:
    status = None
    policy = message.name_id_policy
    requested_format = policy.format if policy is not None else None
    if requested_format not in (
        None,
        NAMEID_FORMAT_PERSISTENT,
        NAMEID_FORMAT_TRANSIENT,
        NAMEID_FORMAT_UNSPECIFIED,
    ):
        status = samlp.STATUS_INVALID_NAMEID_POLICY
    classes: tuple[str, ...] = ()
    comparison = "exact"
    context = message.requested_authn_context
    if context is not None:
        classes = tuple(ref.text.strip() for ref in context.authn_context_class_ref if ref.text)
        comparison = context.comparison or "exact"
    known = set(PASSWORD_CLASSES) | set(MFA_CLASSES)
    if classes and not set(classes) & known and status is None:
        status = samlp.STATUS_NO_AUTHN_CONTEXT
    asks_mfa = bool(set(classes) & set(MFA_CLASSES))
    asks_password = bool(set(classes) & set(PASSWORD_CLASSES))
    second_factor = (comparison in ("minimum", "better") and asks_mfa) or (
        comparison == "better" and asks_password
    )
    if comparison == "exact":
        second_factor = asks_mfa and not asks_password
    return AuthnAsk(
        sp_entity_id=provider.entity_id,
        acs=acs,
        request_id=message.id,
        relay_state=(relay_state or None) and relay_state[:1024],
        force_authn=str(message.force_authn).lower() == "true",
        is_passive=str(message.is_passive).lower() == "true",
        transient=requested_format == NAMEID_FORMAT_TRANSIENT,
        second_factor=second_factor,
        classes=classes,
        exact=comparison == "exact",
        status=status,
    )


def _issuer(server: Server, encoded: str, binding: str) -> str | None:
    try:
        xml = server.unravel(encoded, binding, "authn_request")
        peek = samlp.authn_request_from_string(xml)
    except Exception as exc:  # base64, deflate or XML errors
        raise Refused(_l("Die Anmeldeanfrage des Dienstes ist nicht lesbar.")) from exc
    if peek is None or peek.issuer is None or not peek.issuer.text:
        raise Refused(_l("Die Anmeldeanfrage nennt keinen Dienst (Issuer)."))
    return peek.issuer.text.strip()


def check_signature(server, provider, binding, values, message) -> None:
    """An SP that signs must have signed this request; any signature present must be valid.

    pysaml2 has already checked an enveloped signature (POST) against the SP's metadata.
    """
    bad = Refused(_l("Die Signatur der Nachricht fehlt oder ist ungültig."))
    if binding == BINDING_HTTP_REDIRECT:
        signature, sigalg = values.get("Signature"), values.get("SigAlg")
        signs = signature or sigalg or provider.requests_signed
        if signs and not (signature and sigalg and _redirect_signed(server, provider, values)):
            raise bad
    elif provider.requests_signed and message.signature is None:
        raise bad


def _redirect_signed(server: Server, provider: SamlServiceProvider, values) -> bool:
    fields = {
        k: values[k] for k in ("SAMLRequest", "RelayState", "SigAlg", "Signature") if k in values
    }
    certificates = server.metadata.certs(provider.entity_id, "spsso", "signing")
    for _name, certificate in certificates:
        try:
            if verify_redirect_signature(fields, server.sec.sec_backend, certificate):
                return True
        except Exception:  # noqa: S112 (an unsupported algorithm or a broken value: try the next key)
            continue
    return False


def _check_age(issue_instant: str | None) -> None:
    try:
        issued = calendar.timegm(str_to_time(issue_instant))
    except Exception as exc:
        raise Refused(_l("Die Anmeldeanfrage hat keinen gültigen Zeitstempel.")) from exc
    at = time.time()
    if issued < at - saml_settings().request_max_age_seconds or issued > at + FUTURE_SKEW_SECONDS:
        raise Refused(
            _l(
                "Die Anmeldeanfrage ist abgelaufen. "
                "Bitte starten Sie die Anmeldung beim Dienst neu."
            )
        )


def _remember(session, login, provider, person, name_id: NameID, session_index: str) -> None:
    row = session.get(SamlSession, (login.id, provider.id))
    if row is None:
        row = SamlSession(login_session_id=login.id, sp_id=provider.id, person_id=person.id)
        session.add(row)
    row.name_id = name_id.text
    row.name_id_format = name_id.format
    row.session_index = session_index
