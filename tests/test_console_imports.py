"""Imports from the browser: a Land admin uploads an export, reviews the plan and applies it;
bad input is named by file, line and field and changes nothing; nobody else gets in."""

from __future__ import annotations

import io
import os
import re
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from idp.models import AuditEvent, ImportRun, Person, SourceRecord
from tests.console import post, signed_in, world
from tests.importing import demo_export, edit_rows, read_rows, snapshot
from tests.web import Browser, csrf_token, data

IMPORTS = "/verwaltung/importe/"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_export(tmp_path_factory.mktemp("export"), schools=1)


@pytest.fixture
def export(pristine: Path, tmp_path: Path) -> Path:
    target = tmp_path / "export"
    shutil.copytree(pristine, target)
    return target


@pytest.fixture
def w(site, tmp_path):
    site.instance_path = str(tmp_path / "instance")
    return world(site)


def upload(b: Browser, source: str, files: list[tuple[bytes, str]], **form: str):
    """Send the upload form with these (content, file name) pairs."""
    token = csrf_token(b.get(IMPORTS).text)
    return b.client.post(
        IMPORTS,
        data={
            "csrf_token": token,
            "quelle": source,
            "dateien": [(io.BytesIO(content), name) for content, name in files],
            **form,
        },
        content_type="multipart/form-data",
    )


def export_files(folder: Path) -> list[tuple[bytes, str]]:
    return [(path.read_bytes(), path.name) for path in sorted(folder.glob("*.csv"))]


def planned(b: Browser, source: str, folder: Path, **form: str) -> str:
    """Upload the export in `folder`; returns the plan page's path."""
    response = upload(b, source, export_files(folder), **form)
    assert response.status_code == 303, response.text
    assert re.fullmatch(r"/verwaltung/importe/plaene/[0-9a-f-]{36}", response.location)
    return response.location


def count_on(page: str, label: str) -> int:
    found = re.search(rf"<td>{re.escape(label)}</td><td>(\d+)</td>", page)
    assert found, f"no count for {label}"
    return int(found.group(1))


def sip_persons(site) -> int:
    """Persons imported from the uploaded SIP export (the world's Lea has a record of her own)."""
    with data(site) as s:
        return s.scalar(
            select(func.count())
            .select_from(SourceRecord)
            .where(SourceRecord.source == "sip", SourceRecord.external_id != "S-7b-1")
        )


def test_land_admin_uploads_reviews_and_applies_an_export(site, w, export, tmp_path, monkeypatch):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(uploads))
    b = signed_in(site, w, w.land_admin)
    learners = read_rows(export / "sip" / "schueler.csv")[1]

    plan_path = planned(b, "sip", export / "sip")
    page = b.get(plan_path).text

    assert list(uploads.iterdir()) == []  # the export (with its sensitive columns) is gone
    new_persons = count_on(page, "Personen neu")
    assert new_persons >= len(learners)
    assert "Liste der Änderungen" in page and "Seite 1 von" in page
    assert sip_persons(site) == 0  # planning changes nothing

    applied = post(b, f"{plan_path}/uebernehmen", page=plan_path)

    assert applied.status_code == 303
    assert applied.location.startswith("/verwaltung/importe/laeufe/")
    result = b.get(applied.location).text
    assert "Der Import ist übernommen." in result and "übernommen" in result
    assert count_on(result, "Personen neu") == new_persons
    assert f"schueler.csv ({len(learners)} Zeilen)" in result
    with data(site) as s:
        names = {(p.vorname, p.familienname) for p in s.scalars(select(Person))}
        assert (learners[0]["Vorname"], learners[0]["Nachname"]) in names
        assert s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.actor == "verwaltung:lara.land", AuditEvent.action.like("person.%"))
        )
        runs = s.scalars(select(ImportRun).order_by(ImportRun.started_at)).all()
        assert [r.outcome for r in runs] == ["planned", "applied"]
        assert {r.actor for r in runs} == {"verwaltung:lara.land"}
    assert sip_persons(site) == new_persons
    history = b.get(IMPORTS).text
    assert "verwaltung:lara.land" in history
    assert history.index("<td>übernommen</td>") < history.index("<td>geplant</td>")  # newest first
    assert "Diesen Plan gibt es nicht mehr" in b.get(plan_path, follow_redirects=True).text


def test_land_admin_sees_the_imports_link_and_a_school_admin_does_not(site, w):
    land = signed_in(site, w, w.land_admin).get("/verwaltung/personen").text
    school = signed_in(site, w, w.school_admin).get("/verwaltung/personen").text

    assert 'href="/verwaltung/importe/"' in land
    assert "/verwaltung/importe" not in school


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", IMPORTS),
        ("post", IMPORTS),
        ("get", "/verwaltung/importe/plaene/{id}"),
        ("post", "/verwaltung/importe/plaene/{id}/uebernehmen"),
        ("get", "/verwaltung/importe/laeufe/{id}"),
    ],
)
def test_a_school_admin_may_not_import(site, w, method, path):
    b = signed_in(site, w, w.school_admin)
    url = path.format(id=uuid.uuid4())

    response = b.get(url) if method == "get" else post(b, url, {"quelle": "sip"})

    assert response.status_code == 403
    with data(site) as s:
        assert s.scalars(select(ImportRun)).all() == []


def test_bad_rows_are_named_by_file_line_and_field_and_change_nothing(
    site, w, export, database_url
):
    def bad_birth_date(rows):
        rows[2]["Geburtsdatum"] = "31.02.2014"
        return rows

    edit_rows(export / "sip" / "schueler.csv", bad_birth_date)
    b = signed_in(site, w, w.land_admin)
    before = snapshot(database_url)

    page = b.get(planned(b, "sip", export / "sip")).text

    assert "Der Import ist abgelehnt" in page
    assert re.search(r"<code>schueler\.csv:4: Geburtsdatum: [^<]+</code>", page), page
    assert "Plan übernehmen" not in page
    assert "/tmp" not in page  # files are named as uploaded
    assert snapshot(database_url) == before
    with data(site) as s:
        assert [r.outcome for r in s.scalars(select(ImportRun))] == ["rejected"]


def test_a_missing_file_is_named(site, w, export):
    (export / "sip" / "klassen.csv").unlink()
    b = signed_in(site, w, w.land_admin)

    page = b.get(planned(b, "sip", export / "sip")).text

    assert "<code>klassen.csv: file missing from the export</code>" in page
    assert "Plan übernehmen" not in page


def test_skipped_rows_within_max_errors_are_shown_and_the_rest_applies(site, w, export):
    def bad_birth_date(rows):
        rows[2]["Geburtsdatum"] = "31.02.2014"
        return rows

    edit_rows(export / "sip" / "schueler.csv", bad_birth_date)
    b = signed_in(site, w, w.land_admin)

    plan_path = planned(b, "sip", export / "sip", max_fehler="5")
    page = b.get(plan_path).text

    assert count_on(page, "Übersprungene Zeilen") == 1
    assert "schueler.csv:4: Geburtsdatum:" in page
    applied = post(b, f"{plan_path}/uebernehmen", page=plan_path)
    assert applied.location.startswith("/verwaltung/importe/laeufe/")
    assert sip_persons(site) > 0


def test_a_stale_plan_is_refused(site, w, export, database_url):
    b = signed_in(site, w, w.land_admin)
    plan_path = planned(b, "sip", export / "sip")
    post(b, f"/verwaltung/personen/{w.lea}/sperren")  # any change makes the plan stale
    assert "Der Plan ist veraltet" in b.get(plan_path).text
    before = snapshot(database_url)

    refused = post(b, f"{plan_path}/uebernehmen", page=IMPORTS)

    assert refused.status_code == 303 and refused.location == IMPORTS
    assert "Der Plan ist veraltet" in b.get(IMPORTS).text
    assert snapshot(database_url) == before
    with data(site) as s:
        assert [r.outcome for r in s.scalars(select(ImportRun).order_by(ImportRun.started_at))] == [
            "planned",
            "stale",
        ]


def test_the_breaker_stops_a_mass_end_until_the_admin_confirms(site, w, export):
    b = signed_in(site, w, w.land_admin)
    post(b, f"{planned(b, 'sip', export / 'sip')}/uebernehmen", page=IMPORTS)
    edit_rows(export / "sip" / "schueler.csv", lambda rows: rows[: len(rows) // 2])
    plan_path = planned(b, "sip", export / "sip", max_fehler="1000")  # their links are bad
    page = b.get(plan_path).text
    assert "Schutz gegen Massenbeendigung" in page and 'name="massenbeendigung"' in page
    before = sip_persons(site)
    ending = count_on(page, "Rollen enden")
    assert re.search(r"Schule \w+: \d+ von \d+ Rollen? (endet|enden)</li>", page)

    stopped = post(b, f"{plan_path}/uebernehmen", page=plan_path)

    assert stopped.location == plan_path
    assert "hat den Import gestoppt" in b.get(plan_path).text
    confirmed = post(b, f"{plan_path}/uebernehmen", {"massenbeendigung": "ja"}, page=plan_path)
    assert confirmed.location.startswith("/verwaltung/importe/laeufe/")
    assert count_on(b.get(confirmed.location).text, "Rollen enden") == ending
    assert sip_persons(site) == before  # persons stay (locked); their contexts end


def test_plans_nobody_applies_are_removed_after_a_day(site, w, export):
    b = signed_in(site, w, w.land_admin)
    plan_path = planned(b, "sip", export / "sip")
    kept = Path(site.instance_path) / "importplaene" / plan_path.rsplit("/", 1)[1]
    assert sorted(x.name for x in kept.iterdir()) == ["ergebnis.json", "plan.json"]
    a_day_ago = time.time() - 24 * 3600 - 60
    os.utime(kept, (a_day_ago, a_day_ago))

    b.get(IMPORTS)

    assert not kept.exists()
    assert "Diesen Plan gibt es nicht mehr" in b.get(plan_path, follow_redirects=True).text


@pytest.mark.parametrize(
    "name",
    ["../schueler.csv", "sip/schueler.csv", "..\\schueler.csv", ".schueler.csv", "schueler.sh"],
)
def test_file_names_with_paths_or_other_kinds_are_refused(site, w, export, tmp_path, name):
    b = signed_in(site, w, w.land_admin)
    files = [*export_files(export / "sip"), (b"Schulnummer;Klassenname\r\n", name)]

    response = upload(b, "sip", files)

    assert response.status_code == 303 and response.location == IMPORTS
    assert "wird nicht angenommen" in b.get(IMPORTS).text
    assert not (tmp_path / "schueler.csv").exists()
    with data(site) as s:
        assert s.scalars(select(ImportRun)).all() == []
