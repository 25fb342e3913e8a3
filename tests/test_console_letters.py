"""Credential letters from the console: new initial passwords, printed once into a PDF."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from idp.models import AuditEvent
from tests import oidc_rp as rp
from tests.console import post, signed_in, world
from tests.web import browser, data

PASSWORD = re.compile(r"\b([A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4})\b")


@pytest.fixture
def w(site):
    return world(site)


def _pages(response) -> list[str]:
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    return [page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages]


def test_class_letters_carry_a_working_initial_password(site, w):
    b = signed_in(site, w, w.school_admin)
    klasse = b.get(f"/verwaltung/klassen/{w.klasse}")
    assert klasse.status_code == 200 and "lea.lern" in klasse.text

    pages = _pages(post(b, f"/verwaltung/klassen/{w.klasse}/zugangsdaten", {}))

    assert len(pages) == 1
    text = pages[0]
    assert "Lea Lern" in text and "lea.lern" in text
    assert "http://127.0.0.1:8080/login" in text
    password = PASSWORD.search(text).group(1)
    learner = browser(site)
    first = learner.login("lea.lern", password)
    assert first.status_code == 302 and first.location == "/login/neues-passwort"
    with data(site) as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "zugangsdaten.gedruckt"))
        assert [(e.actor, e.target) for e in events] == [("verwaltung:ida.admin", "lea.lern")]


def test_only_new_skips_people_with_their_own_password(site, w):
    b = signed_in(site, w, w.school_admin)
    pages = _pages(post(b, f"/verwaltung/klassen/{w.klasse}/zugangsdaten", {}))
    password = PASSWORD.search(pages[0]).group(1)
    learner = browser(site)
    learner.login("lea.lern", password)
    changed = learner.submit(
        "/login/neues-passwort",
        {"new": "Lampenschirm-Giraffe-7", "repeat": "Lampenschirm-Giraffe-7"},
    )
    assert changed.status_code == 302

    again = post(b, f"/verwaltung/klassen/{w.klasse}/zugangsdaten", {"nur_neue": "1"})

    assert again.status_code == 303  # nobody left to print for
    assert rp.log_in(browser(site), "lea.lern").status_code == 200  # test password is gone
    assert browser(site).login("lea.lern", "Lampenschirm-Giraffe-7").status_code == 302


def test_one_persons_letter(site, w):
    b = signed_in(site, w, w.school_admin)

    pages = _pages(post(b, f"/verwaltung/personen/{w.teacher}/zugangsdaten"))

    assert len(pages) == 1 and "tom.lehrer" in pages[0] and "Gymnasium am Strand" in pages[0]


def test_another_schools_class_and_people_get_no_letters(site, w):
    b = signed_in(site, w, w.other_admin)

    assert b.get(f"/verwaltung/klassen/{w.klasse}").status_code == 404
    assert post(b, f"/verwaltung/klassen/{w.klasse}/zugangsdaten").status_code in (403, 404)
    assert post(b, f"/verwaltung/personen/{w.lea}/zugangsdaten").status_code == 404
    assert rp.log_in(browser(site), "lea.lern").status_code == 302  # her password unchanged
