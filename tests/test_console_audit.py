"""The audit trail in the console: each admin sees the events of their scope, filters them,
exports them as CSV; a Land admin checks the hash chain."""

from __future__ import annotations

import csv
import io

import pytest

from tests.console import post, signed_in, world


@pytest.fixture
def w(site):
    return world(site)


def _act(site, w):
    """Ida locks Lea (her school), Otto locks Ben (his school); their browsers stay logged in
    (a TOTP code counts once, so a second login within 30 seconds would need the next one)."""
    ida, otto = signed_in(site, w, w.school_admin), signed_in(site, w, w.other_admin)
    post(ida, f"/verwaltung/personen/{w.lea}/sperren")
    post(otto, f"/verwaltung/personen/{w.ben}/sperren")
    return ida, otto


def test_school_admin_sees_only_events_of_their_school(site, w):
    b, _ = _act(site, w)

    page = b.get("/verwaltung/protokoll/?aktion=person.")

    assert page.status_code == 200
    assert "lea.lern" in page.text and "ben.anders" not in page.text
    assert "Kette prüfen" not in page.text


def test_filters_and_csv_export(site, w):
    _act(site, w)
    b = signed_in(site, w, w.land_admin)

    filtered = b.get("/verwaltung/protokoll/?ziel=ben.anders")
    exported = b.get("/verwaltung/protokoll/export.csv?aktion=person.gesperrt")

    assert "ben.anders" in filtered.text and "lea.lern" not in filtered.text
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:5] == ["nr", "zeit", "wer", "aktion", "ziel"]
    assert sorted(r[4] for r in rows[1:]) == ["ben.anders", "lea.lern"]
    assert {r[2] for r in rows[1:]} == {"verwaltung:ida.admin", "verwaltung:otto.admin"}


def test_land_admin_checks_the_chain(site, w):
    _act(site, w)
    b = signed_in(site, w, w.land_admin)

    checked = post(b, "/verwaltung/protokoll/pruefen")

    assert checked.status_code == 200
    assert "Die Kette ist unversehrt" in checked.text


def test_school_admin_may_not_check_the_chain(site, w):
    b = signed_in(site, w, w.school_admin)

    assert post(b, "/verwaltung/protokoll/pruefen").status_code == 403
