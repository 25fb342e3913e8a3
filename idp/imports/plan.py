"""The plan: every change an import would make, counted, and written out as JSON for review.

A plan records the database state it was made against (the audit chain's head: every change
to the database writes an audit event), so applying it after anything else changed is refused.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import Any

from idp.imports.problems import Problem

FORMAT = 1


@dataclass(slots=True)
class NewOrg:
    typ: str
    kennung: str
    name: str
    parent: list[str] | None  # [typ, kennung]
    schultraeger: str | None
    schulart: str | None


@dataclass(slots=True)
class OrgUpdate:
    id: str
    typ: str
    kennung: str
    changes: dict[str, list[Any]]  # field -> [old, new]


@dataclass(slots=True)
class NewPerson:
    external_id: str
    vorname: str
    familienname: str
    geburtsdatum: str | None
    username: str
    mail: str | None
    row_hash: str


@dataclass(slots=True)
class PersonUpdate:
    id: str
    external_id: str
    username: str
    changes: dict[str, list[Any]]
    row_hash: str


@dataclass(slots=True)
class KontextStart:
    person: str  # person id, or "new:<external id>" for a person this plan creates
    rolle: str
    org_typ: str
    org_kennung: str
    valid_from: str
    valid_until: str | None


@dataclass(slots=True)
class KontextEnd:
    id: str
    person: str
    rolle: str
    org_kennung: str
    valid_until: str | None  # None: the context had not begun and is removed


@dataclass(slots=True)
class KontextChange:
    id: str
    person: str
    valid_until: list[str | None]  # [old, new]


@dataclass(slots=True)
class PersonLeaves:
    id: str
    username: str
    ausgeschieden_am: str
    loeschdatum: str
    lock: bool


@dataclass(slots=True)
class PersonReturns:
    id: str
    username: str


@dataclass(slots=True)
class LinkStart:
    guardian: str  # person id or "new:<external id>"
    learner: str
    art: str | None
    external_id: str  # "<guardian external id>><learner external id>"


@dataclass(slots=True)
class LinkEnd:
    id: str
    persons: str  # "<guardian id>><learner id>", for the audit trail


@dataclass(slots=True)
class ProbableMatch:
    external_id: str
    person_id: str
    username: str
    vorname: str
    familienname: str
    geburtsdatum: str | None


@dataclass
class Changes:
    orgs_create: list[NewOrg] = field(default_factory=list)
    orgs_update: list[OrgUpdate] = field(default_factory=list)
    persons_create: list[NewPerson] = field(default_factory=list)
    persons_update: list[PersonUpdate] = field(default_factory=list)
    persons_leave: list[PersonLeaves] = field(default_factory=list)
    persons_return: list[PersonReturns] = field(default_factory=list)
    kontexte_start: list[KontextStart] = field(default_factory=list)
    kontexte_end: list[KontextEnd] = field(default_factory=list)
    kontexte_change: list[KontextChange] = field(default_factory=list)
    links_start: list[LinkStart] = field(default_factory=list)
    links_end: list[LinkEnd] = field(default_factory=list)
    probable_matches: list[ProbableMatch] = field(default_factory=list)
    # external ids whose row hash changed without any stored field changing (e.g. a sensitive
    # column we do not store, or a date format): only the hash is refreshed.
    hashes_only: list[list[str]] = field(default_factory=list)  # [kind, external_id, hash]


# Each list of `Changes`, with the type of its items.
KINDS: dict[str, type] = {
    "orgs_create": NewOrg, "orgs_update": OrgUpdate, "persons_create": NewPerson,
    "persons_update": PersonUpdate, "persons_leave": PersonLeaves,
    "persons_return": PersonReturns, "kontexte_start": KontextStart,
    "kontexte_end": KontextEnd, "kontexte_change": KontextChange, "links_start": LinkStart,
    "links_end": LinkEnd, "probable_matches": ProbableMatch,
}  # fmt: skip


@dataclass
class Breaker:
    """The deletion circuit breaker's verdict on this plan."""

    tripped: bool = False
    schools: list[dict[str, Any]] = field(default_factory=list)  # kennung, ending, total, share
    source_ending: int = 0
    source_total: int = 0
    school_limit: float = 0.0
    source_limit: float = 0.0

    def message(self) -> str:
        parts = []
        if self.schools:
            named = ", ".join(
                f"{s['kennung']} ({s['ending']} von {s['total']}, {s['share']:.0%})"
                for s in self.schools
            )
            parts.append(
                f"mehr als {self.school_limit:.0%} der Kontexte einer Schule würden enden: {named}"
            )
        if self.source_total and self.source_ending / self.source_total > self.source_limit:
            parts.append(
                f"{self.source_ending} von {self.source_total} Kontexten der Quelle würden enden "
                f"(Grenze {self.source_limit:.0%})"
            )
        return "; ".join(parts)


@dataclass
class Plan:
    source: str
    path: str
    created_at: str
    on: str  # the day the plan takes as "today"
    db_state: list[Any]  # [audit last id, audit last hash]
    files: dict[str, dict[str, Any]]
    scope: list[str]
    changes: Changes
    problems: list[Problem] = field(default_factory=list)
    breaker: Breaker = field(default_factory=Breaker)
    allow_mass_end: bool = False
    settings_hash: str = ""  # config and policies the plan was made with

    @cached_property
    def summary(self) -> dict[str, int]:
        """Counts per kind of change (computed once: a plan is not changed after planning)."""
        counts = {name: len(getattr(self.changes, name)) for name in KINDS}
        counts["persons_move"] = self.moves()
        counts["skipped_rows"] = len(self.problems)
        return counts

    @property
    def is_empty(self) -> bool:
        return not any(getattr(self.changes, name) for name in KINDS) and not (
            self.changes.hashes_only
        )

    def moves(self) -> int:
        """Persons who leave one school and start at another in this plan (a school change)."""
        ending = {(e.person, e.org_kennung) for e in self.changes.kontexte_end}
        ending_people = {p for p, _ in ending}
        # Only persons with an ending context can move (a first import starts a million).
        starting = {
            (s.person, s.org_kennung)
            for s in self.changes.kontexte_start
            if s.person in ending_people and s.org_typ == "SCHULE"
        }
        return len({p for p, org in starting if (p, org) not in ending})

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "source": self.source,
            "path": self.path,
            "created_at": self.created_at,
            "on": self.on,
            "db_state": self.db_state,
            "files": self.files,
            "scope": self.scope,
            "settings_hash": self.settings_hash,
            "summary": self.summary,
            "breaker": asdict(self.breaker),
            "problems": [p.as_dict() for p in self.problems],
            "changes": {
                name: [asdict(item) for item in getattr(self.changes, name)] for name in KINDS
            }
            | {"hashes_only": self.changes.hashes_only},
        }

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> Plan:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError(f"{path}: not a plan of format {FORMAT}")
        raw = data["changes"]
        changes = Changes(hashes_only=raw.get("hashes_only", []))
        for name, kind in KINDS.items():
            names = {f.name for f in fields(kind)}
            setattr(
                changes,
                name,
                [
                    kind(**{k: v for k, v in item.items() if k in names})
                    for item in raw.get(name, [])
                ],
            )
        return cls(
            source=data["source"],
            path=data["path"],
            created_at=data["created_at"],
            on=data["on"],
            db_state=data["db_state"],
            files=data["files"],
            scope=data["scope"],
            changes=changes,
            problems=[Problem(**p) for p in data.get("problems", [])],
            breaker=Breaker(**data.get("breaker", {})),
            settings_hash=data.get("settings_hash", ""),
        )


def iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None
