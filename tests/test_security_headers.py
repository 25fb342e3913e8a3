"""Headers every response carries, and the German-first, English-switchable pages."""

from __future__ import annotations

from tests.web import browser


def test_csp_forbids_inline_script_and_framing(site):
    response = site.test_client().get("/login")

    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp and "form-action 'self'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script" not in response.text and " style=" not in response.text


def test_login_pages_are_never_cached(site):
    for path in ("/login", "/login/mit-code", "/konto"):
        assert site.test_client().get(path).headers["Cache-Control"] == "no-store", path


def test_static_files_may_be_cached(site):
    response = site.test_client().get("/static/idp.css")

    assert response.status_code == 200
    assert response.headers.get("Cache-Control") != "no-store"


def test_pages_are_german_first(site):
    page = site.test_client().get("/login", headers={"Accept-Language": "en-US,en"}).text

    assert '<html lang="de">' in page and "Benutzername oder E-Mail-Adresse" in page


def test_english_is_one_click_away(site):
    b = browser(site)

    switched = b.get("/sprache/en?weiter=/login")
    page = b.get(switched.location).text

    assert switched.location == "/login"
    assert '<html lang="en">' in page and "Username or email address" in page
    assert 'href="/sprache/de?weiter=/login"' in page


def test_form_fields_have_labels_and_errors_are_announced(site):
    b = browser(site)

    page = b.submit("/login", {"login_name": "", "password": ""}).text

    assert '<label for="login_name">' in page and '<label for="password">' in page
    assert 'aria-invalid="true"' in page and 'aria-describedby="login_name-fehler"' in page
    assert "Bitte geben Sie Ihren Benutzernamen ein." in page


def test_unknown_page_is_a_german_404(site):
    response = site.test_client().get("/gibt-es-nicht")

    assert response.status_code == 404 and "Diese Seite gibt es nicht." in response.text
