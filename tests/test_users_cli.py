"""`idp users list|show --json`: the operator's view of persons, with stable field names."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests import factories as f


@pytest.fixture
def people(session):
    state = f.small_state(session)
    teacher = f.person(session, "anna.schmidt", "Anna", "Schmidt", mail="anna.schmidt@schule-mv.de")
    f.kontext(session, teacher, state.schule, "LEHR")
    f.kontext(session, teacher, state.andere_schule, "LEHR", valid_from=dt.date(2099, 8, 1))
    learner = f.person(
        session, "ben.oehlschlaeger", "Ben", "Öhlschläger", geburtsdatum=dt.date(2013, 4, 2)
    )
    f.kontext(session, learner, state.schule, "LERN")
    f.kontext(session, learner, state.klasse, "LERN")
    mother = f.person(session, "eb.jana.oehlschlaeger", "Jana", "Öhlschläger")
    f.kontext(session, mother, state.schule, "SORGBER")
    f.beziehung(session, mother, learner, "Mutter")
    other = f.person(session, "carla.dorn", "Carla", "Dorn")
    f.kontext(session, other, state.andere_schule, "LERN")
    left = f.person(session, "dieter.alt", "Dieter", "Alt", status="gesperrt")
    f.kontext(session, left, state.schule, "LEHR", valid_until=dt.date(2021, 7, 31))
    session.commit()
    return state


def idp_json(run_idp, database_url, *args):
    result = run_idp(*args, "--json", env={"IDP_DATABASE_URL": database_url})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_list_all_ordered_by_name(people, database_url, run_idp):
    rows = idp_json(run_idp, database_url, "users", "list")
    assert [r["username"] for r in rows] == [
        "dieter.alt",
        "carla.dorn",
        "ben.oehlschlaeger",
        "eb.jana.oehlschlaeger",
        "anna.schmidt",
    ]
    anna = rows[-1]
    assert set(anna) == {"id", "username", "vorname", "familienname", "mail", "status", "kontexte"}
    # Only contexts active today: the planned move to the other school is not listed.
    assert [k["organisation_kennung"] for k in anna["kontexte"]] == ["750001"]


def test_list_one_school_and_limit(people, database_url, run_idp):
    rows = idp_json(run_idp, database_url, "users", "list", "--school", "750001")
    # Ben is there through his class too, but listed once; Dieter's context has ended.
    assert [r["username"] for r in rows] == [
        "ben.oehlschlaeger",
        "eb.jana.oehlschlaeger",
        "anna.schmidt",
    ]
    limited = idp_json(run_idp, database_url, "users", "list", "--school", "750001", "--limit", "1")
    assert [r["username"] for r in limited] == ["ben.oehlschlaeger"]


def test_list_unknown_school_is_an_error(people, database_url, run_idp):
    result = run_idp("users", "list", "--school", "999999", env={"IDP_DATABASE_URL": database_url})
    assert result.returncode == 2
    assert "999999" in result.stderr


def test_show_person_with_contexts_and_relations(people, database_url, run_idp):
    ben = idp_json(run_idp, database_url, "users", "show", "Ben.Oehlschlaeger")
    assert ben["vorname"] == "Ben" and ben["familienname"] == "Öhlschläger"
    assert ben["geburtsdatum"] == "2013-04-02" and ben["status"] == "aktiv"
    assert {
        (k["organisation_typ"], k["organisation_kennung"], k["schule_kennung"])
        for k in ben["kontexte"]
    } == {("SCHULE", "750001", None), ("KLASSE", "750001/7b", "750001")}
    assert ben["erziehungsberechtigte"] == [
        {
            "username": "eb.jana.oehlschlaeger",
            "vorname": "Jana",
            "familienname": "Öhlschläger",
            "art": "Mutter",
        }
    ]
    anna = idp_json(run_idp, database_url, "users", "show", "anna.schmidt")
    planned = [k for k in anna["kontexte"] if k["organisation_kennung"] == "750002"]
    assert planned[0]["aktiv"] is False and planned[0]["valid_from"] == "2099-08-01"
    mother = idp_json(run_idp, database_url, "users", "show", "eb.jana.oehlschlaeger")
    assert [c["username"] for c in mother["kinder"]] == ["ben.oehlschlaeger"]


def test_show_unknown_user(people, database_url, run_idp):
    result = run_idp("users", "show", "niemand", env={"IDP_DATABASE_URL": database_url})
    assert result.returncode == 2 and "niemand" in result.stderr


def test_table_output_for_humans(people, database_url, run_idp):
    result = run_idp("users", "list", env={"IDP_DATABASE_URL": database_url, "COLUMNS": "200"})
    assert result.returncode == 0
    assert "Öhlschläger" in result.stdout and "LERN@750001" in result.stdout
