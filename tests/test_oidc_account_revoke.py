"""People take a service's lasting access back themselves, on their account page: the
services holding refresh tokens are listed, and revoking one ends its refresh tokens and the
access tokens issued with them.

Test names carry the OWASP ASVS 5.0 requirement they check (v10_4_9 = V10.4.9).
"""

from __future__ import annotations

import json

from sqlalchemy import select

from idp import audit
from idp.models import AuditEvent, OAuthClient
from tests import oidc_rp as rp
from tests.web import Browser, browser, data

REVOKE = "/konto/dienste/zugriff-entziehen"
SECTION = "Dienste mit dauerhaftem Zugriff"


def _client(site, name: str, service: str = "stundenplan") -> rp.Client:
    client = rp.register(site, service)
    with data(site) as s:
        s.get(OAuthClient, client.client_id).name = name
        s.commit()
    return client


def _tokens(
    b: Browser, client: rp.Client, username: str, scope: str = "openid offline_access", totp=None
) -> rp.Tokens:
    request = rp.authorization(client, scope)
    return rp.exchange(request, rp.sign_in(b, request, username, totp))


def _services_section(page: str) -> str:
    return page[page.index(SECTION) :]


def _revocations(site) -> list[AuditEvent]:
    with data(site) as s:
        return list(
            s.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "dienstzugriff.entzogen")
                .order_by(AuditEvent.id)
            )
        )


def test_v10_4_9_the_account_page_lists_services_holding_refresh_tokens(site):
    school = rp.school(site)
    planner = _client(site, "Stundenplan-App")
    website = _client(site, "Stundenplan im Browser")
    teachers = _client(site, "Klassenbuch-App", service="klassenbuch")
    b = browser(site)
    _tokens(b, planner, "lea.lern")
    _tokens(b, planner, "lea.lern")  # a second login of the same service: listed once
    _tokens(b, website, "lea.lern", scope="openid profile")  # no offline_access
    _tokens(browser(site), teachers, "tom.lehrer", totp=school.teacher_totp)

    page = b.get("/konto")

    assert page.status_code == 200
    section = _services_section(page.text)
    assert section.count("Stundenplan-App") == 1
    assert "Stundenplan im Browser" not in section and "Klassenbuch-App" not in section
    assert f'value="{planner.client_id}"' in section


def test_v10_4_9_nothing_listed_without_refresh_tokens(site):
    rp.school(site, teacher=False)
    client = _client(site, "Stundenplan-App")
    b = browser(site)
    _tokens(b, client, "lea.lern", scope="openid")

    page = b.get("/konto")

    assert "Kein Dienst hat dauerhaften Zugriff auf Ihr Konto." in page.text
    assert "Stundenplan-App" not in page.text


def test_v10_4_9_revoking_a_service_ends_its_refresh_and_access_tokens(site):
    rp.school(site, teacher=False)
    planner = _client(site, "Stundenplan-App")
    other = _client(site, "Stundenplan im Browser")
    b = browser(site)
    first = _tokens(b, planner, "lea.lern")
    second = _tokens(b, planner, "lea.lern")
    kept = _tokens(b, other, "lea.lern")

    answer = b.submit(REVOKE, {"target": planner.client_id}, page="/konto")

    assert answer.status_code == 302 and answer.location == "/konto"
    page = b.get("/konto")
    assert "Der Zugriff von Stundenplan-App wurde entzogen." in page.text
    assert "Stundenplan-App" not in _services_section(page.text)
    for tokens in (first, second):
        refused = planner.refresh(tokens.refresh)
        assert refused.status_code == 400 and refused.json["error"] == "invalid_grant"
        assert planner.introspect(tokens.refresh) == {"active": False}
        assert planner.introspect(tokens.access) == {"active": False}
        assert rp.userinfo(site, tokens.access).status_code == 401
    assert other.refresh(kept.refresh).status_code == 200
    assert rp.userinfo(site, kept.access).status_code == 200


def test_v10_4_9_a_revocation_is_in_the_audit_trail(site):
    rp.school(site, teacher=False)
    planner = _client(site, "Stundenplan-App")
    b = browser(site)
    _tokens(b, planner, "lea.lern")
    _tokens(b, planner, "lea.lern")

    b.submit(REVOKE, {"target": planner.client_id}, page="/konto")

    events = _revocations(site)
    assert len(events) == 1
    event = events[0]
    assert event.actor == "konto:lea.lern" and event.target == "lea.lern"
    assert json.loads(event.details) == {
        "client_id": planner.client_id,
        "name": "Stundenplan-App",
        "familien": 2,
    }
    with data(site) as s:
        assert audit.verify(s).ok


def test_v10_4_9_revoking_needs_the_forms_csrf_token(site):
    rp.school(site, teacher=False)
    planner = _client(site, "Stundenplan-App")
    b = browser(site)
    tokens = _tokens(b, planner, "lea.lern")

    forged = b.client.post(REVOKE, data={"target": planner.client_id})

    assert forged.status_code in (302, 400)
    assert planner.refresh(tokens.refresh).status_code == 200
    assert _revocations(site) == []


def test_v10_4_9_revoking_needs_a_login(site):
    rp.school(site, teacher=False)
    planner = _client(site, "Stundenplan-App")
    tokens = _tokens(browser(site), planner, "lea.lern")
    stranger = browser(site)

    answer = stranger.submit(REVOKE, {"target": planner.client_id}, page="/login")

    assert answer.status_code == 302 and answer.location.startswith("/login")
    assert planner.refresh(tokens.refresh).status_code == 200


def test_v10_4_9_a_person_revokes_only_their_own_access(site):
    school = rp.school(site)
    planner = _client(site, "Stundenplan-App")
    teachers = _client(site, "Klassenbuch-App", service="klassenbuch")
    learner = browser(site)
    lea = _tokens(learner, planner, "lea.lern")
    teacher = browser(site)
    tom = _tokens(teacher, planner, "tom.lehrer", totp=school.teacher_totp)
    toms_book = _tokens(teacher, teachers, "tom.lehrer", totp=school.teacher_totp)

    own = learner.submit(REVOKE, {"target": planner.client_id}, page="/konto")
    foreign = learner.submit(REVOKE, {"target": teachers.client_id}, page="/konto")

    assert own.status_code == 302 and foreign.status_code == 302
    assert planner.refresh(lea.refresh).status_code == 400
    assert planner.refresh(tom.refresh).status_code == 200
    assert teachers.refresh(toms_book.refresh).status_code == 200
    assert [json.loads(e.details)["client_id"] for e in _revocations(site)] == [planner.client_id]
