"""The SIP-Schule export: Schulämter, Schulträger, Schulen, Klassen, learners, guardians, links.

Only the columns named here (or in `[import.sip.columns]`) are read. The export's sensitive
columns (Förderbedarf, LRS, Staatsangehörigkeit, addresses) are dropped as each row is read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

from idp.imports.columns import FileSpec, file_info, read_files, resolve
from idp.imports.digests import RowDigests
from idp.imports.fields import RowChecker
from idp.imports.problems import Problem
from idp.imports.records import (
    KontextRecord,
    LinkRecord,
    OrgRecord,
    Origin,
    PersonRecord,
    SourceData,
)

SOURCE = "sip"
# Learners and guardians are numbered independently in SIP-Schule: their external ids get a
# prefix each, so that the two number ranges can never collide.
LEARNER, GUARDIAN = "schueler:", "eb:"
ARTEN = ("Mutter", "Vater", "Vormund", "sonstige Sorgeberechtigte")

SPECS = [
    FileSpec("schulaemter.csv", {"kennung": "Dienststellennummer", "name": "Dienststellenname"},
             frozenset({"kennung", "name"})),
    FileSpec("schultraeger.csv", {"kennung": "Schulträgernummer", "name": "Schulträgername"},
             frozenset({"kennung", "name"})),
    FileSpec("schulen.csv", {"kennung": "Schulnummer", "name": "Schulname", "schulart": "Schulart",
                             "schulamt": "Dienststellennummer",
                             "schultraeger": "Schulträgernummer"},
             frozenset({"kennung", "name", "schulamt", "schultraeger"})),
    FileSpec("klassen.csv", {"schule": "Schulnummer", "name": "Klassenname"},
             frozenset({"schule", "name"})),
    FileSpec("schueler.csv", {"external_id": "Schüler-ID", "schule": "Schulnummer",
                              "nummer": "Schülernummer", "familienname": "Nachname",
                              "vorname": "Vorname", "geburtsdatum": "Geburtsdatum",
                              "klasse": "Klassenname"},
             frozenset({"external_id", "schule", "nummer", "familienname", "vorname",
                        "geburtsdatum", "klasse"})),
    FileSpec("erziehungsberechtigte.csv", {"external_id": "Erziehungsberechtigtennummer",
                                           "familienname": "Nachname", "vorname": "Vorname"},
             frozenset({"external_id", "familienname", "vorname"})),
    FileSpec("schueler_erziehungsberechtigte.csv",
             {"schule": "Schulnummer", "nummer": "Schülernummer",
              "erziehungsberechtigter": "Erziehungsberechtigtennummer", "art": "Art"},
             frozenset({"schule", "nummer", "erziehungsberechtigter"})),
]  # fmt: skip


def read_sip(
    folder: Path, overrides: Mapping, land: tuple[str, str], digests: RowDigests | None = None
) -> tuple[SourceData, list[Problem]]:
    """Read the export in `folder`; returns the records and the problems of single rows.

    A problem of a file as a whole (missing file, encoding, header, truncation) raises
    ImportRejected; rows with problems are left out and reported, and their people are not
    taken as missing from the export. A person whose rows `digests` knows unchanged is only
    counted as present (SourceData.unchanged).
    """
    mapping = resolve(SPECS, overrides, SOURCE)
    tables = read_files(folder, SPECS, mapping)
    reader = _SipReader(tables, mapping, land, digests or RowDigests({}, ""))
    reader.read()
    data = reader.data
    data.files = file_info(tables)
    return data, reader.problems


class _SipReader:
    def __init__(
        self, tables: dict, mapping: dict, land: tuple[str, str], digests: RowDigests
    ) -> None:
        self.tables, self.mapping, self.land, self.digests = tables, mapping, land, digests
        self.data = SourceData(source=SOURCE)
        self.problems: list[Problem] = []
        self.schools: set[str] = set()
        self.classes: set[tuple[str, str]] = set()
        self.learner_ids: dict[tuple[str, str], str] = {}  # (schule, nummer) -> external id
        self.skipped_learners: set[tuple[str, str]] = set()

    def col(self, file: str, field: str) -> str:
        return self.mapping[file][field]

    def rows(self, file: str):
        table = self.tables[file]
        for line, row in table.rows:
            yield RowChecker(str(table.path), line, self.problems), row

    def read(self) -> None:
        land_kennung, land_name = self.land
        self.data.orgs.append(OrgRecord("LAND", land_kennung, land_name, Origin("config")))
        parent = ("LAND", land_kennung)
        aemter = self._plain_orgs("schulaemter.csv", "SCHULAMT", parent)
        traeger = self._plain_orgs("schultraeger.csv", "SCHULTRAEGER", parent)
        self._schools(aemter, traeger)
        self._classes()
        self._learners()
        self._guardians()

    def _plain_orgs(self, file: str, typ: str, parent: tuple[str, str]) -> set[str]:
        seen: set[str] = set()
        for check, row in self.rows(file):
            kennung = check.required(row["kennung"], self.col(file, "kennung"))
            name = check.required(row["name"], self.col(file, "name"))
            if kennung in seen:
                check.fail(self.col(file, "kennung"), f"{kennung} appears twice")
            if check.ok:
                seen.add(kennung)
                self.data.orgs.append(
                    OrgRecord(typ, kennung, name, Origin(check.file, check.line), parent=parent)
                )
        return seen

    def _schools(self, aemter: set[str], traeger: set[str]) -> None:
        file = "schulen.csv"
        for check, row in self.rows(file):
            kennung = check.required(row["kennung"], self.col(file, "kennung"))
            name = check.required(row["name"], self.col(file, "name"))
            if row["schulamt"] not in aemter:
                check.fail(self.col(file, "schulamt"), f"unknown Schulamt {row['schulamt']!r}")
            if row["schultraeger"] not in traeger:
                check.fail(
                    self.col(file, "schultraeger"), f"unknown Schulträger {row['schultraeger']!r}"
                )
            if kennung in self.schools:
                check.fail(self.col(file, "kennung"), f"{kennung} appears twice")
            if check.ok:
                self.schools.add(kennung)
                self.data.orgs.append(
                    OrgRecord(
                        "SCHULE",
                        kennung,
                        name,
                        Origin(check.file, check.line),
                        parent=("SCHULAMT", row["schulamt"]),
                        schultraeger=row["schultraeger"],
                        schulart=row.get("schulart") or None,
                    )
                )
        self.data.scope = set(self.schools)

    def _classes(self) -> None:
        file = "klassen.csv"
        for check, row in self.rows(file):
            schule = check.required(row["schule"], self.col(file, "schule"))
            name = check.required(row["name"], self.col(file, "name"))
            if schule and schule not in self.schools:
                check.fail(self.col(file, "schule"), f"unknown school number {schule!r}")
            if (schule, name) in self.classes:
                check.fail(self.col(file, "name"), f"class {name} appears twice at {schule}")
            if check.ok:
                self.classes.add((schule, name))
                self.data.orgs.append(
                    OrgRecord(
                        "KLASSE",
                        f"{schule}/{name}",
                        name,
                        Origin(check.file, check.line),
                        parent=("SCHULE", schule),
                    )
                )

    def _identity(
        self, check: RowChecker, row: dict[str, str], file: str, prefix: str, seen: set[str]
    ) -> tuple[str, str, str, str]:
        """A person row's id (as written, and prefixed) and names, each checked."""
        number = check.required(row["external_id"], self.col(file, "external_id"))
        ext = prefix + number
        familienname = check.name(row["familienname"], self.col(file, "familienname"))
        vorname = check.name(row["vorname"], self.col(file, "vorname"))
        if number and ext in seen:
            check.fail(self.col(file, "external_id"), f"{number} appears twice")
        seen.add(ext)
        return number, ext, vorname, familienname

    def _learners(self) -> None:
        file = "schueler.csv"
        table = self.tables[file]
        seen: set[str] = set()
        unchanged = self.data.unchanged
        for line, row in table.rows:
            digest = self.digests.of(row.values())
            ext = LEARNER + row["external_id"]
            key = (row["schule"], row["nummer"])
            if (
                self.digests.unchanged(ext, digest)
                and ext not in seen
                and key not in self.learner_ids
                and (row["schule"], row["klasse"]) in self.classes
            ):
                # The row the last import took: only the checks against other rows are due.
                seen.add(ext)
                self.learner_ids[key] = ext
                unchanged.add(ext)
                continue
            check = RowChecker(str(table.path), line, self.problems)
            number, ext, vorname, familienname = self._identity(check, row, file, LEARNER, seen)
            geburtsdatum = check.date(
                row["geburtsdatum"], self.col(file, "geburtsdatum"), required=True
            )
            schule, klasse = row["schule"], row["klasse"]
            if schule not in self.schools:
                check.fail(self.col(file, "schule"), f"unknown school number {schule!r}")
            elif (schule, klasse) not in self.classes:
                check.fail(
                    self.col(file, "klasse"), f"class {klasse!r} does not exist at school {schule}"
                )
            key = (schule, row["nummer"])
            if not check.ok:
                # Links to a skipped row must not fall to another learner with that number.
                self.skipped_learners.add(key)
                if number:
                    self.data.skipped_ids.add(ext)
                continue
            if key in self.learner_ids:
                self.skipped_learners.add(key)
                check.fail(self.col(file, "nummer"), f"{row['nummer']} appears twice at {schule}")
                continue
            self.learner_ids[key] = ext
            self.data.persons.append(
                PersonRecord(
                    ext,
                    vorname,
                    familienname,
                    Origin(check.file, check.line),
                    geburtsdatum,
                    (
                        KontextRecord(
                            "LERN",
                            "SCHULE",
                            schule,
                            origin=check.origin,
                            column=self.col(file, "schule"),
                        ),
                        KontextRecord(
                            "LERN",
                            "KLASSE",
                            f"{schule}/{klasse}",
                            origin=check.origin,
                            column=self.col(file, "klasse"),
                        ),
                    ),
                    digest,
                )
            )

    def _guardians(self) -> None:
        links_file = "schueler_erziehungsberechtigte.csv"
        schools_of: dict[str, set[str]] = defaultdict(set)
        # Guardians with a child whose row was skipped: their contexts are not for this run.
        waiting: set[str] = set()
        links = self.tables[links_file]
        path = str(links.path)
        # Locals for the loop over a third of a million rows.
        learner_ids, skipped_learners = self.learner_ids, self.skipped_learners
        found = self.data.links
        for line, row in links.rows:
            number, schule, art = row["erziehungsberechtigter"], row["schule"], row.get("art")
            key = (schule, row["nummer"])
            learner = learner_ids.get(key)
            if (
                number
                and learner is not None
                and key not in skipped_learners
                and (not art or art in ARTEN)
            ):
                # A valid link (what the checks below would find, without a checker per row).
                guardian = GUARDIAN + number
                schools_of[guardian].add(schule)
                found.append(LinkRecord(guardian, learner, Origin(path, line), art or None))
                continue
            check = RowChecker(path, line, self.problems)
            check.required(number, self.col(links_file, "erziehungsberechtigter"))
            guardian = GUARDIAN + number
            if art and art not in ARTEN:
                check.fail(
                    self.col(links_file, "art"),
                    f"unknown value {art!r} (known: {', '.join(ARTEN)})",
                )
            if learner is None and key not in self.skipped_learners:
                check.fail(
                    self.col(links_file, "nummer"),
                    f"guardian link to unknown learner {schule}/{row['nummer']}",
                )
            # A link with a problem, or to a learner whose row was skipped: the guardian waits.
            waiting.add(guardian)
        file = "erziehungsberechtigte.csv"
        table = self.tables[file]
        seen: set[str] = set()
        unchanged = self.data.unchanged
        for line, row in table.rows:
            ext = GUARDIAN + row["external_id"]
            # A guardian's contexts come from the schools of their children's links.
            schools = sorted(schools_of.get(ext, ()))
            digest = self.digests.of([*row.values(), *schools])
            if (
                schools
                and self.digests.unchanged(ext, digest)
                and ext not in seen
                and ext not in waiting
            ):
                seen.add(ext)
                unchanged.add(ext)
                continue
            check = RowChecker(str(table.path), line, self.problems)
            number, ext, vorname, familienname = self._identity(check, row, file, GUARDIAN, seen)
            if not check.ok or ext in waiting:
                if number:
                    self.data.skipped_ids.add(ext)
                continue
            if not schools:
                continue  # no child in this export: not a guardian here
            self.data.persons.append(
                PersonRecord(
                    ext,
                    vorname,
                    familienname,
                    Origin(check.file, check.line),
                    None,
                    tuple(KontextRecord("SORGBER", "SCHULE", s) for s in schools),
                    digest,
                )
            )
        known = seen - self.data.skipped_ids
        kept = []
        for link in self.data.links:
            if link.guardian_id in known:
                kept.append(link)
            elif link.guardian_id not in self.data.skipped_ids:
                self.problems.append(
                    Problem(
                        link.origin.file,
                        link.origin.line,
                        self.col(links_file, "erziehungsberechtigter"),
                        f"unknown guardian {link.guardian_id.removeprefix(GUARDIAN)!r}",
                    )
                )
        self.data.links = kept
