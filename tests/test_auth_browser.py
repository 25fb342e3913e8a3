"""The login pages in a real browser (Debian's Chromium through Playwright), with and without JS.

The app runs on a real HTTP server on 127.0.0.1; every page the browser visits is saved as a
screenshot under artifacts/screenshots/<test name>/ for review.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from idp.auth import accounts, passwords
from idp.auth.settings import auth_settings
from idp.models import LoginSession, Person, RecoveryCode, TotpCredential
from tests import factories as f
from tests.browser import Visit, log_in, open_visit
from tests.web import PASSWORD, data, with_password

NEW_PASSWORD = "Leuchtturm-Wellenbrecher-Möwe-7"

# The browser tests need only one backend; the flows are the same on PostgreSQL.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture(params=[True, False], ids=["js", "no-js"])
def javascript(request: pytest.FixtureRequest) -> bool:
    return request.param


@pytest.fixture
def visit(
    request: pytest.FixtureRequest, chromium: Browser, live_site: str, javascript: bool
) -> Iterator[Visit]:
    with open_visit(request, chromium, live_site, javascript) as opened:
        yield opened


def test_learner_sets_own_password_at_first_login(visit: Visit, site: Flask):
    with data(site) as s:
        state = f.small_state(s)
        learner = f.person(s, "mia.schulz", "Mia", "Schulz")
        f.kontext(s, learner, state.schule, "LERN")
        f.kontext(s, learner, state.klasse, "LERN")
        initial = accounts.issue_initial_password(auth_settings(), learner)
        s.commit()
    page = visit.page

    visit.goto("/login", "login")
    expect(page.get_by_role("heading", name="Anmelden")).to_be_visible()
    log_in(visit, "mia.schulz", initial)
    visit.expect_path("/login/neues-passwort")
    visit.shot("new-password")
    expect(page.get_by_role("heading", name="Neues Passwort festlegen")).to_be_visible()
    page.get_by_label("Neues Passwort", exact=True).fill("kurz")
    page.get_by_label("Neues Passwort wiederholen").fill("kurz")
    page.get_by_role("button", name="Passwort speichern").click()
    visit.shot("new-password-too-short")
    expect(page.get_by_role("alert")).to_contain_text("mindestens 8 Zeichen")
    page.get_by_label("Neues Passwort", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Neues Passwort wiederholen").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Passwort speichern").click()

    open_account_from_start(visit, "Mia")
    expect(page.get_by_role("heading", name="Mein Konto", level=1)).to_be_visible()
    expect(page.get_by_text("Angemeldet als Mia Schulz (mia.schulz).")).to_be_visible()
    with data(site) as s:
        person = s.scalar(select(Person).where(Person.username == "mia.schulz"))
        assert person.must_change_password is False
        ok, _ = passwords.verify(passwords.HashParameters(), NEW_PASSWORD, person.password_hash)
        assert ok
        login = s.scalar(select(LoginSession).where(LoginSession.person_id == person.id))
        assert login.amr == ["pwd"]


def open_account_from_start(visit: Visit, vorname: str) -> None:
    """After a login: the start page with the person's services, then "Mein Konto"."""
    page = visit.page
    visit.expect_path("/")
    visit.shot("start")
    expect(page.get_by_role("heading", name=f"Guten Tag, {vorname}")).to_be_visible()
    expect(page.get_by_role("heading", name="Ihre Dienste")).to_be_visible()
    page.get_by_role("navigation", name="Konto").get_by_role("link", name="Mein Konto").click()
    visit.expect_path("/konto")
    visit.shot("account")


def test_school_admin_enrols_second_factor_then_logs_in_with_code(visit: Visit, site: Flask):
    with data(site) as s:
        state = f.small_state(s)
        admin = f.person(s, "jonas.weber", "Jonas", "Weber")
        f.kontext(s, admin, state.schule, "IDM_SCHULE")
        with_password(s, admin)
    page = visit.page

    visit.goto("/login", "login")
    log_in(visit, "jonas.weber", PASSWORD)
    visit.expect_path("/login/zweiter-faktor")
    visit.shot("enrol")
    expect(page.get_by_role("heading", name="Zweiten Faktor einrichten")).to_be_visible()
    expect(page.get_by_text("ist ein zweiter Faktor vorgeschrieben")).to_be_visible()
    expect(page.get_by_role("img", name="QR-Code zum Einrichten")).to_be_visible()
    secret = "".join(page.locator("code.secret").inner_text().split())
    authenticator = pyotp.TOTP(secret)
    page.get_by_label("Code aus der App").fill(authenticator.now())
    page.get_by_role("button", name="Einrichten").click()
    visit.shot("recovery-codes")
    expect(page.get_by_role("heading", name="Ihre Wiederherstellungscodes")).to_be_visible()
    expect(page.locator("ol.codes").get_by_role("listitem")).to_have_count(10)
    page.get_by_role("link", name="Ich habe die Codes gesichert – weiter").click()
    open_account_from_start(visit, "Jonas")
    expect(
        page.get_by_text("Eingerichtet. Noch 10 unbenutzte Wiederherstellungscodes.")
    ).to_be_visible()
    page.get_by_role("navigation", name="Konto").get_by_role("link", name="Abmelden").click()
    visit.shot("logout")
    page.get_by_role("button", name="Jetzt abmelden").click()
    visit.shot("logged-out")
    expect(page.get_by_role("heading", name="Sie sind abgemeldet")).to_be_visible()
    page.get_by_role("link", name="Wieder anmelden").click()
    visit.expect_path("/login")
    visit.shot("login-again")
    log_in(visit, "jonas.weber", PASSWORD)
    visit.expect_path("/login/code")
    visit.shot("code")
    expect(page.get_by_role("heading", name="Code eingeben")).to_be_visible()
    # The enrolment used up the current code (each is accepted once); the app accepts the next.
    page.get_by_label("Code", exact=True).fill(authenticator.at(time.time(), counter_offset=1))
    page.get_by_role("button", name="Bestätigen").click()

    open_account_from_start(visit, "Jonas")
    expect(page.get_by_text("Angemeldet als Jonas Weber (jonas.weber).")).to_be_visible()
    with data(site) as s:
        person = s.scalar(select(Person).where(Person.username == "jonas.weber"))
        credential = s.get(TotpCredential, person.id)
        assert credential is not None and credential.confirmed_at is not None
        codes = s.scalars(select(RecoveryCode).where(RecoveryCode.person_id == person.id)).all()
        assert len(codes) == 10 and all(c.used_at is None for c in codes)
        logins = s.scalars(select(LoginSession).where(LoginSession.person_id == person.id)).all()
        assert [login.amr for login in logins] == [["otp", "pwd"]]


def test_login_page_switches_to_english(visit: Visit):
    page = visit.page
    visit.goto("/login", "login-german")

    page.get_by_role("navigation", name="Sprache").get_by_role("link", name="English").click()

    visit.expect_path("/login")
    visit.shot("login-english")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_label("Username or email address")).to_be_visible()
    expect(page.get_by_label("Password", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    expect(
        page.get_by_text("Forgot your password? Your school or office resets it.")
    ).to_be_visible()
    expect(page.get_by_role("navigation", name="Language")).to_contain_text("Deutsch")
