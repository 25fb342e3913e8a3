"""What the OpenID provider refuses: foreign redirect URIs, replayed and foreign codes and
refresh tokens, broken PKCE, forged tokens, forbidden grants, people without entitlement.

Test names carry the OWASP ASVS 5.0 requirement they check (v10_4_1 = V10.4.1).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from urllib.parse import urlencode

import pytest
import time_machine
from sqlalchemy import select

from idp.clock import today
from idp.models import OptOut, Person, Personenkontext, PersonStatus
from idp.oidc import server
from idp.policy import current_policies
from idp.retention import run_retention
from tests import oidc_rp as rp
from tests.web import PASSWORD, browser, data

START = dt.datetime(2026, 11, 30, 7, 45, tzinfo=dt.UTC)
INVALID_REQUEST_PAGE = "Die Anmeldeanfrage des Dienstes ist ungültig."


def _signed_in(site, client: rp.Client, scope: str = "openid profile offline_access"):
    """The learner's authorization request and the response that carries the code."""
    request = rp.authorization(client, scope)
    return request, rp.sign_in(browser(site), request, "lea.lern")


def _flip(value: str, at: int) -> str:
    """`value` with one base64url character changed at position `at`."""
    return value[:at] + ("A" if value[at] != "A" else "B") + value[at + 1 :]


def test_v10_4_1_redirect_uri_must_match_exactly(site):
    client = rp.register(site, "stundenplan")
    near_misses = [
        "https://evil.example/callback",
        rp.REDIRECT_URI + "/",
        "https://RP.example/callback",
        "https://rp.example/Callback",
        rp.REDIRECT_URI + "?next=https://evil.example/",
        "https://rp.example.evil.example/callback",
        "http://rp.example/callback",
    ]

    answers = {
        uri: browser(site).get(rp.authorization(client, redirect_uri=uri).path)
        for uri in near_misses
    }

    for uri, answer in answers.items():
        assert answer.status_code == 400 and "Location" not in answer.headers, uri
        assert INVALID_REQUEST_PAGE in answer.text, uri


def test_v10_4_1_unknown_client_gets_no_redirect(site):
    query = urlencode(
        {
            "response_type": "code",
            "client_id": "gibt-es-nicht",
            "redirect_uri": rp.REDIRECT_URI,
            "scope": "openid",
            "state": "s",
        }
    )

    answer = browser(site).get(f"/oidc/authorize?{query}")

    assert answer.status_code == 400 and "Location" not in answer.headers
    assert INVALID_REQUEST_PAGE in answer.text


def test_v10_4_1_redirect_uri_is_required_with_several_registered(site):
    client = rp.register(
        site, "stundenplan", redirect_uris=(rp.REDIRECT_URI, "https://rp.example/zweite")
    )
    request = rp.authorization(client, redirect_uri=None)

    answer = browser(site).get(request.path)

    assert answer.status_code == 400 and "Location" not in answer.headers


def test_v10_4_1_token_request_must_repeat_the_redirect_uri(site):
    rp.school(site, teacher=False)
    client = rp.register(
        site, "stundenplan", redirect_uris=(rp.REDIRECT_URI, "https://rp.example/zweite")
    )
    request, response = _signed_in(site, client)

    answer = client.redeem(
        rp.code_from(response, request),
        request.verifier,
        redirect_uri="https://rp.example/zweite",
    )

    assert answer.status_code == 400 and answer.json["error"] == "invalid_grant"


def test_v10_4_2_a_code_works_once_and_its_reuse_revokes_the_tokens(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    request, response = _signed_in(site, client)
    code = rp.code_from(response, request)
    first = client.redeem(code, request.verifier)
    assert first.status_code == 200
    assert rp.userinfo(site, first.json["access_token"]).status_code == 200

    second = client.redeem(code, request.verifier)

    assert second.status_code == 400 and second.json["error"] == "invalid_grant"
    assert rp.userinfo(site, first.json["access_token"]).status_code == 401
    assert client.introspect(first.json["access_token"]) == {"active": False}
    assert client.refresh(first.json["refresh_token"]).status_code == 400


def test_v10_4_6_pkce_verifier_must_match(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    request, response = _signed_in(site, client)
    code = rp.code_from(response, request)

    wrong = client.redeem(code, "x" * 64)
    missing = client.redeem(code, None)

    assert wrong.status_code == 400 and wrong.json["error"] == "invalid_grant"
    assert missing.status_code == 400 and "access_token" not in missing.json


def test_v10_4_6_a_verifier_without_challenge_is_refused(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    request = rp.authorization(client, pkce=False)
    response = rp.sign_in(browser(site), request, "lea.lern")

    answer = client.redeem(rp.code_from(response, request), "y" * 64)

    assert answer.status_code == 400 and "access_token" not in answer.json


def test_v10_4_6_only_s256_challenges(site):
    client = rp.register(site, "stundenplan")
    refused = [("plain", "z" * 64), (None, rp.s256("z" * 64)), ("S512", rp.s256("z" * 64))]

    answers = {
        method: browser(site).get(
            rp.authorization(
                client, pkce=False, code_challenge=challenge, code_challenge_method=method
            ).path
        )
        for method, challenge in refused
    }

    for method, answer in answers.items():
        params = rp.redirect_params(answer)
        assert params["error"] == "invalid_request" and "code" not in params, method


def test_v10_4_6_public_client_without_pkce_is_refused(site):
    client = rp.register(site, "stundenplan", public=True)
    request = rp.authorization(client, pkce=False)

    answer = browser(site).get(request.path)

    params = rp.redirect_params(answer)
    assert params["error"] == "invalid_request" and params["state"] == request.state


def test_v10_4_10_public_client_cannot_use_client_credentials(site):
    client = rp.register(site, "stundenplan", public=True)

    answer = client.token(grant_type="client_credentials")

    assert answer.status_code in (400, 401) and "access_token" not in answer.json


def test_v10_4_10_confidential_client_must_authenticate(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    request, response = _signed_in(site, client)
    form = {
        "grant_type": "authorization_code",
        "code": rp.code_from(response, request),
        "redirect_uri": client.redirect_uri,
        "code_verifier": request.verifier,
        "client_id": client.client_id,
    }

    anonymous = site.test_client().post("/oidc/token", data=form)
    wrong = site.test_client().post("/oidc/token", data=form, auth=(client.client_id, "f" * 43))

    assert anonymous.status_code == 401 and anonymous.json["error"] == "invalid_client"
    assert wrong.status_code == 401 and wrong.json["error"] == "invalid_client"


def test_v10_4_3_an_expired_code_is_refused(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    with time_machine.travel(START, tick=False) as clock:
        request, response = _signed_in(site, client)
        clock.shift(dt.timedelta(seconds=61))

        answer = client.redeem(rp.code_from(response, request), request.verifier)

    assert answer.status_code == 400 and answer.json["error"] == "invalid_grant"


def test_a_code_is_only_for_the_client_it_was_issued_to(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    thief = rp.register(site, "stundenplan")
    request, response = _signed_in(site, client)
    code = rp.code_from(response, request)

    stolen = thief.redeem(code, request.verifier)

    assert stolen.status_code == 400 and stolen.json["error"] == "invalid_grant"
    assert client.redeem(code, request.verifier).status_code == 200


def test_a_refresh_token_is_only_for_its_client(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    thief = rp.register(site, "stundenplan")
    request, response = _signed_in(site, client)
    tokens = rp.exchange(request, response)

    stolen = thief.refresh(tokens.refresh)

    assert stolen.status_code == 400 and stolen.json["error"] == "invalid_grant"
    assert thief.introspect(tokens.refresh) == {"active": False}


def test_a_client_cannot_revoke_another_clients_tokens(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    other = rp.register(site, "stundenplan")
    tokens = rp.exchange(*_signed_in(site, client))

    access = other.revoke(tokens.access)
    refresh = other.revoke(tokens.refresh)

    assert access.status_code == 400 and refresh.status_code == 400
    assert rp.userinfo(site, tokens.access).status_code == 200
    assert client.refresh(tokens.refresh).status_code == 200


def test_v10_4_5_reused_refresh_token_revokes_its_family(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    request, response = _signed_in(site, client)
    tokens = rp.exchange(request, response)
    newer = client.refresh(tokens.refresh).json
    assert rp.userinfo(site, newer["access_token"]).status_code == 200

    replay = client.refresh(tokens.refresh)

    assert replay.status_code == 400 and replay.json["error"] == "invalid_grant"
    assert client.refresh(newer["refresh_token"]).status_code == 400
    assert client.introspect(newer["refresh_token"]) == {"active": False}
    for access in (tokens.access, newer["access_token"]):
        assert rp.userinfo(site, access).status_code == 401
        assert client.introspect(access) == {"active": False}


def test_v10_4_5_refresh_token_used_by_a_concurrent_request_revokes_its_family(site, monkeypatch):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    tokens = rp.exchange(*_signed_in(site, client))
    person_may_use = server.person_may_use
    winners = []

    def concurrent_refresh(person, oauth_client):
        """The same token in another request, between this request's read and its update."""
        monkeypatch.setattr(server, "person_may_use", person_may_use)
        with site.app_context():  # its own session and transaction
            winners.append(client.refresh(tokens.refresh))
        return person_may_use(person, oauth_client)

    monkeypatch.setattr(server, "person_may_use", concurrent_refresh)

    loser = client.refresh(tokens.refresh)

    [winner] = winners
    assert winner.status_code == 200
    assert loser.status_code == 400 and loser.json["error"] == "invalid_grant"
    for access in (tokens.access, winner.json["access_token"]):
        assert rp.userinfo(site, access).status_code == 401
        assert client.introspect(access) == {"active": False}
    # The replayed original last: its reuse alone would end the family.
    for refresh in (winner.json["refresh_token"], tokens.refresh):
        assert client.introspect(refresh) == {"active": False}
        assert client.refresh(refresh).json["error"] == "invalid_grant"


def test_v10_4_5_another_login_is_not_hit_by_a_revoked_family(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    stolen = rp.exchange(*_signed_in(site, client))
    other = rp.exchange(*_signed_in(site, client))
    client.refresh(stolen.refresh)

    client.refresh(stolen.refresh)

    assert rp.userinfo(site, other.access).status_code == 200
    assert client.refresh(other.refresh).status_code == 200


def test_v10_4_8_an_unused_refresh_token_expires(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    with time_machine.travel(START, tick=False) as clock:
        tokens = rp.exchange(*_signed_in(site, client))
        clock.shift(dt.timedelta(days=31))  # [oidc] refresh_token_days = 30

        answer = client.refresh(tokens.refresh)

    assert answer.status_code == 400 and answer.json["error"] == "invalid_grant"


def test_v10_4_8_a_refresh_family_ends_after_refresh_token_days(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    with time_machine.travel(START, tick=False) as clock:
        tokens = rp.exchange(*_signed_in(site, client))
        clock.shift(dt.timedelta(days=20))
        newer = client.refresh(tokens.refresh).json["refresh_token"]
        clock.shift(dt.timedelta(days=20))  # 40 days after the login

        answer = client.refresh(newer)

    assert answer.status_code == 400 and "access_token" not in answer.json


def test_refresh_cannot_widen_the_scope(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    tokens = rp.exchange(*_signed_in(site, client, "openid offline_access"))

    answer = client.token(
        grant_type="refresh_token",
        refresh_token=tokens.refresh,
        scope="openid profile email offline_access",
    )

    assert answer.status_code == 400 and answer.json["error"] == "invalid_scope"


def test_an_expired_access_token_is_refused(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    with time_machine.travel(START, tick=False) as clock:
        tokens = rp.exchange(*_signed_in(site, client))
        clock.shift(dt.timedelta(seconds=301))  # [oidc] access_token_seconds = 300

        answer = rp.userinfo(site, tokens.access)
        seen = client.introspect(tokens.access)

    assert answer.status_code == 401 and seen == {"active": False}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize("alg", ["none", "HS256"])
def test_access_token_with_a_downgraded_algorithm_is_refused(site, alg):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    tokens = rp.exchange(*_signed_in(site, client))
    head, payload, _signature = tokens.access.split(".")
    kid = json.loads(base64.urlsafe_b64decode(head + "=="))["kid"]
    forged_head = _b64(json.dumps({"alg": alg, "kid": kid, "typ": "at+jwt"}).encode())
    signature = ""
    if alg == "HS256":  # the classic confusion: the public key as an HMAC secret
        public = rp.jwks(site).get_by_kid(kid).as_pem(private=False)
        mac = hmac.new(public, f"{forged_head}.{payload}".encode(), hashlib.sha256)
        signature = _b64(mac.digest())
    forged = f"{forged_head}.{payload}.{signature}"

    answer = rp.userinfo(site, forged)

    assert answer.status_code == 401
    assert client.introspect(forged) == {"active": False}


@pytest.mark.parametrize("part", [1, 2], ids=["payload", "signature"])
def test_tampered_access_token_is_refused(site, part):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    tokens = rp.exchange(*_signed_in(site, client))
    pieces = tokens.access.split(".")
    pieces[part] = _flip(pieces[part], len(pieces[part]) // 2)
    forged = ".".join(pieces)

    answer = rp.userinfo(site, forged)

    assert answer.status_code == 401 and answer.json == {"error": "invalid_token"}
    assert client.introspect(forged) == {"active": False}


def test_an_id_token_is_no_access_token(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    tokens = rp.exchange(*_signed_in(site, client))
    pieces = tokens.raw["id_token"].split(".")
    pieces[1] = _flip(pieces[1], len(pieces[1]) // 2)

    genuine = rp.userinfo(site, tokens.raw["id_token"])
    forged = rp.userinfo(site, ".".join(pieces))

    assert genuine.status_code == 401 and forged.status_code == 401


def test_userinfo_without_a_valid_bearer_token(site):
    headers = ["", "Bearer ", "Basic abc", "Bearer a.b.c", "Bearer " + "x" * 300]

    answers = {
        header: site.test_client().get("/oidc/userinfo", headers={"Authorization": header})
        for header in headers
    }

    for header, answer in answers.items():
        assert answer.status_code == 401, header
        assert answer.headers["WWW-Authenticate"].startswith("Bearer"), header


def test_v10_4_4_v10_6_1_implicit_and_hybrid_flows_are_refused(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    b = browser(site)
    b.login("lea.lern")
    response_types = ["token", "id_token", "id_token token", "code token", "code id_token"]

    answers = {
        kind: b.get(rp.authorization(client, response_type=kind).path) for kind in response_types
    }

    for kind, answer in answers.items():
        params = rp.parse_location(answer.location)
        assert params["error"] == "unsupported_response_type", kind
        assert not {"access_token", "id_token", "code"} & set(params), kind


def test_v10_5_1_a_nonce_is_accepted_once_per_client(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    b = browser(site)
    first = rp.authorization(client)
    rp.code_from(rp.sign_in(b, first, "lea.lern"), first)

    replay = b.get(rp.authorization(client, nonce=first.nonce).path)

    params = rp.redirect_params(replay)
    assert params["error"] == "invalid_request" and "code" not in params


def test_v10_5_1_a_replayed_nonce_is_refused_after_a_fresh_login_too(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    first = rp.authorization(client)
    rp.code_from(rp.sign_in(browser(site), first, "lea.lern"), first)

    replay = rp.sign_in(browser(site), rp.authorization(client, nonce=first.nonce), "lea.lern")

    params = rp.redirect_params(replay)
    assert params["error"] == "invalid_request" and "code" not in params


def test_token_request_body_is_read_as_a_form(site):
    client = rp.register(site, "stundenplan")
    token = site.test_client()

    escaped = token.post(
        "/oidc/token",
        data="grant_type=client%5Fcredentials&scope=",
        content_type="application/x-www-form-urlencoded",
        auth=(client.client_id, client.secret),
    )
    not_utf8 = token.post(
        "/oidc/token",
        data=b"grant_type=client_credentials&x=\xff",
        content_type="application/x-www-form-urlencoded",
        auth=(client.client_id, client.secret),
    )

    assert escaped.status_code == 200
    # Like Werkzeug's own form parser: a body it cannot decode has no fields.
    assert not_utf8.status_code == 400 and not_utf8.json["error"] == "unsupported_grant_type"


def test_v10_4_4_password_grant_is_refused(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")

    answer = client.token(
        grant_type="password", username="lea.lern", password=PASSWORD, scope="openid"
    )

    assert answer.status_code == 400 and answer.json["error"] == "unsupported_grant_type"


def test_login_hint_is_shown_escaped(site):
    client = rp.register(site, "stundenplan")
    hint = '"><script>alert(1)</script>'
    b = browser(site)
    b.get(rp.authorization(client, login_hint=hint).path)

    page = b.get("/login")

    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text


def _denied_page(site, client: rp.Client, username: str):
    request = rp.authorization(client)
    b = browser(site)
    b.get(request.path)
    back = b.login(username)
    return b.get(back.location)


def test_a_learner_gets_no_code_for_a_teachers_service(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "notenbuch")

    answer = _denied_page(site, client, "lea.lern")

    assert answer.status_code == 403 and "Location" not in answer.headers
    assert "Kein Zugang zu" in answer.text
    assert "Ihre Rolle berechtigt nicht zur Nutzung dieses Dienstes." in answer.text
    assert "code=" not in answer.text and "error=access_denied" in answer.text


def test_an_opt_out_keeps_the_person_out(site):
    school = rp.school(site, teacher=False)
    with data(site) as s:
        s.add(OptOut(person_id=school.learner_id, service_code="stundenplan", created_by="test"))
        s.commit()
    client = rp.register(site, "stundenplan")

    answer = _denied_page(site, client, "lea.lern")

    assert answer.status_code == 403 and "Location" not in answer.headers
    assert "widersprochen" in answer.text and "code=" not in answer.text


def test_a_person_whose_contexts_ended_gets_no_code(site):
    school = rp.school(site, teacher=False)
    with data(site) as s:
        for kontext in s.scalars(
            select(Personenkontext).where(Personenkontext.person_id == school.learner_id)
        ):
            kontext.valid_until = today() - dt.timedelta(days=1)
        s.commit()
    client = rp.register(site, "stundenplan")

    answer = _denied_page(site, client, "lea.lern")

    assert answer.status_code == 403 and "Location" not in answer.headers
    assert "keiner Schule oder Dienststelle zugeordnet" in answer.text
    assert "code=" not in answer.text


@pytest.mark.parametrize("status", [PersonStatus.GESPERRT, PersonStatus.AUSGESCHIEDEN])
def test_an_inactive_persons_tokens_stop_working(site, status):
    school = rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    tokens = rp.exchange(*_signed_in(site, client))
    with data(site) as s:
        s.get(Person, school.learner_id).status = status
        s.commit()

    refreshed = client.refresh(tokens.refresh)

    assert refreshed.status_code == 400 and "access_token" not in refreshed.json
    assert rp.userinfo(site, tokens.access).status_code == 401


def test_entitlement_ending_between_code_and_token_stops_the_exchange(site):
    school = rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    request, response = _signed_in(site, client)
    with data(site) as s:
        s.add(OptOut(person_id=school.learner_id, service_code="stundenplan", created_by="test"))
        s.commit()

    answer = client.redeem(rp.code_from(response, request), request.verifier)

    assert answer.status_code == 400 and "access_token" not in answer.json


def _delete_by_retention(site, person_id) -> None:
    """The learner left long ago: the nightly retention run deletes them."""
    with data(site) as s:
        person = s.get(Person, person_id)
        person.ausgeschieden_am = today() - dt.timedelta(days=400)
        person.loeschdatum = today() - dt.timedelta(days=1)
        run_retention(s, current_policies(), "test")
        s.commit()
        assert s.get(Person, person_id) is None


@pytest.mark.parametrize("change", ["gesperrt", "ausgeschieden", "geloescht"])
def test_introspection_rechecks_the_person(site, change):
    school = rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    tokens = rp.exchange(*_signed_in(site, client))
    assert client.introspect(tokens.access)["active"] is True
    assert client.introspect(tokens.refresh)["active"] is True

    if change == "geloescht":
        _delete_by_retention(site, school.learner_id)
    else:
        with data(site) as s:
            s.get(Person, school.learner_id).status = PersonStatus(change)
            s.commit()

    assert client.introspect(tokens.access) == {"active": False}
    assert client.introspect(tokens.refresh) == {"active": False}


def test_introspection_rechecks_the_entitlement(site):
    school = rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    tokens = rp.exchange(*_signed_in(site, client))

    with data(site) as s:
        s.add(OptOut(person_id=school.learner_id, service_code="stundenplan", created_by="test"))
        s.commit()

    assert client.introspect(tokens.access) == {"active": False}
    assert client.introspect(tokens.refresh) == {"active": False}


def test_introspection_of_a_client_credentials_token_needs_no_person(site):
    client = rp.register(site, "stundenplan")
    issued = client.token(grant_type="client_credentials").json

    seen = client.introspect(issued["access_token"])

    assert seen["active"] is True and seen["client_id"] == client.client_id


def test_v10_6_1_response_modes_are_those_discovery_announces(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    b = browser(site)
    b.login("lea.lern")
    announced = site.test_client().get("/.well-known/openid-configuration").json
    refused = ["form_post", "fragment", "query.jwt", "web_message", "QUERY"]

    accepted = {
        mode: b.get(rp.authorization(client, response_mode=mode).path)
        for mode in announced["response_modes_supported"]
    }
    answers = {
        mode: (request, b.get(request.path))
        for mode in refused
        for request in [rp.authorization(client, response_mode=mode)]
    }

    assert announced["response_modes_supported"] == ["query"]
    for mode, answer in accepted.items():
        assert "code" in rp.redirect_params(answer), mode
    for mode, (request, answer) in answers.items():
        params = rp.redirect_params(answer)  # in the query, never a fragment or a form
        assert params["error"] == "invalid_request", mode
        assert params["state"] == request.state and "code" not in params, mode
        assert "#" not in answer.location, mode


def test_v10_4_1_unsupported_response_mode_with_a_foreign_redirect_uri_gets_no_redirect(site):
    client = rp.register(site, "stundenplan")
    request = rp.authorization(
        client, response_mode="form_post", redirect_uri="https://evil.example/callback"
    )

    answer = browser(site).get(request.path)

    assert answer.status_code == 400 and "Location" not in answer.headers
    assert INVALID_REQUEST_PAGE in answer.text
