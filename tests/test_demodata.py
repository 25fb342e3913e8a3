"""`idp demo-data`: the synthetic exports have the documented shape and the hard cases."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner

from idp.demodata import formats, generate
from idp.demodata.command import demo_data_command
from idp.demodata.families import ARTEN
from idp.demodata.geography import KINDS
from idp.demodata.organisations import SCHULARTEN
from idp.demodata.rows import FOERDERSCHWERPUNKTE
from idp.demodata.staff import FUNKTIONEN, LEHRAEMTER, SCHULLEITUNG
from idp.naming.din91379 import is_valid_name

REPO = Path(__file__).resolve().parent.parent
TODAY = "2026-11-28"
STICHTAG = dt.date(2026, 8, 1)


def run(*args: str) -> str:
    result = CliRunner().invoke(demo_data_command, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def read(out: Path, fmt: formats.FileFormat) -> list[dict[str, str]]:
    with (out / fmt.path).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def parse_date(text: str) -> dt.date:
    day, month, year = text.split(".")
    return dt.date(int(year), int(month), int(day))


def age(birth: str, on: dt.date = STICHTAG) -> int:
    born = parse_date(birth)
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default small state (3 schools), seed 1, built around a fixed day."""
    directory = tmp_path_factory.mktemp("state")
    run("--out", str(directory), "--today", TODAY)
    return directory


@pytest.fixture(scope="module")
def state(out: Path) -> dict[str, list[dict[str, str]]]:
    return {fmt.path: read(out, fmt) for fmt in formats.ALL}


def learner_key(row: dict[str, str]) -> tuple[str, str]:
    return row["Schulnummer"], row["Schülernummer"]


# -- files and format ----------------------------------------------------------------------------


def test_every_file_has_its_documented_header(out: Path) -> None:
    docs = (REPO / "docs" / "import-formats.md").read_text(encoding="utf-8")
    for fmt in formats.ALL:
        first_line = (out / fmt.path).read_bytes().split(b"\r\n", 1)[0].decode("utf-8")
        assert first_line == ";".join(fmt.header)
        assert f"`{fmt.path}`" in docs
        assert f"`{';'.join(fmt.header)}`" in docs, f"{fmt.path}: header not in the docs"


def test_files_are_utf8_without_bom_with_crlf(out: Path) -> None:
    for fmt in formats.ALL:
        data = (out / fmt.path).read_bytes()
        assert not data.startswith(b"\xef\xbb\xbf")
        data.decode("utf-8")
        assert data.endswith(b"\r\n")
        assert data.count(b"\n") == data.count(b"\r\n")


def test_fields_are_quoted_only_when_needed(out: Path) -> None:
    assert '"' not in (out / formats.SCHUELER.path).read_text(encoding="utf-8")
    raw = (out / formats.SCHULEN.path).read_text(encoding="utf-8")
    for row in read(out, formats.SCHULEN):
        if '"' in row["Schulname"]:
            assert '"' + row["Schulname"].replace('"', '""') + '"' in raw
        else:
            assert f";{row['Schulname']};" in raw


def test_summary_and_json_counts_match_the_files(tmp_path: Path) -> None:
    counts = json.loads(run("--out", str(tmp_path), "--schools", "2", "--json", "--today", TODAY))
    assert set(counts) == {fmt.path for fmt in formats.ALL}
    for fmt in formats.ALL:
        assert counts[fmt.path] == len(read(tmp_path, fmt))
    summary = run("--out", str(tmp_path), "--schools", "2", "--today", TODAY)
    assert "sip/schueler.csv" in summary


def test_schools_and_scale_exclude_each_other(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        demo_data_command, ["--out", str(tmp_path), "--schools", "2", "--scale", "land"]
    )
    assert result.exit_code == 2
    assert not (tmp_path / "sip").exists()


def test_default_is_a_small_state_of_three_schools(state: dict) -> None:
    assert len(state[formats.SCHULEN.path]) == 3
    arten = {row["Schulart"] for row in state[formats.SCHULEN.path]}
    assert {"Grundschule", "Gymnasium", "Berufliche Schule"} <= arten


def test_generate_returns_the_row_counts(tmp_path: Path) -> None:
    counts = generate(tmp_path, schools=1, seed=3, today=dt.date(2026, 11, 28))
    assert counts[formats.SCHULEN.path] == 1
    assert counts[formats.SCHUELER.path] == len(read(tmp_path, formats.SCHUELER))


# -- determinism ---------------------------------------------------------------------------------


def file_bytes(directory: Path) -> dict[str, bytes]:
    return {fmt.path: (directory / fmt.path).read_bytes() for fmt in formats.ALL}


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    run("--out", str(tmp_path / "a"), "--schools", "4", "--seed", "7", "--today", TODAY)
    run("--out", str(tmp_path / "b"), "--schools", "4", "--seed", "7", "--today", TODAY)
    assert file_bytes(tmp_path / "a") == file_bytes(tmp_path / "b")


def test_other_seed_gives_other_data(tmp_path: Path) -> None:
    run("--out", str(tmp_path / "a"), "--schools", "4", "--seed", "7", "--today", TODAY)
    run("--out", str(tmp_path / "b"), "--schools", "4", "--seed", "8", "--today", TODAY)
    a, b = file_bytes(tmp_path / "a"), file_bytes(tmp_path / "b")
    assert a[formats.SCHUELER.path] != b[formats.SCHUELER.path]
    assert a[formats.PERSONAL.path] != b[formats.PERSONAL.path]


# -- referential integrity -----------------------------------------------------------------------


def test_every_link_points_to_an_existing_learner_and_guardian(state: dict) -> None:
    learners = {learner_key(row) for row in state[formats.SCHUELER.path]}
    guardians = {
        row["Erziehungsberechtigtennummer"] for row in state[formats.ERZIEHUNGSBERECHTIGTE.path]
    }
    links = state[formats.SCHUELER_ERZIEHUNGSBERECHTIGTE.path]
    assert links
    for link in links:
        assert learner_key(link) in learners
        assert link["Erziehungsberechtigtennummer"] in guardians
        assert link["Art"] in ARTEN
    linked = {link["Erziehungsberechtigtennummer"] for link in links}
    assert linked == guardians, "every guardian has at least one child"


def test_every_learner_sits_in_an_existing_class_of_their_school(state: dict) -> None:
    klassen = {
        (row["Schulnummer"], row["Klassenname"]): row["Jahrgangsstufe"]
        for row in state[formats.KLASSEN.path]
    }
    arten = {row["Schulnummer"]: row["Schulart"] for row in state[formats.SCHULEN.path]}
    sizes = Counter(
        (row["Schulnummer"], row["Klassenname"]) for row in state[formats.SCHUELER.path]
    )
    for row in state[formats.SCHUELER.path]:
        assert klassen[(row["Schulnummer"], row["Klassenname"])] == row["Jahrgangsstufe"]
        assert arten[row["Schulnummer"]] == row["Schulart"]
    assert set(sizes) == set(klassen)
    assert all(15 <= size <= 28 for size in sizes.values())


def test_schools_point_to_listed_schulaemter_and_traeger(state: dict) -> None:
    aemter = {row["Dienststellennummer"] for row in state[formats.SCHULAEMTER.path]}
    traeger = {row["Schulträgernummer"] for row in state[formats.SCHULTRAEGER.path]}
    for row in state[formats.SCHULEN.path]:
        assert re.fullmatch(r"7\d{5}", row["Schulnummer"])
        assert row["Dienststellennummer"] in aemter
        assert row["Schulträgernummer"] in traeger
    assert len(aemter) == 4


def test_staff_work_at_known_dienststellen(state: dict) -> None:
    schools = {row["Schulnummer"] for row in state[formats.SCHULEN.path]}
    offices = {row["Dienststellennummer"]: row for row in state[formats.DIENSTSTELLEN.path]}
    for row in state[formats.PERSONAL.path]:
        assert re.fullmatch(r"\d{8}", row["Personalnummer"])
        if row["Funktion"] in {"LK", "REF", "PF"}:
            assert row["Dienststellennummer"] in schools
        else:
            expected = {"SSA": "SSA", "MIN": "MIN"}[row["Funktion"]]
            assert offices[row["Dienststellennummer"]]["Dienststellenart"] == expected


def test_ids_are_unique_where_they_must_be(state: dict) -> None:
    learners = [learner_key(row) for row in state[formats.SCHUELER.path]]
    assert len(learners) == len(set(learners))
    guardians = [
        r["Erziehungsberechtigtennummer"] for r in state[formats.ERZIEHUNGSBERECHTIGTE.path]
    ]
    assert len(guardians) == len(set(guardians))
    rows = [(r["Personalnummer"], r["Dienststellennummer"]) for r in state[formats.PERSONAL.path]]
    assert len(rows) == len(set(rows))


# -- the cases that break naive code -------------------------------------------------------------


def test_twins_share_birth_date_school_and_guardians(state: dict) -> None:
    guardians = defaultdict(set)
    for link in state[formats.SCHUELER_ERZIEHUNGSBERECHTIGTE.path]:
        guardians[learner_key(link)].add(link["Erziehungsberechtigtennummer"])
    families = Counter(
        (row["Schulnummer"], row["Geburtsdatum"], frozenset(guardians[learner_key(row)]))
        for row in state[formats.SCHUELER.path]
        if guardians[learner_key(row)]
    )
    assert any(count >= 2 for count in families.values())


def test_same_full_name_twice_in_one_class(state: dict) -> None:
    names = Counter(
        (row["Schulnummer"], row["Klassenname"], row["Nachname"], row["Vorname"])
        for row in state[formats.SCHUELER.path]
    )
    assert any(count >= 2 for count in names.values())


def test_siblings_share_guardians_across_schools(state: dict) -> None:
    children = defaultdict(set)
    for link in state[formats.SCHUELER_ERZIEHUNGSBERECHTIGTE.path]:
        children[link["Erziehungsberechtigtennummer"]].add(learner_key(link))
    assert any(len(kids) >= 2 for kids in children.values())
    assert any(len({school for school, _ in kids}) >= 2 for kids in children.values())


def test_one_parent_families_and_adults_without_guardians(state: dict) -> None:
    arten = defaultdict(list)
    for link in state[formats.SCHUELER_ERZIEHUNGSBERECHTIGTE.path]:
        arten[learner_key(link)].append(link["Art"])
    assert any(found in (["Mutter"], ["Vater"]) for found in arten.values())
    without = [row for row in state[formats.SCHUELER.path] if learner_key(row) not in arten]
    assert without
    assert any(row["Schulart"] == "Berufliche Schule" for row in without)
    assert all(age(row["Geburtsdatum"]) >= 18 for row in without)


def test_ages_fit_the_jahrgangsstufe(state: dict) -> None:
    for row in state[formats.SCHUELER.path]:
        grade, years = int(row["Jahrgangsstufe"]), age(row["Geburtsdatum"])
        if row["Schulart"] == "Berufliche Schule":
            assert 16 <= years <= 40
        else:
            assert grade + 4 <= years <= grade + 8, row


def test_teachers_at_two_schools_share_one_personalnummer(state: dict) -> None:
    schools = defaultdict(set)
    for row in state[formats.PERSONAL.path]:
        schools[row["Personalnummer"]].add(row["Dienststellennummer"])
    assert any(len(found) == 2 for found in schools.values())


def test_referendare_end_within_two_years(state: dict) -> None:
    today = dt.date.fromisoformat(TODAY)
    referendare = [row for row in state[formats.PERSONAL.path] if row["Funktion"] == "REF"]
    assert referendare
    for row in referendare:
        end = parse_date(row["Gültig bis"])
        assert today < end <= today + dt.timedelta(days=2 * 366)
        assert row["Lehramt"]


def test_every_school_has_a_schulleiter(state: dict) -> None:
    leaders = Counter(
        row["Dienststellennummer"]
        for row in state[formats.PERSONAL.path]
        if row["Schulleitung"] == "SL"
    )
    assert set(leaders) == {row["Schulnummer"] for row in state[formats.SCHULEN.path]}
    assert set(leaders.values()) == {1}


def test_names_hold_the_hard_cases(state: dict) -> None:
    people = [
        *state[formats.SCHUELER.path],
        *state[formats.ERZIEHUNGSBERECHTIGTE.path],
        *state[formats.PERSONAL.path],
    ]
    surnames = {row["Nachname"] for row in people}
    first_names = {row["Vorname"] for row in people}
    everything = "".join(surnames | first_names)
    for letter in "äöüßéèçŁłŞşĆčřžšőűøåæñĐđİı":
        assert letter in everything, letter
    assert any("'" in name for name in surnames)
    assert any(name.startswith(("von ", "van ", "de ", "zur ", "ten ")) for name in surnames)
    assert any("-" in name for name in surnames)
    assert any("-" in name for name in first_names)
    assert any(" " in name for name in first_names)
    for name in surnames | first_names:
        assert is_valid_name(name), name


def test_dates_and_codes_use_the_documented_lists(state: dict) -> None:
    date = re.compile(r"\d{2}\.\d{2}\.\d{4}")
    for row in state[formats.SCHUELER.path]:
        assert date.fullmatch(row["Geburtsdatum"])
        assert row["Geschlecht"] in {"m", "w", "d"}
        assert row["LRS"] in {"ja", "nein"}
        assert re.fullmatch(r"\d{6}", row["Schülernummer"])
        assert re.fullmatch(r"[A-Z]{3}", row["Staatsangehörigkeit"])
        assert row["Schulart"] in SCHULARTEN
        assert row["Förderbedarf"] in {*FOERDERSCHWERPUNKTE, ""}
    for row in state[formats.ERZIEHUNGSBERECHTIGTE.path]:
        assert row["Geschlecht"] in {"m", "w", "d", ""}
    for row in state[formats.SCHULTRAEGER.path]:
        assert row["Schulträgerart"] in KINDS
    for row in state[formats.PERSONAL.path]:
        assert row["Funktion"] in FUNKTIONEN
        assert row["Schulleitung"] in {*SCHULLEITUNG, ""}
        assert row["Lehramt"] in {*LEHRAEMTER, ""}
        assert row["Titel"] in {"Dr.", ""}
        assert date.fullmatch(row["Gültig ab"])
        assert row["Gültig bis"] == "" or date.fullmatch(row["Gültig bis"])


def test_guardian_mail_is_optional_and_at_example_domains(state: dict) -> None:
    mails = [row["E-Mail"] for row in state[formats.ERZIEHUNGSBERECHTIGTE.path]]
    filled = [mail for mail in mails if mail]
    assert 0.45 < len(filled) / len(mails) < 0.75
    for mail in filled:
        assert re.fullmatch(r"[A-Za-z0-9.\-]+@example\.(org|net|com)", mail), mail


def test_sensitive_columns_are_in_the_export(state: dict) -> None:
    for fmt in formats.ALL:
        rows = state[fmt.path]
        for column in fmt.sensitive:
            assert any(row[column] for row in rows), f"{fmt.path}: {column} is never filled"
    assert set(formats.SCHUELER.sensitive) == {
        "Förderbedarf",
        "LRS",
        "Staatsangehörigkeit",
        "Straße",
        "PLZ",
        "Ort",
    }
