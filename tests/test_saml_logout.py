"""Single logout across the SAML SPs and OIDC clients of one login: started by an SP
(python3-saml's LogoutRequest), by the person on our logout page, or by an OIDC client."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import select, update

from idp.models import LoginSession, LogoutDelivery, OAuthClient, SamlHold, SamlSession
from tests import oidc_rp as rp
from tests.saml_sp import (
    accepted,
    itslearning_school,
    learner,
    new_sp,
    saml_app,
    sign_in,
)
from tests.web import browser, csrf_token, data

CLOSED_PORT = "http://127.0.0.1:9/logout"  # nothing listens: the delivery waits for a retry
AFTER_LOGOUT = "http://127.0.0.1:9991/stundenplan/abgemeldet"


@pytest.fixture
def site(database_url, tmp_path):
    with saml_app(database_url, tmp_path) as application:
        yield application


@pytest.fixture
def world(site, tmp_path):
    """Lea signed in to two SAML SPs and one OIDC client, in one browser."""
    itslearning_school(site)
    lms = new_sp(site, tmp_path)
    library = new_sp(site, tmp_path, name="bib", service="bibliothek")
    client = rp.register(site, "stundenplan")
    with data(site) as s:
        s.execute(
            update(OAuthClient)
            .where(OAuthClient.client_id == client.client_id)
            .values(backchannel_logout_uri=CLOSED_PORT, post_logout_redirect_uris=[AFTER_LOGOUT])
        )
        s.commit()
    b = browser(site)
    sessions = {}
    for sp in (lms, library):
        path, request_id = sp.login_url()
        auth, _ = accepted(sp, sign_in(b, path, learner), request_id)
        sessions[sp.name] = auth
    authorization = rp.authorization(client)
    tokens = rp.exchange(authorization, b.get(authorization.path))
    return b, lms, library, sessions, tokens


def _idp_path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_logout_started_by_an_sp_reaches_the_other_sp_and_the_oidc_client(site, world):
    b, lms, library, sessions, _ = world
    lea = sessions["lms"]
    start = lms.logout_url(lea.get_nameid(), lea.get_session_index())

    to_library = b.get(start)
    assert to_library.status_code == 303
    told, reply_url = library.process_slo(to_library.location)
    assert told.get_errors() == [], told.get_last_error_reason()
    back_to_lms = b.get(_idp_path(reply_url))
    assert back_to_lms.status_code == 303
    done, _ = lms.process_slo(back_to_lms.location)

    assert done.get_errors() == [], done.get_last_error_reason()
    with data(site) as s:
        assert (
            s.scalars(select(LoginSession).where(LoginSession.person_id.is_not(None))).all() == []
        )
        assert s.scalars(select(SamlSession)).all() == []
        assert s.scalars(select(SamlHold)).all() == []
        delivery = s.scalars(select(LogoutDelivery)).one()  # the OIDC client's logout token
        assert delivery.delivered_at is None and delivery.attempts == 1
    assert b.get("/").location == "/login"  # this browser is logged out too


def _go_round(b, first, sps) -> tuple[set[str], object]:
    """Follow a logout round: each SP checks our LogoutRequest and answers; returns who was
    told and where the browser ends."""
    hop = b.get(first.location)
    told = set()
    while hop.status_code == 303 and any(hop.location.startswith(sp.sls) for sp in sps):
        sp = next(sp for sp in sps if hop.location.startswith(sp.sls))
        told.add(sp.name)
        checked, answer = sp.process_slo(hop.location)
        assert checked.get_errors() == [], checked.get_last_error_reason()
        hop = b.get(_idp_path(answer))
    return told, hop


def test_logout_on_our_page_goes_round_the_saml_sps(site, world):
    b, lms, library, _, _ = world
    page = b.get("/logout")

    first = b.client.post("/logout", data={"csrf_token": csrf_token(page.text)})
    assert first.status_code == 303 and first.location.startswith("/saml/abmelden?t=")
    told, hop = _go_round(b, first, (lms, library))

    assert told == {"lms", "bib"}
    assert hop.status_code == 200 and "Sie sind abgemeldet" in hop.text
    with data(site) as s:
        assert s.scalars(select(SamlSession)).all() == []
        assert s.scalars(select(LogoutDelivery)).one().client_id


def test_an_sp_without_logout_endpoint_is_skipped(site, tmp_path):
    itslearning_school(site)
    quiet = new_sp(site, tmp_path, name="still", with_slo=False)
    b = browser(site)
    path, request_id = quiet.login_url()
    accepted(quiet, sign_in(b, path, learner), request_id)
    page = b.get("/logout")

    done = b.client.post("/logout", data={"csrf_token": csrf_token(page.text)})
    assert done.status_code == 303  # a round is planned; it finds nobody to tell
    finished = b.get(done.location)
    assert finished.status_code == 200 and "Sie sind abgemeldet" in finished.text


def test_a_logout_request_from_an_unknown_sp_is_refused(site, world):
    from tests.saml_sp import Sp

    b, lms, _, sessions, _ = world
    stranger = Sp("fremd", lms.idp_metadata)
    lea = sessions["lms"]

    response = b.get(stranger.logout_url(lea.get_nameid(), lea.get_session_index()))

    assert response.status_code == 400
    with data(site) as s:
        assert s.scalars(select(LoginSession).where(LoginSession.person_id.is_not(None))).all()


def test_logout_started_by_an_oidc_client_tells_the_saml_sps_then_returns(site, world):
    b, lms, library, _, tokens = world
    query = urlencode(
        {
            "id_token_hint": tokens.raw["id_token"],
            "post_logout_redirect_uri": AFTER_LOGOUT,
            "state": "zustand-1",
        }
    )

    first = b.get(f"/oidc/logout?{query}")
    assert first.status_code == 303 and first.location.startswith("/saml/abmelden?t=")
    told, hop = _go_round(b, first, (lms, library))

    assert told == {"lms", "bib"}
    assert hop.status_code in (302, 303)
    assert hop.location.startswith(AFTER_LOGOUT) and "state=zustand-1" in hop.location
