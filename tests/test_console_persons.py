"""The console as admins meet it: who gets in, finding people, one person's page, and the
actions on them, each only inside the admin's scope."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idp.models import AuditEvent, OptOut, Person, Personenkontext, PersonStatus
from tests import oidc_rp as rp
from tests.console import post, signed_in, world
from tests.web import browser, data


@pytest.fixture
def w(site):
    return world(site)


def test_the_console_needs_a_login_with_second_factor(site, w):
    anonymous = browser(site).get("/verwaltung/personen")
    assert anonymous.status_code == 302 and anonymous.location == "/login"

    learner = browser(site)
    rp.log_in(learner, "lea.lern")
    refused = learner.get("/verwaltung/")
    assert refused.status_code in (302, 403)
    if refused.status_code == 302:  # asked for a second factor she does not have
        assert refused.location == "/login"


def test_a_learner_has_no_console(site, w):
    with data(site) as s:
        from tests.web import with_totp

        totp = with_totp(s, s.get(Person, w.lea))
    b = browser(site)
    rp.log_in(b, "lea.lern", totp)

    response = b.get("/verwaltung/")

    assert response.status_code == 403
    assert "Kein Zugang zur Verwaltung" in response.text


def test_school_admin_finds_own_learners_by_name_username_and_class(site, w):
    b = signed_in(site, w, w.school_admin)

    by_name = b.get("/verwaltung/personen?q=lern")
    by_username = b.get("/verwaltung/personen?q=lea.l")
    by_class = b.get("/verwaltung/personen?klasse=7b")
    by_full_name = b.get("/verwaltung/personen?q=Lea+Lern")

    for response in (by_name, by_username, by_class, by_full_name):
        assert response.status_code == 200
        assert "lea.lern" in response.text
    assert "Schülerin/Schüler – 7b" in by_name.text


def test_school_admin_never_finds_another_schools_people(site, w):
    b = signed_in(site, w, w.school_admin)

    assert "ben.anders" not in b.get("/verwaltung/personen?q=anders").text
    assert "ben.anders" not in b.get("/verwaltung/personen?schule=750002").text
    assert "Keine Person gefunden" in b.get("/verwaltung/personen?q=ben").text


def test_land_admin_finds_everyone(site, w):
    b = signed_in(site, w, w.land_admin)

    assert "ben.anders" in b.get("/verwaltung/personen?q=anders").text
    assert "lea.lern" in b.get("/verwaltung/personen?schule=Gymnasium").text


def test_person_page_shows_roles_services_and_second_factor(site, w):
    b = signed_in(site, w, w.school_admin)

    page = b.get(f"/verwaltung/personen/{w.lea}")

    assert page.status_code == 200
    text = page.text
    assert "lea.lern" in text and "Gymnasium am Strand" in text
    assert "SIP-Schule" in text  # imported contexts say where they come from
    assert "wird im Quellsystem gepflegt" in text
    assert "itslearning" in text and "Stundenplan" in text
    assert "nicht eingerichtet" in text  # no second factor


@pytest.mark.parametrize(
    "path",
    [
        "/verwaltung/personen/{ben}",
        "/verwaltung/personen/{ben}/sperren",
        "/verwaltung/personen/{ben}/entsperren",
        "/verwaltung/personen/{ben}/zweiter-faktor/zuruecksetzen",
        "/verwaltung/personen/{ben}/kontexte",
        "/verwaltung/personen/{ben}/widerspruch",
    ],
)
def test_another_schools_person_does_not_exist_for_a_school_admin(site, w, path):
    b = signed_in(site, w, w.school_admin)
    url = path.format(ben=w.ben)

    response = b.get(url) if url.endswith(str(w.ben)) else post(b, url, {"dienst": "itslearning"})

    assert response.status_code == 404
    assert "Anders" not in response.text
    with data(site) as s:
        ben = s.get(Person, w.ben)
        assert ben.status == PersonStatus.AKTIV
        assert s.scalars(select(OptOut)).all() == []


def test_lock_ends_sessions_and_unlock_restores(site, w):
    learner = browser(site)
    rp.log_in(learner, "lea.lern")
    b = signed_in(site, w, w.school_admin)

    locked = post(b, f"/verwaltung/personen/{w.lea}/sperren")
    assert locked.status_code == 303
    assert learner.get("/").location == "/login"  # her session is gone
    assert rp.log_in(browser(site), "lea.lern").status_code == 200  # refused, form again
    unlocked = post(b, f"/verwaltung/personen/{w.lea}/entsperren")

    assert unlocked.status_code == 303
    with data(site) as s:
        assert s.get(Person, w.lea).status == PersonStatus.AKTIV
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.target == "lea.lern")).all()
        assert "person.gesperrt" in actions and "person.entsperrt" in actions


def test_teacher_may_not_be_locked_by_a_school_admin(site, w):
    b = signed_in(site, w, w.school_admin)  # IDM_SCHULE may lock only LERN and SORGBER

    response = post(b, f"/verwaltung/personen/{w.teacher}/sperren")

    assert response.status_code == 403
    with data(site) as s:
        assert s.get(Person, w.teacher).status == PersonStatus.AKTIV


def test_add_and_end_a_context_but_not_an_imported_one(site, w):
    b = signed_in(site, w, w.school_admin)
    page = b.get(f"/verwaltung/personen/{w.teacher}")
    assert "Rolle eintragen" in page.text

    added = post(
        b,
        f"/verwaltung/personen/{w.teacher}/kontexte",
        {"rolle": "LEHR", "organisation": str(w.klasse), "valid_from": "2026-08-01"},
    )
    with data(site) as s:
        manual = s.scalars(
            select(Personenkontext).where(
                Personenkontext.person_id == w.teacher, Personenkontext.source == "verwaltung"
            )
        ).one()
        imported = s.scalars(
            select(Personenkontext).where(
                Personenkontext.person_id == w.teacher, Personenkontext.source == "personal"
            )
        ).one()
    ended = post(b, f"/verwaltung/personen/{w.teacher}/kontexte/{manual.id}/beenden")
    refused = post(b, f"/verwaltung/personen/{w.teacher}/kontexte/{imported.id}/beenden")

    assert added.status_code == ended.status_code == refused.status_code == 303
    assert "überschreiben" in b.get(refused.location).text
    with data(site) as s:
        assert s.get(Personenkontext, manual.id).valid_until is not None
        assert s.get(Personenkontext, imported.id).valid_until is None


def test_a_context_at_another_school_is_refused(site, w):
    b = signed_in(site, w, w.school_admin)

    post(
        b,
        f"/verwaltung/personen/{w.teacher}/kontexte",
        {"rolle": "LEHR", "organisation": str(w.andere_schule)},
    )

    with data(site) as s:
        rows = s.scalars(select(Personenkontext).where(Personenkontext.person_id == w.teacher))
        assert {k.organisation_id for k in rows} == {w.schule}


def test_opt_out_keeps_the_person_from_the_service_until_withdrawn(site, w):
    b = signed_in(site, w, w.school_admin)

    post(b, f"/verwaltung/personen/{w.lea}/widerspruch", {"dienst": "stundenplan"})
    page = b.get(f"/verwaltung/personen/{w.lea}").text
    with data(site) as s:
        opt_out = s.scalars(select(OptOut)).one()
        assert opt_out.service_code == "stundenplan" and opt_out.withdrawn_at is None
    post(b, f"/verwaltung/personen/{w.lea}/widerspruch/{opt_out.id}/zuruecknehmen")

    assert "widersprochen" in page
    with data(site) as s:
        assert s.scalars(select(OptOut)).one().withdrawn_at is not None


def test_master_data_of_people_made_here_can_be_edited(site, w):
    b = signed_in(site, w, w.land_admin)

    post(
        b,
        f"/verwaltung/personen/{w.ben}/stammdaten",
        {"vorname": "Benedikt", "familienname": "Ähnlich", "geburtsdatum": "2014-03-01"},
    )

    with data(site) as s:
        ben = s.get(Person, w.ben)
        assert (ben.vorname, ben.familienname) == ("Benedikt", "Ähnlich")
        assert ben.sortname.startswith("AEHNLICH")
    assert "ben.anders" in b.get("/verwaltung/personen?q=ähnl").text


def test_imported_master_data_is_refused_with_a_hint(site, w):
    b = signed_in(site, w, w.land_admin)

    refused = post(
        b, f"/verwaltung/personen/{w.lea}/stammdaten", {"vorname": "Leah", "familienname": "Lern"}
    )

    assert "kommen aus SIP-Schule" in b.get(refused.location).text
    with data(site) as s:
        assert s.get(Person, w.lea).vorname == "Lea"


def test_names_outside_din_91379_are_refused(site, w):
    b = signed_in(site, w, w.land_admin)

    refused = post(
        b, f"/verwaltung/personen/{w.ben}/stammdaten", {"vorname": "Бен", "familienname": "Anders"}
    )

    assert "kein gültiger Name" in b.get(refused.location).text
    with data(site) as s:
        assert s.get(Person, w.ben).vorname == "Ben"


def test_a_school_admin_may_not_edit_master_data(site, w):
    b = signed_in(site, w, w.school_admin)

    response = post(
        b, f"/verwaltung/personen/{w.lea}/stammdaten", {"vorname": "X", "familienname": "Y"}
    )

    assert response.status_code == 403


def test_changes_reach_provisioning_and_the_page_shows_its_state(site, w):
    from idp.models import OutboxEvent, ProvisionedAccount

    with data(site) as s:
        s.add(
            ProvisionedAccount(
                person_id=w.lea,
                service_code="stundenplan",
                target_key="k",
                status="ok",
                applied_hash="h",
                desired_hash="h",
            )
        )
        s.add(
            ProvisionedAccount(
                person_id=w.lea,
                service_code="klassenbuch",
                target_key="k2",
                status="error",
                last_error="userName schon vergeben",
            )
        )
        s.commit()
    b = signed_in(site, w, w.school_admin)

    post(b, f"/verwaltung/personen/{w.lea}/widerspruch", {"dienst": "notenbuch"})
    page = b.get(f"/verwaltung/personen/{w.lea}").text

    with data(site) as s:
        events = s.scalars(select(OutboxEvent).where(OutboxEvent.object_id == w.lea)).all()
        assert [(e.object_type, e.status) for e in events] == [("person", "pending")]
    assert "eingerichtet" in page and "userName schon vergeben" in page
