"""The start page after logging in at the IdP: a tile for every service the person may use."""

from __future__ import annotations

import re

from idp.models import ActivationState, OptOut
from idp.oidc import clients
from idp.policy import current_policies
from tests import factories as f
from tests.web import browser, data, with_password, with_totp


def _tiles(html: str) -> list[str]:
    return re.findall(r'<li class="tile[^"]*">\s*(?:<a href="[^"]*">|<span>)([^<]+)<', html)


def test_learner_sees_only_the_services_they_may_use(site):
    with data(site) as s:
        state = f.small_state(s)
        p = f.person(s, "lea.lern", "Lea", "Lern")
        f.kontext(s, p, state.schule, "LERN")
        f.kontext(s, p, state.klasse, "LERN")
        with_password(s, p)
    b = browser(site)

    assert b.login("lea.lern").location == "/"
    page = b.get("/").text

    assert "Guten Tag, Lea" in page
    assert _tiles(page) == ["Stundenplan"]  # itslearning waits for the school's application
    assert "Diagnostik" not in page and "E-Mail" not in page


def test_tiles_follow_activation_and_opt_out_and_mark_sensitive_services(site):
    with data(site) as s:
        state = f.small_state(s)
        p = f.person(s, "tom.lehrer", "Tom", "Lehrer")
        f.kontext(s, p, state.schule, "LEHR")
        f.activation(s, state.schule, "itslearning", ActivationState.FREIGEGEBEN)
        s.add(OptOut(person_id=p.id, service_code="stundenplan", created_by="test"))
        with_password(s, p)
        code = with_totp(s, p)  # teachers must have a second factor
        clients.register(
            s,
            current_policies(),
            name="Klassenbuch",
            service="klassenbuch",
            redirect_uris=["https://klassenbuch.example/cb"],
            initiate_login_uri="https://klassenbuch.example/login",
        )
        s.commit()
    b = browser(site)
    b.login("tom.lehrer")
    b.submit("/login/code", {"code": code.now()})

    page = b.get("/").text

    tiles = _tiles(page)
    assert {"itslearning", "Klassenbuch", "Diagnostik"} <= set(tiles)
    assert "Stundenplan" not in tiles  # opted out
    assert 'href="https://klassenbuch.example/login"' in page
    assert "Geschützter Dienst" in page


def test_start_page_needs_a_login(site):
    assert site.test_client().get("/").location == "/login"
