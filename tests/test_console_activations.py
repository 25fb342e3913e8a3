"""Service activations in the console: the Schulleitung applies for itslearning, the ministry
approves, teacher access follows, then the learners'; both sides see who did what, when."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idp.models import ActivationState, Person, ServiceActivation
from idp.policy import current_policies
from idp.policy.entitlement import entitlement
from idp.policy.facts import load_person_facts
from tests.console import post, signed_in, world
from tests.web import data

BASE = "/verwaltung/aktivierungen"


@pytest.fixture
def w(site):
    return world(site)


def _state(site) -> ActivationState | None:
    with data(site) as s:
        found = s.scalars(select(ServiceActivation)).one_or_none()
        return found.state if found else None


def _may_use_itslearning(site, person_id) -> bool:
    with site.app_context(), data(site) as s:
        policies = current_policies()
        facts = load_person_facts(s, policies, s.get(Person, person_id))
        return entitlement(policies, facts, "itslearning").allowed


def test_application_approval_and_learner_access(site, w):
    head = signed_in(site, w, w.head)
    ministry = signed_in(site, w, w.land_admin)
    url = f"{BASE}/{w.schule}/itslearning"

    page = head.get(f"{BASE}/")
    assert "itslearning beantragen" in page.text and "Tom Lehrer" in page.text
    post(
        head,
        f"{url}/beantragen",
        {"kontakt": str(w.teacher), "avv": "1", "gemeinsame_verantwortung": "1"},
    )
    assert _state(site) == ActivationState.VERTRAEGE_BESTAETIGT
    assert "Gymnasium am Strand" in ministry.get(f"{BASE}/").text
    assert not _may_use_itslearning(site, w.teacher)

    post(ministry, f"{url}/freigeben")
    assert _may_use_itslearning(site, w.teacher) and not _may_use_itslearning(site, w.lea)
    post(ministry, f"{url}/eingerichtet")
    post(head, f"{url}/lernende-beantragen")
    post(ministry, f"{url}/freigeben", {"lernende": "1"})

    assert _state(site) == ActivationState.LERNENDE_FREIGEGEBEN
    assert _may_use_itslearning(site, w.lea)
    history = head.get(f"{BASE}/").text
    assert "verwaltung:sina.leitung" in history and "verwaltung:lara.land" in history


def test_an_application_needs_both_agreements(site, w):
    head = signed_in(site, w, w.head)

    refused = post(head, f"{BASE}/{w.schule}/itslearning/beantragen", {"avv": "1"})

    assert "gemeinsamen Verantwortung" in head.get(refused.location).text
    assert _state(site) is None


def test_a_school_cannot_approve_itself(site, w):
    head = signed_in(site, w, w.head)
    post(
        head,
        f"{BASE}/{w.schule}/itslearning/beantragen",
        {"avv": "1", "gemeinsame_verantwortung": "1"},
    )

    response = post(head, f"{BASE}/{w.schule}/itslearning/freigeben")

    assert response.status_code == 404
    assert _state(site) == ActivationState.VERTRAEGE_BESTAETIGT


def test_no_activation_pages_for_another_schools_or_without_rights(site, w):
    head = signed_in(site, w, w.head)
    other_admin = signed_in(site, w, w.other_admin)  # IDM_SCHULE: no activation rights

    assert (
        post(
            head,
            f"{BASE}/{w.andere_schule}/itslearning/beantragen",
            {"avv": "1", "gemeinsame_verantwortung": "1"},
        ).status_code
        == 404
    )
    assert other_admin.get(f"{BASE}/").status_code == 403
    assert _state(site) is None
