"""The second factor through the real pages: who must have one, enrolment, codes, recovery.

Test names carry the OWASP ASVS 5.0 requirement they check (v6_5_1 = V6.5.1).
"""

from __future__ import annotations

import datetime as dt
import re

import pyotp
import time_machine
from sqlalchemy import select

from idp.auth import totp
from idp.models import LoginSession, Person, RecoveryCode, TotpCredential
from tests import factories as f
from tests.web import PASSWORD, Browser, browser, data, with_password, with_totp

START = dt.datetime(2026, 11, 30, 7, 45, tzinfo=dt.UTC)


def _person(site, username: str, rolle: str, where: str = "schule") -> None:
    with data(site) as s:
        state = f.small_state(s)
        p = f.person(s, username, username.split(".")[0].title(), "Muster")
        f.kontext(s, p, getattr(state, where), rolle)
        with_password(s, p)


def _secret_on_page(html: str) -> str:
    found = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', html)
    assert found, "no secret shown"
    return found.group(1).replace(" ", "")


def _enrol(b: Browser, path: str = "/login/zweiter-faktor") -> tuple[pyotp.TOTP, list[str]]:
    page = b.get(path)
    assert 'src="data:image/svg+xml' in page.text  # the QR code
    secret = pyotp.TOTP(_secret_on_page(page.text))
    done = b.submit(path, {"code": secret.now()})
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([A-Za-z0-9-]+)</code></li>", done.text)
    return secret, codes


def test_admin_must_enrol_at_login_and_then_always_give_a_code(site):
    _person(site, "ida.admin", "IDM_SCHULE")
    b = browser(site)

    with time_machine.travel(START, tick=False) as clock:
        assert b.login("ida.admin").location == "/login/zweiter-faktor"
        assert b.get("/konto").status_code == 302  # no way around the enrolment
        secret, codes = _enrol(b)
        assert len(codes) == 10 and len(set(codes)) == 10
        assert b.get("/konto").status_code == 200

        clock.shift(dt.timedelta(minutes=1))
        again = browser(site)
        assert again.login("ida.admin").location == "/login/code"
        assert again.submit("/login/code", {"code": secret.now()}).location == "/"

    with data(site) as s:
        row = s.scalars(select(LoginSession).order_by(LoginSession.created_at.desc())).first()
        assert row.amr == ["otp", "pwd"] and row.otp_time is not None


def test_person_entitled_to_a_sensitive_service_must_enrol(site):
    _person(site, "sara.amt", "SCHULAMT_MA", where="schulamt")

    assert browser(site).login("sara.amt").location == "/login/zweiter-faktor"


def test_learner_needs_no_second_factor(site):
    _person(site, "lea.lern", "LERN")

    assert browser(site).login("lea.lern").location == "/"


def test_enrolment_with_a_wrong_code_stores_nothing(site):
    _person(site, "ida.admin", "IDM_SCHULE")
    b = browser(site)
    b.login("ida.admin")

    page = b.submit("/login/zweiter-faktor", {"code": "123456"})

    assert "Der Code passt nicht" in page.text
    with data(site) as s:
        assert s.scalars(select(TotpCredential)).all() == []


def test_v6_5_1_a_totp_code_works_only_once(site):
    _person(site, "ida.admin", "IDM_SCHULE")
    with data(site) as s:
        code = with_totp(s, s.scalar(select(Person)))
    with time_machine.travel(START, tick=False):
        first, second = browser(site), browser(site)
        first.login("ida.admin")
        second.login("ida.admin")
        now = code.now()

        assert first.submit("/login/code", {"code": now}).location == "/"
        replay = second.submit("/login/code", {"code": now})

    assert replay.status_code == 200 and "schon verwendet" in replay.text


def test_v6_5_5_codes_older_than_the_drift_window_fail(site):
    _person(site, "ida.admin", "IDM_SCHULE")
    with data(site) as s:
        code = with_totp(s, s.scalar(select(Person)))
    b = browser(site)
    with time_machine.travel(START, tick=False) as clock:
        old = code.now()
        clock.shift(dt.timedelta(seconds=95))  # three 30-second steps later
        b.login("ida.admin")

        assert "nicht richtig" in b.submit("/login/code", {"code": old}).text


def test_v6_5_1_v6_5_2_recovery_codes_are_hashed_and_work_once(site):
    _person(site, "ida.admin", "IDM_SCHULE")
    b = browser(site)
    b.login("ida.admin")
    _secret, codes = _enrol(b)
    with data(site) as s:
        stored = s.scalars(select(RecoveryCode.code_hash)).all()
        assert len(stored) == 10 and all(h.startswith("$argon2id$") for h in stored)
        assert not any(c.replace("-", "") in h for c in codes for h in stored)

    first = browser(site)
    first.login("ida.admin")
    assert first.submit("/login/code", {"code": codes[3]}).location == "/"
    second = browser(site)
    second.login("ida.admin")
    assert "nicht richtig" in second.submit("/login/code", {"code": codes[3]}).text


def test_v6_5_3_secrets_are_random_and_stored_encrypted(site):
    _person(site, "ida.admin", "IDM_SCHULE")
    secrets = {totp.new_secret() for _ in range(100)}
    assert len(secrets) == 100 and all(len(x) == 32 for x in secrets)

    b = browser(site)
    b.login("ida.admin")
    secret, _codes = _enrol(b)

    with data(site) as s:
        stored = s.scalars(select(TotpCredential.secret_encrypted)).one()
        assert secret.secret.encode() not in stored


def test_wrong_codes_count_against_the_account(site):
    _person(site, "ida.admin", "IDM_SCHULE")
    with data(site) as s:
        code = with_totp(s, s.scalar(select(Person)))
    with time_machine.travel(START, tick=False):
        b = browser(site)
        b.login("ida.admin")
        for wrong in ("000000", "111111", "222222"):
            b.submit("/login/code", {"code": wrong})
        # The third failure makes the account wait: even the right code is not looked at.
        page = b.submit("/login/code", {"code": code.now()})

    assert "Die Anmeldung ist fehlgeschlagen" in page.text


def test_replacing_the_factor_needs_a_fresh_login_with_the_old_one(site):
    _person(site, "ida.admin", "IDM_SCHULE")
    b = browser(site)
    with time_machine.travel(START, tick=False) as clock:
        b.login("ida.admin")
        old, _codes = _enrol(b)
        clock.shift(dt.timedelta(minutes=10))

        asked = b.get("/konto/zweiter-faktor")
        assert asked.location == "/login"
        b.login("ida.admin")
        assert b.submit("/login/code", {"code": old.now()}).location == "/konto/zweiter-faktor"
        clock.shift(dt.timedelta(seconds=30))
        new, codes = _enrol(b, "/konto/zweiter-faktor")

    assert new.secret != old.secret and len(codes) == 10


def test_self_service_enrol_and_remove_for_a_learner(site):
    _person(site, "lea.lern", "LERN")
    b = browser(site)
    with time_machine.travel(START, tick=False) as clock:
        b.login("lea.lern")
        _enrol(b, "/konto/zweiter-faktor")
        assert "Eingerichtet. Noch 10 unbenutzte" in b.get("/konto").text
        clock.shift(dt.timedelta(seconds=60))

        removed = b.submit("/konto/zweiter-faktor/entfernen", {}, page="/konto")

    assert removed.location == "/konto"
    with data(site) as s:
        assert s.scalars(select(TotpCredential)).all() == []
        assert s.scalars(select(RecoveryCode)).all() == []


def test_admin_cannot_remove_a_required_factor(site):
    _person(site, "ida.admin", "IDM_SCHULE")
    b = browser(site)
    b.login("ida.admin")
    _enrol(b)

    b.submit("/konto/zweiter-faktor/entfernen", {}, page="/konto")

    with data(site) as s:
        assert s.scalars(select(TotpCredential)).one() is not None


def test_new_recovery_codes_replace_the_old_ones(site):
    _person(site, "ida.admin", "IDM_SCHULE")
    b = browser(site)
    b.login("ida.admin")
    _secret, old_codes = _enrol(b)

    page = b.submit("/konto/wiederherstellungscodes", {}, page="/konto")

    new_codes = re.findall(r"<li><code>([A-Za-z0-9-]+)</code></li>", page.text)
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    other = browser(site)
    other.login("ida.admin")
    assert "nicht richtig" in other.submit("/login/code", {"code": old_codes[0]}).text


def test_password_alone_never_completes_an_enrolled_login(site):
    _person(site, "lea.lern", "LERN")
    with data(site) as s:
        with_totp(s, s.scalar(select(Person)))
    b = browser(site)

    assert b.login("lea.lern").location == "/login/code"
    assert b.get("/konto").status_code == 302
    with data(site) as s:
        assert (
            s.scalars(select(LoginSession).where(LoginSession.person_id.is_not(None))).all() == []
        )


def test_password_in_progress_expires_after_ten_minutes(site):
    _person(site, "lea.lern", "LERN")
    with data(site) as s:
        code = with_totp(s, s.scalar(select(Person)))
    b = browser(site)
    with time_machine.travel(START, tick=False) as clock:
        b.login("lea.lern")
        clock.shift(dt.timedelta(minutes=11))

        assert b.submit("/login/code", {"code": code.now()}, page="/login").location == "/login"


def test_qr_code_encodes_the_provisioning_uri():
    uri = totp.provisioning_uri("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "ida.admin", "Schul-Login")

    assert (
        uri
        == "otpauth://totp/Schul-Login:ida.admin?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Schul-Login"
    )
    assert totp.qr_data_uri(uri).startswith("data:image/svg+xml")


def test_login_with_password_and_code_in_one_form(site):
    _person(site, "ida.admin", "IDM_SCHULE")
    with data(site) as s:
        code = with_totp(s, s.scalar(select(Person)))

    response = browser(site).submit(
        "/login/mit-code", {"login_name": "ida.admin", "password": PASSWORD, "code": code.now()}
    )

    assert response.location == "/"
