"""After the import: dated school changes, retention (lock, then delete) and probable matches."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import select

from idp import audit
from idp.imports import runner
from idp.models import MatchCandidate, Person, Personenkontext, PersonStatus, SourceRecord
from idp.retention import run_retention
from tests.importing import (
    demo_export,
    drop_learners,
    drop_staff,
    edit_rows,
    plain_teacher,
    read_rows,
)

DAY1 = dt.date(2026, 9, 1)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_export(tmp_path_factory.mktemp("export"))


@pytest.fixture
def export(pristine: Path, tmp_path: Path) -> Path:
    shutil.copytree(pristine, tmp_path / "export")
    return tmp_path / "export"


def run_import(session, policies, source: str, path: Path, on: dt.date, **options) -> dict:
    outcome = runner.plan_source(
        session, policies, current_app.config["IDP"], source, str(path), on=on, **options
    )
    assert outcome.code == runner.DONE, [str(p) for p in outcome.problems] + [outcome.message]
    applied = runner.apply(session, outcome.plan, "test")
    assert applied.code == runner.DONE, applied.message
    session.commit()
    return outcome.plan.summary


def person(session, source: str, ext: str) -> Person:
    record = session.scalars(
        select(SourceRecord).where(
            SourceRecord.source == source,
            SourceRecord.kind == "person",
            SourceRecord.external_id == ext,
        )
    ).one()
    return session.get(Person, record.object_id)


def test_school_change_ends_the_old_context_the_day_before(session, policies, export):
    run_import(session, policies, "sip", export / "sip", DAY1)
    learners = read_rows(export / "sip" / "schueler.csv")[1]
    mover = learners[0]
    other = next(r for r in learners if r["Schulnummer"] != mover["Schulnummer"])
    edit_rows(
        export / "sip" / "schueler.csv",
        lambda rows: [
            {**r, "Schulnummer": other["Schulnummer"], "Klassenname": other["Klassenname"]}
            if r["Schüler-ID"] == mover["Schüler-ID"]
            else r
            for r in rows
        ],
    )
    moved_on = DAY1 + dt.timedelta(days=30)
    summary = run_import(session, policies, "sip", export / "sip", moved_on, max_errors=50)
    assert summary["persons_move"] == 1
    p = person(session, "sip", "schueler:" + mover["Schüler-ID"])
    dates = {
        (k.organisation.kennung, k.valid_from, k.valid_until)
        for k in session.scalars(select(Personenkontext).where(Personenkontext.person_id == p.id))
    }
    day_before = moved_on - dt.timedelta(days=1)
    assert (mover["Schulnummer"], DAY1, day_before) in dates
    assert (other["Schulnummer"], moved_on, None) in dates


def test_retention_locks_then_deletes(session, policies, export):
    run_import(session, policies, "sip", export / "sip", DAY1)
    run_import(session, policies, "personal", export / "personal", DAY1)
    learner = read_rows(export / "sip" / "schueler.csv")[1][7]
    teacher = plain_teacher(export)
    drop_learners(export, [learner])
    drop_staff(export, teacher["Personalnummer"])
    left = DAY1 + dt.timedelta(days=10)
    run_import(session, policies, "sip", export / "sip", left)
    run_import(session, policies, "personal", export / "personal", left)
    kid = person(session, "sip", "schueler:" + learner["Schüler-ID"])
    adult = person(session, "personal", teacher["Personalnummer"])
    kid_name, adult_name = kid.username, adult.username
    assert kid.status == PersonStatus.AKTIV and kid.loeschdatum == left + dt.timedelta(days=90)
    assert adult.status == PersonStatus.AUSGESCHIEDEN

    early = run_retention(session, policies, "test", on=left + dt.timedelta(days=13))
    assert kid_name not in early.locked
    locked = run_retention(session, policies, "test", on=left + dt.timedelta(days=14))
    session.commit()
    assert locked.locked == [kid_name] and locked.deleted == []

    deleted = run_retention(session, policies, "test", on=left + dt.timedelta(days=90))
    session.commit()
    assert kid_name in deleted.deleted and adult_name not in deleted.deleted
    assert session.scalars(select(Person).where(Person.username == kid_name)).first() is None
    assert (
        session.scalars(
            select(SourceRecord).where(
                SourceRecord.external_id == "schueler:" + learner["Schüler-ID"]
            )
        ).first()
        is None
    )
    later = run_retention(session, policies, "test", on=left + dt.timedelta(days=180))
    session.commit()
    assert adult_name in later.deleted
    assert audit.verify(session).ok


def test_probable_match_confirmed_updates_the_person(
    session, policies, export, database_url, run_idp
):
    run_import(session, policies, "sip", export / "sip", DAY1)
    learners = read_rows(export / "sip" / "schueler.csv")[1]
    twin = learners[4]
    # The same child under a new id (e.g. re-registered), now in another class.
    edit_rows(
        export / "sip" / "schueler.csv",
        lambda rows: [
            {**r, "Schüler-ID": "77777777"} if r["Schüler-ID"] == twin["Schüler-ID"] else r
            for r in rows
        ],
    )
    summary = run_import(session, policies, "sip", export / "sip", DAY1, max_errors=50)
    assert summary["probable_matches"] == 1 and summary["persons_create"] == 0
    env = {"IDP_DATABASE_URL": database_url}
    listed = json.loads(run_idp("import", "matches", "--json", env=env).stdout)
    assert [m["external_id"] for m in listed] == ["schueler:77777777"]
    decided = run_idp(
        "import", "decide", "schueler:77777777", "--source", "sip", "--confirm", env=env
    )
    assert decided.returncode == 0, decided.stderr
    session.expire_all()
    summary = run_import(
        session, policies, "sip", export / "sip", DAY1 + dt.timedelta(days=1), allow_mass_end=True
    )
    assert summary["persons_create"] == 0 and summary["probable_matches"] == 0
    assert person(session, "sip", "schueler:77777777").username == listed[0]["username"]
    assert json.loads(run_idp("import", "matches", "--json", env=env).stdout) == []


def test_probable_match_rejected_creates_a_new_person(
    session, policies, export, database_url, run_idp
):
    run_import(session, policies, "sip", export / "sip", DAY1)
    twin = read_rows(export / "sip" / "schueler.csv")[1][4]
    edit_rows(
        export / "sip" / "schueler.csv",
        lambda rows: [*rows, {**twin, "Schüler-ID": "66666666", "Schülernummer": "666666"}],
    )
    run_import(session, policies, "sip", export / "sip", DAY1)
    env = {"IDP_DATABASE_URL": database_url}
    assert (
        run_idp(
            "import", "decide", "schueler:66666666", "--source", "sip", "--reject", env=env
        ).returncode
        == 0
    )
    session.expire_all()
    summary = run_import(session, policies, "sip", export / "sip", DAY1)
    assert summary["persons_create"] == 1
    assert session.scalars(select(MatchCandidate)).one().decision == "rejected"
    unknown = run_idp("import", "decide", "schueler:1", "--source", "sip", "--confirm", env=env)
    assert unknown.returncode == 2


def test_retention_command(database_url, run_idp):
    result = run_idp("retention", "run", "--json", env={"IDP_DATABASE_URL": database_url})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "locked": [],
        "deleted": [],
        "expired_sessions": 0,
        "login_counters": 0,
        "oidc_rows": 0,
        "saml_rows": 0,
    }


def test_referendar_leaves_when_the_end_date_passes(session, policies, export):
    run_import(session, policies, "sip", export / "sip", DAY1)
    run_import(session, policies, "personal", export / "personal", DAY1)
    staff = read_rows(export / "personal" / "personal.csv")[1]
    ref = next(r for r in staff if r["Funktion"] == "REF" and r["Gültig bis"])
    end = dt.datetime.strptime(ref["Gültig bis"], "%d.%m.%Y").date()
    referendar = person(session, "personal", ref["Personalnummer"])
    name = referendar.username
    assert referendar.ausgeschieden_am is None

    result = run_retention(session, policies, "test", on=end + dt.timedelta(days=1))
    session.commit()
    session.expire_all()
    referendar = person(session, "personal", ref["Personalnummer"])
    assert referendar.ausgeschieden_am == end + dt.timedelta(days=1)
    assert name in result.locked and referendar.status == PersonStatus.AUSGESCHIEDEN
    # The same export again after the end date: the ended context is not started anew.
    summary = run_import(
        session,
        policies,
        "personal",
        export / "personal",
        end + dt.timedelta(days=2),
        allow_mass_end=True,
    )
    assert summary["kontexte_start"] == 0 and summary["persons_create"] == 0
