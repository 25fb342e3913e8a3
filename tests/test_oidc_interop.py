"""The provider with an independent relying party: idpyoidc (the IdentityPython RP library)
talks HTTP to the app on a real server on 127.0.0.1, a `requests` session plays the browser.

Discovery, authorization with PKCE, login, token, ID token validation, userinfo, refresh and,
once discovery advertises an `end_session_endpoint`, RP-initiated and back-channel logout.

Test names carry the OWASP ASVS 5.0 requirement they check (v10_5_3 = V10.5.3).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from flask import Flask
from idpyoidc.client.defaults import DEFAULT_OIDC_SERVICES
from idpyoidc.client.oauth2.stand_alone_client import StandAloneClient, backchannel_logout
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from idp.app import create_app
from idp.oidc import clients
from idp.policy import current_policies
from tests import oidc_rp as rp
from tests.conftest import make_config
from tests.web import PASSWORD, data

CSRF = re.compile(r'name="csrf_token"[^>]*? value="([^"]+)"')
SCOPE = "openid profile offline_access"
AFTER_LOGOUT = "https://rp.example/abgemeldet"


@dataclass
class BackChannel:
    """The relying party's back-channel logout endpoint: keeps what the provider POSTs."""

    received: list[str] = field(default_factory=list)

    def __call__(self, environ, start_response):
        self.received.append(Request(environ).form.get("logout_token", ""))
        return Response(status=200)(environ, start_response)


@dataclass
class Live:
    app: Flask
    issuer: str
    backchannel: BackChannel
    backchannel_uri: str


def _serve(wsgi_app) -> tuple:
    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


def _stop(server, thread) -> None:
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.fixture
def live(database_url: str) -> Iterator[Live]:
    """The app on a real, threaded HTTP server whose issuer is its own address."""
    from idp.extensions import db

    serving: dict[str, Flask] = {}
    server, thread = _serve(lambda environ, start: serving["app"](environ, start))
    issuer = f"http://127.0.0.1:{server.server_port}"
    serving["app"] = app = create_app(make_config(database_url, IDP_ISSUER=issuer))
    backchannel = BackChannel()
    rp_server, rp_thread = _serve(backchannel)
    yield Live(app, issuer, backchannel, f"http://127.0.0.1:{rp_server.server_port}/logout")
    _stop(rp_server, rp_thread)
    _stop(server, thread)
    with app.app_context():
        db.engine.dispose()


def _register(live: Live, alg: str) -> tuple[str, str]:
    with data(live.app) as s:
        registered = clients.register(
            s,
            current_policies(),
            name="Stundenplan (idpyoidc)",
            service="stundenplan",
            redirect_uris=[rp.REDIRECT_URI],
            post_logout_redirect_uris=[AFTER_LOGOUT],
            backchannel_logout_uri=live.backchannel_uri,
            alg=alg,
        )
        s.commit()
        assert registered.secret is not None
        return registered.client.client_id, registered.secret


def _relying_party(live: Live, client_id: str, secret: str, alg: str) -> StandAloneClient:
    """idpyoidc configured as a statically registered confidential client using PKCE."""
    config = {
        "issuer": live.issuer,
        "client_id": client_id,
        "client_secret": secret,
        "client_type": "oidc",
        "client_authn_methods": ["client_secret_basic"],
        "redirect_uris": [rp.REDIRECT_URI],
        "post_logout_redirect_uris": [AFTER_LOGOUT],
        "preference": {
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic",
            "id_token_signed_response_alg": alg,
        },
        "add_ons": {
            "pkce": {
                "function": "idpyoidc.client.oauth2.add_on.pkce.add_support",
                "kwargs": {"code_challenge_length": 64, "code_challenge_method": "S256"},
            }
        },
    }
    services = {k: v for k, v in DEFAULT_OIDC_SERVICES.items() if k != "registration"}
    services["end_session"] = {"class": "idpyoidc.client.oidc.end_session.EndSession"}
    relying_party = StandAloneClient(config=config, services=services)
    relying_party.do_provider_info()
    relying_party.do_client_registration()
    # Static registration: tell idpyoidc what we registered, for checking logout tokens.
    relying_party.get_context().registration_response = {"id_token_signed_response_alg": alg}
    return relying_party


def _browse_to_client(web: requests.Session, live: Live, url: str, username: str) -> dict:
    """Follow redirects as a browser, filling in the login forms, until the client is reached."""
    for _ in range(8):
        response = web.get(urljoin(live.issuer, url), allow_redirects=False)
        location = response.headers.get("Location", "")
        if location.startswith(rp.REDIRECT_URI):
            return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        assert response.status_code == 302, (response.status_code, response.text[:300])
        if location == "/login":
            form = web.get(urljoin(live.issuer, "/login"))
            response = web.post(
                urljoin(live.issuer, "/login"),
                data={
                    "csrf_token": CSRF.search(form.text).group(1),
                    "login_name": username,
                    "password": PASSWORD,
                },
                allow_redirects=False,
            )
            location = response.headers["Location"]
        url = location
    raise AssertionError("the browser never got back to the client")


def _logged_in(web: requests.Session, live: Live) -> bool:
    return web.get(urljoin(live.issuer, "/konto"), allow_redirects=False).status_code == 200


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
def test_v10_5_3_v10_5_4_independent_rp_completes_the_whole_flow(live, alg):
    school = rp.school(live.app, teacher=False)
    client_id, secret = _register(live, alg)
    relying_party = _relying_party(live, client_id, secret, alg)
    web = requests.Session()

    provider = relying_party.get_context().provider_info
    url = relying_party.init_authorization(req_args={"scope": SCOPE})
    result = relying_party.finalize(_browse_to_client(web, live, url, "lea.lern"))
    session = relying_party.get_session_information(result["state"])
    original = session["refresh_token"]
    first = relying_party.refresh_access_token(result["state"])
    second = relying_party.refresh_access_token(result["state"])
    replay = requests.post(
        provider["token_endpoint"],
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        auth=(client_id, secret),
        timeout=10,
    )

    assert provider["issuer"] == live.issuer
    assert "error" not in result, result
    id_token = result["id_token"]
    assert id_token["iss"] == live.issuer and client_id in id_token["aud"]
    assert id_token["acr"] == rp.ACR_PASSWORD and id_token["amr"] == ["pwd"]
    assert id_token["nonce"] == session["nonce"]
    assert id_token["at_hash"] == rp.half_hash(result["token"])
    assert result["userinfo"]["sub"] == id_token["sub"]
    assert result["userinfo"]["preferred_username"] == "lea.lern"
    assert str(school.learner_id) != id_token["sub"]
    assert len({original, first["refresh_token"], second["refresh_token"]}) == 3
    assert first["access_token"] != second["access_token"]
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"


def test_v10_6_2_independent_rp_logs_out(live):
    """RP-initiated and back-channel logout; runs once discovery advertises them."""
    rp.school(live.app, teacher=False)
    client_id, secret = _register(live, "ES256")
    relying_party = _relying_party(live, client_id, secret, "ES256")
    provider = relying_party.get_context().provider_info
    if "end_session_endpoint" not in provider:
        pytest.skip("the provider advertises no end_session_endpoint (logout not built yet)")
    web = requests.Session()
    url = relying_party.init_authorization(req_args={"scope": SCOPE})
    result = relying_party.finalize(_browse_to_client(web, live, url, "lea.lern"))
    assert _logged_in(web, live)

    logout = relying_party.logout(result["state"], post_logout_redirect_uri=AFTER_LOGOUT)
    answer = web.get(logout["url"], allow_redirects=False)

    assert answer.status_code == 302
    assert answer.headers["Location"].startswith(AFTER_LOGOUT)
    assert parse_qs(urlsplit(answer.headers["Location"]).query)["state"] == [
        logout["request"]["state"]
    ]
    assert not _logged_in(web, live)
    assert len(live.backchannel.received) == 1
    state = backchannel_logout(
        relying_party, request_args={"logout_token": live.backchannel.received[0]}
    )
    assert state == result["state"]
    again = web.get(relying_party.init_authorization(), allow_redirects=False)
    assert again.headers["Location"] == "/login"


def test_v10_6_2_logout_without_id_token_hint_asks_the_person_first(live):
    """A forged logout link must not end a login silently; runs once logout is advertised."""
    rp.school(live.app, teacher=False)
    client_id, secret = _register(live, "ES256")
    relying_party = _relying_party(live, client_id, secret, "ES256")
    provider = relying_party.get_context().provider_info
    if "end_session_endpoint" not in provider:
        pytest.skip("the provider advertises no end_session_endpoint (logout not built yet)")
    web = requests.Session()
    url = relying_party.init_authorization(req_args={"scope": SCOPE})
    relying_party.finalize(_browse_to_client(web, live, url, "lea.lern"))

    page = web.get(
        provider["end_session_endpoint"],
        params={"client_id": client_id, "post_logout_redirect_uri": AFTER_LOGOUT},
        allow_redirects=False,
    )

    assert page.status_code == 200 and "Jetzt abmelden" in page.text
    assert _logged_in(web, live)
    assert live.backchannel.received == []
