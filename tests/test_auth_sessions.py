"""Server-side sessions: timeouts, logout, my sessions, log out everywhere, operator commands.

Test names carry the OWASP ASVS 5.0 requirement they check (v7_3_1 = V7.3.1).
"""

from __future__ import annotations

import datetime as dt
import re

import time_machine
from sqlalchemy import select

from idp.models import LoginSession, Person, PersonStatus
from tests import factories as f
from tests.web import browser, data, with_password

START = dt.datetime(2026, 11, 30, 7, 45, tzinfo=dt.UTC)


def _learner(site, username: str = "lea.lern") -> None:
    with data(site) as s:
        state = f.small_state(s) if not s.scalars(select(Person)).first() else None
        p = f.person(s, username, "Lea", "Lern")
        if state is not None:
            f.kontext(s, p, state.schule, "LERN")
        with_password(s, p)


def test_v7_3_1_idle_timeout_ends_the_login(site):
    _learner(site)
    b = browser(site)
    with time_machine.travel(START, tick=False) as clock:
        b.login("lea.lern")
        clock.shift(dt.timedelta(minutes=25))
        assert b.get("/konto").status_code == 200  # activity resets the idle clock
        clock.shift(dt.timedelta(minutes=25))
        assert b.get("/konto").status_code == 200
        clock.shift(dt.timedelta(minutes=31))

        assert b.get("/konto").location == "/login"


def test_v7_3_2_absolute_timeout_ends_even_an_active_login(site):
    _learner(site)
    b = browser(site)
    with time_machine.travel(START, tick=False) as clock:
        b.login("lea.lern")
        for _ in range(24):  # twelve hours of activity, a request every 29 minutes
            clock.shift(dt.timedelta(minutes=29))
            b.get("/konto")
        clock.shift(dt.timedelta(minutes=29))

        assert b.get("/konto").location == "/login"


def test_v7_4_1_logout_ends_the_session_in_the_database(site):
    _learner(site)
    b = browser(site)
    b.login("lea.lern")
    stolen = b.cookie(site)

    b.submit("/logout", {})

    assert b.get("/konto").location == "/login"
    thief = site.test_client()
    thief.set_cookie(site.config["SESSION_COOKIE_NAME"], stolen)
    assert thief.get("/konto").location == "/login"
    with data(site) as s:
        assert (
            s.scalars(select(LoginSession).where(LoginSession.person_id.is_not(None))).all() == []
        )


def test_logout_needs_a_post_with_csrf_token(site):
    _learner(site)
    b = browser(site)
    b.login("lea.lern")

    b.get("/logout")  # shows the confirmation, logs nobody out
    b.client.post("/logout", data={})  # no token

    assert b.get("/konto").status_code == 200


def test_v7_4_4_every_logged_in_page_links_to_logout(site):
    _learner(site)
    b = browser(site)
    b.login("lea.lern")

    for path in ("/konto", "/konto/passwort", "/konto/zweiter-faktor"):
        assert 'href="/logout"' in b.get(path).text, path


def test_v7_4_2_locking_a_person_ends_their_sessions_at_once(site):
    _learner(site)
    b = browser(site)
    b.login("lea.lern")
    with data(site) as s:
        s.scalar(select(Person)).status = PersonStatus.GESPERRT
        s.commit()

    assert b.get("/konto").location == "/login"


def test_v7_5_2_my_sessions_are_listed_and_can_be_ended(site):
    _learner(site)
    laptop, phone = browser(site, ip="192.0.2.10"), browser(site, ip="192.0.2.20")
    laptop.login("lea.lern")
    phone.login("lea.lern")

    page = laptop.get("/konto").text
    assert "192.0.2.10" in page and "192.0.2.20" in page
    other = re.search(r'name="target" value="([0-9a-f-]{36})"', page).group(1)
    laptop.submit("/konto/sitzungen/beenden", {"target": other}, page="/konto")

    assert phone.get("/konto").location == "/login"
    assert laptop.get("/konto").status_code == 200


def test_v7_5_2_ending_sessions_needs_a_recent_login(site):
    _learner(site)
    laptop, phone = browser(site), browser(site)
    with time_machine.travel(START, tick=False) as clock:
        laptop.login("lea.lern")
        phone.login("lea.lern")
        for _ in range(3):
            clock.shift(dt.timedelta(minutes=4))
            laptop.get("/konto")

        asked = laptop.submit("/konto/sitzungen/alle-beenden", {}, page="/konto")
        assert asked.location == "/login"
        assert phone.get("/konto").status_code == 200
        assert laptop.login("lea.lern").location == "/konto"

        laptop.submit("/konto/sitzungen/alle-beenden", {}, page="/konto")

        assert phone.get("/konto").location == "/login"
        assert laptop.get("/konto").status_code == 200


def test_v6_2_2_v6_2_3_v7_4_3_change_password_needs_the_current_one_and_ends_other_sessions(site):
    _learner(site)
    laptop, phone = browser(site), browser(site)
    laptop.login("lea.lern")
    phone.login("lea.lern")
    new = "Kastanienbaum im Hof"

    wrong = laptop.submit("/konto/passwort", {"current": "falsch", "new": new, "repeat": new})
    assert "bisherige Passwort ist nicht richtig" in wrong.text
    done = laptop.submit(
        "/konto/passwort", {"current": "Zebrafisch-Laterne-42", "new": new, "repeat": new}
    )

    assert done.location == "/konto"
    assert phone.get("/konto").location == "/login"
    assert laptop.get("/konto").status_code == 200
    assert browser(site).login("lea.lern", new).location == "/"


def test_sessions_are_stored_only_when_needed(site):
    site.test_client().get("/healthz")

    with data(site) as s:
        assert s.scalars(select(LoginSession)).all() == []


def test_a_forged_or_overlong_cookie_is_an_anonymous_visitor(site):
    client = site.test_client()
    for value in ("nicht-echt", "x" * 3000):
        client.set_cookie(site.config["SESSION_COOKIE_NAME"], value)
        assert client.get("/konto").location == "/login"


def test_v7_2_1_a_first_visit_to_the_login_page_stores_nothing_but_a_signed_cookie(site):
    b = browser(site)

    page = b.get("/login")
    cookie = b.cookie(site)

    assert page.status_code == 200 and cookie is not None and cookie.startswith("a.")
    with data(site) as s:
        assert s.scalars(select(LoginSession)).all() == []


def test_v7_2_1_a_tampered_anonymous_cookie_is_refused(site):
    _learner(site)
    b = browser(site)
    page = b.get("/login")
    token = re.search(r'name="csrf_token"[^>]*? value="([^"]+)"', page.text).group(1)
    cookie = b.cookie(site)
    b.client.set_cookie(site.config["SESSION_COOKIE_NAME"], cookie[:-4] + "AAAA")

    answer = b.client.post(
        "/login", data={"csrf_token": token, "login_name": "lea.lern", "password": "x"}
    )

    assert answer.status_code == 400
    with data(site) as s:
        assert s.scalars(select(LoginSession)).all() == []


def test_v7_2_4_a_login_turns_the_anonymous_cookie_into_a_new_database_session(site):
    _learner(site)
    b = browser(site)
    b.get("/login")
    anonymous = b.cookie(site)

    b.login("lea.lern")

    assert b.cookie(site) != anonymous and not b.cookie(site).startswith("a.")
    with data(site) as s:
        assert len(s.scalars(select(LoginSession)).all()) == 1
