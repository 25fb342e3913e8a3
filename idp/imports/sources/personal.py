"""The state personnel export: staff of schools, Schulämter and the ministry.

A person with two rows (a teacher at two schools) is one person with two contexts. Birth dates
and the Lehramt are in the export but not needed for an account, so they are not read.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from idp.imports.columns import FileSpec, file_info, read_files, resolve
from idp.imports.csvfile import CsvTable
from idp.imports.fields import RowChecker
from idp.imports.problems import Problem
from idp.imports.records import KontextRecord, OrgRecord, Origin, PersonRecord, SourceData

SOURCE = "personal"

# Funktion -> (rolle, organisation type of the Dienststelle)
FUNKTIONEN = {
    "LK": ("LEHR", "SCHULE"),
    "REF": ("REFERENDAR", "SCHULE"),
    "PF": ("PAEDFK", "SCHULE"),
    "SSA": ("SCHULAMT_MA", "SCHULAMT"),
    "MIN": ("MINISTERIUM_MA", "MINISTERIUM"),
}
SCHULLEITUNG = {"SL", "SV"}  # Schulleiter/in, Stellvertretung: both hold the role SCHULLEITUNG
DIENSTSTELLENARTEN = {"MIN": "MINISTERIUM", "SSA": "SCHULAMT"}

SPECS = [
    FileSpec("dienststellen.csv", {"kennung": "Dienststellennummer", "name": "Dienststellenname",
                                   "art": "Dienststellenart"},
             frozenset({"kennung", "name", "art"})),
    FileSpec("personal.csv", {"external_id": "Personalnummer",
                              "dienststelle": "Dienststellennummer",
                              "familienname": "Nachname", "vorname": "Vorname",
                              "funktion": "Funktion", "schulleitung": "Schulleitung",
                              "valid_from": "Gültig ab", "valid_until": "Gültig bis"},
             frozenset({"external_id", "dienststelle", "familienname", "vorname", "funktion"})),
]  # fmt: skip


def read_personal(
    folder: Path, overrides: Mapping, land: tuple[str, str]
) -> tuple[SourceData, list[Problem]]:
    """Read the export in `folder` (see read_sip for how problems are reported)."""
    mapping = resolve(SPECS, overrides, SOURCE)
    tables = read_files(folder, SPECS, mapping)
    data = SourceData(source=SOURCE, full_schools=True)
    problems: list[Problem] = []
    data.orgs.append(OrgRecord("LAND", land[0], land[1], Origin("config")))
    dienststellen = _dienststellen(
        tables["dienststellen.csv"], mapping["dienststellen.csv"], data, problems, land
    )
    _staff(tables["personal.csv"], mapping["personal.csv"], dienststellen, data, problems)
    data.files = file_info(tables)
    return data, problems


def _dienststellen(
    table: CsvTable,
    columns: dict,
    data: SourceData,
    problems: list[Problem],
    land: tuple[str, str],
) -> dict[str, str]:
    found: dict[str, str] = {}
    for line, row in table.rows():
        check = RowChecker(str(table.path), line, problems)
        kennung = check.required(row["kennung"], columns["kennung"])
        name = check.required(row["name"], columns["name"])
        typ = DIENSTSTELLENARTEN.get(row["art"])
        if typ is None:
            check.fail(
                columns["art"],
                f"unknown Dienststellenart {row['art']!r} (known: {', '.join(DIENSTSTELLENARTEN)})",
            )
        if check.ok:
            found[kennung] = typ
            data.orgs.append(
                OrgRecord(typ, kennung, name, Origin(check.file, line), parent=("LAND", land[0]))
            )
            data.scope.add(kennung)
    return found


def _staff(
    table: CsvTable,
    columns: dict,
    dienststellen: dict[str, str],
    data: SourceData,
    problems: list[Problem],
) -> None:
    persons: dict[str, PersonRecord] = {}
    for line, row in table.rows():
        check = RowChecker(str(table.path), line, problems)
        ext = check.required(row["external_id"], columns["external_id"])
        familienname = check.name(row["familienname"], columns["familienname"])
        vorname = check.name(row["vorname"], columns["vorname"])
        valid_from = check.date(row.get("valid_from", ""), columns["valid_from"])
        valid_until = check.date(row.get("valid_until", ""), columns["valid_until"])
        if valid_from and valid_until and valid_until < valid_from:
            check.fail(columns["valid_until"], "ends before it begins")
        funktion = FUNKTIONEN.get(row["funktion"])
        if funktion is None:
            check.fail(
                columns["funktion"],
                f"unknown Funktion {row['funktion']!r} (known: {', '.join(FUNKTIONEN)})",
            )
        dienststelle = check.required(row["dienststelle"], columns["dienststelle"])
        leitung = row.get("schulleitung", "")
        if leitung and leitung not in SCHULLEITUNG:
            check.fail(columns["schulleitung"], f"unknown value {leitung!r} (known: SL, SV)")
        if leitung and funktion and funktion[1] != "SCHULE":
            check.fail(columns["schulleitung"], "only staff of a school can lead one")
        if funktion and funktion[1] != "SCHULE" and dienststellen.get(dienststelle) != funktion[1]:
            check.fail(
                columns["dienststelle"],
                f"{dienststelle!r} is not a Dienststelle of type {funktion[1]}",
            )
        previous = persons.get(ext)
        if previous and (previous.vorname, previous.familienname) != (vorname, familienname):
            check.fail(
                columns["familienname"], f"{ext} has another name in line {previous.origin.line}"
            )
        if not check.ok:
            if ext:
                data.skipped_ids.add(ext)
            continue
        rolle, org_typ = funktion
        where = {"origin": check.origin, "column": columns["dienststelle"]}
        kontexte = [KontextRecord(rolle, org_typ, dienststelle, valid_from, valid_until, **where)]
        if leitung:
            kontexte.append(
                KontextRecord(
                    "SCHULLEITUNG", "SCHULE", dienststelle, valid_from, valid_until, **where
                )
            )
        if previous:
            known = {(k.rolle, k.org_kennung) for k in previous.kontexte}
            if any((k.rolle, k.org_kennung) in known for k in kontexte):
                check.fail(
                    columns["dienststelle"], f"{ext} appears twice at Dienststelle {dienststelle}"
                )
                data.skipped_ids.add(ext)
                continue
            kontexte = [*previous.kontexte, *kontexte]
        persons[ext] = PersonRecord(
            ext,
            vorname,
            familienname,
            previous.origin if previous else Origin(check.file, line),
            None,
            tuple(kontexte),
        )
    for ext in data.skipped_ids:
        persons.pop(ext, None)
    data.persons = list(persons.values())
