"""A SAML service provider for the tests: OneLogin's python3-saml (on the xmlsec binding), an
implementation independent of pysaml2, reads our metadata, sends AuthnRequests over both
bindings and validates our signed responses as a real SP would."""

from __future__ import annotations

import base64
import datetime as dt
import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from flask import Flask
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.authn_request import OneLogin_Saml2_Authn_Request
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from sqlalchemy import select
from werkzeug.test import TestResponse

from idp.app import create_app
from idp.extensions import db
from idp.models import ActivationState, Organisation, ServiceActivation
from idp.policy import current_policies
from idp.saml import providers
from tests import oidc_rp as rp
from tests.web import Browser, data

HOST = "127.0.0.1:9990"  # never contacted: the test hands every message over itself
FORM_ACTION = re.compile(r'<form method="post" action="([^"]+)"')
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"


def key_pair(common_name: str) -> tuple[str, str]:
    """A fresh RSA key and self-signed certificate (PEM) for an SP."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    at = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(at - dt.timedelta(days=1))
        .not_valid_after(at + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode()


@dataclass
class Sp:
    """One SP: its settings for python3-saml, and the messages it has seen."""

    name: str
    idp_metadata: str
    signs_requests: bool = False
    key_pem: str = ""
    cert_pem: str = ""
    with_slo: bool = True
    seen_ids: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if not self.key_pem:
            self.key_pem, self.cert_pem = key_pair(self.name)

    @property
    def entity_id(self) -> str:
        return f"http://{HOST}/{self.name}/metadata"

    @property
    def acs(self) -> str:
        return f"http://{HOST}/{self.name}/acs"

    @property
    def sls(self) -> str:
        return f"http://{HOST}/{self.name}/sls"

    def settings(self, strict: bool = True) -> dict:
        idp = OneLogin_Saml2_IdPMetadataParser.parse(self.idp_metadata)
        sp = {
            "entityId": self.entity_id,
            "assertionConsumerService": {
                "url": self.acs,
                "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
            },
            "NameIDFormat": PERSISTENT,
            "x509cert": self.cert_pem,
            "privateKey": self.key_pem,
        }
        if self.with_slo:
            sp["singleLogoutService"] = {
                "url": self.sls,
                "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
            }
        security = {
            "authnRequestsSigned": self.signs_requests,
            "logoutRequestSigned": True,
            "logoutResponseSigned": True,
            "wantMessagesSigned": True,
            "wantAssertionsSigned": True,
            "wantNameId": True,
            "requestedAuthnContext": False,
            "signatureAlgorithm": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "digestAlgorithm": "http://www.w3.org/2001/04/xmlenc#sha256",
            "rejectDeprecatedAlgorithm": True,
        }
        return {"strict": strict, "debug": True, "sp": sp, "security": security, "idp": idp["idp"]}

    def metadata(self) -> str:
        settings = OneLogin_Saml2_Settings(self.settings(), sp_validation_only=True)
        return _bytes(settings.get_sp_metadata()).decode()

    def register(
        self, site: Flask, tmp_path: Path, service: str = "itslearning", **options
    ) -> None:
        path = tmp_path / f"{self.name}-metadata.xml"
        path.write_text(self.metadata(), encoding="utf-8")
        with site.app_context():
            providers.register(
                db.session, current_policies(), source=str(path), service=service, **options
            )
            db.session.commit()
            db.session.remove()

    def _request_data(self, path: str, get: dict | None = None, post: dict | None = None):
        return {
            "https": "off",
            "http_host": HOST,
            "script_name": path,
            "get_data": get or {},
            "post_data": post or {},
        }

    def login_url(self, relay_state: str = "", **options) -> tuple[str, str]:
        """HTTP-Redirect AuthnRequest: (path on the IdP with query, request id)."""
        auth = OneLogin_Saml2_Auth(self._request_data("/"), self.settings())
        url = auth.login(return_to=relay_state or None, **options)
        parts = urlsplit(url)
        return f"{parts.path}?{parts.query}", auth.get_last_request_id()

    def login_post(self, relay_state: str = "", **options) -> tuple[dict, str]:
        """HTTP-POST AuthnRequest: (form fields, request id); signed in the XML if it signs."""
        settings = OneLogin_Saml2_Settings(self.settings())
        request = OneLogin_Saml2_Authn_Request(settings, **options)
        xml = request.get_xml()
        if self.signs_requests:
            xml = OneLogin_Saml2_Utils.add_sign(xml, self.key_pem, self.cert_pem)
        fields = {"SAMLRequest": base64.b64encode(_bytes(xml)).decode()}
        if relay_state:
            fields["RelayState"] = relay_state
        return fields, request.get_id()

    def accept(self, form: dict, request_id: str | None) -> OneLogin_Saml2_Auth:
        """Validate a SAMLResponse POSTed to our ACS, as python3-saml does; also refuse a
        response or assertion seen before (python3-saml leaves replay checks to its user)."""
        auth = OneLogin_Saml2_Auth(
            self._request_data(f"/{self.name}/acs", post=form), self.settings()
        )
        auth.process_response(request_id=request_id)
        if not auth.get_errors():
            ids = {auth.get_last_message_id(), auth.get_last_assertion_id()}
            if ids & self.seen_ids:
                raise ReplayError(ids & self.seen_ids)
            self.seen_ids |= ids
        return auth

    def process_slo(self, location: str) -> tuple[OneLogin_Saml2_Auth, str | None]:
        """Handle a logout message our IdP sent to the SLS (`location`, with its query):
        python3-saml checks it; for a LogoutRequest it returns the URL of its answer."""
        assert location.startswith(self.sls), location
        auth = OneLogin_Saml2_Auth(
            self._request_data(f"/{self.name}/sls", get=query_of(location)), self.settings()
        )
        answer = auth.process_slo(keep_local_session=True)
        return auth, answer

    def logout_url(self, name_id: str, session_index: str, relay_state: str = "") -> str:
        auth = OneLogin_Saml2_Auth(self._request_data("/"), self.settings())
        url = auth.logout(
            return_to=relay_state or None,
            name_id=name_id,
            session_index=session_index,
            name_id_format=PERSISTENT,
        )
        parts = urlsplit(url)
        return f"{parts.path}?{parts.query}"


class ReplayError(Exception):
    """The SP saw this response or assertion before."""


def _bytes(xml) -> bytes:
    return xml if isinstance(xml, bytes) else xml.encode()


def posted_form(response: TestResponse) -> tuple[str, dict[str, str]]:
    """The target and the fields of our auto-submitting form (HTTP-POST binding)."""
    found = FORM_ACTION.search(response.text)
    assert found, response.text[:500]
    fields = {name: html.unescape(value) for name, value in HIDDEN.findall(response.text)}
    return html.unescape(found.group(1)), fields


def sign_in(b: Browser, path: str, log_in) -> TestResponse:
    """Follow an SSO start through login (`log_in(b)` fills in the forms) to the POST page."""
    response = b.get(path)
    if response.status_code in (302, 303) and not response.location.startswith("/login"):
        response = b.get(response.location)
    if response.status_code == 302 and response.location == "/login":
        back = log_in(b)
        assert back.status_code == 302 and back.location.startswith("/saml/"), back.location
        response = b.get(back.location)
    return response


def query_of(location: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(location).query))


def policies_with_saml_services(target: Path) -> Path:
    """A copy of policies/ where Diagnostik (sensitive) speaks SAML, plus a small SAML service
    that may learn only the username (for the tests of release and step-up)."""
    source = Path(__file__).resolve().parent.parent / "policies"
    target.mkdir(parents=True, exist_ok=True)
    for file in source.glob("*.toml"):
        (target / file.name).write_text(file.read_text(encoding="utf-8"), encoding="utf-8")
    services = target / "services.toml"
    text = services.read_text(encoding="utf-8")
    start = text.index("[services.diagnostik]")
    block_end = text.index('protocol = "oidc"', start)
    text = text[:block_end] + 'protocol = "saml"' + text[block_end + len('protocol = "oidc"') :]
    text += """
[services.bibliothek]
name = "Schulbibliothek"
description = "Ausleihe der Schulbibliothek"
protocol = "saml"
sensitive = false
attributes = ["username"]

[[services.bibliothek.entitled]]
rollenarten = ["LERN", "LEHR"]
org_types = ["SCHULE"]
"""
    services.write_text(text, encoding="utf-8")
    config = target / "config.toml"
    config.write_text(f'[policies]\ndir = "{target}"\n', encoding="utf-8")
    return config


@contextmanager
def saml_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app with policies where Diagnostik speaks SAML and a username-only SAML service."""
    from tests.conftest import make_config

    config = policies_with_saml_services(tmp_path / "policies")
    application = create_app(make_config(database_url, IDP_CONFIG=str(config)))
    yield application
    with application.app_context():
        db.engine.dispose()


def idp_metadata(site: Flask) -> str:
    response = site.test_client().get("/saml/metadata")
    assert response.status_code == 200
    assert response.mimetype == "application/samlmetadata+xml"
    return response.text


def itslearning_school(site: Flask, learners: bool = True) -> rp.School:
    """The test school (rp.school) with itslearning approved for teachers and learners."""
    school = rp.school(site)
    with data(site) as s:
        schule = s.scalars(select(Organisation).where(Organisation.kennung == "750001")).one()
        state = ActivationState.LERNENDE_FREIGEGEBEN if learners else ActivationState.FREIGEGEBEN
        s.add(ServiceActivation(schule_id=schule.id, service_code="itslearning", state=state))
        s.commit()
    return school


def new_sp(site: Flask, tmp_path: Path, name="lms", service="itslearning", **options) -> Sp:
    signs = options.pop("signs_requests", False)
    with_slo = options.pop("with_slo", True)
    sp = Sp(name, idp_metadata(site), signs_requests=signs, with_slo=with_slo)
    sp.register(site, tmp_path, service=service, **options)
    return sp


def learner(b: Browser) -> TestResponse:
    return rp.log_in(b, "lea.lern")


def accepted(sp: Sp, response: TestResponse, request_id: str | None):
    """python3-saml accepts the response our POST page carries: (its auth, the fields)."""
    target, fields = posted_form(response)
    assert target == sp.acs
    auth = sp.accept(fields, request_id)
    assert auth.get_errors() == [], auth.get_last_error_reason()
    assert auth.is_authenticated()
    return auth, fields
