"""`idp activations ...`: operators drive the schools' applications, one school or a Schulamt."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from idp.models import AuditEvent, ServiceActivation
from tests import factories as f

SERVICE = ("--service", "itslearning")


@pytest.fixture
def state(session):
    state = f.small_state(session)
    leader = f.person(session, "sabine.leiter", "Sabine", "Leiter")
    f.kontext(session, leader, state.schule, "SCHULLEITUNG")
    teacher = f.person(session, "tom.berg", "Tom", "Berg")
    f.kontext(session, teacher, state.schule, "LEHR")
    session.commit()
    return state


@pytest.fixture
def idp(run_idp, database_url):
    def run(*args: str):
        return run_idp("activations", *args, env={"IDP_DATABASE_URL": database_url})

    return run


def ok_json(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def refused(result, message):
    assert result.returncode == 2, result.stdout
    assert result.stderr.strip().splitlines()[-1] == f"idp: error: {message}"


def test_one_school_through_every_step(state, idp, session):
    one = ("--school", "750001", *SERVICE, "--json", "--actor", "isy-team")
    [requested] = ok_json(
        idp(
            "request",
            *one,
            "--contact",
            "sabine.leiter",
            "--contact",
            "Tom.Berg",
            "--confirm-avv",
            "--confirm-joint",
        )
    )
    assert requested["state"] == "vertraege_bestaetigt"
    assert [c["username"] for c in requested["kontaktpersonen"]] == ["sabine.leiter", "tom.berg"]
    states = [
        ok_json(idp(*command, *one))[0]["state"]
        for command in (
            ("approve",),
            ("provision-teachers",),
            ("request-learners",),
            ("approve", "--learners"),
            ("provision-learners",),
        )
    ]
    assert states == [
        "freigegeben",
        "lehrkraefte_provisioniert",
        "lernende_beantragt",
        "lernende_freigegeben",
        "lernende_provisioniert",
    ]
    [row] = ok_json(idp("list", "--json"))
    assert row["state"] == "lernende_provisioniert"
    assert [s["state"] for s in row["steps"]] == [
        "beantragt",
        "vertraege_bestaetigt",
        *states,
    ]
    assert {s["actor"] for s in row["steps"]} == {"isy-team"}
    assert all(s["note"] is None for s in row["steps"] if s["state"] != "vertraege_bestaetigt")
    session.rollback()
    assert [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))] == [
        "aktivierung.beantragt",
        "aktivierung.freigegeben",
        "aktivierung.lehrkraefte_provisioniert",
        "aktivierung.lernende_beantragt",
        "aktivierung.lernende_freigegeben",
        "aktivierung.lernende_provisioniert",
    ]


def test_refusals_name_the_school_and_change_nothing(state, idp, session):
    one = ("--school", "750001", *SERVICE)
    refused(
        idp("request", *one, "--confirm-avv"),
        "750001 (Gymnasium am Strand): Ohne Bestätigung der Vereinbarung zur gemeinsamen "
        "Verantwortung kann der Antrag nicht gestellt werden.",
    )
    refused(
        idp("approve", *one),
        "750001 (Gymnasium am Strand): Für itslearning liegt kein Antrag dieser Schule vor.",
    )
    refused(
        idp("request", *one, "--contact", "nie.mand", "--confirm-avv", "--confirm-joint"),
        "--contact nie.mand: kein Zugang mit diesem Benutzernamen",
    )
    refused(
        idp("request", "--school", "999999", *SERVICE, "--confirm-avv", "--confirm-joint"),
        "--school 999999: keine Schule mit dieser Kennung",
    )
    refused(
        idp("approve", *one, "--schulamt", "SSA-HRO"),
        "genau eines von --school KENNUNG und --schulamt KENNUNG angeben",
    )
    refused(
        idp("request", "--schulamt", "SSA-HRO", *SERVICE, "--contact", "tom.berg"),
        "--contact gilt für eine Schule: nur mit --school, nicht mit --schulamt",
    )
    session.rollback()
    assert session.scalars(select(ServiceActivation)).all() == []
    assert session.scalars(select(AuditEvent)).all() == []


def test_a_whole_schulamt_at_once_or_not_at_all(state, idp, session):
    amt = ("--schulamt", "SSA-HRO", *SERVICE, "--json")
    rows = ok_json(idp("request", *amt, "--confirm-avv", "--confirm-joint"))
    assert [(r["schule_kennung"], r["state"]) for r in rows] == [
        ("750001", "vertraege_bestaetigt"),
        ("750002", "vertraege_bestaetigt"),
    ]
    assert rows[0]["steps"][0]["note"] == "für alle Schulen des Schulamts SSA-HRO"

    ok_json(idp("approve", "--school", "750001", *SERVICE, "--json"))
    refused(
        idp("approve", *amt),
        "Nichts geändert, 1 von 2 Schulen können diesen Schritt nicht gehen: "
        "750001 (Gymnasium am Strand): Die Freigabe ist nicht möglich: itslearning steht auf "
        "„freigegeben“, nötig ist „Verträge bestätigt“.",
    )
    listed = ok_json(idp("list", "--schulamt", "SSA-HRO", "--json"))
    assert [(r["schule_kennung"], r["state"]) for r in listed] == [
        ("750001", "freigegeben"),
        ("750002", "vertraege_bestaetigt"),
    ]
    only = ok_json(idp("list", "--state", "vertraege_bestaetigt", "--json"))
    assert [r["schule_kennung"] for r in only] == ["750002"]
    refused(
        idp("list", "--schulamt", "750001"), "--schulamt 750001: kein Schulamt mit dieser Kennung"
    )


def test_list_as_a_table(state, idp, run_idp, database_url):
    ok_json(
        idp(
            "request",
            "--school",
            "750001",
            *SERVICE,
            "--contact",
            "tom.berg",
            "--confirm-avv",
            "--confirm-joint",
            "--json",
        )
    )
    env = {"IDP_DATABASE_URL": database_url, "COLUMNS": "200"}
    result = run_idp("activations", "list", env=env)
    assert result.returncode == 0, result.stderr
    assert "Gymnasium am Strand" in result.stdout
    assert "Verträge bestätigt" in result.stdout
    assert "tom.berg" in result.stdout
