"""What the database holds that a plan is compared with, loaded in a few bulk queries."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Select, String, or_, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from idp.bulk import chunks
from idp.ids import as_uuid
from idp.models import (
    AuditHead,
    Beziehung,
    MatchCandidate,
    Organisation,
    Person,
    Personenkontext,
    SourceRecord,
)
from idp.naming.addresses import local_parts


@dataclass(slots=True)
class OrgRow:
    id: uuid.UUID
    typ: str
    kennung: str
    name: str
    parent_id: uuid.UUID | None
    schultraeger_id: uuid.UUID | None
    schulart: str | None


@dataclass(slots=True)
class KontextRow:
    id: uuid.UUID
    person_id: uuid.UUID
    organisation_id: uuid.UUID
    rolle: str
    valid_from: dt.date
    valid_until: dt.date | None
    source: str


@dataclass
class DbState:
    """The parts of the database one source's plan depends on."""

    head: list
    orgs: dict[tuple[str, str], OrgRow]
    orgs_by_id: dict[uuid.UUID, OrgRow]
    hashes: dict[str, str]  # external id of a person of this source -> stored row hash
    # Person ids as the driver returns them (converted only where a plan needs them).
    raw_ids: dict[str, object]  # external id -> person id
    external_ids: dict[object, str]  # person id -> external id
    match_decisions: dict[str, tuple[uuid.UUID, str | None]] = field(default_factory=dict)

    def person_id(self, external_id: str) -> uuid.UUID:
        """The id of a person of this source (the external id must be known)."""
        return as_uuid(self.raw_ids[external_id])

    def org_id(self, typ: str, kennung: str) -> uuid.UUID | None:
        row = self.orgs.get((typ, kennung))
        return row.id if row else None

    def school_of(self, org_id: uuid.UUID) -> OrgRow | None:
        """The school an organisation belongs to (itself, or a Klasse's parent)."""
        row = self.orgs_by_id.get(org_id)
        if row is not None and row.typ == "KLASSE" and row.parent_id:
            return self.orgs_by_id.get(row.parent_id)
        return row


def load_state(session: Session, source: str) -> DbState:
    head = session.get(AuditHead, 1)
    orgs = [
        OrgRow(o.id, str(o.typ), o.kennung, o.name, o.parent_id, o.schultraeger_id, o.schulart)
        for o in session.execute(select(Organisation)).scalars()
    ]
    # Object ids as the driver returns them: half a million UUIDs parsed cost seconds, and a
    # plan needs the ids of the few persons that change.
    rows = _driver_rows(
        session,
        select(
            SourceRecord.external_id,
            _raw(SourceRecord.object_id),
            SourceRecord.row_hash,
        ).where(SourceRecord.source == source, SourceRecord.kind == "person"),
    )
    externals, raw_ids, digests = zip(*rows, strict=True) if rows else ((), (), ())
    decisions = {
        ext: (person_id, decision)
        for ext, person_id, decision in session.execute(
            select(
                MatchCandidate.external_id, MatchCandidate.person_id, MatchCandidate.decision
            ).where(MatchCandidate.source == source)
        )
    }
    return DbState(
        head=[head.last_id, head.last_hash] if head else [0, "0" * 64],
        orgs={(o.typ, o.kennung): o for o in orgs},
        orgs_by_id={o.id: o for o in orgs},
        hashes=dict(zip(externals, digests, strict=True)),
        raw_ids=dict(zip(externals, raw_ids, strict=True)),
        external_ids=dict(zip(raw_ids, externals, strict=True)),
        match_decisions=decisions,
    )


class TakenUsernames:
    """The usernames in use, as an allocator asks for them (`in`, `add`): read from the
    database for the names asked, many at a time with `ask`, else one at a time.

    Answers exactly as the set of every username would, without reading half a million.
    """

    def __init__(self, session: Session) -> None:
        self._session = session
        self._asked: set[str] = set()
        self._taken: set[str] = set()

    def ask(self, names: Iterable[str]) -> None:
        """Look up the names not asked yet, in a few queries."""
        new = sorted(set(names) - self._asked)
        self._asked.update(new)
        for chunk in chunks(new):
            self._taken.update(
                self._session.scalars(select(Person.username).where(Person.username.in_(chunk)))
            )

    def free(self, names: Iterable[str]) -> int:
        """How many of `names` (asked before) are free."""
        return sum(1 for name in names if name not in self._taken)

    def __contains__(self, name: str) -> bool:
        if name not in self._asked:
            self.ask([name])
        return name in self._taken

    def add(self, name: str) -> None:
        self._asked.add(name)
        self._taken.add(name)


def taken_mail_parts(session: Session) -> set[str]:
    """The local part of every address in use, aliases included: a new address must differ
    from all of them (the allocator hands out local parts)."""
    parts: set[str] = set()
    for mail, aliases in session.execute(
        select(Person.mail, Person.mail_aliases).where(Person.mail.is_not(None))
    ):
        parts |= local_parts([mail, *(aliases or [])])
    return parts


def current_kontexte(
    session: Session, person_ids: list[uuid.UUID], on: dt.date, source: str | None = None
) -> dict[uuid.UUID, list[KontextRow]]:
    """Contexts not ended before `on` (current or planned), per person; of one source if given."""
    result: dict[uuid.UUID, list[KontextRow]] = {}
    for chunk in chunks(person_ids):
        query = select(Personenkontext).where(
            Personenkontext.person_id.in_(chunk),
            or_(Personenkontext.valid_until.is_(None), Personenkontext.valid_until >= on),
        )
        if source is not None:
            query = query.where(Personenkontext.source == source)
        for k in session.execute(query).scalars():
            result.setdefault(k.person_id, []).append(
                KontextRow(
                    k.id,
                    k.person_id,
                    k.organisation_id,
                    k.rolle,
                    k.valid_from,
                    k.valid_until,
                    k.source,
                )
            )
    return result


def persons_by_id(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, Person]:
    found: dict[uuid.UUID, Person] = {}
    for chunk in chunks(ids):
        for person in session.execute(select(Person).where(Person.id.in_(chunk))).scalars():
            found[person.id] = person
    return found


def persons_by_name_and_birth(
    session: Session, keys: set[tuple[str, str, dt.date]]
) -> dict[tuple[str, str, dt.date], Person]:
    """Existing persons with the same family name, given name and birth date (probable matches)."""
    if not keys:
        return {}
    names = sorted({k[0] for k in keys})
    found: dict[tuple[str, str, dt.date], Person] = {}
    for chunk in chunks(names):
        for person in session.execute(
            select(Person).where(Person.familienname.in_(chunk), Person.geburtsdatum.is_not(None))
        ).scalars():
            key = (person.familienname, person.vorname, person.geburtsdatum)
            if key in keys:
                found.setdefault(key, person)
    return found


def link_pairs(
    session: Session, source: str, external_ids: dict[object, str]
) -> dict[tuple[str, str], uuid.UUID | str]:
    """The source's guardian links: (guardian, learner) external ids -> link id.

    `external_ids` maps person ids as the driver returns them (see load_state), so no id of
    the 300,000 links of a state needs parsing.
    """
    rows = _driver_rows(
        session,
        select(
            _raw(Beziehung.erziehungsberechtigter_id),
            _raw(Beziehung.lernender_id),
            _raw(Beziehung.id),
        ).where(Beziehung.source == source),
    )
    if not rows:
        return {}
    guardians, learners, link_ids = zip(*rows, strict=True)
    guardian_ids = list(map(external_ids.get, guardians))
    learner_ids = list(map(external_ids.get, learners))
    pairs = dict(zip(zip(guardian_ids, learner_ids, strict=True), link_ids, strict=True))
    if None in guardian_ids or None in learner_ids:
        # A side that is no person of this source: not a link this source compares.
        pairs = {pair: link_id for pair, link_id in pairs.items() if None not in pair}
    return pairs


def _raw(column: ColumnElement) -> ColumnElement:
    """A UUID column read without SQLAlchemy's per-row conversion."""
    return type_coerce(column, String())


def _driver_rows(session: Session, statement: Select) -> list[tuple]:
    """All rows of `statement` as the driver returns them (tuples, values unconverted):
    SQLAlchemy's result rows cost a second per few hundred thousand."""
    result = session.connection().execute(statement)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()
