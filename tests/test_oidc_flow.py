"""The OpenID provider as relying parties meet it: code flow with PKCE, ID token, userinfo,
refresh, client credentials, revocation, introspection, discovery, prompt, max_age, step-up.

Test names carry the OWASP ASVS 5.0 requirement they check (v10_4_6 = V10.4.6).
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from joserfc import jwt
from joserfc.errors import BadSignatureError, InvalidClaimError
from sqlalchemy import select

from idp.models import LoginSession
from tests import oidc_rp as rp
from tests.web import browser, data

START = dt.datetime(2026, 11, 30, 7, 45, tzinfo=dt.UTC)
ALL_SCOPES = "openid profile email schulconnex offline_access"


def _learner_tokens(site, client: rp.Client, scope: str = ALL_SCOPES) -> rp.Tokens:
    """The learner logs in for `client`; the verified tokens."""
    request = rp.authorization(client, scope)
    return rp.exchange(request, rp.sign_in(browser(site), request, "lea.lern"))


def test_v10_4_6_confidential_client_code_flow_with_pkce(site):
    school = rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    request = rp.authorization(client, ALL_SCOPES)
    b = browser(site)

    with time_machine.travel(START, tick=False):
        asked = b.get(request.path)
        back = rp.log_in(b, "lea.lern")
        tokens = rp.exchange(request, b.get(back.location))
        info = rp.userinfo(site, tokens.access)

    assert asked.location == "/login" and back.location == request.path
    claims = tokens.id_claims
    assert tokens.id_header["alg"] == "ES256" and tokens.raw["token_type"] == "Bearer"
    assert claims["auth_time"] == int(START.timestamp())
    assert claims["acr"] == rp.ACR_PASSWORD and claims["amr"] == ["pwd"]
    with data(site) as s:
        login = s.scalars(
            select(LoginSession).where(LoginSession.person_id == school.learner_id)
        ).one()
        assert claims["sid"] == str(login.id)
    assert claims["given_name"] == "Lea" and claims["preferred_username"] == "lea.lern"
    assert info.status_code == 200
    assert info.json["sub"] == claims["sub"]
    assert info.json["urn:schulconnex:de:gruppe:klasse"] == ["7b"]
    assert set(tokens.raw["scope"].split()) == set(ALL_SCOPES.split())


def test_v10_5_1_id_token_signature_and_nonce_are_checked(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    request = rp.authorization(client)
    tokens = rp.exchange(request, rp.sign_in(browser(site), request, "lea.lern"))
    id_token = tokens.raw["id_token"]
    head, payload, signature = id_token.split(".")
    forged = ".".join([head, payload, signature[:10] + "AAAA" + signature[14:]])

    with pytest.raises(BadSignatureError):
        jwt.decode(forged, rp.jwks(site), algorithms=["ES256"])
    with pytest.raises(InvalidClaimError, match="nonce"):
        rp.verify_id_token(client, id_token, "another-nonce", tokens.access)
    assert tokens.id_claims["nonce"] == request.nonce


def test_v10_4_6_public_client_needs_no_secret_but_pkce(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan", public=True)
    request = rp.authorization(client, "openid profile offline_access")

    tokens = rp.exchange(request, rp.sign_in(browser(site), request, "lea.lern"))
    refreshed = client.refresh(tokens.refresh)

    assert client.secret is None
    assert tokens.id_claims["aud"] == client.client_id
    assert rp.userinfo(site, tokens.access).json["sub"] == tokens.id_claims["sub"]
    assert refreshed.status_code == 200 and refreshed.json["refresh_token"] != tokens.refresh


def test_token_responses_are_not_stored_by_caches(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    request = rp.authorization(client, "openid offline_access")
    response = rp.sign_in(browser(site), request, "lea.lern")

    answer = client.redeem(rp.code_from(response, request), request.verifier)
    refreshed = client.refresh(answer.json["refresh_token"])

    for reply in (answer, refreshed):
        assert reply.status_code == 200 and "no-store" in reply.headers["Cache-Control"]


def test_token_endpoint_leaves_a_browser_session_alone(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    request = rp.authorization(client, "openid offline_access")
    b = browser(site)
    response = rp.sign_in(b, request, "lea.lern")
    cookie = b.cookie(site)
    with data(site) as s:
        seen_before = s.scalars(select(LoginSession.last_seen_at)).one()

    # Posted from the browser (a client page), the login cookie goes along: it must not count.
    answer = b.client.post(
        "/oidc/token",
        data={
            "grant_type": "authorization_code",
            "code": rp.code_from(response, request),
            "redirect_uri": client.redirect_uri,
            "code_verifier": request.verifier,
        },
        auth=(client.client_id, client.secret),
    )

    assert answer.status_code == 200
    assert "Set-Cookie" not in answer.headers and "Cookie" not in answer.vary
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Pragma"] == "no-cache"
    assert b.cookie(site) == cookie
    with data(site) as s:
        assert s.scalars(select(LoginSession.last_seen_at)).one() == seen_before


def test_client_secret_post_is_accepted(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    request = rp.authorization(client)
    response = rp.sign_in(browser(site), request, "lea.lern")

    answer = site.test_client().post(
        "/oidc/token",
        data={
            "grant_type": "authorization_code",
            "code": rp.code_from(response, request),
            "redirect_uri": client.redirect_uri,
            "code_verifier": request.verifier,
            "client_id": client.client_id,
            "client_secret": client.secret,
        },
    )

    assert answer.status_code == 200
    rp.verify_id_token(client, answer.json["id_token"], request.nonce, answer.json["access_token"])


def test_v10_4_5_refresh_rotates_and_the_used_token_is_refused(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    tokens = _learner_tokens(site, client)

    first = client.refresh(tokens.refresh)
    second = client.refresh(first.json["refresh_token"])
    replay = client.refresh(tokens.refresh)

    assert first.status_code == 200 and second.status_code == 200
    seen = {tokens.refresh, first.json["refresh_token"], second.json["refresh_token"]}
    assert len(seen) == 3
    assert replay.status_code == 400 and replay.json["error"] == "invalid_grant"


def test_refresh_keeps_scope_and_the_person(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    tokens = _learner_tokens(site, client, "openid profile offline_access")

    refreshed = client.refresh(tokens.refresh)
    info = rp.userinfo(site, refreshed.json["access_token"])

    assert set(refreshed.json["scope"].split()) == {"openid", "profile", "offline_access"}
    assert info.json["sub"] == tokens.id_claims["sub"] and "email" not in info.json


def test_no_refresh_token_without_offline_access(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")

    tokens = _learner_tokens(site, client, "openid profile")

    assert "refresh_token" not in tokens.raw


def test_v10_4_10_client_credentials_for_a_confidential_client(site):
    client = rp.register(site, "stundenplan")

    answer = client.token(grant_type="client_credentials")
    wrong_secret = site.test_client().post(
        "/oidc/token",
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, "x" * 43),
    )

    assert answer.status_code == 200 and "refresh_token" not in answer.json
    assert "id_token" not in answer.json
    seen = client.introspect(answer.json["access_token"])
    assert seen["active"] is True and seen["sub"] == client.client_id
    assert rp.userinfo(site, answer.json["access_token"]).status_code == 401  # no person
    assert wrong_secret.status_code == 401 and wrong_secret.json["error"] == "invalid_client"


def test_revoked_access_token_is_inactive_and_refused_at_userinfo(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    tokens = _learner_tokens(site, client)

    revoked = client.revoke(tokens.access, "access_token")

    assert revoked.status_code == 200
    assert client.introspect(tokens.access) == {"active": False}
    answer = rp.userinfo(site, tokens.access)
    assert answer.status_code == 401 and "invalid_token" in answer.headers["WWW-Authenticate"]
    assert client.refresh(tokens.refresh).status_code == 200  # only that one token ended


def test_revoked_refresh_token_ends_its_family(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    tokens = _learner_tokens(site, client)
    newer = client.refresh(tokens.refresh).json

    revoked = client.revoke(newer["refresh_token"], "refresh_token")

    assert revoked.status_code == 200
    assert client.refresh(newer["refresh_token"]).status_code == 400
    assert client.introspect(newer["refresh_token"]) == {"active": False}
    for access in (tokens.access, newer["access_token"]):
        assert rp.userinfo(site, access).status_code == 401
        assert client.introspect(access) == {"active": False}


def test_introspection_tells_a_client_only_about_its_own_tokens(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    other = rp.register(site, "stundenplan")
    tokens = _learner_tokens(site, client)

    own = client.introspect(tokens.access)
    own_refresh = client.introspect(tokens.refresh)
    foreign = other.introspect(tokens.access)
    foreign_refresh = other.introspect(tokens.refresh)

    assert own["active"] is True and own["client_id"] == client.client_id
    assert own["sub"] == tokens.id_claims["sub"] and own["scope"] == tokens.raw["scope"]
    assert own_refresh["active"] is True and own_refresh["token_type"] == "refresh_token"
    assert foreign == {"active": False} and foreign_refresh == {"active": False}


def test_v10_4_4_v10_4_6_discovery_document(site):
    issuer = site.config["IDP"].issuer.rstrip("/")

    found = site.test_client().get("/.well-known/openid-configuration").json
    keys = site.test_client().get(found["jwks_uri"].removeprefix(issuer)).json

    assert found["issuer"] == issuer
    for name in ("authorization", "token", "userinfo", "revocation", "introspection"):
        assert found[f"{name}_endpoint"].startswith(f"{issuer}/oidc/")
    assert found["code_challenge_methods_supported"] == ["S256"]
    assert found["subject_types_supported"] == ["pairwise"]
    assert found["response_types_supported"] == ["code"]
    assert not {"implicit", "password"} & set(found["grant_types_supported"])
    assert {"authorization_code", "refresh_token"} <= set(found["grant_types_supported"])
    assert "none" not in found["id_token_signing_alg_values_supported"]
    assert {k["alg"] for k in keys["keys"]} == {"ES256", "RS256"}
    assert not any("d" in k for k in keys["keys"])  # public keys only


def test_prompt_none_without_a_login_returns_login_required(site):
    client = rp.register(site, "stundenplan")
    request = rp.authorization(client, prompt="none")

    answer = browser(site).get(request.path)

    params = rp.redirect_params(answer)
    assert params["error"] == "login_required" and params["state"] == request.state
    assert "code" not in params


def test_prompt_none_with_a_login_gives_a_code_silently(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    b = browser(site)
    rp.exchange(first := rp.authorization(client), rp.sign_in(b, first, "lea.lern"))
    request = rp.authorization(client, prompt="none")

    tokens = rp.exchange(request, b.get(request.path))

    assert tokens.id_claims["sub"]


def test_prompt_login_asks_again_then_returns_to_the_client(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    b = browser(site)
    with time_machine.travel(START, tick=False) as clock:
        first = rp.authorization(client)
        rp.exchange(first, rp.sign_in(b, first, "lea.lern"))
        clock.shift(dt.timedelta(minutes=5))
        request = rp.authorization(client, prompt="login")

        asked = b.get(request.path)
        page = b.get("/login")
        back = b.login("lea.lern")
        tokens = rp.exchange(request, b.get(back.location))

    assert asked.location == "/login"
    assert page.status_code == 200 and 'value="lea.lern"' in page.text
    assert tokens.id_claims["auth_time"] == int((START + dt.timedelta(minutes=5)).timestamp())


def test_prompt_login_never_reuses_the_session_silently(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    b = browser(site)
    first = rp.authorization(client)
    rp.exchange(first, rp.sign_in(b, first, "lea.lern"))
    request = rp.authorization(client, prompt="login")

    asked = b.get(request.path)

    assert asked.location == "/login"


def test_max_age_asks_for_a_fresh_login_when_the_last_is_older(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    b = browser(site)
    with time_machine.travel(START, tick=False) as clock:
        first = rp.authorization(client)
        rp.exchange(first, rp.sign_in(b, first, "lea.lern"))
        clock.shift(dt.timedelta(minutes=2))
        recent_enough = rp.authorization(client, max_age="300")
        silent = rp.exchange(recent_enough, b.get(recent_enough.path))
        too_old = rp.authorization(client, max_age="60")

        asked = b.get(too_old.path)
        page = b.get("/login")
        fresh = rp.exchange(too_old, b.get(b.login("lea.lern").location))

    assert silent.id_claims["auth_time"] == int(START.timestamp())
    assert asked.location == "/login" and page.status_code == 200
    assert fresh.id_claims["auth_time"] == int((START + dt.timedelta(minutes=2)).timestamp())


def test_max_age_zero_asks_for_a_login_and_then_gives_a_code(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    request = rp.authorization(client, max_age="0")
    b = browser(site)
    with time_machine.travel(START, tick=False) as clock:
        asked = b.get(request.path)
        back = b.login("lea.lern")
        clock.shift(dt.timedelta(seconds=1))  # the browser takes its time to follow

        answer = b.get(back.location)
        tokens = rp.exchange(request, answer)

    assert asked.location == "/login"
    assert tokens.id_claims["auth_time"] == int(START.timestamp())


def test_login_hint_fills_in_the_login_name(site):
    client = rp.register(site, "stundenplan")
    request = rp.authorization(client, login_hint="lea.lern")
    b = browser(site)

    b.get(request.path)
    page = b.get("/login")

    assert 'value="lea.lern"' in page.text


def test_v10_3_4_sensitive_service_gets_a_second_factor_login(site):
    school = rp.school(site, learner=False)
    client = rp.register(site, "diagnostik")
    request = rp.authorization(client)
    b = browser(site)

    asked = b.get(request.path)
    password = b.login("tom.lehrer")
    back = b.submit("/login/code", {"code": school.teacher_totp.now()})
    tokens = rp.exchange(request, b.get(back.location))

    assert asked.location == "/login" and password.location == "/login/code"
    assert tokens.id_claims["acr"] == rp.ACR_SECOND_FACTOR
    assert {"otp", "mfa", "pwd"} <= set(tokens.id_claims["amr"])


def test_v10_3_4_sensitive_service_never_reuses_a_session(site):
    school = rp.school(site, learner=False)
    ordinary = rp.register(site, "stundenplan")
    sensitive = rp.register(site, "diagnostik")
    b = browser(site)
    with time_machine.travel(START, tick=False) as clock:
        first = rp.authorization(sensitive)
        rp.exchange(first, rp.sign_in(b, first, "tom.lehrer", school.teacher_totp))
        clock.shift(dt.timedelta(seconds=30))
        plain = rp.authorization(ordinary)
        silent = rp.exchange(plain, b.get(plain.path))

        again = b.get(rp.authorization(sensitive).path)
        lower = b.get(rp.authorization(sensitive, acr_values=rp.ACR_PASSWORD).path)

    assert silent.id_claims["acr"] == rp.ACR_SECOND_FACTOR  # the session has both factors
    assert again.location == "/login" and lower.location == "/login"


def test_v10_3_4_sensitive_service_asks_for_both_factors_again(site):
    school = rp.school(site, learner=False)
    client = rp.register(site, "diagnostik")
    b = browser(site)
    with time_machine.travel(START, tick=False) as clock:
        first = rp.authorization(client)
        rp.exchange(first, rp.sign_in(b, first, "tom.lehrer", school.teacher_totp))
        clock.shift(dt.timedelta(seconds=60))
        request = rp.authorization(client)

        b.get(request.path)
        page = b.get("/login")
        back = rp.log_in(b, "tom.lehrer", school.teacher_totp)
        tokens = rp.exchange(request, b.get(back.location))

    assert page.status_code == 200
    assert tokens.id_claims["auth_time"] == int((START + dt.timedelta(seconds=60)).timestamp())
    assert tokens.id_claims["acr"] == rp.ACR_SECOND_FACTOR


def test_v10_3_4_asking_for_a_lower_acr_does_not_lower_the_requirement(site):
    school = rp.school(site, learner=False)
    client = rp.register(site, "diagnostik")
    request = rp.authorization(client, acr_values=rp.ACR_PASSWORD)
    b = browser(site)

    b.get(request.path)
    password = b.login("tom.lehrer")
    back = b.submit("/login/code", {"code": school.teacher_totp.now()})
    tokens = rp.exchange(request, b.get(back.location))

    assert password.location == "/login/code"
    assert tokens.id_claims["acr"] == rp.ACR_SECOND_FACTOR
    assert {"otp", "mfa"} <= set(tokens.id_claims["amr"])


def test_rs256_client_gets_rs256_id_tokens(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan", alg="RS256")
    request = rp.authorization(client)

    tokens = rp.exchange(request, rp.sign_in(browser(site), request, "lea.lern"))

    assert tokens.id_header["alg"] == "RS256"
    rsa_kids = {k["kid"] for k in rp.jwks(site).as_dict()["keys"] if k["kty"] == "RSA"}
    assert tokens.id_header["kid"] in rsa_kids
    assert rp.userinfo(site, tokens.access).status_code == 200


def test_authorization_request_may_come_as_a_post(site):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    b = browser(site)
    rp.exchange(first := rp.authorization(client), rp.sign_in(b, first, "lea.lern"))
    request = rp.authorization(client)

    answer = b.client.post("/oidc/authorize", data=request.params)

    assert rp.exchange(request, answer).id_claims["sub"]
