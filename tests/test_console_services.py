"""Services in the console: a Land admin registers OIDC clients and SAML SPs, edits redirect
URIs, rotates a secret (shown once); nobody else may."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from idp.models import OAuthClient, SamlServiceProvider
from tests.console import post, signed_in, world
from tests.saml_sp import Sp, idp_metadata
from tests.web import csrf_token, data

SECRET = re.compile(r'<code class="secret">([^<]+)</code>')
CLIENT_ID = re.compile(r"<dt>client_id</dt><dd><code>([^<]+)</code>")


@pytest.fixture
def w(site):
    return world(site)


def _token(site, client_id: str, secret: str) -> int:
    response = site.test_client().post(
        "/oidc/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    return response.status_code


def test_register_an_oidc_client_and_rotate_its_secret(site, w):
    b = signed_in(site, w, w.land_admin)

    made = post(
        b,
        "/verwaltung/dienste/oidc",
        {"dienst": "stundenplan", "name": "Untis", "redirect_uris": "https://untis.example/cb"},
    )
    client_id, secret = CLIENT_ID.search(made.text).group(1), SECRET.search(made.text).group(1)
    assert "nur jetzt angezeigt" in made.text
    assert _token(site, client_id, secret) == 200

    rotated = post(b, f"/verwaltung/dienste/oidc/{client_id}/geheimnis")
    new_secret = SECRET.search(rotated.text).group(1)

    assert new_secret != secret
    assert _token(site, client_id, secret) == 401
    assert _token(site, client_id, new_secret) == 200
    assert secret not in b.get("/verwaltung/dienste/").text


def test_edit_redirect_uris_checks_them(site, w):
    b = signed_in(site, w, w.land_admin)
    made = post(
        b,
        "/verwaltung/dienste/oidc",
        {"dienst": "stundenplan", "name": "Untis", "redirect_uris": "https://untis.example/cb"},
    )
    client_id = CLIENT_ID.search(made.text).group(1)

    good = post(
        b,
        f"/verwaltung/dienste/oidc/{client_id}/adressen",
        {"redirect_uris": "https://untis.example/cb\nhttps://untis.example/cb2"},
    )
    bad = post(
        b,
        f"/verwaltung/dienste/oidc/{client_id}/adressen",
        {"redirect_uris": "http://untis.example/unsicher"},
    )

    assert good.status_code == bad.status_code == 303
    assert "ohne https nur" in b.get(bad.location).text
    with data(site) as s:
        assert s.get(OAuthClient, client_id).redirect_uris == [
            "https://untis.example/cb",
            "https://untis.example/cb2",
        ]


def test_a_refused_client_names_the_form_field_not_a_command_line_option(site, w):
    b = signed_in(site, w, w.land_admin)

    refused = post(
        b,
        "/verwaltung/dienste/oidc",
        {
            "dienst": "stundenplan",
            "name": "Untis",
            "redirect_uris": "https://untis.example/cb",
            "backchannel_logout_uri": "http://untis.example/logout",
        },
    )

    shown = b.get(refused.location).text
    assert "Nicht angelegt: Back-Channel-Logout-Adresse „http://untis.example/logout“" in shown
    assert "--" not in shown.split("Nicht angelegt:")[1].split("<")[0]
    with data(site) as s:
        assert s.scalars(select(OAuthClient)).all() == []


def test_register_and_remove_a_saml_sp_from_uploaded_metadata(site, w):
    b = signed_in(site, w, w.land_admin)
    sp = Sp("lms", idp_metadata(site))
    page = b.get("/verwaltung/dienste/")

    uploaded = b.client.post(
        "/verwaltung/dienste/saml",
        data={
            "csrf_token": csrf_token(page.text),
            "dienst": "itslearning",
            "idp_initiated": "1",
            "metadaten": (io.BytesIO(sp.metadata().encode()), "lms.xml"),
        },
        content_type="multipart/form-data",
    )

    assert uploaded.status_code == 303
    listed = b.get("/verwaltung/dienste/")
    assert sp.entity_id in listed.text and "Start von der Startseite" in listed.text
    post(b, "/verwaltung/dienste/saml/entfernen", {"entity_id": sp.entity_id})
    with data(site) as s:
        assert s.scalars(select(SamlServiceProvider)).all() == []


def test_bad_metadata_names_the_file(site, w):
    b = signed_in(site, w, w.land_admin)
    page = b.get("/verwaltung/dienste/")

    uploaded = b.client.post(
        "/verwaltung/dienste/saml",
        data={
            "csrf_token": csrf_token(page.text),
            "dienst": "itslearning",
            "metadaten": (io.BytesIO(b"<kaputt"), "kaputt.xml"),
        },
        content_type="multipart/form-data",
    )

    assert "kaputt.xml: keine lesbaren SAML-Metadaten" in b.get(uploaded.location).text


def test_only_land_admins_manage_services(site, w):
    b = signed_in(site, w, w.school_admin)

    assert b.get("/verwaltung/dienste/").status_code == 403
    assert post(b, "/verwaltung/dienste/oidc", {"dienst": "stundenplan"}).status_code == 403
    assert post(b, "/verwaltung/dienste/saml/entfernen", {"entity_id": "x"}).status_code == 403
