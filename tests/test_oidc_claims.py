"""What relying parties learn about a person: per service exactly what policies/services.toml
releases and the granted scopes cover, under a pairwise `sub` per service.

Test names carry the OWASP ASVS 5.0 requirement they check (v10_4_11 = V10.4.11).
"""

from __future__ import annotations

import datetime as dt
import tomllib

import pytest
from joserfc import jwt

from idp.oidc.claims import CLAIMS, SCHULCONNEX
from idp.policy import current_policies
from tests import factories as f
from tests import oidc_rp as rp
from tests.conftest import REPO
from tests.web import browser, data, with_password, with_totp

ALL_SCOPES = "openid profile email schulconnex offline_access"
ID_TOKEN_PROTOCOL = {
    "iss", "aud", "azp", "sub", "iat", "exp", "auth_time", "acr", "amr", "nonce", "sid", "at_hash",
}  # fmt: skip
ACCESS_TOKEN_PROTOCOL = {"iss", "sub", "aud", "client_id", "scope", "iat", "exp", "jti"}
# Opaque to the client: the person sealed (`ref`), the token family and the login session.
ACCESS_TOKEN_INTERNAL = {"ref", "fam", "sid"}
INTROSPECTION = {"active", "token_type", *ACCESS_TOKEN_PROTOCOL}
_SERVICES = tomllib.loads((REPO / "policies" / "services.toml").read_text())["services"]
OIDC_SERVICES = sorted(code for code, service in _SERVICES.items() if service["protocol"] == "oidc")


def _everything(site):
    """A person with every attribute and a context for every OIDC service: a teacher at one
    school (and in its class 7b), head of another, and on the staff of the Schulamt."""
    with data(site) as s:
        state = f.small_state(s)
        ute = f.person(
            s,
            "ute.alles",
            "Ute",
            "Alles",
            mail="ute.alles@schule-mv.de",
            geburtsdatum=dt.date(1980, 5, 17),
        )
        ute.mail_aliases = ["ute.frueher@schule-mv.de"]  # an address from before a name change
        f.kontext(s, ute, state.schule, "LEHR")
        f.kontext(s, ute, state.klasse, "LEHR")
        f.kontext(s, ute, state.andere_schule, "SCHULLEITUNG")
        f.kontext(s, ute, state.schulamt, "SCHULAMT_MA")
        with_password(s, ute)
        return with_totp(s, ute)


def _policy_claims(site, service: str) -> set[str]:
    """The claim names the policy lets `service` receive (besides `sub`)."""
    with site.app_context():
        attributes = set(current_policies().services[service].attributes)
    allowed = {CLAIMS[a][0] for a in attributes}
    if {"vorname", "familienname"} <= attributes:
        allowed.add("name")
    if "mail" in attributes:
        allowed.add("email_verified")
    return allowed


def test_every_oidc_service_of_the_running_app_is_checked(site):
    with site.app_context():
        loaded = {
            c for c, service in current_policies().services.items() if service.protocol == "oidc"
        }

    assert loaded == set(OIDC_SERVICES) and len(loaded) >= 2


@pytest.mark.parametrize("service", OIDC_SERVICES)
def test_v10_4_11_a_service_receives_exactly_what_its_policy_allows(site, service):
    totp = _everything(site)
    client = rp.register(site, service)
    request = rp.authorization(client, ALL_SCOPES)

    tokens = rp.exchange(request, rp.sign_in(browser(site), request, "ute.alles", totp))
    info = rp.userinfo(site, tokens.access).json
    access = jwt.decode(tokens.access, rp.jwks(site), algorithms=["ES256"]).claims
    introspected = client.introspect(tokens.access)

    allowed = _policy_claims(site, service)
    sent = set(tokens.id_claims) | set(info)
    assert sent == allowed | ID_TOKEN_PROTOCOL, sent ^ (allowed | ID_TOKEN_PROTOCOL)
    assert set(info) == allowed | {"sub"}
    assert set(access) <= ACCESS_TOKEN_PROTOCOL | ACCESS_TOKEN_INTERNAL
    assert set(introspected) <= INTROSPECTION
    for value in ("ute.alles", "Alles", "schule-mv.de", "1980-05-17"):
        assert value not in str(access) and value not in str(introspected)


def test_a_service_learns_only_the_contexts_that_entitle_the_person(site):
    totp = _everything(site)
    client = rp.register(site, "personalverwaltung")
    request = rp.authorization(client, ALL_SCOPES)

    tokens = rp.exchange(request, rp.sign_in(browser(site), request, "ute.alles", totp))
    info = rp.userinfo(site, tokens.access).json

    assert info[f"{SCHULCONNEX}:organisation:kennung"] == ["SSA-HRO"]
    assert tokens.id_claims[f"{SCHULCONNEX}:organisation:kennung"] == ["SSA-HRO"]


def test_v10_5_2_pairwise_sub_per_service(site):
    school = rp.school(site, learner=False)
    first = rp.register(site, "stundenplan")
    second = rp.register(site, "stundenplan")
    other_service = rp.register(site, "klassenbuch")
    b = browser(site)
    request = rp.authorization(first)
    subs = [rp.exchange(request, rp.sign_in(b, request, "tom.lehrer", school.teacher_totp))]
    for client in (second, other_service):
        request = rp.authorization(client)
        subs.append(rp.exchange(request, b.get(request.path)))

    by_first, by_second, by_other = (t.id_claims["sub"] for t in subs)

    assert by_first == by_second
    assert by_first != by_other
    assert rp.userinfo(site, subs[2].access).json["sub"] == by_other
    assert str(school.teacher_id) not in {by_first, by_other}
    assert len(by_first) >= 43  # 256 bits, not guessable from the person


def test_v10_5_2_two_people_have_different_subs_for_one_service(site):
    school = rp.school(site)
    client = rp.register(site, "stundenplan")
    teacher = rp.authorization(client)
    learner = rp.authorization(client)

    tom = rp.exchange(
        teacher, rp.sign_in(browser(site), teacher, "tom.lehrer", school.teacher_totp)
    )
    lea = rp.exchange(learner, rp.sign_in(browser(site), learner, "lea.lern"))

    assert tom.id_claims["sub"] != lea.id_claims["sub"]


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("openid", set()),
        ("openid email", {"email", "email_verified"}),
        ("openid profile", {"preferred_username", "given_name", "family_name", "name"}),
        ("openid schulconnex", {f"{SCHULCONNEX}:organisation:kennung"}),
    ],
)
def test_v10_4_11_scopes_limit_the_claims_further(site, scope, expected):
    school = rp.school(site, learner=False)
    client = rp.register(site, "email")
    request = rp.authorization(client, scope)

    tokens = rp.exchange(
        request, rp.sign_in(browser(site), request, "tom.lehrer", school.teacher_totp)
    )
    info = rp.userinfo(site, tokens.access).json

    assert set(tokens.id_claims) - ID_TOKEN_PROTOCOL == expected
    assert set(info) - {"sub"} == expected
