"""Imports as an operator runs them: plan, apply, run, history, through the `idp` command."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from idp.clock import today
from tests.importing import (
    count,
    demo_export,
    drop_learners,
    drop_staff,
    edit_rows,
    idp_import,
    plain_teacher,
    read_rows,
    snapshot,
)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_export(tmp_path_factory.mktemp("export"))


@pytest.fixture
def export(pristine: Path, tmp_path: Path) -> Path:
    target = tmp_path / "export"
    shutil.copytree(pristine, target)
    return target


@pytest.fixture
def imported(export: Path, database_url: str, run_idp) -> Path:
    """The demo state imported from both sources."""
    for source in ("sip", "personal"):
        code, data, err = idp_import(
            run_idp, database_url, "run", "--source", source, str(export / source)
        )
        assert code == 0, err
        assert data["outcome"] == "applied"
    return export


def users(run_idp, database_url: str, *args: str):
    result = run_idp("users", *args, "--json", env={"IDP_DATABASE_URL": database_url})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def learner_rows(export: Path) -> list[dict[str, str]]:
    return read_rows(export / "sip" / "schueler.csv")[1]


def person_by_external(database_url: str, source: str, ext: str) -> dict:
    engine_sql = (
        "SELECT p.username, p.vorname, p.familienname, p.status, p.ausgeschieden_am, "
        "p.loeschdatum, p.mail, p.mail_aliases FROM person p "
        "JOIN source_record s ON s.object_id = p.id "
        "WHERE s.source = :source AND s.kind = 'person' AND s.external_id = :ext"
    )
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(text(engine_sql), {"source": source, "ext": ext}).mappings().one()
            found = dict(row)
            if isinstance(found["mail_aliases"], str):  # SQLite keeps JSON as text
                found["mail_aliases"] = json.loads(found["mail_aliases"])
            return found
    finally:
        engine.dispose()


def test_first_import_creates_everyone_once(export, database_url, run_idp):
    learners = learner_rows(export)
    code, data, err = idp_import(
        run_idp, database_url, "run", "--source", "sip", str(export / "sip")
    )
    assert code == 0, err
    guardians_with_children = {
        r["Erziehungsberechtigtennummer"]
        for r in read_rows(export / "sip" / "schueler_erziehungsberechtigte.csv")[1]
    }
    summary = data["summary"]
    assert summary["persons_create"] == len(learners) + len(guardians_with_children)
    assert summary["kontexte_start"] == 2 * len(learners) + sum(
        len(
            {
                r["Schulnummer"]
                for r in read_rows(export / "sip" / "schueler_erziehungsberechtigte.csv")[1]
                if r["Erziehungsberechtigtennummer"] == g
            }
        )
        for g in guardians_with_children
    )
    assert summary["links_start"] == len(
        read_rows(export / "sip" / "schueler_erziehungsberechtigte.csv")[1]
    )
    assert count(database_url, "SELECT count(*) FROM person") == summary["persons_create"]
    assert (
        count(database_url, "SELECT count(DISTINCT username) FROM person")
        == (summary["persons_create"])
    )
    # Every change is audited and queued for provisioning.
    assert (
        count(database_url, "SELECT count(*) FROM audit_event WHERE action = 'person.angelegt'")
        == summary["persons_create"]
    )
    assert (
        count(database_url, "SELECT count(*) FROM outbox_event WHERE object_type = 'person'")
        == summary["persons_create"]
    )
    verify = run_idp("audit", "verify", env={"IDP_DATABASE_URL": database_url})
    assert verify.returncode == 0, verify.stdout


def test_same_files_again_change_nothing(imported, database_url, run_idp):
    before = snapshot(database_url)
    for source in ("sip", "personal"):
        code, data, _ = idp_import(
            run_idp, database_url, "run", "--source", source, str(imported / source)
        )
        assert code == 0 and data["outcome"] == "nothing_to_do"
        assert all(value == 0 for value in data["summary"].values()), data["summary"]
    assert snapshot(database_url) == before


def test_sensitive_columns_are_never_stored(imported, database_url):
    learners = learner_rows(imported)
    secrets = {r["Straße"] for r in learners} | {
        r["Förderbedarf"] for r in learners if r["Förderbedarf"]
    }
    secrets |= {r["Straße"] for r in read_rows(imported / "sip" / "erziehungsberechtigte.csv")[1]}
    assert len(secrets) > 100
    stored = json.dumps(snapshot(database_url), ensure_ascii=False)
    stored += json.dumps(
        count(database_url, "SELECT count(*) FROM import_run")
    )  # the run log holds counts and file hashes only
    leaked = [s for s in secrets if s in stored]
    assert leaked == []


def test_teachers_get_mail_and_learners_do_not(imported, database_url, run_idp):
    staff = read_rows(imported / "personal" / "personal.csv")[1]
    teacher = next(r for r in staff if r["Funktion"] == "LK")
    person = person_by_external(database_url, "personal", teacher["Personalnummer"])
    assert person["mail"].endswith("@schule-mv.de")
    learner = person_by_external(
        database_url, "sip", "schueler:" + learner_rows(imported)[0]["Schüler-ID"]
    )
    assert learner["mail"] is None


def test_plan_then_apply_and_stale_plan_is_refused(export, database_url, run_idp, tmp_path):
    plan_file = tmp_path / "plan.json"
    code, data, _ = idp_import(
        run_idp,
        database_url,
        "plan",
        "--source",
        "sip",
        str(export / "sip"),
        "--out",
        str(plan_file),
    )
    assert code == 0 and data["outcome"] == "planned"
    assert count(database_url, "SELECT count(*) FROM person") == 0  # planning writes nothing
    plan = json.loads(plan_file.read_text(encoding="utf-8"))
    assert plan["summary"]["persons_create"] > 0
    assert set(plan["files"]) >= {"schueler.csv", "schulen.csv"}
    assert plan["files"]["schueler.csv"]["encoding"] == "utf-8"
    code, data, err = idp_import(run_idp, database_url, "apply", str(plan_file))
    assert code == 0, err
    assert data["outcome"] == "applied"
    # The same plan again: the database has moved on since it was made.
    before = snapshot(database_url)
    code, data, _ = idp_import(run_idp, database_url, "apply", str(plan_file))
    assert code == 3 and data["outcome"] == "stale"
    assert snapshot(database_url) == before


def test_empty_plan_counts_are_all_zero(imported, database_url, run_idp, tmp_path):
    plan_file = tmp_path / "plan.json"
    code, _, _ = idp_import(
        run_idp,
        database_url,
        "plan",
        "--source",
        "sip",
        str(imported / "sip"),
        "--out",
        str(plan_file),
    )
    assert code == 0
    summary = json.loads(plan_file.read_text(encoding="utf-8"))["summary"]
    assert summary and set(summary.values()) == {0}


def test_learner_changing_school_keeps_account(imported, database_url, run_idp):
    learners = learner_rows(imported)
    mover = learners[0]
    other = next(r for r in learners if r["Schulnummer"] != mover["Schulnummer"])
    before = person_by_external(database_url, "sip", "schueler:" + mover["Schüler-ID"])

    def move(rows):
        for row in rows:
            if row["Schüler-ID"] == mover["Schüler-ID"]:
                row.update(
                    Schulnummer=other["Schulnummer"],
                    Klassenname=other["Klassenname"],
                    Schülernummer="999999",
                )
        return rows

    edit_rows(imported / "sip" / "schueler.csv", move)
    edit_rows(
        imported / "sip" / "schueler_erziehungsberechtigte.csv",
        lambda rows: [
            {**r, "Schulnummer": other["Schulnummer"], "Schülernummer": "999999"}
            if (r["Schulnummer"], r["Schülernummer"])
            == (mover["Schulnummer"], mover["Schülernummer"])
            else r
            for r in rows
        ],
    )
    code, data, err = idp_import(
        run_idp, database_url, "run", "--source", "sip", str(imported / "sip")
    )
    assert code == 0, err
    assert data["summary"]["persons_move"] >= 1
    assert data["summary"]["persons_create"] == 0
    after = person_by_external(database_url, "sip", "schueler:" + mover["Schüler-ID"])
    assert after["username"] == before["username"]
    shown = users(run_idp, database_url, "show", after["username"])
    active = {k["organisation_kennung"] for k in shown["kontexte"] if k["aktiv"]}
    assert active == {other["Schulnummer"], f"{other['Schulnummer']}/{other['Klassenname']}"}
    # The old context began today (the first import ran today), so it is removed rather than
    # ended yesterday; on a later day it would end the day before.
    old = [k for k in shown["kontexte"] if k["organisation_kennung"] == mover["Schulnummer"]]
    assert all(k["valid_until"] == (today() - dt.timedelta(days=1)).isoformat() for k in old)


def _edit_staff(export: Path, personalnummer: str, **fields: str) -> None:
    """Change fields of one person's rows in the personnel export."""
    edit_rows(
        export / "personal" / "personal.csv",
        lambda rows: [
            {**r, **fields} if r["Personalnummer"] == personalnummer else r for r in rows
        ],
    )


def test_teacher_moving_to_another_school(imported, database_url, run_idp):
    staff = read_rows(imported / "personal" / "personal.csv")[1]
    teacher = plain_teacher(imported)
    schools = {r["Dienststellennummer"] for r in staff if r["Funktion"] == "LK"}
    target = sorted(schools - {teacher["Dienststellennummer"]})[0]
    before = person_by_external(database_url, "personal", teacher["Personalnummer"])
    _edit_staff(imported, teacher["Personalnummer"], Dienststellennummer=target)
    code, data, err = idp_import(
        run_idp, database_url, "run", "--source", "personal", str(imported / "personal")
    )
    assert code == 0, err
    assert data["summary"]["persons_move"] == 1
    assert data["summary"]["kontexte_end"] == 1 and data["summary"]["kontexte_start"] == 1
    after = person_by_external(database_url, "personal", teacher["Personalnummer"])
    assert after["username"] == before["username"] and after["mail"] == before["mail"]


def test_name_change_updates_the_same_person(imported, database_url, run_idp):
    learner = learner_rows(imported)[3]
    before = person_by_external(database_url, "sip", "schueler:" + learner["Schüler-ID"])
    edit_rows(
        imported / "sip" / "schueler.csv",
        lambda rows: [
            {**r, "Nachname": "Özdemir-Łukasik"} if r["Schüler-ID"] == learner["Schüler-ID"] else r
            for r in rows
        ],
    )
    code, data, err = idp_import(
        run_idp, database_url, "run", "--source", "sip", str(imported / "sip")
    )
    assert code == 0, err
    assert data["summary"]["persons_update"] == 1 and data["summary"]["persons_create"] == 0
    after = person_by_external(database_url, "sip", "schueler:" + learner["Schüler-ID"])
    assert after["familienname"] == "Özdemir-Łukasik"
    assert after["username"] == before["username"]


def test_a_renamed_teacher_gets_an_address_of_the_new_name_and_keeps_the_old_one(
    imported, database_url, run_idp
):
    teacher = plain_teacher(imported)
    before = person_by_external(database_url, "personal", teacher["Personalnummer"])

    def rename(family_name: str) -> dict:
        _edit_staff(imported, teacher["Personalnummer"], Nachname=family_name)
        code, data, err = idp_import(
            run_idp, database_url, "run", "--source", "personal", str(imported / "personal")
        )
        assert code == 0, err
        assert data["summary"]["persons_update"] == 1
        return person_by_external(database_url, "personal", teacher["Personalnummer"])

    married = rename("Groß-Öztürk")

    local, domain = married["mail"].split("@")
    assert local.startswith(before["mail"].split("@")[0].split(".")[0] + ".gross-oeztuerk")
    assert domain == before["mail"].split("@")[1]
    assert married["mail_aliases"] == [before["mail"]]
    assert married["username"] == before["username"]  # the login name stays

    back = rename(teacher["Nachname"])

    assert back["mail"] == before["mail"] and back["mail_aliases"] == [married["mail"]]


def test_a_newcomer_named_like_a_teacher_with_a_mailbox_gets_an_address_of_their_own(
    imported, database_url, run_idp
):
    teacher = plain_teacher(imported)
    existing = person_by_external(database_url, "personal", teacher["Personalnummer"])
    namesake = {
        **teacher,
        "Personalnummer": "99999901",
        "Lehrernummer": "ZZZ",
        "Geburtsdatum": "1970-01-02" if teacher["Geburtsdatum"] != "1970-01-02" else "1971-02-03",
    }
    edit_rows(imported / "personal" / "personal.csv", lambda rows: [*rows, namesake])

    code, data, err = idp_import(
        run_idp, database_url, "run", "--source", "personal", str(imported / "personal")
    )

    assert code == 0, err
    assert data["summary"]["persons_create"] == 1
    newcomer = person_by_external(database_url, "personal", "99999901")
    local, domain = existing["mail"].split("@")
    assert newcomer["mail"] != existing["mail"]
    assert newcomer["mail"].startswith(local.rstrip("0123456789")) and newcomer["mail"].endswith(
        "@" + domain
    )


def test_probable_match_is_flagged_not_duplicated(imported, database_url, run_idp):
    learners = learner_rows(imported)
    twin = learners[5]
    persons_before = count(database_url, "SELECT count(*) FROM person")
    edit_rows(
        imported / "sip" / "schueler.csv",
        lambda rows: [*rows, {**twin, "Schüler-ID": "99999999", "Schülernummer": "888888"}],
    )
    code, data, err = idp_import(
        run_idp, database_url, "run", "--source", "sip", str(imported / "sip")
    )
    assert code == 0, err
    assert data["summary"]["probable_matches"] == 1
    assert data["summary"]["persons_create"] == 0
    assert count(database_url, "SELECT count(*) FROM person") == persons_before
    assert (
        count(
            database_url,
            "SELECT count(*) FROM match_candidate WHERE external_id = 'schueler:99999999'",
        )
        == 1
    )


def test_people_missing_from_the_export_leave_but_stay(imported, database_url, run_idp):
    learners = learner_rows(imported)
    gone = learners[10]
    teacher = plain_teacher(imported)
    drop_learners(imported, [gone])
    drop_staff(imported, teacher["Personalnummer"])
    for source in ("sip", "personal"):
        code, data, err = idp_import(
            run_idp, database_url, "run", "--source", source, str(imported / source)
        )
        assert code == 0, err
        assert data["summary"]["persons_leave"] >= 1
    learner = person_by_external(database_url, "sip", "schueler:" + gone["Schüler-ID"])
    # Learners keep a usable account for the grace period (retention.toml: 14 days).
    assert learner["status"] == "aktiv"
    assert str(learner["ausgeschieden_am"]) == today().isoformat()
    assert str(learner["loeschdatum"]) == (today() + dt.timedelta(days=90)).isoformat()
    leaver = person_by_external(database_url, "personal", teacher["Personalnummer"])
    assert leaver["status"] == "ausgeschieden"
    shown = users(run_idp, database_url, "show", leaver["username"])
    assert shown["kontexte"] and not any(k["aktiv"] for k in shown["kontexte"])


def test_circuit_breaker_stops_a_mass_end(imported, database_url, run_idp):
    learners = learner_rows(imported)
    school = learners[0]["Schulnummer"]
    at_school = [r for r in learners if r["Schulnummer"] == school]
    dropped = {r["Schüler-ID"] for r in at_school[: len(at_school) // 4]}
    edit_rows(
        imported / "sip" / "schueler.csv",
        lambda rows: [r for r in rows if r["Schüler-ID"] not in dropped],
    )
    numbers = {
        (r["Schulnummer"], r["Schülernummer"]) for r in at_school if r["Schüler-ID"] in dropped
    }
    edit_rows(
        imported / "sip" / "schueler_erziehungsberechtigte.csv",
        lambda rows: [r for r in rows if (r["Schulnummer"], r["Schülernummer"]) not in numbers],
    )
    before = snapshot(database_url)
    code, data, err = idp_import(
        run_idp, database_url, "run", "--source", "sip", str(imported / "sip")
    )
    assert code == 2, err
    assert data["outcome"] == "breaker"
    assert school in data["message"]
    assert [s["kennung"] for s in data["breaker"]["schools"]] == [school]
    assert snapshot(database_url) == before
    code, data, err = idp_import(
        run_idp, database_url, "run", "--source", "sip", str(imported / "sip"), "--allow-mass-end"
    )
    assert code == 0, err
    assert data["summary"]["persons_leave"] >= len(dropped)


def test_partial_export_touches_only_its_schools(imported, database_url, run_idp):
    schools = read_rows(imported / "sip" / "schulen.csv")[1]
    keep = schools[0]["Schulnummer"]
    others = count(
        database_url,
        "SELECT count(*) FROM personenkontext k JOIN organisation o ON "
        "o.id = k.organisation_id WHERE o.kennung <> :keep AND k.source = 'sip' "
        "AND k.valid_until IS NULL",
        keep=keep,
    )
    for name, column in (
        ("schulen.csv", "Schulnummer"),
        ("klassen.csv", "Schulnummer"),
        ("schueler.csv", "Schulnummer"),
        ("schueler_erziehungsberechtigte.csv", "Schulnummer"),
    ):
        edit_rows(imported / "sip" / name, lambda rows, c=column: [r for r in rows if r[c] == keep])
    code, data, err = idp_import(
        run_idp, database_url, "run", "--source", "sip", str(imported / "sip")
    )
    assert code == 0, err
    # Guardians with children at the other schools only lose their context here, if any.
    assert data["summary"]["persons_leave"] == 0
    assert (
        count(
            database_url,
            "SELECT count(*) FROM personenkontext k JOIN organisation o ON "
            "o.id = k.organisation_id WHERE o.kennung <> :keep AND k.source = 'sip' "
            "AND k.valid_until IS NULL",
            keep=keep,
        )
        == others
    )


def test_history_lists_every_run(imported, database_url, run_idp):
    result = run_idp("import", "history", "--json", env={"IDP_DATABASE_URL": database_url})
    runs = json.loads(result.stdout)
    assert [(r["source"], r["outcome"]) for r in runs] == [
        ("personal", "applied"),
        ("sip", "applied"),
    ]
    assert runs[1]["files"]["schueler.csv"]["sha256"]
    assert runs[1]["summary"]["persons_create"] > 0
    assert runs[0]["actor"].startswith("cli:")


def test_unchanged_export_is_recognised_without_reading(imported, database_url, run_idp, tmp_path):
    # The personnel import created the ministry after the SIP import: organisations can
    # change the SIP plan, so the first repeat reads the files again.
    code, data, _ = idp_import(
        run_idp, database_url, "run", "--source", "sip", str(imported / "sip")
    )
    assert code == 0 and data["message"] == "nothing to do"
    # The personnel import's own people cannot change the SIP plan: from now on, unchanged
    # files need not be read.
    code, data, _ = idp_import(
        run_idp, database_url, "run", "--source", "personal", str(imported / "personal")
    )
    assert code == 0 and data["outcome"] == "nothing_to_do"
    code, data, _ = idp_import(
        run_idp, database_url, "plan", "--source", "sip", str(imported / "sip")
    )
    assert code == 0 and data["message"].startswith("same files and settings")
    assert set(data["summary"].values()) == {0}
    # Other settings: the export is read and compared again, and still nothing changes.
    config = tmp_path / "other.toml"
    config.write_text('[mail]\ndomain = "schulen.example"\n', encoding="utf-8")
    code, data, _ = idp_import(
        run_idp,
        database_url,
        "run",
        "--source",
        "sip",
        str(imported / "sip"),
        env={"IDP_CONFIG": str(config)},
    )
    assert code == 0 and data["outcome"] == "nothing_to_do"
    assert data["message"] == "nothing to do"
