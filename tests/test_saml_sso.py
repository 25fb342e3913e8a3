"""SAML Web SSO as a real SP meets it: python3-saml (OneLogin, on xmlsec) reads our metadata,
sends AuthnRequests over HTTP-Redirect and HTTP-POST, and validates our signed responses."""

from __future__ import annotations

import pytest

from sqlalchemy import select

from idp.models import ActivationState, Organisation
from tests import factories as f
from tests import oidc_rp as rp
from tests.saml_sp import PERSISTENT, TRANSIENT, Sp, posted_form, sign_in
from tests.web import browser, data


def _idp_metadata(site) -> str:
    response = site.test_client().get("/saml/metadata")
    assert response.status_code == 200
    assert response.mimetype == "application/samlmetadata+xml"
    return response.text


def _school_with_itslearning(site, learners: bool = True):
    school = rp.school(site)
    with data(site) as s:
        schule = s.scalars(select(Organisation).where(Organisation.kennung == "750001")).one()
        state = (
            ActivationState.LERNENDE_FREIGEGEBEN if learners else ActivationState.FREIGEGEBEN
        )
        f.activation(s, schule, "itslearning", state)
        s.commit()
    return school


@pytest.fixture
def sp(site, tmp_path) -> Sp:
    _school_with_itslearning(site)
    sp = Sp("lms", _idp_metadata(site))
    sp.register(site, tmp_path)
    return sp


def _learner(b):
    return rp.log_in(b, "lea.lern")


def test_redirect_binding_login_is_accepted_by_python3_saml(site, sp):
    b = browser(site)
    path, request_id = sp.login_url(relay_state="https://lms.example/kurs/7")
    response = sign_in(b, path, _learner)

    target, fields = posted_form(response)
    auth = sp.accept(fields, request_id)

    assert target == sp.acs
    assert auth.get_errors() == [], auth.get_last_error_reason()
    assert auth.is_authenticated()
    assert fields["RelayState"] == "https://lms.example/kurs/7"
    assert auth.get_nameid_format() == PERSISTENT
    attributes = auth.get_friendlyname_attributes()
    assert attributes["uid"] == ["lea.lern"]
    assert attributes["givenName"] == ["Lea"]
    assert attributes["eduPersonAffiliation"] == ["member", "student"]
    assert attributes["schulconnexKlasse"] == ["7b"]
    assert "mail" not in attributes  # Lea has none; nothing empty is sent
    assert auth.get_last_authn_contexts() == [
        "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
    ]
