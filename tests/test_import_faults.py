"""Broken exports as an operator meets them: each fault named by file, line and field, and the
database left exactly as it was (exit code 1). Also the odd-but-valid files real exports come as
(Windows-1252, a byte-order mark, `,` as delimiter) and a `kill -9` in the middle of an apply.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from idp.imports.sources.sip import GUARDIAN, LEARNER
from tests.conftest import TEST_SECRET
from tests.importing import count, demo_export, idp_import, read_rows, snapshot, write_rows

SIP_FILES = (
    "schulaemter.csv", "schultraeger.csv", "schulen.csv", "klassen.csv", "schueler.csv",
    "erziehungsberechtigte.csv", "schueler_erziehungsberechtigte.csv",
)  # fmt: skip
# Letters of the demo names that Windows-1252 cannot hold and that have no accent to strip.
UNACCENTED = str.maketrans({"ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ı": "i"})
SCHOOL_WITH_COMMA = 'Grundschule "Fritz Reuter", Güstrow – Süd'
UNKNOWN_SCHOOL = "799999"


# -- helpers ------------------------------------------------------------------------------


def run_import(run_idp, database_url: str, export: Path, *args: str, source: str = "sip", env=None):
    """`idp import run --source SOURCE EXPORT/SOURCE ARGS --json`: (exit code, JSON, stderr)."""
    return idp_import(
        run_idp, database_url, "run", "--source", source, str(export / source), *args, env=env
    )


def imported_ok(run_idp, database_url: str, export: Path, *args: str, **kwargs) -> dict:
    code, data, err = run_import(run_idp, database_url, export, *args, **kwargs)
    assert code == 0, err
    assert data["outcome"] in ("applied", "nothing_to_do"), data
    return data


def rejected(run_idp, database_url: str, export: Path, *args: str, **kwargs) -> list[dict]:
    """An import that must be refused: exit code 1, nothing changed; returns its problems."""
    before = snapshot(database_url)
    code, data, err = run_import(run_idp, database_url, export, *args, **kwargs)
    assert code == 1, f"exit code {code}, expected 1 (rejected)\n{err}"
    assert data["outcome"] == "rejected", data
    assert snapshot(database_url) == before, "a rejected import changed the database"
    if not before["person"]:
        assert count(database_url, "SELECT count(*) FROM person") == 0
    assert data["problems"], "rejected without naming a problem"
    return data["problems"]


def where(problems: list[dict]) -> set[tuple[str, int | None, str | None]]:
    return {(Path(p["file"]).name, p["line"], p["field"]) for p in problems}


def assert_problem(
    problems: list[dict], file: str, line: int | None, field: str | None, *words: str
) -> None:
    """One of `problems` is at file:line: field, and its message says all of `words`."""
    found = [p for p in problems if where([p]) == {(file, line, field)}]
    assert found, f"no problem at {file}:{line}: {field} in {problems}"
    message = found[0]["message"].lower()
    for word in words:
        assert word.lower() in message, f"{found[0]['message']!r} does not say {word!r}"


def query(database_url: str, sql: str, **params) -> list[tuple]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def person_names(database_url: str) -> list[tuple[str, str]]:
    return sorted(query(database_url, "SELECT vorname, familienname FROM person"))


def kontexte_of(database_url: str, external_id: str, source: str = "sip") -> list[tuple]:
    """The contexts of the person a source knows by `external_id` (as stored, with prefix)."""
    return sorted(
        query(
            database_url,
            "SELECT k.rolle, o.kennung, k.valid_from, k.valid_until FROM personenkontext k "
            "JOIN organisation o ON o.id = k.organisation_id "
            "JOIN source_record s ON s.object_id = k.person_id "
            "WHERE s.source = :source AND s.kind = 'person' AND s.external_id = :ext",
            source=source,
            ext=external_id,
        )
    )


def has_left(database_url: str, external_id: str, source: str = "sip") -> bool:
    [(left,)] = query(
        database_url,
        "SELECT p.ausgeschieden_am FROM person p JOIN source_record s ON s.object_id = p.id "
        "WHERE s.source = :source AND s.kind = 'person' AND s.external_id = :ext",
        source=source,
        ext=external_id,
    )
    return left is not None


def idp_env(database_url: str) -> dict[str, str]:
    """The environment the `run_idp` fixture gives the `idp` command."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    return {**env, "IDP_SECRET_KEY": TEST_SECRET, "IDP_DATABASE_URL": database_url}


def csv_lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\r\n")


def line_of(index: int) -> int:
    """The file line of data row `index` (the header is line 1; demo rows are one line each)."""
    return index + 2


def each_file(folder: Path, change: Callable[[Path], None]) -> None:
    for name in SIP_FILES:
        change(folder / name)


# -- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_export(tmp_path_factory.mktemp("pristine"))


@pytest.fixture
def export(pristine: Path, tmp_path: Path) -> Path:
    """A fresh copy of the demo export, for one test to break."""
    return Path(shutil.copytree(pristine, tmp_path / "export"))


@pytest.fixture
def imported(export: Path, database_url: str, run_idp) -> Path:
    """The demo SIP export imported once without problems."""
    imported_ok(run_idp, database_url, export)
    return export


@pytest.fixture(scope="module")
def latin(pristine: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo export with only letters Windows-1252 can hold, and a school name with a comma."""
    folder = Path(shutil.copytree(pristine, tmp_path_factory.mktemp("latin") / "export"))

    def unaccent(path: Path) -> None:
        content = path.read_bytes().decode("utf-8")
        path.write_bytes("".join(_cp1252_letter(c) for c in content).encode("utf-8"))

    each_file(folder / "sip", unaccent)
    schools = folder / "sip" / "schulen.csv"
    header, rows = read_rows(schools)
    rows[0]["Schulname"] = SCHOOL_WITH_COMMA
    write_rows(schools, header, rows)
    return folder


def _cp1252_letter(char: str) -> str:
    try:
        char.encode("cp1252")
        return char
    except UnicodeEncodeError:
        base = unicodedata.normalize("NFKD", char.translate(UNACCENTED))
        return "".join(c for c in base if not unicodedata.combining(c))


@pytest.fixture(scope="module")
def latin_names(latin: Path, sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory):
    """(person names, organisation names) after importing the UTF-8 `latin` export."""
    target = tmp_path_factory.mktemp("reference") / "idp.sqlite3"
    shutil.copyfile(sqlite_template, target)
    url = f"sqlite:///{target}"
    result = subprocess.run(
        [sys.executable, "-m", "idp", "import", "run", "--source", "sip", str(latin / "sip")],
        env=idp_env(url),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return person_names(url), sorted(query(url, "SELECT name FROM organisation"))


@pytest.fixture(scope="module")
def big_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An export big enough that its apply takes seconds (about 9,000 persons)."""
    return demo_export(tmp_path_factory.mktemp("big"), schools=12)


# -- whole files that cannot be read --------------------------------------------------------


def test_file_cut_in_the_middle_of_a_line_is_refused(export, database_url, run_idp):
    learners = export / "sip" / "schueler.csv"
    lines = csv_lines(learners)
    lines[500] = lines[500][: len(lines[500]) // 2]
    learners.write_bytes(b"\r\n".join(lines[:501]))

    # Truncation is a fault of the whole file: no --max-errors lets it through.
    problems = rejected(run_idp, database_url, export, "--max-errors", "1000")

    assert_problem(problems, "schueler.csv", 501, None, "truncated")


def test_file_ending_inside_a_quoted_field_is_refused(export, database_url, run_idp):
    learners = export / "sip" / "schueler.csv"
    lines = csv_lines(learners)[:-1]  # the empty piece after the last line break
    cut = lines[-1].rsplit(b";", 1)[0] + b';"Schwer'
    learners.write_bytes(b"\r\n".join([*lines, cut]))

    problems = rejected(run_idp, database_url, export)

    assert_problem(problems, "schueler.csv", len(lines) + 1, None, "quoted field", "truncated")


def test_file_cut_inside_the_last_field_is_refused(export, database_url, run_idp):
    links = export / "sip" / "schueler_erziehungsberechtigte.csv"
    lines = csv_lines(links)[:-1]
    lines[-1] = lines[-1][:-3]  # "...;Vater" -> "...;Va"

    links.write_bytes(b"\r\n".join(lines))

    problems = rejected(run_idp, database_url, export)

    # The cut value is not one of the code list's, so the row cannot be taken for complete.
    assert_problem(
        problems, "schueler_erziehungsberechtigte.csv", len(lines), "Art", "unknown value"
    )


def test_bytes_neither_utf8_nor_windows_1252_are_refused(export, database_url, run_idp):
    learners = export / "sip" / "schueler.csv"
    lines = csv_lines(learners)
    lines[41] = lines[41].replace(b";", b";\x81", 1)
    learners.write_bytes(b"\r\n".join(lines))

    problems = rejected(run_idp, database_url, export)

    assert_problem(problems, "schueler.csv", 42, None, "UTF-8", "Windows-1252")


def _windows_1252(path: Path) -> None:
    path.write_bytes(path.read_bytes().decode("utf-8").encode("cp1252"))


def _byte_order_mark(path: Path) -> None:
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())


def _comma_delimited(path: Path) -> None:
    header, rows = read_rows(path)
    write_rows(path, header, rows, delimiter=",")


@pytest.mark.parametrize(
    "variant",
    [_windows_1252, _byte_order_mark, _comma_delimited],
    ids=["windows-1252", "utf-8-bom", "comma"],
)
def test_other_encodings_and_delimiter_import_the_same_names(
    variant, latin, latin_names, database_url, run_idp, tmp_path
):
    export = Path(shutil.copytree(latin, tmp_path / "export"))
    each_file(export / "sip", variant)

    imported_ok(run_idp, database_url, export)

    persons, organisations = latin_names
    assert person_names(database_url) == persons
    assert sorted(query(database_url, "SELECT name FROM organisation")) == organisations
    assert set("äöüß") <= set("".join(v + f for v, f in persons)), "no umlauts to survive"
    assert (SCHOOL_WITH_COMMA,) in organisations


def test_huge_field_is_refused(export, database_url, run_idp):
    learners = export / "sip" / "schueler.csv"
    header, rows = read_rows(learners)
    rows[99]["Vorname"] = "A" * 10_000_000
    write_rows(learners, header, rows)

    problems = rejected(run_idp, database_url, export)

    assert_problem(problems, "schueler.csv", line_of(99), None, "field longer than")


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x06\x00\x00\x00"


@pytest.mark.parametrize(
    "garbage",
    [hashlib.shake_256(b"garbage").digest(8000), PNG * 50],
    ids=["random-bytes", "png"],
)
def test_binary_file_instead_of_csv_is_refused(garbage, export, database_url, run_idp):
    (export / "sip" / "schueler.csv").write_bytes(garbage)

    problems = rejected(run_idp, database_url, export)

    [problem] = problems
    assert Path(problem["file"]).name == "schueler.csv"
    assert "not a csv file" in problem["message"].lower()


def test_missing_required_column_is_named(export, database_url, run_idp):
    learners = export / "sip" / "schueler.csv"
    header, rows = read_rows(learners)
    header.remove("Nachname")
    write_rows(learners, header, [{k: r[k] for k in header} for r in rows])

    problems = rejected(run_idp, database_url, export)

    assert_problem(problems, "schueler.csv", 1, "Nachname", "required column missing")


def test_renamed_column_mapped_in_the_config_imports(export, database_url, run_idp, tmp_path):
    learners = export / "sip" / "schueler.csv"
    header, rows = read_rows(learners)
    header[header.index("Nachname")] = "Familienname"
    rows = [{"Familienname" if k == "Nachname" else k: v for k, v in r.items()} for r in rows]
    write_rows(learners, header, rows)
    config = tmp_path / "idp.toml"
    config.write_text('[import.sip.columns.schueler]\nfamilienname = "Familienname"\n')

    imported_ok(run_idp, database_url, export, env={"IDP_CONFIG": str(config)})

    names = set(person_names(database_url))
    assert {(r["Vorname"], r["Familienname"]) for r in rows} <= names


@pytest.mark.parametrize(
    ("content", "words"),
    [(b"", ("empty file",)), (None, ("no data rows", "everyone left"))],
    ids=["zero-bytes", "header-only"],
)
def test_empty_learner_file_is_refused(content, words, export, database_url, run_idp):
    learners = export / "sip" / "schueler.csv"
    learners.write_bytes(csv_lines(learners)[0] + b"\r\n" if content is None else content)

    problems = rejected(run_idp, database_url, export)

    assert_problem(problems, "schueler.csv", None, None, *words)


def test_empty_export_never_ends_anyones_contexts(imported, database_url, run_idp):
    learners = imported / "sip" / "schueler.csv"
    learners.write_bytes(csv_lines(learners)[0] + b"\r\n")
    active = count(database_url, "SELECT count(*) FROM personenkontext WHERE valid_until IS NULL")

    problems = rejected(run_idp, database_url, imported)

    assert_problem(problems, "schueler.csv", None, None, "no data rows")
    assert (
        count(database_url, "SELECT count(*) FROM personenkontext WHERE valid_until IS NULL")
        == active
    )


# -- single rows that are wrong ----------------------------------------------------------------


@dataclass
class RowFaults:
    """Faults written into an export: where each must be reported, and whose rows they skip."""

    expected: list[tuple[str, int, str, str]] = field(default_factory=list)
    skipped_learners: list[str] = field(default_factory=list)
    new_learner: str = "99999990"  # its Schüler-ID


def break_rows(export: Path) -> RowFaults:
    """One learner row per rule, plus a guardian link to nobody; also one new, valid learner."""
    sip = export / "sip"
    header, rows = read_rows(sip / "schueler.csv")
    link_header, links = read_rows(sip / "schueler_erziehungsberechtigte.csv")
    _h, klassen = read_rows(sip / "klassen.csv")
    linked = {(link["Schulnummer"], link["Schülernummer"]) for link in links}
    adults = [i for i, r in enumerate(rows) if (r["Schulnummer"], r["Schülernummer"]) not in linked]
    school = rows[10]["Schulnummer"]
    here = {k["Klassenname"] for k in klassen if k["Schulnummer"] == school}
    elsewhere = next(k["Klassenname"] for k in klassen if k["Klassenname"] not in here)
    faults = RowFaults()

    def fault(index: int, column: str, value: str, words: str) -> None:
        rows[index][column] = value
        faults.expected.append(("schueler.csv", line_of(index), column, words))
        faults.skipped_learners.append(LEARNER + rows[index]["Schüler-ID"])

    fault(adults[0], "Schulnummer", UNKNOWN_SCHOOL, "unknown school number")
    fault(11, "Geburtsdatum", "31.02.2014", "not a valid date")
    fault(12, "Nachname", "", "must not be empty")
    fault(13, "Vorname", "Иван", "DIN 91379")
    fault(14, "Nachname", "Schmidt 🙂", "DIN 91379")
    fault(10, "Klassenname", elsewhere, "does not exist at school")
    twin = {**rows[15], "Schülernummer": "999998", "Vorname": "Zweitname"}
    new = {**rows[20], "Schülernummer": "999990", "Schüler-ID": faults.new_learner}
    new.update({"Vorname": "Neuling", "Geburtsdatum": "01.01.2000"})
    write_rows(sip / "schueler.csv", header, [*rows, twin, new])
    faults.expected.append(("schueler.csv", line_of(len(rows)), "Schüler-ID", "appears twice"))
    nobody = {**links[0], "Schülernummer": "999999"}
    write_rows(sip / "schueler_erziehungsberechtigte.csv", link_header, [*links, nobody])
    faults.expected.append(
        (
            "schueler_erziehungsberechtigte.csv",
            line_of(len(links)),
            "Schülernummer",
            "unknown learner",
        )
    )
    return faults


def test_every_bad_row_is_reported_in_one_run(export, database_url, run_idp):
    faults = break_rows(export)

    problems = rejected(run_idp, database_url, export)

    assert where(problems) == {(f, line, col) for f, line, col, _w in faults.expected}
    for file, line, column, words in faults.expected:
        assert_problem(problems, file, line, column, words)


def test_max_errors_imports_the_rest_and_skipped_learners_stay(imported, database_url, run_idp):
    faults = break_rows(imported)
    before = {ext: kontexte_of(database_url, ext) for ext in faults.skipped_learners}

    data = imported_ok(run_idp, database_url, imported, "--max-errors", str(len(faults.expected)))

    assert data["summary"]["skipped_rows"] == len(faults.expected)
    assert data["summary"]["persons_create"] == 1
    assert kontexte_of(database_url, LEARNER + faults.new_learner)
    for ext, kontexte in before.items():
        assert kontexte, f"learner {ext} had no contexts before"
        assert kontexte_of(database_url, ext) == kontexte, f"learner {ext} was changed"
        assert not has_left(database_url, ext), f"learner {ext} was taken as having left"


def test_max_errors_lists_the_skipped_rows(export, database_url, run_idp):
    faults = break_rows(export)

    data = imported_ok(run_idp, database_url, export, "--max-errors", str(len(faults.expected)))

    assert where(data["problems"]) == {(f, line, col) for f, line, col, _w in faults.expected}


def only_child(export: Path) -> tuple[int, list[str]]:
    """A learner row whose guardians have no other child: (row index, guardians' ids)."""
    _h, rows = read_rows(export / "sip" / "schueler.csv")
    _h, links = read_rows(export / "sip" / "schueler_erziehungsberechtigte.csv")
    children: dict[str, int] = {}
    for link in links:
        guardian = link["Erziehungsberechtigtennummer"]
        children[guardian] = children.get(guardian, 0) + 1
    for index, row in enumerate(rows):
        key = (row["Schulnummer"], row["Schülernummer"])
        guardians = [
            g["Erziehungsberechtigtennummer"]
            for g in links
            if (g["Schulnummer"], g["Schülernummer"]) == key
        ]
        if guardians and all(children[g] == 1 for g in guardians):
            return index, [GUARDIAN + g for g in guardians]
    raise AssertionError("the demo export has no only child")


def test_guardians_of_a_skipped_learner_stay(imported, database_url, run_idp):
    index, guardians = only_child(imported)
    learners = imported / "sip" / "schueler.csv"
    header, rows = read_rows(learners)
    rows[index]["Geburtsdatum"] = "31.02.2014"
    write_rows(learners, header, rows)
    before = {g: kontexte_of(database_url, g) for g in guardians}

    data = imported_ok(run_idp, database_url, imported, "--max-errors", "1")

    assert {g: kontexte_of(database_url, g) for g in guardians} == before
    assert data["summary"]["kontexte_end"] == data["summary"]["persons_leave"] == 0


def guardians_of(database_url: str, learner: str) -> set[str]:
    return set(
        ext
        for (ext,) in query(
            database_url,
            "SELECT g.external_id FROM beziehung b "
            "JOIN source_record g ON g.object_id = b.erziehungsberechtigter_id "
            "JOIN source_record l ON l.object_id = b.lernender_id "
            "WHERE g.kind = 'person' AND l.kind = 'person' AND l.external_id = :ext",
            ext=learner,
        )
    )


def test_guardians_of_a_duplicate_id_row_are_not_given_to_the_other_child(
    export, database_url, run_idp
):
    learners = export / "sip" / "schueler.csv"
    header, rows = read_rows(learners)
    _h, links = read_rows(export / "sip" / "schueler_erziehungsberechtigte.csv")
    parents = {}
    for link in links:
        key = (link["Schulnummer"], link["Schülernummer"])
        parents.setdefault(key, set()).add(GUARDIAN + link["Erziehungsberechtigtennummer"])
    with_parents = (
        i for i, r in enumerate(rows) if (r["Schulnummer"], r["Schülernummer"]) in parents
    )
    first, second = next(with_parents), next(with_parents)
    own = parents[(rows[first]["Schulnummer"], rows[first]["Schülernummer"])]
    rows[second]["Schüler-ID"] = rows[first]["Schüler-ID"]
    write_rows(learners, header, rows)

    imported_ok(run_idp, database_url, export, "--max-errors", "1")

    assert guardians_of(database_url, LEARNER + rows[first]["Schüler-ID"]) == own


def test_problems_print_one_per_line_as_file_line_field_message(
    run_idp, pristine, tmp_path, database_url
):
    # A long path, as on a server; the log line must stay one grep-able line.
    export = Path(shutil.copytree(pristine, tmp_path / ("exporte-" * 20) / "export"))
    faults = break_rows(export)

    result = run_idp(
        "import", "run", "--source", "sip", str(export / "sip"),
        env={"IDP_DATABASE_URL": database_url, "COLUMNS": "80"},  # a log file, not a terminal
    )  # fmt: skip

    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    for file, line, column, words in faults.expected:
        prefix = f"{export / 'sip' / file}:{line}: {column}: "
        assert any(x.startswith(prefix) and words in x for x in lines), prefix


# -- the personnel export ------------------------------------------------------------------------


def test_staff_with_unknown_funktion_or_dienststelle_are_named(export, database_url, run_idp):
    staff = export / "personal" / "personal.csv"
    header, rows = read_rows(staff)
    rows = [r for r in rows if r["Funktion"] in ("MIN", "SSA")]  # no school needed
    ssa = [i for i, r in enumerate(rows) if r["Funktion"] == "SSA"]
    rows[ssa[0]]["Funktion"] = "XY"
    rows[ssa[1]]["Dienststellennummer"] = "119999"
    write_rows(staff, header, rows)

    problems = rejected(run_idp, database_url, export, source="personal")

    assert where(problems) == {
        ("personal.csv", line_of(ssa[0]), "Funktion"),
        ("personal.csv", line_of(ssa[1]), "Dienststellennummer"),
    }
    assert_problem(problems, "personal.csv", line_of(ssa[0]), "Funktion", "unknown Funktion 'XY'")
    assert_problem(
        problems, "personal.csv", line_of(ssa[1]), "Dienststellennummer", "'119999'", "SCHULAMT"
    )


def test_teacher_at_a_school_sip_never_created_is_named(imported, database_url, run_idp):
    staff = imported / "personal" / "personal.csv"
    header, rows = read_rows(staff)
    numbers = [r["Personalnummer"] for r in rows]
    single = next(
        i for i, r in enumerate(rows) if r["Funktion"] == "LK" and numbers.count(numbers[i]) == 1
    )
    second = next(i for i, n in enumerate(numbers) if n in numbers[:i])
    rows[single]["Dienststellennummer"] = UNKNOWN_SCHOOL
    rows[second]["Dienststellennummer"] = "799998"
    write_rows(staff, header, rows)

    problems = rejected(run_idp, database_url, imported, source="personal")

    assert where(problems) == {
        ("personal.csv", line_of(single), "Dienststellennummer"),
        ("personal.csv", line_of(second), "Dienststellennummer"),
    }
    assert_problem(problems, "personal.csv", line_of(single), "Dienststellennummer", UNKNOWN_SCHOOL)
    assert_problem(problems, "personal.csv", line_of(second), "Dienststellennummer", "799998")


# -- a crash in the middle of an apply --------------------------------------------------------


def test_kill_during_apply_changes_nothing(big_export, database_url, run_idp, tmp_path):
    before = snapshot(database_url)
    seen: list[str] = []
    with subprocess.Popen(
        [sys.executable, "-m", "idp", "import", "run", "--source", "sip", str(big_export / "sip")],
        env=idp_env(database_url),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            for line in process.stderr:
                seen.append(line)
                if line.startswith("import: "):  # an apply step has finished
                    os.kill(process.pid, signal.SIGKILL)
                    break
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=60)
    assert seen and seen[-1].startswith("import: "), f"no progress line before exit: {seen}"
    applied = count(database_url, "SELECT count(*) FROM import_run WHERE outcome = 'applied'")
    assert process.returncode == -signal.SIGKILL and not applied, (
        f"the apply finished (exit code {process.returncode}) before the kill landed: "
        "make big_export bigger"
    )

    assert snapshot(database_url) == before

    imported_ok(run_idp, database_url, big_export)
