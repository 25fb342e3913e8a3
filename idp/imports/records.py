"""What every source reader produces: plain records, independent of the export's format.

A reader (sip, personal, ldap) turns its files or directory entries into these; the planner
compares them with the database. Each record remembers where it came from, for error
messages, and a hash for cheap no-change re-imports: of the raw rows it was read from where
the reader made one (see digests.py), else of exactly the fields that matter.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import NamedTuple


class Origin(NamedTuple):
    file: str
    line: int | None = None


@dataclass(frozen=True)
class OrgRecord:
    """An organisation: Schulamt, Schulträger, Schule or Klasse (Klassen: kennung SCHULE/NAME)."""

    typ: str
    kennung: str
    name: str
    origin: Origin
    parent: tuple[str, str] | None = None  # (typ, kennung)
    schultraeger: str | None = None  # kennung of the Schulträger (schools only)
    schulart: str | None = None


class KontextRecord(NamedTuple):
    """One role at one organisation; dates inclusive, None = open (from: the import day).

    `origin` and `column` say where the organisation was named, for error messages only.
    (Named tuples, not dataclasses: an import builds a million of these.)
    """

    rolle: str
    org_typ: str
    org_kennung: str
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    origin: Origin | None = None
    column: str | None = None


class PersonRecord(NamedTuple):
    external_id: str
    vorname: str
    familienname: str
    origin: Origin
    geburtsdatum: dt.date | None = None
    kontexte: tuple[KontextRecord, ...] = ()
    digest: str = ""  # the reader's hash of the raw rows (digests.py), if it made one

    def row_hash(self) -> str:
        """The hash stored with the person: the reader's digest, else one of its fields."""
        if self.digest:
            return self.digest
        # Control characters never reach a record (the CSV reader refuses them), so they can
        # separate fields unambiguously.
        kontexte = sorted(
            f"{k.rolle}\x1f{k.org_typ}\x1f{k.org_kennung}\x1f{k.valid_from or ''}"
            f"\x1f{k.valid_until or ''}"
            for k in self.kontexte
        )
        text = "\x1e".join(
            (
                self.external_id,
                self.vorname,
                self.familienname,
                str(self.geburtsdatum or ""),
                *kontexte,
            )
        )
        return hashlib.sha256(text.encode()).hexdigest()


class LinkRecord(NamedTuple):
    """A guardian → learner relation, by the external ids of both (a named tuple, like
    KontextRecord: a state's export has a third of a million)."""

    guardian_id: str
    learner_id: str
    origin: Origin
    art: str | None = None


@dataclass
class SourceData:
    """Everything one source said in one export.

    `scope`: the kennungen of the organisations the export covers (Schulnummern,
    Dienststellennummern). A person missing from the export loses only contexts at these (and
    at their Klassen), so a partial export of some schools touches only those schools.
    `files`: per file read: sha256, encoding, delimiter, rows; recorded with the run.
    """

    source: str
    orgs: list[OrgRecord] = field(default_factory=list)
    persons: list[PersonRecord] = field(default_factory=list)
    links: list[LinkRecord] = field(default_factory=list)
    scope: set[str] = field(default_factory=set)
    # True for an export that always lists the staff of every school (the personnel system):
    # a school none of whose staff is listed any more has none left.
    full_schools: bool = False
    files: dict[str, dict] = field(default_factory=dict)
    # External ids of rows skipped for errors: such a person is not "missing from the export".
    skipped_ids: set[str] = field(default_factory=set)
    # External ids of persons whose rows hash as at the last import (digests.py): present in
    # the export and unchanged, so no record was built for them.
    unchanged: set[str] = field(default_factory=set)
