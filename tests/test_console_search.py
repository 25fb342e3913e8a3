"""The console's person search for each shape of scope: a school's (its people fetched by id),
a Schulamt's and a Schulträger's (names walked in order, each person checked), the Land's; with
name, username and school or class filters, each only inside the scope."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from idp.console.search import LIMIT, Query, search
from idp.models import OrganisationTyp, Person
from idp.policy import current_policies
from idp.policy.admin_scope import admin_scope
from tests import factories as f

TODAY = dt.date(2026, 3, 2)


@pytest.fixture
def state(session):
    """Two schools under one Schulamt (one Schulträger), a third under another; an admin of
    each kind; Müllers at each school, a Muelle and a Müllerschön beside them."""
    s = f.small_state(session)
    other_schulamt = f.org(
        session, OrganisationTyp.SCHULAMT, "SSA-GW", "Staatliches Schulamt Greifswald", s.land
    )
    far_school = f.org(
        session, OrganisationTyp.SCHULE, "760001", "Schule am Bodden", other_schulamt
    )
    admins = {}
    for name, place, rolle in [
        ("land", s.ministerium, "LANDESADMIN"),
        ("schulamt", s.schulamt, "SCHULAMT_MA"),
        ("traeger", s.traeger, "SCHULTRAEGER_ADMIN"),
        ("schule", s.schule, "IDM_SCHULE"),
        ("zwei_schulen", s.schule, "IDM_SCHULE"),
    ]:
        admin = f.person(session, f"admin.{name}", "Admin", name.title())
        f.kontext(session, admin, place, rolle)
        admins[name] = admin.id
    f.kontext(session, session.get(Person, admins["zwei_schulen"]), s.andere_schule, "IDM_SCHULE")
    for username, vorname, familienname, place in [
        ("anna.mueller", "Anna", "Müller", s.klasse),
        ("bert.mueller", "Bert", "Müller", s.schule),
        ("carl.mueller", "Carl", "Müller", s.andere_schule),
        ("dora.mueller", "Dora", "Müller", far_school),
        ("emil.muelle", "Emil", "Muelle", s.schule),
        ("frida.muellerschoen", "Frida", "Müllerschön", s.schule),
    ]:
        person = f.person(session, username, vorname, familienname)
        f.kontext(session, person, place, "LERN" if place != s.andere_schule else "LEHR")
    gone = f.person(session, "gerd.mueller", "Gerd", "Müller")
    f.kontext(session, gone, s.schule, "LERN", valid_until=TODAY - dt.timedelta(days=1))
    session.commit()
    return s, admins


def found(session, admin: uuid.UUID, query: Query) -> tuple[list[str], bool]:
    """Usernames found as the view searches, and whether there were more."""
    scope = admin_scope(session, current_policies(), admin, TODAY)
    people, more = search(session, scope, query, TODAY, {})
    return [p.username for p in people], more


@pytest.mark.parametrize(
    ("admin", "expected"),
    [
        # the Land sees everyone, with a role today or not
        ("land", ["anna.mueller", "bert.mueller", "carl.mueller", "dora.mueller", "gerd.mueller"]),
        ("schulamt", ["anna.mueller", "bert.mueller", "carl.mueller"]),
        ("traeger", ["anna.mueller", "bert.mueller", "carl.mueller"]),
        ("schule", ["anna.mueller", "bert.mueller"]),
        ("zwei_schulen", ["anna.mueller", "bert.mueller", "carl.mueller"]),
    ],
)
def test_a_family_name_finds_exactly_those_in_scope_in_name_order(session, state, admin, expected):
    _, admins = state

    names, more = found(session, admins[admin], Query("Müller"))

    assert names == [*expected, "frida.muellerschoen"]  # a prefix: Müllerschön too
    assert more is False


@pytest.mark.parametrize("admin", ["land", "schulamt", "traeger", "schule", "zwei_schulen"])
def test_username_given_family_and_family_given_find_one_person(session, state, admin):
    _, admins = state

    by_username = found(session, admins[admin], Query("bert.mu"))
    given_family = found(session, admins[admin], Query("Bert Müller"))
    family_given = found(session, admins[admin], Query("Mueller Bert"))

    assert by_username == given_family == family_given == (["bert.mueller"], False)


@pytest.mark.parametrize(
    ("admin", "query", "expected"),
    [
        ("schulamt", Query("", "750002"), ["carl.mueller", "admin.zwei_schulen"]),
        ("schulamt", Query("", "760001"), []),
        ("schule", Query("", "Grundschule"), []),
        ("zwei_schulen", Query("", "Grundschule"), ["carl.mueller", "admin.zwei_schulen"]),
        ("schule", Query("Müller", "", "7b"), ["anna.mueller"]),
        ("land", Query("", "Bodden"), ["dora.mueller"]),
        (
            "traeger",
            Query("mue", "750001"),
            ["emil.muelle", "anna.mueller", "bert.mueller", "frida.muellerschoen"],
        ),
    ],
)
def test_school_and_class_filters_stay_in_scope(session, state, admin, query, expected):
    _, admins = state

    names, _ = found(session, admins[admin], query)

    assert names == expected


@pytest.mark.parametrize("admin", ["schulamt", "schule"])
def test_more_than_a_page_says_there_are_more(session, state, admin):
    s, admins = state
    for n in range(LIMIT + 1):
        person = f.person(session, f"zoe.zander{n:02d}", "Zoe", f"Zander{n:02d}")
        f.kontext(session, person, s.schule, "LERN")
    session.commit()

    names, more = found(session, admins[admin], Query("Zander"))

    assert more is True
    assert names == [f"zoe.zander{n:02d}" for n in range(LIMIT)]
