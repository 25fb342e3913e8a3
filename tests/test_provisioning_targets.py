"""The worker with all three kinds of target at once: the mail directory (slapd), a SCIM
service (scim2-server) and itslearning (the strict local endpoint); each gets exactly what
its service's policy releases, opt-outs and activations are followed, and a target that is
down gets everything once it is back."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
import time_machine
from sqlalchemy import select, update

from connectors.itslearning import ItslearningConnector
from connectors.scim import ScimConnector
from idp.models import ActivationState, OptOut, OutboxEvent, ServiceActivation
from tests.itslearning_endpoint import ItslearningEndpoint
from tests.provisioning import changed, mail_directory, school, work
from tests.scim_server import TOKEN, ScimServer
from tests.slapd_server import SlapdServer
from tests.web import data


@pytest.fixture(scope="module")
def slapd() -> Iterator[SlapdServer]:
    server = SlapdServer().start()
    yield server
    server.stop()


@pytest.fixture
def scim_server() -> Iterator[ScimServer]:
    server = ScimServer(dynamic_tenants=False).start()
    yield server
    server.close()


@pytest.fixture
def itslearning() -> Iterator[ItslearningEndpoint]:
    endpoint = ItslearningEndpoint(root="MV").start()
    yield endpoint
    endpoint.stop()


@pytest.fixture
def targets(slapd, scim_server, itslearning):
    connectors = {
        "email": mail_directory(slapd),
        "stundenplan": ScimConnector("stundenplan", scim_server.url, TOKEN, timeout=2),
        "itslearning": ItslearningConnector(
            itslearning.url, itslearning.username, itslearning.password, root="MV", timeout=2
        ),
    }
    yield connectors
    for connector in connectors.values():
        connector.close()


def _approve_teachers(site, schule: uuid.UUID) -> None:
    with data(site) as s:
        s.execute(
            update(ServiceActivation)
            .where(ServiceActivation.schule_id == schule)
            .values(state=ActivationState.FREIGEGEBEN)
        )
        s.commit()


def _scim_users(server: ScimServer) -> dict[str, dict]:
    return {u["userName"]: u for u in server.get("/Users")["Resources"]}


def test_each_target_gets_what_its_policy_releases(site, targets, scim_server, itslearning):
    world = school(site)
    _approve_teachers(site, world.schule)
    changed(site, world.teacher, world.learner)

    stats = work(site, targets)

    assert stats.dead == 0 and stats.retried == 0
    users = _scim_users(scim_server)
    assert set(users) == {"tom.lehrer", "lea.lern"}  # Stundenplan: teachers and learners
    assert "emails" not in users["lea.lern"]  # Lea has no address; nothing empty is sent
    groups = {g["displayName"]: g for g in scim_server.get("/Groups")["Resources"]}
    assert len(groups["7b"]["members"]) == 2
    persons = {p.user_id: p for p in itslearning.persons.values()}
    assert set(persons) == {"tom.lehrer"}  # itslearning: only teachers so far (freigegeben)
    assert {m.group for m in itslearning.memberships.values()} == {"750001", "750001/7b"}


def test_an_opt_out_removes_only_that_service(site, targets, scim_server):
    world = school(site)
    changed(site, world.teacher, world.learner)
    work(site, targets)
    with data(site) as s:
        s.add(OptOut(person_id=world.learner, service_code="stundenplan", created_by="test"))
        s.commit()
    changed(site, world.learner)

    work(site, targets)

    assert set(_scim_users(scim_server)) == {"tom.lehrer"}


def test_learners_follow_when_the_ministry_approves_them(site, targets, itslearning):
    world = school(site)
    _approve_teachers(site, world.schule)
    changed(site, world.teacher, world.learner)
    work(site, targets)
    with data(site) as s:
        s.execute(update(ServiceActivation).values(state=ActivationState.LERNENDE_FREIGEGEBEN))
        from idp.provisioning import outbox

        outbox.school_changed(s, world.schule, "itslearning")
        s.commit()

    work(site, targets)

    # the school event reaches everyone there, Tina too, whom no event had named before
    assert {p.user_id for p in itslearning.persons.values()} == {
        "tom.lehrer",
        "tina.tafel",
        "lea.lern",
    }


def test_a_scim_target_that_was_down_gets_everything_once(site, targets, slapd, scim_server):
    world = school(site)
    scim_server.stop()
    changed(site, world.teacher, world.learner)
    first = work(site, targets)
    with data(site) as s:
        due = max(s.scalars(select(OutboxEvent.not_before)))
    scim_server.start()

    with time_machine.travel(due + dt.timedelta(seconds=1)):
        later = work(site, targets)

    assert first.retried == 2 and later.retried == 0
    assert set(_scim_users(scim_server)) == {"tom.lehrer", "lea.lern"}
    assert len(scim_server.get("/Users")["Resources"]) == 2  # nothing twice
    with data(site) as s:
        assert set(s.scalars(select(OutboxEvent.status))) == {"done"}
