"""Every console URL about another school's objects answers 404 or 403, never data: persons,
their contexts and opt-outs, classes, letters, activations, the audit trail."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idp.models import OptOut, Person, Personenkontext, PersonStatus
from tests.console import post, signed_in, world
from tests.web import data


@pytest.fixture
def w(site):
    found = world(site)
    with data(site) as s:
        s.add(OptOut(person_id=found.lea, service_code="stundenplan", created_by="test"))
        s.commit()
    return found


def test_another_schools_admin_gets_nothing_about_lea(site, w):
    with data(site) as s:
        kontext = s.scalars(
            select(Personenkontext.id).where(Personenkontext.person_id == w.lea)
        ).first()
        opt_out = s.scalars(select(OptOut.id)).one()
    lea = f"/verwaltung/personen/{w.lea}"
    ida = signed_in(site, w, w.school_admin)  # leaves events about Lea in the trail
    post(ida, f"{lea}/sperren")
    post(ida, f"{lea}/entsperren")
    assert "person.gesperrt" in ida.get("/verwaltung/protokoll/?ziel=lea.lern").text
    otto = signed_in(site, w, w.other_admin)
    reads = [lea, f"/verwaltung/klassen/{w.klasse}"]
    writes = [
        f"{lea}/sperren",
        f"{lea}/entsperren",
        f"{lea}/zweiter-faktor/zuruecksetzen",
        f"{lea}/stammdaten",
        f"{lea}/kontexte",
        f"{lea}/kontexte/{kontext}/beenden",
        f"{lea}/widerspruch",
        f"{lea}/widerspruch/{opt_out}/zuruecknehmen",
        f"{lea}/zugangsdaten",
        f"/verwaltung/klassen/{w.klasse}/zugangsdaten",
        f"/verwaltung/aktivierungen/{w.schule}/itslearning/beantragen",
        f"/verwaltung/aktivierungen/{w.schule}/itslearning/freigeben",
    ]

    answers = {url: otto.get(url) for url in reads}
    answers |= {
        url: post(otto, url, {"vorname": "X", "familienname": "Y", "dienst": "itslearning"})
        for url in writes
    }
    audit = otto.get("/verwaltung/protokoll/?ziel=lea.lern")

    for url, response in answers.items():
        assert response.status_code in (403, 404), url
        assert "Lern" not in response.text, url
    assert audit.status_code == 200 and "Keine Ereignisse." in audit.text
    with data(site) as s:
        lea_now = s.get(Person, w.lea)
        assert lea_now.status == PersonStatus.AKTIV and lea_now.vorname == "Lea"
        assert s.scalars(select(OptOut)).one().withdrawn_at is None
        assert (
            len(s.scalars(select(Personenkontext).where(Personenkontext.person_id == w.lea)).all())
            == 2
        )
