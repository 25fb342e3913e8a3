"""The console in a real browser (Debian's Chromium through Playwright): a school admin finds
a learner and prints the class's credential letters; an opt-out is recorded and withdrawn.
Screenshots of every step go to artifacts/screenshots/<test name>/."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect
from pypdf import PdfReader

from tests.browser import Visit, log_in, open_visit
from tests.console import World, world
from tests.web import PASSWORD

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def w(site) -> World:
    return world(site)


@pytest.fixture
def visit(request, chromium: Browser, live_site: str) -> Iterator[Visit]:
    with open_visit(request, chromium, live_site) as opened:
        yield opened


def admin_logs_in(visit: Visit, w: World, username: str) -> None:
    visit.goto("/verwaltung/", "anmeldung")
    log_in(visit, username, PASSWORD)
    visit.page.get_by_label("Code", exact=True).fill(w.totps[username].at(time.time()))
    visit.shot("code")
    visit.page.get_by_role("button", name="Bestätigen").click()
    expect(visit.page.get_by_role("heading", name="Verwaltung")).to_be_visible()
    visit.shot("verwaltung")


def test_school_admin_finds_a_learner_and_prints_the_class_letters(visit: Visit, w: World):
    page = visit.page
    admin_logs_in(visit, w, w.school_admin)

    page.get_by_role("link", name="Personen", exact=True).click()
    page.get_by_label("Name oder Benutzername").fill("lern")
    page.get_by_role("button", name="Suchen").click()
    visit.shot("suche")
    page.get_by_role("link", name="Lern, Lea").click()
    expect(page.get_by_role("heading", name="Lea Lern")).to_be_visible()
    visit.shot("person")
    page.get_by_role("link", name="7b").click()
    expect(page.get_by_role("heading", name="Klasse 7b")).to_be_visible()
    # Lea already chose her own password: print for everyone, not only the new ones.
    page.get_by_label("nur für Personen, die noch kein eigenes Passwort haben").uncheck()
    visit.shot("klasse")
    with page.expect_download() as download:
        page.get_by_role("button", name="Neue Startpasswörter und Briefe (PDF)").click()
    pdf = download.value.path().read_bytes()

    pages = [p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages]
    assert len(pages) == 1 and "lea.lern" in pages[0] and "Lea Lern" in pages[0]
    (visit.folder / "briefe.pdf").write_bytes(pdf)


def test_school_admin_records_and_withdraws_an_opt_out(visit: Visit, w: World):
    page = visit.page
    admin_logs_in(visit, w, w.school_admin)

    visit.goto(f"/verwaltung/personen/{w.lea}", "person")
    row = page.get_by_role("row").filter(has_text="Stundenplan")
    row.get_by_role("button", name="Widerspruch eintragen").click()
    expect(page.get_by_role("status")).to_contain_text("Der Widerspruch ist eingetragen")
    expect(page.get_by_role("row").filter(has_text="Stundenplan").first).to_contain_text(
        "widersprochen"
    )
    visit.shot("widerspruch")
    page.get_by_role("button", name="Zurücknehmen").click()
    expect(page.get_by_role("status")).to_contain_text("zurückgenommen")
    visit.shot("zurueckgenommen")


def test_schulleitung_applies_for_itslearning_and_the_ministry_approves(
    request, chromium: Browser, live_site: str, w: World
):
    with open_visit(request, chromium, live_site, who="schulleitung") as school:
        page = school.page
        admin_logs_in(school, w, w.head)
        page.get_by_role("navigation", name="Verwaltung").get_by_role(
            "link", name="Aktivierungen"
        ).click()
        school.shot("aktivierungen")
        page.get_by_label("Tom Lehrer").check()
        page.get_by_label("Wir haben den Auftragsverarbeitungsvertrag gelesen").check()
        page.get_by_label("Wir haben die Vereinbarung zur gemeinsamen Verantwortung").check()
        page.get_by_role("button", name="itslearning beantragen").click()
        expect(page.get_by_role("status")).to_contain_text("Der Antrag ist gestellt")
        expect(page.get_by_text("Verträge bestätigt")).to_be_visible()
        school.shot("beantragt")
    with open_visit(request, chromium, live_site, who="ministerium") as ministry:
        page = ministry.page
        admin_logs_in(ministry, w, w.land_admin)
        page.get_by_role("navigation", name="Verwaltung").get_by_role(
            "link", name="Aktivierungen"
        ).click()
        row = page.get_by_role("row").filter(has_text="Gymnasium am Strand")
        expect(row).to_contain_text("Tom Lehrer")
        ministry.shot("antraege")
        row.get_by_role("button", name="Freigeben").click()
        expect(page.get_by_role("status")).to_contain_text("Freigegeben")
        page.get_by_label("Anzeigen").select_option("alle")
        page.get_by_role("button", name="Anzeigen").click()
        expect(page.get_by_role("row").filter(has_text="Gymnasium am Strand")).to_contain_text(
            "freigegeben"
        )
        ministry.shot("freigegeben")
