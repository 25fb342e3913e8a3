"""SAML Web SSO as a real SP meets it: python3-saml (OneLogin, on xmlsec) reads our metadata,
sends AuthnRequests over HTTP-Redirect and HTTP-POST, and validates our signed responses;
the negative cases: unknown SP, wrong ACS, replayed response, expired request, unsigned
request where the SP signs."""

from __future__ import annotations

import base64
import datetime as dt
import zlib
from urllib.parse import quote

import pytest
import time_machine
from sqlalchemy import select

from idp.models import (
    OptOut,
    Person,
    SamlServiceProvider,
    SamlSession,
)
from tests import oidc_rp as rp
from tests.saml_sp import (
    PERSISTENT,
    TRANSIENT,
    ReplayError,
    Sp,
    accepted,
    itslearning_school,
    learner,
    new_sp,
    posted_form,
    saml_app,
    sign_in,
)
from tests.web import browser, data

REFEDS_MFA = "https://refeds.org/profile/mfa"
PASSWORD_CLASS = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"


@pytest.fixture
def site(database_url, tmp_path):
    with saml_app(database_url, tmp_path) as application:
        yield application


@pytest.fixture
def sp(site, tmp_path) -> Sp:
    itslearning_school(site)
    return new_sp(site, tmp_path)


def test_redirect_binding_login_is_accepted_by_python3_saml(site, sp):
    b = browser(site)
    path, request_id = sp.login_url(relay_state="https://lms.example/kurs/7")
    auth, fields = accepted(sp, sign_in(b, path, learner), request_id)

    assert fields["RelayState"] == "https://lms.example/kurs/7"
    assert auth.get_nameid_format() == PERSISTENT
    assert auth.get_nameid_spnq() == sp.entity_id
    attributes = auth.get_friendlyname_attributes()
    assert attributes["uid"] == ["lea.lern"]
    assert attributes["eduPersonPrincipalName"] == ["lea.lern@127.0.0.1"]
    assert attributes["givenName"] == ["Lea"] and attributes["sn"] == ["Lern"]
    assert attributes["displayName"] == ["Lea Lern"]
    assert attributes["eduPersonAffiliation"] == ["member", "student"]
    assert attributes["schulconnexRolle"] == ["LERN"]
    assert attributes["schulconnexOrganisationKennung"] == ["750001", "750001/7b"]
    assert attributes["schulconnexKlasse"] == ["7b"]
    assert "mail" not in attributes  # Lea has none; nothing empty is sent
    assert auth.get_attributes()["urn:oid:0.9.2342.19200300.100.1.1"] == ["lea.lern"]
    assert auth.get_last_authn_contexts() == [PASSWORD_CLASS]


def test_response_and_assertion_are_signed_with_sha256_and_addressed(site, sp):
    b = browser(site)
    path, request_id = sp.login_url()
    _, fields = accepted(sp, sign_in(b, path, learner), request_id)
    xml = base64.b64decode(fields["SAMLResponse"]).decode()

    assert xml.count("SignatureValue>") == 4  # opening and closing: Response and Assertion
    assert "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" in xml
    assert "http://www.w3.org/2000/09/xmldsig#rsa-sha1" not in xml
    assert f'InResponseTo="{request_id}"' in xml
    assert f'Destination="{sp.acs}"' in xml and f'Recipient="{sp.acs}"' in xml
    assert f"Audience>{sp.entity_id}</" in xml


def test_post_binding_with_a_signed_request(site, tmp_path):
    itslearning_school(site)
    sp = new_sp(site, tmp_path, signs_requests=True)
    b = browser(site)
    fields, request_id = sp.login_post(relay_state="kurs-9")

    held = b.client.post("/saml/sso", data=fields)
    assert held.status_code == 303 and held.location.startswith("/saml/sso/weiter?t=")
    auth, back = accepted(sp, sign_in(b, held.location, learner), request_id)

    assert back["RelayState"] == "kurs-9"
    assert auth.get_friendlyname_attributes()["uid"] == ["lea.lern"]
    with data(site) as s:
        provider = s.scalars(select(SamlServiceProvider)).one()
        assert provider.requests_signed  # AuthnRequestsSigned="true" in its metadata


def test_redirect_binding_with_a_signed_request(site, tmp_path):
    itslearning_school(site)
    sp = new_sp(site, tmp_path, signs_requests=True)
    path, request_id = sp.login_url()
    assert "Signature=" in path
    accepted(sp, sign_in(browser(site), path, learner), request_id)


def test_unsigned_request_is_refused_where_the_sp_signs(site, tmp_path):
    itslearning_school(site)
    signing = new_sp(site, tmp_path, signs_requests=True)
    unsigned = Sp(
        signing.name, signing.idp_metadata, key_pem=signing.key_pem, cert_pem=signing.cert_pem
    )  # same SP, forgets to sign
    b = browser(site)
    path, _ = unsigned.login_url()
    fields, _ = unsigned.login_post()

    by_redirect = b.get(path)
    by_post = b.client.post("/saml/sso", data=fields)

    for response in (by_redirect, by_post):
        assert response.status_code == 400
        assert "Signatur der Nachricht fehlt oder ist ungültig" in response.text
        assert "SAMLResponse" not in response.text


def test_request_signed_with_another_key_is_refused(site, tmp_path):
    itslearning_school(site)
    registered = new_sp(site, tmp_path, signs_requests=True)
    impostor = Sp(registered.name, registered.idp_metadata, signs_requests=True)  # own key
    path, _ = impostor.login_url()
    fields, _ = impostor.login_post()
    b = browser(site)

    assert b.get(path).status_code == 400
    assert b.client.post("/saml/sso", data=fields).status_code == 400


def test_an_unknown_sp_is_refused(site, sp):
    stranger = Sp("fremd", sp.idp_metadata)  # never registered
    response = browser(site).get(stranger.login_url()[0])

    assert response.status_code == 400
    assert "nicht registriert" in response.text
    assert "SAMLResponse" not in response.text


def test_a_wrong_acs_url_is_refused(site, sp):
    request = (
        '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_falsch1" Version="2.0" '
        f'IssueInstant="{dt.datetime.now(dt.UTC):%Y-%m-%dT%H:%M:%SZ}" '
        'Destination="http://127.0.0.1:8080/saml/sso" '
        'AssertionConsumerServiceURL="https://angreifer.example/acs" '
        'ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">'
        f"<saml:Issuer>{sp.entity_id}</saml:Issuer></samlp:AuthnRequest>"
    )
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = compressor.compress(request.encode()) + compressor.flush()
    encoded = quote(base64.b64encode(deflated).decode(), safe="")
    b = browser(site)
    rp.log_in(b, "lea.lern")

    response = b.get(f"/saml/sso?SAMLRequest={encoded}")

    assert response.status_code == 400
    assert "Rücksprungadresse" in response.text
    assert "angreifer.example" not in response.text


def test_a_replayed_response_is_rejected_by_the_sp(site, sp):
    b = browser(site)
    path, request_id = sp.login_url()
    _, fields = accepted(sp, sign_in(b, path, learner), request_id)

    with pytest.raises(ReplayError):
        sp.accept(fields, request_id)
    # And once its lifetime is over, python3-saml itself refuses it (NotOnOrAfter).
    fresh = Sp(sp.name, sp.idp_metadata, key_pem=sp.key_pem, cert_pem=sp.cert_pem)
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)):
        late = fresh.accept(fields, request_id)
    assert late.get_errors() and not late.is_authenticated()


def test_an_expired_request_is_refused(site, sp):
    with time_machine.travel(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)):
        path, _ = sp.login_url()
    response = browser(site).get(path)

    assert response.status_code == 400
    assert "abgelaufen" in response.text


def test_persistent_name_id_is_pairwise_per_sp_and_stable(site, tmp_path):
    itslearning_school(site)
    lms = new_sp(site, tmp_path)
    library = new_sp(site, tmp_path, name="bib", service="bibliothek")
    b = browser(site)

    path, rid = lms.login_url()
    at_lms, _ = accepted(lms, sign_in(b, path, learner), rid)
    path, rid = lms.login_url()
    again, _ = accepted(lms, sign_in(b, path, learner), rid)
    path, rid = library.login_url()
    at_library, _ = accepted(library, sign_in(b, path, learner), rid)

    assert at_lms.get_nameid() == again.get_nameid()
    assert at_lms.get_nameid() != at_library.get_nameid()
    assert "lea" not in at_lms.get_nameid().lower()
    # Only what the policy releases: the library may learn the username and nothing else.
    assert set(at_library.get_friendlyname_attributes()) == {"uid", "eduPersonPrincipalName"}


def test_transient_name_id_on_request(site, sp):
    b = browser(site)
    sp_settings = sp.settings()
    sp_settings["sp"]["NameIDFormat"] = TRANSIENT
    transient = Sp(sp.name, sp.idp_metadata, key_pem=sp.key_pem, cert_pem=sp.cert_pem)
    transient.settings = lambda strict=True: sp_settings  # type: ignore[method-assign]

    path, rid = transient.login_url()
    one, _ = accepted(transient, sign_in(b, path, learner), rid)
    path, rid = transient.login_url()
    two, _ = accepted(transient, sign_in(b, path, learner), rid)

    assert one.get_nameid_format() == TRANSIENT
    assert one.get_nameid() != two.get_nameid()


def test_a_learner_of_a_school_without_learner_access_is_refused(site, tmp_path):
    itslearning_school(site, learners=False)  # applied and approved for teachers only
    sp = new_sp(site, tmp_path)
    b = browser(site)
    path, request_id = sp.login_url()

    response = sign_in(b, path, learner)

    assert response.status_code == 403
    assert "Kein Zugang zu itslearning" in response.text
    _, fields = posted_form(response)  # the button back to the service
    auth = sp.accept(fields, request_id)
    assert not auth.is_authenticated()
    assert "RequestDenied" in (auth.get_last_error_reason() or "") or auth.get_errors()


def test_an_opt_out_keeps_the_person_out(site, sp):
    with data(site) as s:
        lea = s.scalars(select(Person.id).where(Person.username == "lea.lern")).one()
        s.add(OptOut(person_id=lea, service_code="itslearning", created_by="test"))
        s.commit()
    path, _ = sp.login_url()
    response = sign_in(browser(site), path, learner)

    assert response.status_code == 403
    assert "widersprochen" in response.text


def test_force_authn_asks_for_the_password_again(site, sp):
    b = browser(site)
    rp.log_in(b, "lea.lern")
    path, request_id = sp.login_url(force_authn=True)

    asked = b.get(path)
    assert asked.status_code == 302 and asked.location == "/login"
    back = rp.log_in(b, "lea.lern")
    accepted(sp, b.get(back.location), request_id)


def test_is_passive_without_a_login_answers_no_passive(site, sp):
    path, request_id = sp.login_url(is_passive=True)
    response = browser(site).get(path)

    target, fields = posted_form(response)
    auth = sp.accept(fields, request_id)
    assert target == sp.acs and not auth.is_authenticated()
    assert "NoPassive" in base64.b64decode(fields["SAMLResponse"]).decode()


def test_already_logged_in_is_single_sign_on(site, sp):
    b = browser(site)
    rp.log_in(b, "lea.lern")
    path, request_id = sp.login_url()

    response = b.get(path)  # no login page in between

    assert response.status_code == 200
    accepted(sp, response, request_id)


def test_sensitive_service_needs_a_fresh_login_with_second_factor(site, tmp_path):
    school = itslearning_school(site)
    sp = new_sp(site, tmp_path, name="diag", service="diagnostik")
    b = browser(site)
    rp.log_in(b, "tom.lehrer", school.teacher_totp)  # logged in with code a moment ago
    path, request_id = sp.login_url()

    asked = b.get(path)
    assert asked.status_code == 302 and asked.location == "/login"  # no silent SSO
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=31)):
        back = rp.log_in(b, "tom.lehrer", school.teacher_totp)
        auth, _ = accepted(sp, b.get(back.location), request_id)

    assert auth.get_last_authn_contexts() == [REFEDS_MFA]


def test_requested_authn_context_mfa_demands_the_second_factor(site, sp):
    b = browser(site)
    rp.log_in(b, "lea.lern")
    context = {
        "requestedAuthnContext": [REFEDS_MFA],
        "requestedAuthnContextComparison": "exact",
    }
    settings = sp.settings()
    settings["security"].update(context)
    wants_mfa = Sp(sp.name, sp.idp_metadata, key_pem=sp.key_pem, cert_pem=sp.cert_pem)
    wants_mfa.settings = lambda strict=True: settings  # type: ignore[method-assign]
    path, _ = wants_mfa.login_url()

    response = b.get(path)  # Lea has no second factor: she must log in with one

    assert response.status_code == 302 and response.location == "/login"


def test_idp_initiated_login_from_the_start_page(site, tmp_path):
    itslearning_school(site)
    sp = new_sp(site, tmp_path, idp_initiated=True)
    closed = new_sp(site, tmp_path, name="zu", service="bibliothek")
    b = browser(site)
    rp.log_in(b, "lea.lern")
    with data(site) as s:
        providers = {p.entity_id: p.id for p in s.scalars(select(SamlServiceProvider))}

    portal = b.get("/")
    start = f"/saml/start/{providers[sp.entity_id]}"
    response = b.get(start)

    assert start in portal.text
    auth, _ = accepted(sp, response, None)
    assert auth.get_friendlyname_attributes()["uid"] == ["lea.lern"]
    assert b.get(f"/saml/start/{providers[closed.entity_id]}").status_code == 404


def test_saml_sessions_are_recorded_for_single_logout(site, sp):
    b = browser(site)
    path, request_id = sp.login_url()
    auth, _ = accepted(sp, sign_in(b, path, learner), request_id)
    with data(site) as s:
        row = s.scalars(select(SamlSession)).one()
        assert row.name_id == auth.get_nameid()
        assert row.session_index == auth.get_session_index()


def test_no_decrypted_key_is_left_on_disk_between_signatures(site, sp):
    path, request_id = sp.login_url()
    accepted(sp, sign_in(browser(site), path, learner), request_id)

    directory = site.extensions["idp.saml.server"].directory
    left = sorted(p.name for p in directory.iterdir())
    assert left == ["active.crt", "next.crt"]  # public certificates only
    assert directory.stat().st_mode & 0o077 == 0
