"""A school's application for itslearning, step by step, as the state's guidance describes it."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from sqlalchemy import select

from idp import activations, audit
from idp.activations import ActivationError
from idp.models import ActivationState, AuditEvent, ServiceActivation, ServiceActivationStep
from idp.policy.entitlement import Reason, entitlement
from idp.policy.facts import load_person_facts
from tests import factories as f

START = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)
LEADER = "verwaltung:sabine.leiter"
MINISTRY = "cli:isy-team"
S = ActivationState


@pytest.fixture
def school(session):
    """The small state with a Schulleitung, two teachers and a learner at the Gymnasium."""
    state = f.small_state(session)
    state.leader = f.person(session, "sabine.leiter", "Sabine", "Leiter")
    f.kontext(session, state.leader, state.schule, "SCHULLEITUNG")
    state.teacher = f.person(session, "tom.berg", "Tom", "Berg")
    f.kontext(session, state.teacher, state.schule, "LEHR")
    state.class_teacher = f.person(session, "kai.klasse", "Kai", "Klasse")
    f.kontext(session, state.class_teacher, state.klasse, "LEHR")
    state.learner = f.person(session, "lea.berg", "Lea", "Berg")
    f.kontext(session, state.learner, state.schule, "LERN")
    f.kontext(session, state.learner, state.klasse, "LERN")
    state.elsewhere = f.person(session, "uwe.anders", "Uwe", "Anders")
    f.kontext(session, state.elsewhere, state.andere_schule, "LEHR")
    state.gone = f.person(session, "olga.alt", "Olga", "Alt")
    f.kontext(session, state.gone, state.schule, "LEHR", valid_until=dt.date(2024, 7, 31))
    session.commit()
    return state


def apply(session, policies, state, schule=None, contacts=None, avv=True, joint=True):
    return activations.request(
        session,
        policies,
        schule or state.schule,
        "itslearning",
        LEADER,
        [state.leader.id] if contacts is None else contacts,
        avv,
        joint,
        actor_person_id=state.leader.id,
    )


def audit_events(session):
    return session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()


def test_request_confirms_both_agreements_and_names_the_contact_persons(session, policies, school):
    with time_machine.travel(START, tick=False):
        activation = apply(
            session, policies, school, contacts=[school.leader.id, school.teacher.id]
        )
    session.commit()

    assert activation.state == S.VERTRAEGE_BESTAETIGT
    assert activation.kontaktpersonen == [str(school.leader.id), str(school.teacher.id)]
    steps = activations.history(session, activation)
    assert [(s.state, s.actor, s.actor_person_id, s.at) for s in steps] == [
        (S.BEANTRAGT, LEADER, school.leader.id, START),
        (S.VERTRAEGE_BESTAETIGT, LEADER, school.leader.id, START),
    ]
    assert steps[1].note == activations.CONTRACTS_NOTE
    [event] = audit_events(session)
    assert (event.actor, event.action, event.target, event.organisation_id) == (
        LEADER,
        "aktivierung.beantragt",
        "itslearning@750001",
        school.schule.id,
    )
    assert json.loads(event.details) == {
        "dienst": "itslearning",
        "schule": "750001",
        "vorher": None,
        "stand": "vertraege_bestaetigt",
        "kontaktpersonen": [str(school.leader.id), str(school.teacher.id)],
        "avv_bestaetigt": True,
        "gemeinsame_verantwortung_bestaetigt": True,
    }


def test_a_teacher_of_a_class_of_the_school_may_be_contact_person(session, policies, school):
    activation = apply(session, policies, school, contacts=[school.class_teacher.id])
    assert activation.kontaktpersonen == [str(school.class_teacher.id)]


@pytest.mark.parametrize(
    ("avv", "joint", "missing"),
    [
        (False, True, "Ohne Bestätigung des Auftragsverarbeitungsvertrags kann"),
        (True, False, "Ohne Bestätigung der Vereinbarung zur gemeinsamen Verantwortung kann"),
        (
            False,
            False,
            "Ohne Bestätigung des Auftragsverarbeitungsvertrags und der Vereinbarung zur "
            "gemeinsamen Verantwortung kann der Antrag nicht gestellt werden.",
        ),
    ],
)
def test_request_without_both_agreements_is_refused(session, policies, school, avv, joint, missing):
    with pytest.raises(ActivationError) as refused:
        apply(session, policies, school, avv=avv, joint=joint)
    assert refused.value.message.startswith(missing)
    assert refused.value.schule_kennung == "750001"
    assert str(refused.value).startswith("750001 (Gymnasium am Strand): Ohne Bestätigung")
    assert session.scalars(select(ServiceActivation)).all() == []
    assert audit_events(session) == []


@pytest.mark.parametrize(
    ("contacts", "message"),
    [
        (
            lambda s: [s.leader.id, s.teacher.id, s.class_teacher.id],
            "Höchstens 2 Erstansprechpersonen, nicht 3.",
        ),
        (
            lambda s: [s.leader.id, s.leader.id],
            "Dieselbe Person ist zweimal als Erstansprechperson genannt.",
        ),
        (
            lambda s: [s.leader.id, s.elsewhere.id],
            "uwe.anders ist an dieser Schule nicht tätig und kann nicht Erstansprechperson sein.",
        ),
        (
            lambda s: [s.gone.id],
            "olga.alt ist an dieser Schule nicht tätig und kann nicht Erstansprechperson sein.",
        ),
    ],
)
def test_contact_persons_at_most_two_and_active_at_the_school(
    session, policies, school, contacts, message
):
    with pytest.raises(ActivationError) as refused:
        apply(session, policies, school, contacts=contacts(school))
    assert refused.value.message == message


def test_request_only_for_a_school_and_a_service_that_needs_one(session, policies, school):
    with pytest.raises(ActivationError) as no_school:
        apply(session, policies, school, schule=school.schulamt, contacts=[])
    assert no_school.value.message == "Einen Antrag kann nur eine Schule stellen."
    for code, message in (
        ("email", "E-Mail braucht keinen Antrag: die Schulen nutzen ihn ohne Freischaltung."),
        ("moodle", "Einen Dienst „moodle“ gibt es nicht."),
    ):
        with pytest.raises(ActivationError) as refused:
            activations.request(session, policies, school.schule, code, LEADER, [], True, True)
        assert refused.value.message == message


def test_a_school_applies_once(session, policies, school):
    apply(session, policies, school)
    with pytest.raises(ActivationError) as refused:
        apply(session, policies, school)
    assert refused.value.message == (
        "itslearning ist bereits beantragt (Stand: Verträge bestätigt)."
    )


def test_request_completes_an_application_left_without_agreements(session, policies, school):
    f.activation(session, school.schule, "itslearning", S.BEANTRAGT)
    with pytest.raises(ActivationError) as refused:
        activations.approve(session, school.schule, "itslearning", MINISTRY)
    assert refused.value.message == (
        "Die Freigabe ist nicht möglich: itslearning steht auf „beantragt“, "
        "nötig ist „Verträge bestätigt“."
    )
    activation = apply(session, policies, school)
    assert activation.state == S.VERTRAEGE_BESTAETIGT
    assert [s.state for s in activations.history(session, activation)] == [S.VERTRAEGE_BESTAETIGT]
    [event] = audit_events(session)
    assert json.loads(event.details)["vorher"] == "beantragt"


def test_every_step_in_order_records_who_and_when(session, policies, school):
    schule = school.schule
    with time_machine.travel(START, tick=False) as clock:
        apply(session, policies, school)
        clock.shift(dt.timedelta(days=3))
        activations.approve(session, schule, "itslearning", MINISTRY)
        clock.shift(dt.timedelta(days=14))
        activations.mark_provisioned(session, schule, "itslearning", "connector:itslearning")
        clock.shift(dt.timedelta(days=60))
        activations.request_learners(
            session, schule, "itslearning", LEADER, actor_person_id=school.leader.id
        )
        clock.shift(dt.timedelta(days=1))
        activations.approve(session, schule, "itslearning", MINISTRY, learners=True, note="ok")
        clock.shift(dt.timedelta(days=14))
        activation = activations.mark_provisioned(
            session, schule, "itslearning", "connector:itslearning", learners=True
        )
    session.commit()

    assert activation.state == S.LERNENDE_PROVISIONIERT
    connector = "connector:itslearning"
    actors = [LEADER, LEADER, MINISTRY, connector, LEADER, MINISTRY, connector]
    times = [START + dt.timedelta(days=d) for d in (0, 0, 3, 17, 77, 78, 92)]
    assert [(s.state, s.actor, s.at) for s in activations.history(session, activation)] == list(
        zip(list(S), actors, times, strict=True)
    )
    assert [e.action for e in audit_events(session)] == [
        "aktivierung.beantragt",
        "aktivierung.freigegeben",
        "aktivierung.lehrkraefte_provisioniert",
        "aktivierung.lernende_beantragt",
        "aktivierung.lernende_freigegeben",
        "aktivierung.lernende_provisioniert",
    ]
    approved_learners = audit_events(session)[4]
    assert json.loads(approved_learners.details) == {
        "dienst": "itslearning",
        "schule": "750001",
        "vorher": "lernende_beantragt",
        "stand": "lernende_freigegeben",
        "notiz": "ok",
    }
    assert audit.verify(session).ok


@pytest.mark.parametrize(
    ("state", "step", "message"),
    [
        (
            S.FREIGEGEBEN,
            lambda s, school: activations.approve(s, school, "itslearning", MINISTRY),
            "Die Freigabe ist nicht möglich: itslearning steht auf „freigegeben“, "
            "nötig ist „Verträge bestätigt“.",
        ),
        (
            S.VERTRAEGE_BESTAETIGT,
            lambda s, school: activations.mark_provisioned(s, school, "itslearning", MINISTRY),
            "Das Einrichten der Zugänge der Lehrkräfte ist nicht möglich: itslearning steht auf "
            "„Verträge bestätigt“, nötig ist „freigegeben“.",
        ),
        (
            S.FREIGEGEBEN,
            lambda s, school: activations.request_learners(s, school, "itslearning", LEADER),
            "Der Antrag auf Zugänge für Schülerinnen und Schüler ist nicht möglich: itslearning "
            "steht auf „freigegeben“, nötig ist „Zugänge der Lehrkräfte eingerichtet“.",
        ),
        (
            S.LEHRKRAEFTE_PROVISIONIERT,
            lambda s, school: activations.approve(
                s, school, "itslearning", MINISTRY, learners=True
            ),
            "Die Freigabe der Zugänge für Schülerinnen und Schüler ist nicht möglich: "
            "itslearning steht auf „Zugänge der Lehrkräfte eingerichtet“, nötig ist "
            "„Zugänge der Schülerinnen und Schüler beantragt“.",
        ),
        (
            S.LERNENDE_BEANTRAGT,
            lambda s, school: activations.mark_provisioned(
                s, school, "itslearning", MINISTRY, learners=True
            ),
            "Das Einrichten der Zugänge der Schülerinnen und Schüler ist nicht möglich: "
            "itslearning steht auf „Zugänge der Schülerinnen und Schüler beantragt“, nötig ist "
            "„Zugänge der Schülerinnen und Schüler freigegeben“.",
        ),
    ],
)
def test_a_step_out_of_order_is_refused_and_changes_nothing(session, school, state, step, message):
    f.activation(session, school.schule, "itslearning", state)
    with pytest.raises(ActivationError) as refused:
        step(session, school.schule)
    assert refused.value.message == message
    assert session.scalars(select(ServiceActivation.state)).one() == state
    assert session.scalars(select(ServiceActivationStep)).all() == []
    assert audit_events(session) == []


def test_no_step_without_an_application(session, school):
    with pytest.raises(ActivationError) as refused:
        activations.approve(session, school.andere_schule, "itslearning", MINISTRY)
    assert str(refused.value) == (
        "750002 (Grundschule Warnemünde): Für itslearning liegt kein Antrag dieser Schule vor."
    )


def test_entitlement_follows_the_state(session, policies, school):
    def allowed(person):
        facts = load_person_facts(session, policies, person)
        return entitlement(policies, facts, "itslearning")

    schule = school.schule
    steps = [
        (lambda: apply(session, policies, school), False, False),
        (lambda: activations.approve(session, schule, "itslearning", MINISTRY), True, False),
        (
            lambda: activations.mark_provisioned(session, schule, "itslearning", MINISTRY),
            True,
            False,
        ),
        (
            lambda: activations.request_learners(session, schule, "itslearning", LEADER),
            True,
            False,
        ),
        (
            lambda: activations.approve(session, schule, "itslearning", MINISTRY, learners=True),
            True,
            True,
        ),
        (
            lambda: activations.mark_provisioned(
                session, schule, "itslearning", MINISTRY, learners=True
            ),
            True,
            True,
        ),
    ]
    assert allowed(school.teacher).reason == Reason.SCHULE_NICHT_FREIGESCHALTET
    for take, teachers, learners in steps:
        state = take().state
        assert allowed(school.teacher).allowed is teachers, state
        assert allowed(school.leader).allowed is teachers, state
        assert allowed(school.learner).allowed is learners, state
        if not learners:
            assert allowed(school.learner).reason == Reason.SCHULE_NICHT_FREIGESCHALTET
    # The other school of the same Schulamt has not applied.
    assert allowed(school.elsewhere).reason == Reason.SCHULE_NICHT_FREIGESCHALTET


def test_all_schools_of_a_schulamt_or_none(session, policies, school):
    schools = activations.schools_of(session, school.schulamt)
    assert [s.kennung for s in schools] == ["750001", "750002"]

    def step(schule):
        return activations.request(
            session, policies, schule, "itslearning", MINISTRY, [], True, True
        )

    done = activations.for_schools(schools, step)
    session.commit()
    assert [a.state for a in done] == [S.VERTRAEGE_BESTAETIGT] * 2

    activations.approve(session, school.schule, "itslearning", MINISTRY)
    session.commit()
    with pytest.raises(ActivationError) as refused:
        activations.for_schools(
            schools, lambda s: activations.approve(session, s, "itslearning", MINISTRY)
        )
    session.rollback()
    assert str(refused.value) == (
        "Nichts geändert, 1 von 2 Schulen können diesen Schritt nicht gehen: "
        "750001 (Gymnasium am Strand): Die Freigabe ist nicht möglich: itslearning steht auf "
        "„freigegeben“, nötig ist „Verträge bestätigt“."
    )
    other = activations.find(session, school.andere_schule, "itslearning")
    assert other.state == S.VERTRAEGE_BESTAETIGT


def test_no_schools_no_step(session, school):
    with pytest.raises(ActivationError) as refused:
        activations.for_schools([], lambda s: activations.approve(session, s, "x", MINISTRY))
    assert refused.value.message == "Keine Schulen gefunden: nichts geändert."


def test_list_filters_and_shows_both_sides_the_same(session, policies, school):
    with time_machine.travel(START, tick=False):
        apply(session, policies, school, contacts=[school.leader.id])
        activations.request(
            session, policies, school.andere_schule, "itslearning", MINISTRY, [], True, True
        )
        activations.approve(session, school.schule, "itslearning", MINISTRY)
    session.commit()

    rows = activations.list_activations(session)
    assert [(r["schule_kennung"], r["state"]) for r in rows] == [
        ("750001", "freigegeben"),
        ("750002", "vertraege_bestaetigt"),
    ]
    first = rows[0]
    assert first["schule_name"] == "Gymnasium am Strand"
    assert first["schulamt_kennung"] == "SSA-HRO"
    assert first["state_label"] == "freigegeben"
    assert first["kontaktpersonen"] == [
        {
            "id": str(school.leader.id),
            "username": "sabine.leiter",
            "vorname": "Sabine",
            "familienname": "Leiter",
        }
    ]
    assert [(s["state"], s["actor"], s["at"]) for s in first["steps"]] == [
        ("beantragt", LEADER, START.isoformat()),
        ("vertraege_bestaetigt", LEADER, START.isoformat()),
        ("freigegeben", MINISTRY, START.isoformat()),
    ]
    assert first["steps"][0]["actor_person_id"] == str(school.leader.id)
    assert first["steps"][2]["actor_person_id"] is None

    filtered = activations.list_activations(session, state=S.VERTRAEGE_BESTAETIGT)
    assert [r["schule_kennung"] for r in filtered] == ["750002"]
    assert activations.list_activations(session, service_code="email") == []
    assert len(activations.list_activations(session, schulamt=school.schulamt)) == 2
    assert activations.list_activations(session, schulamt=school.land) == []
