"""Finding people in the console: by name, username, school and class, inside the admin's scope.

Names are matched by prefix on `Person.sortname` (DIN 91379's search form, "MUELLER, JUERGEN")
and usernames by prefix, both as index range scans, so a search over the whole state stays
fast. One word matches a family name or a username; two words match "family given" or
"given family".
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session

from idp.models import Organisation, OrganisationTyp, Person, Personenkontext, PersonStatus
from idp.naming.sorting import sort_key
from idp.policy.admin_scope import AdminScope

LIMIT = 50
RIGHT = "personen.lesen"
MAX_PLACES = 5000  # schools and classes a school/class filter may name (a whole Schulamt)


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
    filtered = bool(query.schule.strip() or query.klasse.strip())
    few = scope.is_small(RIGHT) or filtered
    # With few candidates (one school's people), collecting them and sorting is quick; walking
    # the whole state in name order until enough of them turn up is not, and PostgreSQL would
    # choose that walk for the ORDER BY ... LIMIT. Sorting by an expression rules it out.
    order = Person.sortname.concat("") if few else Person.sortname
    statement = (
        select(Person.id, Person.vorname, Person.familienname, Person.username, Person.status)
        .order_by(order, Person.username)
        .limit(LIMIT + 1)
    )
    if filtered:
        statement = statement.where(
            _member_of(session, scope, query.schule.strip(), query.klasse.strip(), on)
        )
    else:
        statement = statement.where(scope.persons(RIGHT))
    if query.text.strip():
        # One query per alternative, each read in index order up to the page size, then
        # merged: an OR would make the database sort every match before it can stop.
        merged = {}
        for alternative in _name_or_username(query.text):
            for row in session.execute(statement.where(alternative)):
                merged[row.id] = row
        rows = sorted(merged.values(), key=lambda r: (_sortname(r), r.username))
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


def _name_or_username(text: str) -> list[ColumnElement[bool]]:
    words = text.split()
    if len(words) == 1:
        word = words[0]
        family = sort_key(word, "").rstrip(", ")
        return [_prefix(Person.sortname, family), _prefix(Person.username, word.lower())]
    first, rest = words[0], " ".join(words[1:])
    return [
        _prefix(Person.sortname, sort_key(first, rest)),
        _prefix(Person.sortname, sort_key(rest, first)),
    ]


def _sortname(row) -> str:
    return sort_key(row.familienname, row.vorname)


def _prefix(column, prefix: str) -> ColumnElement[bool]:
    """`column` starts with `prefix`: a range an index can serve, plus LIKE to be exact under
    any collation."""
    if not prefix:
        return false()
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return and_(column >= prefix, column < upper, column.like(f"{escaped}%", escape="\\"))


def _member_of(
    session: Session, scope: AdminScope, schule: str, klasse: str, on: dt.date
) -> ColumnElement[bool]:
    """An active context at the school (kennung or name) or in a class (name) there, inside
    the admin's scope.

    The few schools and classes are looked up first, only those in scope, and passed as
    values: left as subqueries, PostgreSQL checks them per person in name order (seconds
    over the state). A context at a place in scope puts its person in scope, so the
    per-person scope check is needed only where a reach is narrowed to some rollenarten.
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
    members = Person.id.in_(
        select(Personenkontext.person_id).where(
            Personenkontext.active_on(on), Personenkontext.organisation_id.in_(places)
        )
    )
    if any(reach.targets for reach in scope.reaches.get(RIGHT, ())):
        return and_(members, scope.persons(RIGHT))
    return members


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
