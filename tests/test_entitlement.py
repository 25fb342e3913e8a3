"""The one entitlement function: who may use which service, and what a service may receive."""

from __future__ import annotations

import datetime as dt

import pytest

from idp.models import ActivationState, OptOut
from idp.policy.entitlement import Reason, entitlement, release, released_attributes
from idp.policy.facts import load_person_facts
from tests import factories as f

TODAY = dt.date(2026, 11, 28)


@pytest.fixture
def state(session):
    return f.small_state(session)


def decide(session, policies, person, service, on=TODAY):
    return entitlement(policies, load_person_facts(session, policies, person, on), service)


def test_teacher_gets_staff_services_not_learner_only_ones(session, policies, state):
    teacher = f.person(session, "anna.schmidt", "Anna", "Schmidt", mail="anna.schmidt@schule-mv.de")
    f.kontext(session, teacher, state.schule, "LEHR")
    for service in ("email", "klassenbuch", "notenbuch", "stundenplan", "diagnostik"):
        assert decide(session, policies, teacher, service).allowed, service
    for service in ("personalverwaltung", "lehrerstellenboerse"):
        decision = decide(session, policies, teacher, service)
        assert not decision.allowed and decision.reason == Reason.KEINE_BERECHTIGUNG


def test_learner_gets_no_mailbox_and_no_class_book(session, policies, state):
    learner = f.person(session, "ben.mueller", "Ben", "Müller", geburtsdatum=dt.date(2013, 4, 2))
    f.kontext(session, learner, state.schule, "LERN")
    f.kontext(session, learner, state.klasse, "LERN")
    assert decide(session, policies, learner, "stundenplan").allowed
    assert not decide(session, policies, learner, "email").allowed
    assert not decide(session, policies, learner, "klassenbuch").allowed
    assert not decide(session, policies, learner, "diagnostik").allowed


def test_itslearning_follows_the_schools_application(session, policies, state):
    teacher = f.person(session, "t", "Tom", "Berg")
    learner = f.person(session, "l", "Lea", "Berg")
    f.kontext(session, teacher, state.schule, "LEHR")
    f.kontext(session, learner, state.schule, "LERN")
    f.kontext(session, learner, state.klasse, "LERN")
    assert decide(session, policies, teacher, "itslearning").reason == (
        Reason.SCHULE_NICHT_FREIGESCHALTET
    )
    f.activation(session, state.schule, "itslearning", ActivationState.FREIGEGEBEN)
    assert decide(session, policies, teacher, "itslearning").allowed
    assert decide(session, policies, learner, "itslearning").reason == (
        Reason.SCHULE_NICHT_FREIGESCHALTET
    )
    activation = session.query(f.ServiceActivation).one()
    activation.state = ActivationState.LERNENDE_FREIGEGEBEN
    session.flush()
    assert decide(session, policies, learner, "itslearning").allowed


def test_opt_out_blocks_until_withdrawn(session, policies, state):
    teacher = f.person(session, "t", "Tom", "Berg")
    f.kontext(session, teacher, state.schule, "LEHR")
    opt_out = OptOut(person_id=teacher.id, service_code="stundenplan", created_by="test")
    session.add(opt_out)
    session.flush()
    assert decide(session, policies, teacher, "stundenplan").reason == Reason.WIDERSPRUCH
    assert decide(session, policies, teacher, "klassenbuch").allowed
    opt_out.withdrawn_at = dt.datetime(2026, 11, 28, 9, tzinfo=dt.UTC)
    opt_out.withdrawn_by = "test"
    session.flush()
    assert decide(session, policies, teacher, "stundenplan").allowed


def test_ended_and_future_contexts_do_not_count(session, policies, state):
    referendar = f.person(session, "r", "Rita", "Kühn")
    f.kontext(session, referendar, state.schule, "REFERENDAR", valid_until=TODAY)
    assert decide(session, policies, referendar, "klassenbuch").allowed
    tomorrow = TODAY + dt.timedelta(days=1)
    assert decide(session, policies, referendar, "klassenbuch", on=tomorrow).reason == (
        Reason.KEINE_AKTIVEN_KONTEXTE
    )
    newcomer = f.person(session, "n", "Nils", "Neu")
    f.kontext(session, newcomer, state.schule, "LEHR", valid_from=tomorrow)
    assert not decide(session, policies, newcomer, "klassenbuch").allowed
    assert decide(session, policies, newcomer, "klassenbuch", on=tomorrow).allowed


def test_locked_person_is_never_entitled(session, policies, state):
    teacher = f.person(session, "t", "Tom", "Berg", status="gesperrt")
    f.kontext(session, teacher, state.schule, "LEHR")
    assert decide(session, policies, teacher, "email").reason == Reason.KONTO_NICHT_AKTIV


def test_schulamt_and_ministry_staff(session, policies, state):
    amt = f.person(session, "s", "Sven", "Amt")
    f.kontext(session, amt, state.schulamt, "SCHULAMT_MA")
    assert decide(session, policies, amt, "personalverwaltung").allowed
    assert decide(session, policies, amt, "diagnostik").allowed
    assert not decide(session, policies, amt, "klassenbuch").allowed


def test_unknown_service(session, policies, state):
    teacher = f.person(session, "t", "Tom", "Berg")
    f.kontext(session, teacher, state.schule, "LEHR")
    assert decide(session, policies, teacher, "gibtsnicht").reason == Reason.UNBEKANNTER_DIENST


def test_release_gives_only_what_the_policy_names(session, policies, state):
    teacher = f.person(
        session,
        "anna.schmidt",
        "Anna",
        "Schmidt",
        mail="anna.schmidt@schule-mv.de",
        geburtsdatum=dt.date(1980, 1, 2),
    )
    f.kontext(session, teacher, state.schule, "LEHR")
    f.kontext(session, teacher, state.andere_schule, "PAEDFK")
    facts = load_person_facts(session, policies, teacher, TODAY)
    for service in policies.services:
        released = release(policies, facts, service)
        assert set(released) <= released_attributes(policies, service), service
        assert "geburtsdatum" not in released
    # Personalverwaltung (sensitive, not entitled): nothing at all.
    assert release(policies, facts, "personalverwaltung") == {}
    # Notenbuch is granted by the LEHR context only: the second school stays unknown to it.
    notenbuch = release(policies, facts, "notenbuch")
    assert notenbuch["organisation_kennung"] == ["750001"]
    assert notenbuch["rollenart"] == ["LEHR"]
    assert "mail" not in notenbuch
    email = release(policies, facts, "email")
    assert email["mail"] == "anna.schmidt@schule-mv.de"
    assert email["organisation_kennung"] == ["750001", "750002"]


def test_learner_class_is_released_where_allowed(session, policies, state):
    learner = f.person(session, "l", "Lea", "Berg")
    f.kontext(session, learner, state.schule, "LERN")
    f.kontext(session, learner, state.klasse, "LERN")
    facts = load_person_facts(session, policies, learner, TODAY)
    assert release(policies, facts, "stundenplan")["klasse"] == ["7b"]
