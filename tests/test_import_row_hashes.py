"""Repeat imports that skip unchanged rows (idp/imports/digests.py): a row that hashes as at the
last import is only counted as present. Each test changes the export so that a shortcut taking
too much (a changed row, a guardian's schools, a link, a check against other rows) or too
little (an unchanged person taken as gone) shows in the result.

Every export here differs from the last one at least in a column the import never reads, so
the whole-export shortcut (same files as the last run) does not apply: the rows are compared.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.importing import (
    count,
    demo_export,
    drop_learners,
    edit_rows,
    idp_import,
    read_rows,
    snapshot,
)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_export(tmp_path_factory.mktemp("export"))


@pytest.fixture
def imported(pristine: Path, tmp_path: Path, database_url: str, run_idp) -> Path:
    """The demo state imported from both sources; returns a copy of its export to edit."""
    export = tmp_path / "export"
    shutil.copytree(pristine, export)
    for source in ("sip", "personal"):
        code, data, err = idp_import(
            run_idp, database_url, "run", "--source", source, str(export / source)
        )
        assert code == 0, err
        assert data["outcome"] == "applied"
    return export


def touch_unread_column(export: Path) -> None:
    """Change a column the import does not read (the file differs, no person does)."""
    edit_rows(
        export / "sip" / "schueler.csv",
        lambda rows: [{**rows[0], "Ort": rows[0]["Ort"] + " (Nord)"}, *rows[1:]],
    )


def run_sip(run_idp, database_url: str, export: Path, *options: str) -> dict:
    code, data, err = idp_import(
        run_idp, database_url, "run", "--source", "sip", str(export / "sip"), *options
    )
    assert code == 0, (err, data)
    return data


def changes(data: dict) -> dict[str, int]:
    return {k: v for k, v in data["summary"].items() if v}


def learners(export: Path) -> list[dict[str, str]]:
    return read_rows(export / "sip" / "schueler.csv")[1]


def query(database_url: str, sql: str, **params) -> list[tuple]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def sip_kontexte(database_url: str, ext: str) -> set[tuple[str, str, bool]]:
    """(rolle, organisation kennung, still open) of a SIP person's contexts."""
    rows = query(
        database_url,
        "SELECT k.rolle, o.kennung, k.valid_until FROM personenkontext k "
        "JOIN organisation o ON o.id = k.organisation_id "
        "JOIN source_record s ON s.object_id = k.person_id "
        "WHERE s.source = 'sip' AND s.kind = 'person' AND s.external_id = :ext",
        ext=ext,
    )
    return {(rolle, kennung, until is None) for rolle, kennung, until in rows}


def test_unchanged_rows_count_as_present(imported, database_url, run_idp):
    touch_unread_column(imported)
    before = snapshot(database_url)

    data = run_sip(run_idp, database_url, imported)

    # Had the skipped rows not been counted, everyone would leave (and the breaker trip).
    assert data["outcome"] == "nothing_to_do", data
    assert changes(data) == {}
    assert snapshot(database_url) == before


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("Vorname", "Zoë"),
        ("Nachname", "Łukasik"),
        ("Geburtsdatum", "01.01.2015"),
        ("Klassenname", None),  # another class of the same school
    ],
)
def test_each_read_column_of_a_learner_is_compared(column, value, imported, database_url, run_idp):
    rows = learners(imported)
    learner = rows[7]
    if value is None:
        value = next(
            r["Klassenname"]
            for r in rows
            if r["Schulnummer"] == learner["Schulnummer"]
            and r["Klassenname"] != learner["Klassenname"]
        )
    edit_rows(
        imported / "sip" / "schueler.csv",
        lambda rows: [
            {**r, column: value} if r["Schüler-ID"] == learner["Schüler-ID"] else r for r in rows
        ],
    )

    data = run_sip(run_idp, database_url, imported)

    if column == "Klassenname":
        assert changes(data) == {"kontexte_start": 1, "kontexte_end": 1}
        kontexte = sip_kontexte(database_url, "schueler:" + learner["Schüler-ID"])
        assert ("LERN", f"{learner['Schulnummer']}/{value}", True) in kontexte
    else:
        assert changes(data) == {"persons_update": 1}
    # The next run finds the new row unchanged.
    touch_unread_column(imported)
    assert run_sip(run_idp, database_url, imported)["outcome"] == "nothing_to_do"


def test_guardian_with_an_unchanged_row_and_a_child_at_a_new_school(
    imported, database_url, run_idp
):
    # A child at a second school: the guardian's own row is the same, their schools are not.
    rows = learners(imported)
    _h, links = read_rows(imported / "sip" / "schueler_erziehungsberechtigte.csv")
    link = links[0]
    school = link["Schulnummer"]
    other = next(r for r in rows if r["Schulnummer"] != school)
    guardian = "eb:" + link["Erziehungsberechtigtennummer"]
    assert ("SORGBER", other["Schulnummer"], True) not in sip_kontexte(database_url, guardian)
    edit_rows(
        imported / "sip" / "schueler_erziehungsberechtigte.csv",
        lambda rows: [
            *rows,
            {
                **link,
                "Schulnummer": other["Schulnummer"],
                "Schülernummer": other["Schülernummer"],
                "Art": "Vormund",
            },
        ],
    )

    data = run_sip(run_idp, database_url, imported)

    assert changes(data) == {"kontexte_start": 1, "links_start": 1}
    assert ("SORGBER", other["Schulnummer"], True) in sip_kontexte(database_url, guardian)


def test_link_of_an_unchanged_learner_ends_when_it_is_no_longer_listed(
    imported, database_url, run_idp
):
    _h, links = read_rows(imported / "sip" / "schueler_erziehungsberechtigte.csv")
    by_child: dict[tuple[str, str], list[dict[str, str]]] = {}
    for link in links:
        by_child.setdefault((link["Schulnummer"], link["Schülernummer"]), []).append(link)
    # A child with two guardians, one of whom has other children at the same school (so the
    # guardian keeps their context and only the link ends).
    schools_of: dict[str, set[tuple[str, str]]] = {}
    for link in links:
        key = (link["Schulnummer"], link["Schülernummer"])
        schools_of.setdefault(link["Erziehungsberechtigtennummer"], set()).add(key)
    dropped = next(
        link
        for pair in by_child.values()
        if len(pair) == 2
        for link in pair
        if len(schools_of[link["Erziehungsberechtigtennummer"]]) > 1
        and len({k[0] for k in schools_of[link["Erziehungsberechtigtennummer"]]}) == 1
    )
    edit_rows(
        imported / "sip" / "schueler_erziehungsberechtigte.csv",
        lambda rows: [r for r in rows if r != dropped],
    )
    touch_unread_column(imported)

    data = run_sip(run_idp, database_url, imported)

    assert changes(data) == {"links_end": 1}


def test_checks_against_other_rows_apply_to_unchanged_rows(imported, database_url, run_idp):
    rows = learners(imported)
    # A learner's id on a new first row: their unchanged row comes second, and so does an
    # exact copy at the end. And a class that is gone, with its learners' unchanged rows.
    twice = rows[2]
    gone_class = (rows[-1]["Schulnummer"], rows[-1]["Klassenname"])
    in_gone_class = [r for r in rows if (r["Schulnummer"], r["Klassenname"]) == gone_class]
    assert twice not in in_gone_class
    edit_rows(
        imported / "sip" / "schueler.csv",
        lambda rows: [{**twice, "Schülernummer": "777777"}, *rows, twice],
    )
    edit_rows(
        imported / "sip" / "klassen.csv",
        lambda rows: [r for r in rows if (r["Schulnummer"], r["Klassenname"]) != gone_class],
    )
    before = snapshot(database_url)

    code, data, _ = idp_import(
        run_idp, database_url, "plan", "--source", "sip", str(imported / "sip")
    )

    assert code == 1 and data["outcome"] == "rejected"
    messages = [(p["line"], p["message"]) for p in data["problems"]]
    twice_at = [line for line, m in messages if m == f"{twice['Schüler-ID']} appears twice"]
    assert twice_at == [2 + 3, len(rows) + 3]  # header, new first row: data from line 3 on
    unknown_class = [m for _line, m in messages if "does not exist at school" in m]
    assert len(unknown_class) == len(in_gone_class) > 0
    # With the bad rows skipped, their learners stay: they are not taken as gone.
    data = run_sip(run_idp, database_url, imported, "--max-errors", str(len(messages)))
    assert data["summary"]["persons_leave"] == 0
    assert data["summary"]["kontexte_end"] == 0
    assert snapshot(database_url)["person"] == before["person"]


def test_leaver_coming_back_with_the_same_row_returns(imported, database_url, run_idp):
    original = imported / "sip_original"
    shutil.copytree(imported / "sip", original)
    leaver = learners(imported)[4]
    ext = "schueler:" + leaver["Schüler-ID"]
    drop_learners(imported, [leaver])
    assert run_sip(run_idp, database_url, imported)["summary"]["persons_leave"] >= 1
    shutil.rmtree(imported / "sip")
    shutil.copytree(original, imported / "sip")
    touch_unread_column(imported)

    data = run_sip(run_idp, database_url, imported)

    assert data["summary"]["persons_return"] >= 1
    assert all(open_ for _r, _k, open_ in sip_kontexte(database_url, ext) if _r == "LERN")
    assert len([k for k in sip_kontexte(database_url, ext) if k[2]]) == 2


def test_hashes_of_another_scheme_are_replaced_once(imported, database_url, run_idp):
    # As after an update that hashes rows differently: every row is compared in full once.
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE source_record SET row_hash = 'older scheme'"))
    finally:
        engine.dispose()
    persons = count(database_url, "SELECT count(*) FROM source_record WHERE source = 'sip'")
    touch_unread_column(imported)

    data = run_sip(run_idp, database_url, imported)

    # Only the hashes are written: nobody changes, nobody leaves.
    assert data["outcome"] == "applied" and changes(data) == {}
    assert persons > 0
    assert (
        count(
            database_url,
            "SELECT count(*) FROM source_record WHERE row_hash = 'older scheme' AND source = 'sip'",
        )
        == 0
    )
    touch_unread_column(imported)
    assert run_sip(run_idp, database_url, imported)["outcome"] == "nothing_to_do"
