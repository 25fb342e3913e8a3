"""Provisioning into the mail directory: a real OpenLDAP slapd, started for these tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import time_machine
from sqlalchemy import delete, select

from idp.extensions import db
from idp.models import (
    OptOut,
    Organisation,
    OutboxEvent,
    Person,
    PersonStatus,
    ProvisionedAccount,
)
from idp.policy import current_policies
from idp.provisioning import outbox
from idp.provisioning.desired import account_key
from idp.provisioning.settings import provisioning_settings
from idp.provisioning.sync import reconcile
from idp.provisioning.worker import Worker, _Sweep
from tests import factories as f
from tests.provisioning import changed, learners, mail_directory, school, settings, work
from tests.slapd_server import SlapdServer
from tests.web import data


@pytest.fixture(scope="module")
def slapd() -> Iterator[SlapdServer]:
    server = SlapdServer().start()
    yield server
    server.stop()


@pytest.fixture
def directory(slapd):
    connector = mail_directory(slapd)
    yield connector
    connector.close()


def _people(slapd, connector) -> dict[str, dict]:
    with slapd.connect() as connection:
        connection.search(connector.people, "(objectClass=inetOrgPerson)", attributes=["*"])
        return {str(e["uid"].value): e.entry_attributes_as_dict for e in connection.entries}


def _members(slapd, connector, key: str) -> list[str]:
    with slapd.connect() as connection:
        connection.search(f"cn={key},{connector.groups}", "(objectClass=*)", attributes=["member"])
        return sorted(connection.entries[0]["member"].values) if connection.entries else []


def test_entitled_staff_get_an_entry_with_released_fields_and_groups(site, slapd, directory):
    world = school(site)
    changed(site, world.teacher, world.learner)

    stats = work(site, {"email": directory})

    people = _people(slapd, directory)
    assert set(people) == {"tom.lehrer"}  # learners get no mailbox
    tom = people["tom.lehrer"]
    assert tom["mail"] == ["tom.lehrer@schule-mv.de"]
    assert tom["givenName"] == ["Tom"] and tom["sn"] == ["Lehrer"] and tom["cn"] == ["Tom Lehrer"]
    assert tom["employeeType"] == ["aktiv"]
    assert sorted(tom["ou"]) == ["750001", "750001/7b"]
    assert set(tom) <= {
        "objectClass",
        "uid",
        "cn",
        "sn",
        "givenName",
        "mail",
        "ou",
        "employeeNumber",
        "employeeType",
    }
    tom_dn = f"uid=tom.lehrer,{directory.people}"
    assert _members(slapd, directory, "750001") == [tom_dn]
    assert stats.written == 1 and stats.dead == 0
    with data(site) as s:
        row = s.get(ProvisionedAccount, (world.teacher, "email"))
        assert row.status == "ok" and row.applied_hash == row.desired_hash


def test_a_second_run_writes_nothing(site, slapd, directory):
    world = school(site)
    changed(site, world.teacher)
    work(site, {"email": directory})
    changed(site, world.teacher)

    again = work(site, {"email": directory})

    assert (again.written, again.unchanged) == (0, 1)
    assert list(_people(slapd, directory)) == ["tom.lehrer"]


def test_rename_and_username_change_follow(site, slapd, directory):
    world = school(site)
    changed(site, world.teacher)
    work(site, {"email": directory})
    with data(site) as s:
        tom = s.get(Person, world.teacher)
        tom.familienname, tom.username = "Lehmann", "tom.lehmann"
        s.commit()
    changed(site, world.teacher)

    work(site, {"email": directory})

    people = _people(slapd, directory)
    assert list(people) == ["tom.lehmann"] and people["tom.lehmann"]["sn"] == ["Lehmann"]


def test_a_new_address_keeps_the_old_one_as_alias_and_sync_sees_no_drift(site, slapd, directory):
    world = school(site)
    changed(site, world.teacher)
    work(site, {"email": directory})
    with data(site) as s:
        tom = s.get(Person, world.teacher)
        tom.familienname, tom.mail = "Lehmann", "tom.lehmann@schule-mv.de"
        tom.mail_aliases = ["tom.lehrer@schule-mv.de"]
        s.commit()
    changed(site, world.teacher)

    work(site, {"email": directory})

    entry = _people(slapd, directory)["tom.lehrer"]
    # the address first, the alias after it: both deliver to the same mailbox
    assert entry["mail"] == ["tom.lehmann@schule-mv.de", "tom.lehrer@schule-mv.de"]
    with site.app_context():
        secret = provisioning_settings().secret_key
        report = reconcile(db.session, current_policies(), secret, directory, repair=False)
        db.session.remove()
    tom_key = account_key(secret, "email", world.teacher)
    assert report.changed == [] and tom_key not in report.missing, report.summary()


def test_leaving_disables_and_retention_deletes(site, slapd, directory):
    world = school(site)
    changed(site, world.teacher)
    work(site, {"email": directory})
    with data(site) as s:
        s.get(Person, world.teacher).status = PersonStatus.AUSGESCHIEDEN
        s.commit()
    changed(site, world.teacher)

    work(site, {"email": directory})

    assert _people(slapd, directory)["tom.lehrer"]["employeeType"] == ["deaktiviert"]
    assert _members(slapd, directory, "750001") == [directory.groups]  # left every group
    with data(site) as s:
        assert s.get(ProvisionedAccount, (world.teacher, "email")).status == "disabled"
        s.delete(s.get(Person, world.teacher))  # as retention does, with its outbox event
        s.add(OutboxEvent(object_type="person", object_id=world.teacher, operation="delete"))
        s.commit()
    work(site, {"email": directory})
    assert _people(slapd, directory) == {}
    with data(site) as s:
        assert s.get(ProvisionedAccount, (world.teacher, "email")) is None


def test_an_opt_out_removes_the_entry(site, slapd, directory):
    world = school(site)
    changed(site, world.teacher)
    work(site, {"email": directory})
    with data(site) as s:
        s.add(OptOut(person_id=world.teacher, service_code="email", created_by="test"))
        s.commit()
    changed(site, world.teacher)

    work(site, {"email": directory})

    assert _people(slapd, directory) == {}


def test_a_rejected_record_parks_only_its_event(site, slapd, directory):
    world = school(site)
    with slapd.connect() as connection:  # someone else already holds tom's uid
        directory._bound()
        connection.add(
            f"uid=tom.lehrer,{directory.people}",
            ["inetOrgPerson"],
            {"cn": "Fremd", "sn": "Fremd", "employeeNumber": "jemand-anderes"},
        )
    changed(site, world.teacher, world.other_teacher)

    stats = work(site, {"email": directory})

    assert stats.dead == 1 and stats.written == 1
    assert "tina.tafel" in _people(slapd, directory)
    with data(site) as s:
        dead = s.scalars(select(OutboxEvent).where(OutboxEvent.status == "dead")).one()
        assert dead.object_id == world.teacher and "gibt es schon" in dead.last_error
        assert s.get(ProvisionedAccount, (world.teacher, "email")).status == "error"


def test_events_of_people_no_service_concerns_are_done_without_asking_the_target(
    site, slapd, directory
):
    world = school(site)
    changed(site, world.learner, world.teacher)
    slapd.pause()  # the directory cannot answer: nothing may depend on it
    try:
        with site.app_context():
            worker = Worker(
                db.session, current_policies(), provisioning_settings(), {"email": directory}
            )
            passed = worker.pass_over(100)  # in SQL, before any batch is claimed
            db.session.remove()
        stats = work(site, {"email": directory})
    finally:
        slapd.resume()

    with data(site) as s:
        status = {e.object_id: e.status for e in s.scalars(select(OutboxEvent))}
        assert s.get(ProvisionedAccount, (world.learner, "email")) is None
    assert passed == 1
    assert status == {world.learner: "done", world.teacher: "pending"}  # only his is retried
    assert stats.retried == 1 and stats.written == 0


def test_a_long_queue_is_sorted_first_and_whom_no_service_concerns_is_passed_over(
    site, slapd, directory
):
    world = school(site)
    others = learners(site, world.schule, 12)
    changed(site, world.learner, *others, world.teacher, world.other_teacher)
    with data(site) as s:
        outbox.school_changed(s, world.schule)
        s.commit()

    stats = work(site, {"email": directory}, batch_size=1)  # 16 events: a long queue

    assert sorted(_people(slapd, directory)) == ["tina.tafel", "tom.lehrer"]
    assert stats.events == 16 and stats.written == 2 and stats.dead == 0
    with data(site) as s:
        assert set(s.scalars(select(OutboxEvent.status))) == {"done"}
        assert s.scalars(select(ProvisionedAccount.person_id)).all().count(world.learner) == 0


def test_who_becomes_a_teacher_after_the_queue_was_sorted_is_not_passed_over(
    site, slapd, directory
):
    world = school(site)
    others = learners(site, world.schule, 12)
    changed(site, world.learner, *others)
    with site.app_context():
        worker = Worker(db.session, current_policies(), settings(1), {"email": directory})
        sweep = _Sweep(worker)
        assert sweep.next_ids(1) == []  # nobody a service may concern: all to pass over
        with data(site) as s:  # meanwhile an import makes Lea a teacher, with its event
            f.kontext(s, s.get(Person, world.learner), s.get(Organisation, world.schule), "LEHR")
            outbox.person_changed(s, world.learner)
            s.commit()
        sweep.pass_over()
        db.session.remove()
    with data(site) as s:
        pending = s.scalars(select(OutboxEvent).where(OutboxEvent.status == "pending")).all()
        assert {e.object_id for e in pending} == {world.learner}  # her newer event, at least

    stats = work(site, {"email": directory})

    assert list(_people(slapd, directory)) == ["lea.lern"] and stats.written == 1
    with data(site) as s:
        assert set(s.scalars(select(OutboxEvent.status))) == {"done"}


def test_a_directory_that_was_down_gets_everything_once_it_is_back(site, slapd, directory):
    world = school(site)
    slapd.pause()
    try:
        changed(site, world.teacher, world.other_teacher)
        first = work(site, {"email": directory})
        with data(site) as s:
            waiting = s.scalars(select(OutboxEvent).where(OutboxEvent.status == "pending")).all()
            assert len(waiting) == 2 and all(e.attempts == 1 for e in waiting)
            due = max(e.not_before for e in waiting)
    finally:
        slapd.resume()
    assert first.retried == 2 and first.written == 0
    assert work(site, {"email": directory}).events == 0  # not due yet: nothing is tried

    with time_machine.travel(due + dt.timedelta(seconds=1)):
        later = work(site, {"email": directory})

    assert later.written == 2
    assert sorted(_people(slapd, directory)) == ["tina.tafel", "tom.lehrer"]
    with data(site) as s:
        assert s.scalars(select(OutboxEvent.status)).all() == ["done", "done"]
        s.execute(delete(OutboxEvent))
        s.commit()
