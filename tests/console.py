"""A small state for console tests: two schools, their admins, learners and a Land admin."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pyotp
from flask import Flask

from idp.models import SourceRecord
from tests import factories as f
from tests import oidc_rp as rp
from tests.web import Browser, browser, data, with_password, with_totp


@dataclass
class World:
    school_admin: str
    other_admin: str
    land_admin: str
    head: str  # the Schulleitung of the admin's school
    totps: dict[str, pyotp.TOTP]
    lea: uuid.UUID  # learner in 7b at the admin's school
    ben: uuid.UUID  # learner at the other school
    teacher: uuid.UUID
    schule: uuid.UUID
    klasse: uuid.UUID
    andere_schule: uuid.UUID


def world(site: Flask) -> World:
    with data(site) as s:
        state = f.small_state(s)
        totps = {}

        def admin(username, vorname, familienname, organisation, rolle):
            person = f.person(s, username, vorname, familienname)
            f.kontext(s, person, organisation, rolle)
            with_password(s, person)
            totps[username] = with_totp(s, person)
            return person

        admin("ida.admin", "Ida", "Admin", state.schule, "IDM_SCHULE")
        admin("otto.admin", "Otto", "Andermann", state.andere_schule, "IDM_SCHULE")
        admin("lara.land", "Lara", "Land", state.ministerium, "LANDESADMIN")
        admin("sina.leitung", "Sina", "Leitung", state.schule, "SCHULLEITUNG")
        lea = f.person(s, "lea.lern", "Lea", "Lern")
        f.kontext(s, lea, state.schule, "LERN", source="sip")
        f.kontext(s, lea, state.klasse, "LERN", source="sip")
        with_password(s, lea)
        s.add(
            SourceRecord(
                source="sip", kind="person", external_id="S-7b-1", object_id=lea.id, row_hash="-"
            )
        )
        ben = f.person(s, "ben.anders", "Ben", "Anders")
        f.kontext(s, ben, state.andere_schule, "LERN", source="sip")
        teacher = f.person(s, "tom.lehrer", "Tom", "Lehrer")
        f.kontext(s, teacher, state.schule, "LEHR", source="personal")
        s.commit()
        return World(
            "ida.admin",
            "otto.admin",
            "lara.land",
            "sina.leitung",
            totps,
            lea.id,
            ben.id,
            teacher.id,
            state.schule.id,
            state.klasse.id,
            state.andere_schule.id,
        )


def signed_in(site: Flask, w: World, username: str) -> Browser:
    """A browser logged in as `username` with password and code, ready for the console."""
    b = browser(site)
    response = rp.log_in(b, username, w.totps.get(username))
    assert response.status_code == 302, response.status_code
    return b


def post(b: Browser, path: str, form: dict | None = None, page: str | None = None):
    """POST a console form with this browser's CSRF token (read from a page with a form)."""
    return b.submit(path, form or {}, page=page or "/konto")
