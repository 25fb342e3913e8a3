"""Operator commands for credentials, run as a user would (subprocess, real database)."""

from __future__ import annotations

import csv
import json

import pyotp
import pytest
from sqlalchemy import select

from idp import audit
from idp.auth import passwords
from idp.models import AuditEvent, LoginThrottle, OAuthClient, Person
from tests import factories as f
from tests.importing import demo_export, idp_import
from tests.web import PASSWORD, browser, data, with_password


def _people(site) -> None:
    with data(site) as s:
        state = f.small_state(s)
        lea = f.person(s, "lea.lern", "Lea", "Lern", mail="lea.lern@schule-mv.de")
        f.kontext(s, lea, state.schule, "LERN")
        ida = f.person(s, "ida.admin", "Ida", "Admin")
        f.kontext(s, ida, state.schule, "IDM_SCHULE")
        other = f.person(s, "otto.anders", "Otto", "Anders")
        f.kontext(s, other, state.andere_schule, "LERN")
        s.commit()


def _idp(run_idp, database_url, *args, input=None):
    return run_idp(*args, env={"IDP_DATABASE_URL": database_url}, input=input)


def test_set_password_from_stdin_then_log_in(site, database_url, run_idp):
    _people(site)

    result = _idp(run_idp, database_url, "users", "set-password", "Lea.Lern", input=PASSWORD + "\n")

    assert result.returncode == 0, result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert browser(site).login("lea.lern").location == "/"
    with data(site) as s:
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.target == "lea.lern")).all()
        assert actions == ["passwort.gesetzt"]
        assert audit.verify(s).ok


def test_set_password_initial_forces_a_change(site, database_url, run_idp):
    _people(site)

    _idp(run_idp, database_url, "users", "set-password", "lea.lern", "--initial", input=PASSWORD)

    assert browser(site).login("lea.lern").location == "/login/neues-passwort"


def test_set_password_applies_the_rules(site, database_url, run_idp):
    _people(site)

    short = _idp(run_idp, database_url, "users", "set-password", "lea.lern", input="kurz\n")
    admin = _idp(run_idp, database_url, "users", "set-password", "ida.admin", input="Elf-Zeichen\n")
    common = _idp(run_idp, database_url, "users", "set-password", "lea.lern", input="passwort123")

    assert short.returncode == 2 and "mindestens 8 Zeichen" in short.stderr
    assert admin.returncode == 2 and "mindestens 12 Zeichen" in admin.stderr
    assert common.returncode == 2 and "zu verbreitet" in common.stderr


def test_v6_2_5_v6_2_9_any_characters_and_long_passwords_are_allowed(site, database_url, run_idp):
    _people(site)
    for password in ("nurkleinbuchstabenundlang", "Grüße aus Güstrow 🌊", "x" * 40 + "y" * 40):
        result = _idp(run_idp, database_url, "users", "set-password", "lea.lern", input=password)
        assert result.returncode == 0, (password, result.stderr)
        assert browser(site).login("lea.lern", password).location == "/"


def test_v6_2_11_context_words_and_own_name_are_refused(site, database_url, run_idp):
    _people(site)
    for password in ("Mecklenburg2026!", "schule-schule", "LeaLern-2026!!"):
        result = _idp(run_idp, database_url, "users", "set-password", "lea.lern", input=password)
        assert result.returncode == 2, password


def test_unknown_user_is_exit_code_2(site, database_url, run_idp):
    _people(site)

    result = _idp(run_idp, database_url, "users", "unlock", "gibt.es.nicht")

    assert result.returncode == 2 and "gibt.es.nicht" in result.stderr


def test_totp_enrol_json_prints_the_secret_once_and_it_works(site, database_url, run_idp):
    _people(site)
    _idp(run_idp, database_url, "users", "set-password", "ida.admin", input=PASSWORD)

    result = _idp(run_idp, database_url, "users", "totp", "ida.admin", "--enrol", "--json")

    assert result.returncode == 0, result.stderr
    enrolled = json.loads(result.stdout)
    assert enrolled["uri"].startswith("otpauth://totp/")
    assert len(enrolled["recovery_codes"]) == 10
    b = browser(site)
    assert b.login("ida.admin").location == "/login/code"
    code = pyotp.TOTP(enrolled["secret"]).now()
    assert b.submit("/login/code", {"code": code}).location == "/"


def test_totp_reset_is_audited_and_asks_for_enrolment_again(site, database_url, run_idp):
    _people(site)
    _idp(run_idp, database_url, "users", "set-password", "ida.admin", input=PASSWORD)
    _idp(run_idp, database_url, "users", "totp", "ida.admin", "--enrol", "--json")

    result = _idp(
        run_idp, database_url, "users", "totp", "ida.admin", "--reset", "--actor", "schulamt:kim"
    )

    assert result.returncode == 0, result.stderr
    assert browser(site).login("ida.admin").location == "/login/zweiter-faktor"
    with data(site) as s:
        event = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "zweitfaktor.zurueckgesetzt")
        ).one()
        assert (event.actor, event.target) == ("schulamt:kim", "ida.admin")


def test_unlock_lifts_the_soft_lock(site, database_url, run_idp):
    _people(site)
    _idp(run_idp, database_url, "users", "set-password", "lea.lern", input=PASSWORD)
    attacker = browser(site)
    for _ in range(10):
        attacker.login("lea.lern", "daneben")
    with data(site) as s:
        s.execute(
            LoginThrottle.__table__.update()
            .where(LoginThrottle.kind == "ip")
            .values(blocked_until=None)
        )
        s.commit()

    result = _idp(run_idp, database_url, "users", "unlock", "lea.lern")

    assert result.returncode == 0 and "Sperre aufgehoben" in result.stdout
    assert browser(site).login("lea.lern").location == "/"


def test_initial_passwords_for_a_school_into_a_csv_for_letters(
    site, database_url, run_idp, tmp_path
):
    _people(site)
    out = tmp_path / "briefe.csv"

    result = _idp(
        run_idp, database_url, "users", "initial-passwords", "--school", "750001", "--out", str(out)
    )

    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8"), delimiter=";"))
    assert sorted(r["Benutzername"] for r in rows) == ["ida.admin", "lea.lern"]
    lea = next(r for r in rows if r["Benutzername"] == "lea.lern")
    with data(site) as s:
        person = s.scalar(select(Person).where(Person.username == "lea.lern"))
        assert person.must_change_password
        assert lea["Initialpasswort"] not in (person.password_hash or "")
        assert passwords.verify(
            passwords.HashParameters(), lea["Initialpasswort"], person.password_hash
        )[0]
    assert (
        browser(site).login("lea.lern", lea["Initialpasswort"]).location == "/login/neues-passwort"
    )


def test_initial_passwords_write_failure_changes_nothing(site, database_url, run_idp, tmp_path):
    _people(site)

    result = _idp(
        run_idp,
        database_url,
        "users",
        "initial-passwords",
        "lea.lern",
        "--out",
        str(tmp_path / "fehlt" / "briefe.csv"),
    )

    assert result.returncode != 0
    with data(site) as s:
        assert s.scalar(select(Person.password_hash).where(Person.username == "lea.lern")) is None


def test_v7_4_5_operator_ends_the_sessions_of_one_person_or_everybody(site, database_url, run_idp):
    _people(site)
    with data(site) as s:
        for name in ("lea.lern", "otto.anders"):
            with_password(s, s.scalar(select(Person).where(Person.username == name)))
    lea, otto = browser(site), browser(site)
    lea.login("lea.lern")
    otto.login("otto.anders")

    one = _idp(run_idp, database_url, "users", "end-sessions", "lea.lern")
    assert one.returncode == 0 and lea.get("/konto").location == "/login"
    assert otto.get("/konto").status_code == 200
    everyone = _idp(run_idp, database_url, "users", "end-sessions", "--all")

    assert everyone.returncode == 0 and otto.get("/konto").location == "/login"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_demo_logins_work_as_printed(site, database_url, run_idp, tmp_path):
    export = demo_export(tmp_path / "demo", schools=1)
    for source in ("sip", "personal"):
        code, _data, stderr = idp_import(
            run_idp, database_url, "run", "--source", source, str(export / source)
        )
        assert code == 0, stderr

    client_file = tmp_path / "demo-client.json"
    result = _idp(run_idp, database_url, "demo-logins", "--json", "--client-file", str(client_file))

    assert result.returncode == 0, result.stderr
    registration = json.loads(client_file.read_text())
    with data(site) as s:
        client = s.get(OAuthClient, registration["client_id"])
        assert client.name == "Demo-Dienst" and client.check_client_secret(
            registration["client_secret"]
        )
    logins = {login["rolle"].split(" ")[0]: login for login in json.loads(result.stdout)}
    learner, teacher = logins["Schülerin/Schüler"], logins["Lehrkraft"]
    official = logins["Bildungsministerium"]
    assert browser(site).login(learner["username"], learner["password"]).location == (
        "/login/neues-passwort"
    )
    assert browser(site).login(teacher["username"], teacher["password"]).location == (
        "/login/zweiter-faktor"
    )
    b = browser(site)
    assert b.login(official["username"], official["password"]).location == "/login/code"
    code = pyotp.TOTP(official["totp_secret"]).now()
    assert b.submit("/login/code", {"code": code}).location == "/"
