"""Finding people in the console: by name, username, school and class, inside the admin's scope.

Names are matched by prefix on `Person.sortname` (DIN 91379's search form, "MUELLER, JUERGEN")
and usernames by prefix. A wide scope (a Schulamt, the Land) reads them as index range scans
in name order, checking each person against the scope, so a search over the whole state stays
fast; a narrow one (a school, or a school or class filter) fetches its few people by id. One
word matches a family name or a username; two words match "family given" or "given family".
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, CompoundSelect, Row, Select, and_, any_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from idp.models import Organisation, OrganisationTyp, Person, Personenkontext, PersonStatus
from idp.naming.sorting import sort_key
from idp.policy.admin_scope import AdminScope

LIMIT = 50
RIGHT = "personen.lesen"
MAX_PLACES = 5000  # schools and classes a school/class filter may name (a whole Schulamt)


Prefix = tuple[InstrumentedAttribute[str], str]  # a column and what its value starts with


@dataclass(frozen=True)
class Found:
    id: uuid.UUID
    vorname: str
    familienname: str
    username: str
    status: PersonStatus
    kontexte: tuple[str, ...]  # "Lehrkraft – Gymnasium am Strand", for the list


@dataclass(frozen=True)
class Query:
    text: str = ""
    schule: str = ""
    klasse: str = ""

    @property
    def empty(self) -> bool:
        return not (self.text.strip() or self.schule.strip() or self.klasse.strip())


def search(
    session: Session, scope: AdminScope, query: Query, on: dt.date, role_names: dict[str, str]
) -> tuple[list[Found], bool]:
    """Up to LIMIT persons the admin may see that match; and whether there were more."""
    if query.empty:
        return [], False
    columns = select(
        Person.id,
        Person.vorname,
        Person.familienname,
        Person.username,
        Person.status,
        Person.sortname,
    )
    if query.schule.strip() or query.klasse.strip():
        candidates = _members_of(session, scope, query.schule.strip(), query.klasse.strip(), on)
        if any(reach.targets for reach in scope.reaches.get(RIGHT, ())):
            # A context at a place in scope puts its person in scope, unless a reach is
            # narrowed to some rollenarten: then each person is checked too.
            columns = columns.where(scope.persons(RIGHT))
    elif scope.is_small(RIGHT):
        candidates = scope.members(RIGHT)
    else:
        candidates = None
    many = candidates is None
    if many:
        # Many candidates (a Schulamt, the Land): walk the names in index order, checking each
        # person's own contexts against the scope, until the page is full.
        statement = columns.where(scope.persons(RIGHT)).order_by(Person.sortname, Person.username)
    else:
        # Few candidates (one school's people, a school or class filter): fetching them by id
        # and sorting is quick. Walking the whole state in name order until enough of them turn
        # up is not, nor is reading all persons, and PostgreSQL would choose either; so names
        # are tested and sorted as expressions no index serves.
        statement = columns.where(_among(session, candidates)).order_by(
            Person.sortname.concat(""), Person.username
        )
    statement = statement.limit(LIMIT + 1)
    if query.text.strip():
        # Walking an index, one query per alternative, each read in order up to the page size,
        # then merged: an OR would make the database sort every match before it can stop. Few
        # candidates are read whole anyway: then one query.
        alternatives = _name_or_username(query.text)
        groups = [[alternative] for alternative in alternatives] if many else [alternatives]
        merged = {}
        for group in groups:
            for row in _starting_with(session, statement, group, indexed=many):
                merged[row.id] = row
        rows = sorted(merged.values(), key=lambda r: (r.sortname, r.username))
    else:
        rows = list(session.execute(statement))
    more = len(rows) > LIMIT
    rows = rows[:LIMIT]
    kontexte = _kontexte(session, [row.id for row in rows], on, role_names)
    found = [
        Found(
            row.id,
            row.vorname,
            row.familienname,
            row.username,
            row.status,
            kontexte.get(row.id, ()),
        )
        for row in rows
    ]
    return found, more


def _among(session: Session, ids: Select | CompoundSelect) -> ColumnElement[bool]:
    """The person is one of `ids` (a query). PostgreSQL gets them as one array, fetched by
    primary key: given the subquery, it expects each fetch by id to cost a disk read and reads
    all half million persons instead."""
    if session.get_bind().dialect.name == "postgresql":
        return Person.id == any_(func.array(ids.scalar_subquery()))
    return Person.id.in_(ids)


def _name_or_username(text: str) -> list[Prefix]:
    """The columns to search and the prefix each must start with."""
    words = text.split()
    if len(words) == 1:
        word = words[0]
        family = sort_key(word, "").rstrip(", ")
        return [(Person.sortname, family), (Person.username, word.lower())]
    first, rest = words[0], " ".join(words[1:])
    return [(Person.sortname, sort_key(first, rest)), (Person.sortname, sort_key(rest, first))]


def _starting_with(
    session: Session, statement: Select, alternatives: list[Prefix], *, indexed: bool
) -> list[Row]:
    """The rows of `statement` where a column starts with its prefix, up to LIMIT + 1; read by
    the column's index if `indexed`.

    The database reads the range from a prefix to the next one. Under a bytewise collation
    (SQLite, PostgreSQL with C) that is exactly the rows starting with the prefix; under a
    linguistic one it may hold a few more ("MUELLE, R" among "MUELLER"), dropped here, reading
    on if that left the page short. The test is not a LIKE beside the range: PostgreSQL would
    take the two for independent, expect a hundredth of the rows, and read and scope-check
    every match instead of stopping at the page size.
    """
    alternatives = [(column, prefix) for column, prefix in alternatives if prefix]
    if not alternatives:
        return []
    ranges = []
    for column, prefix in alternatives:
        term = column if indexed else column.concat("")
        ranges.append(and_(term >= prefix, term < prefix[:-1] + chr(ord(prefix[-1]) + 1)))
    ranged = statement.where(or_(*ranges))
    limit = LIMIT + 1
    while True:
        found = session.execute(ranged.limit(limit)).all()
        exact = [
            row
            for row in found
            if any(getattr(row, column.key).startswith(prefix) for column, prefix in alternatives)
        ]
        if len(exact) > LIMIT or len(found) < limit:
            return exact
        limit *= 4


def _members_of(
    session: Session, scope: AdminScope, schule: str, klasse: str, on: dt.date
) -> Select[tuple[uuid.UUID]]:
    """The ids of persons with an active context at the school (kennung or name) or in a class
    (name) there, inside the admin's scope.

    The few schools and classes are looked up first, only those in scope, and passed as
    values: left as subqueries, PostgreSQL checks them per person in name order (seconds
    over the state).
    """
    school = Organisation.__table__.alias("schule")
    schools = select(school.c.id).where(
        school.c.typ == OrganisationTyp.SCHULE,
        or_(school.c.kennung == schule, school.c.name.ilike(f"%{_like(schule)}%", escape="\\")),
    )
    if klasse:
        query = select(Organisation.id).where(
            Organisation.typ == OrganisationTyp.KLASSE, Organisation.name == klasse
        )
        if schule:
            query = query.where(Organisation.parent_id.in_(schools))
    else:
        query = select(Organisation.id).where(
            or_(Organisation.id.in_(schools), Organisation.parent_id.in_(schools))
        )
    places = list(session.scalars(query.where(scope.organisations(RIGHT)).limit(MAX_PLACES)))
    return select(Personenkontext.person_id).where(
        Personenkontext.active_on(on), Personenkontext.organisation_id.in_(places)
    )


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _kontexte(
    session: Session, person_ids: list[uuid.UUID], on: dt.date, role_names: dict[str, str]
) -> dict[uuid.UUID, tuple[str, ...]]:
    if not person_ids:
        return {}
    rows = session.execute(
        select(Personenkontext.person_id, Personenkontext.rolle, Organisation.name)
        .join(Organisation, Organisation.id == Personenkontext.organisation_id)
        .where(Personenkontext.person_id.in_(person_ids), Personenkontext.active_on(on))
        .order_by(Organisation.name)
    ).all()
    found: dict[uuid.UUID, list[str]] = {}
    for person_id, rolle, org_name in rows:
        found.setdefault(person_id, []).append(f"{role_names.get(rolle, rolle)} – {org_name}")
    return {k: tuple(v) for k, v in found.items()}
