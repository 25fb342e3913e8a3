"""The SIP-Schule export: Schulämter, Schulträger, Schulen, Klassen, learners, guardians, links.

Only the columns named here (or in `[import.sip.columns]`) are read. The export's sensitive
columns (Förderbedarf, LRS, Staatsangehörigkeit, addresses) are dropped as each row is read.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from itertools import compress, repeat
from operator import add, eq, ne, not_
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
        for line, row in table.rows():
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
        exts = list(map(LEARNER.__add__, table.column("external_id")))
        keys = list(zip(table.column("schule"), table.column("nummer"), strict=True))
        digests = self.digests.many(table.values)
        classes = zip(table.column("schule"), table.column("klasse"), strict=True)
        # The rows the loop below would count as unchanged whatever rows came before them
        # (the stored hash, the first row with its id, a key no other row has, a class of this
        # export) are counted at once; the loop sees the others, in order, as it saw all rows.
        counts = Counter(keys)
        surely = _all(
            self.digests.unchanged_many(exts, digests),
            _first_of_each(exts),
            map((1).__eq__, map(counts.__getitem__, keys)),
            map(self.classes.__contains__, classes),
        )
        seen.update(compress(exts, surely))
        unchanged.update(compress(exts, surely))
        self.learner_ids.update(zip(compress(keys, surely), compress(exts, surely), strict=True))
        fields = table.fields
        for i in compress(range(len(exts)), map(not_, surely)):
            line, row = table.lines[i], dict(zip(fields, table.values[i], strict=True))
            ext, key, digest = exts[i], keys[i], digests[i]
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
        # Guardians with a child whose row was skipped: their contexts are not for this run.
        waiting: set[str] = set()
        links = self.tables[links_file]
        path = str(links.path)
        numbers, schulen = links.column("erziehungsberechtigter"), links.column("schule")
        arts = links.column("art") or [None] * len(numbers)
        keys = list(zip(schulen, links.column("nummer"), strict=True))
        learners = list(map(self.learner_ids.get, keys))
        valid = list(map(self._valid_link, numbers, learners, keys, arts))
        # The valid links (what the checks below would find, without a checker per row).
        guardians = list(map(GUARDIAN.__add__, compress(numbers, valid)))
        schools_of = _schools_of(guardians, list(compress(schulen, valid)))
        found = self.data.links
        found += map(
            LinkRecord,
            guardians,
            compress(learners, valid),
            map(Origin, repeat(path), compress(links.lines, valid)),
            (art or None for art in compress(arts, valid)),
        )
        for i in compress(range(len(valid)), map(not_, valid)):
            line, row = links.lines[i], dict(zip(links.fields, links.values[i], strict=True))
            number, schule, art = row["erziehungsberechtigter"], row["schule"], row.get("art")
            key = (schule, row["nummer"])
            learner = learners[i]
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
        exts = list(map(GUARDIAN.__add__, table.column("external_id")))
        # A guardian's contexts come from the schools of their children's links.
        schools = list(map(schools_of.get, exts, repeat(())))
        digests = self.digests.many(map(add, table.values, schools))
        # As with the learners: the rows counted unchanged whatever came before them at once.
        surely = _all(
            schools,
            self.digests.unchanged_many(exts, digests),
            _first_of_each(exts),
            map(not_, map(waiting.__contains__, exts)),
        )
        seen.update(compress(exts, surely))
        unchanged.update(compress(exts, surely))
        for i in compress(range(len(exts)), map(not_, surely)):
            line, row = table.lines[i], dict(zip(table.fields, table.values[i], strict=True))
            ext, digest = exts[i], digests[i]
            if (
                schools[i]
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
            if not schools[i]:
                continue  # no child in this export: not a guardian here
            self.data.persons.append(
                PersonRecord(
                    ext,
                    vorname,
                    familienname,
                    Origin(check.file, check.line),
                    None,
                    tuple(KontextRecord("SORGBER", "SCHULE", s) for s in schools[i]),
                    digest,
                )
            )
        known = seen - self.data.skipped_ids
        if all(map(known.__contains__, guardians)):
            return  # every link's guardian was read
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

    def _valid_link(
        self, number: str, learner: str | None, key: tuple[str, str], art: str | None
    ) -> bool:
        """Whether a link row names a guardian, a learner read, and a known Art."""
        return bool(
            number
            and learner is not None
            and key not in self.skipped_learners
            and (not art or art in ARTEN)
        )


def _schools_of(guardians: list[str], schools: list[str]) -> dict[str, tuple[str, ...]]:
    """Each guardian's schools, sorted, from the guardian and school of each link.

    Most guardians have children at one school only: theirs are found in C, the few others'
    row by row.
    """
    one = dict(zip(guardians, schools, strict=True))  # a school of each guardian's
    found = dict(zip(one, zip(one.values()), strict=True))
    other = map(ne, map(one.__getitem__, guardians), schools)
    several: dict[str, set[str]] = defaultdict(set)
    for guardian, school in compress(zip(guardians, schools, strict=True), other):
        several[guardian].update((one[guardian], school))
    found.update((guardian, tuple(sorted(names))) for guardian, names in several.items())
    return found


def _first_of_each(items: list) -> list[bool]:
    """Per item: whether no earlier item equals it."""
    first = dict(zip(reversed(items), range(len(items) - 1, -1, -1), strict=True))
    return list(map(eq, map(first.__getitem__, items), range(len(items))))


def _all(*conditions) -> list[bool]:
    """Per row: whether every condition holds (each an iterable of one truth value per row)."""
    return list(map(all, zip(*conditions, strict=True)))
