"""What an admin may do, and where: the rights of their active roles (policies/roles.toml)
turned into SQL conditions over organisations and persons.

Every console page and action asks this module; nothing else decides. A right is granted per
scope: "organisation" (the context's organisation and all below it), "schultraeger" (the
Schulträger itself and its schools, with their classes) and "land" (everything); `targets`
narrows a right to persons of some rollenarten. An object outside every grant of a right is
treated as not existing (404), so an admin learns nothing about other schools.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    and_,
    exists,
    false,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from idp.models import Organisation, OrganisationTyp, Person, Personenkontext, Rolle
from idp.policy.loader import Policies
from idp.policy.roles import Grant


@dataclass(frozen=True)
class Reach:
    """One grant of a right, anchored at the organisation of the context that carries it."""

    scope: str
    anchor: uuid.UUID
    targets: tuple[str, ...] = ()
    # Anchored at one school or class: few people, so queries start from their contexts;
    # `places` then lists the school and its classes (known when the scope is made).
    small: bool = False
    places: tuple[uuid.UUID, ...] = ()


@dataclass(frozen=True)
class AdminScope:
    """The admin's rights on one day: right -> where it reaches."""

    person_id: uuid.UUID
    on: dt.date
    reaches: dict[str, tuple[Reach, ...]]

    @property
    def is_admin(self) -> bool:
        return bool(self.reaches)

    def has(self, right: str) -> bool:
        return bool(self.reaches.get(right))

    def is_small(self, right: str) -> bool:
        """Every reach of `right` is one school or class: its people are few."""
        reaches = self.reaches.get(right, ())
        return bool(reaches) and all(r.scope == "organisation" and r.small for r in reaches)

    def is_land(self, right: str) -> bool:
        return any(r.scope == "land" and not r.targets for r in self.reaches.get(right, ()))

    def members(self, right: str) -> Select[tuple[uuid.UUID]] | CompoundSelect:
        """The ids of the persons `right` reaches, read from their contexts (a person may come
        more than once). For a small scope (`is_small`): few people."""
        selects = [_members(reach, self.on) for reach in self.reaches[right]]
        return selects[0] if len(selects) == 1 else union_all(*selects)

    def organisations(self, right: str) -> ColumnElement[bool]:
        """A condition on Organisation: inside the reach of `right` (targets aside)."""
        return or_(false(), *(_org_condition(r) for r in self.reaches.get(right, ())))

    def persons(self, right: str) -> ColumnElement[bool]:
        """A condition on Person: holds an active context inside a reach of `right` whose
        rollenart the reach's targets allow."""
        conditions = []
        for reach in self.reaches.get(right, ()):
            if reach.scope == "land" and not reach.targets:
                return true()
            conditions.append(_person_condition(reach, self.on))
        return or_(false(), *conditions)

    def may(self, session: Session, right: str, person_id: uuid.UUID) -> bool:
        """Whether `right` reaches this person today."""
        return bool(
            session.scalar(select(literal(1)).where(Person.id == person_id, self.persons(right)))
        )

    def may_at(self, session: Session, right: str, organisation_id: uuid.UUID) -> bool:
        """Whether `right` reaches this organisation."""
        return bool(
            session.scalar(
                select(literal(1)).where(
                    Organisation.id == organisation_id, self.organisations(right)
                )
            )
        )


def admin_scope(
    session: Session, policies: Policies, person_id: uuid.UUID, on: dt.date
) -> AdminScope:
    """The rights the person's active roles give them today."""
    rows = session.execute(
        select(Personenkontext.rolle, Personenkontext.organisation_id, Organisation.typ)
        .join(Organisation, Organisation.id == Personenkontext.organisation_id)
        .where(Personenkontext.person_id == person_id, Personenkontext.active_on(on))
    ).all()
    reaches: dict[str, list[Reach]] = {}
    places: dict[uuid.UUID, tuple[uuid.UUID, ...]] = {}
    for rolle, organisation_id, typ in rows:
        small = typ in (OrganisationTyp.SCHULE, OrganisationTyp.KLASSE)
        if small and organisation_id not in places:
            places[organisation_id] = tuple(
                session.scalars(
                    select(Organisation.id).where(
                        or_(
                            Organisation.id == organisation_id,
                            Organisation.parent_id == organisation_id,
                        )
                    )
                )
            )
        role = policies.roles.get(rolle)
        if role is None:
            continue
        for grant in role.grants:
            for right in _rights(grant):
                reaches.setdefault(right, []).append(
                    Reach(
                        grant.scope,
                        organisation_id,
                        grant.targets,
                        small,
                        places.get(organisation_id, ()),
                    )
                )
    return AdminScope(person_id, on, {k: tuple(v) for k, v in reaches.items()})


def subtree(anchor: uuid.UUID) -> Select:
    """The ids of `anchor` and every organisation below it (a recursive query)."""
    return select(_tree(anchor).c.id)


def _tree(anchor: uuid.UUID):
    # Each its own name: one query may hold several (an admin with two anchors).
    name = f"unterbaum_{next(_names)}"
    tree = select(Organisation.id).where(Organisation.id == anchor).cte(name, recursive=True)
    below = select(Organisation.id).where(Organisation.parent_id == tree.c.id)
    return tree.union_all(below)


_names = itertools.count()


def _rights(grant: Grant) -> tuple[str, ...]:
    from idp.policy.vocabulary import RIGHTS

    return RIGHTS if grant.right == "*" else (grant.right,)


def _org_condition(reach: Reach) -> ColumnElement[bool]:
    if reach.scope == "land":
        return true()
    if reach.scope == "organisation" and reach.small:
        return Organisation.id.in_(reach.places)
    if reach.scope == "organisation":
        return Organisation.id.in_(subtree(reach.anchor))
    # schultraeger: the Schulträger, its schools and their classes
    schools = select(Organisation.id).where(Organisation.schultraeger_id == reach.anchor)
    return or_(
        Organisation.id == reach.anchor,
        Organisation.id.in_(schools),
        Organisation.parent_id.in_(schools),
    )


def _members(reach: Reach, on: dt.date) -> Select[tuple[uuid.UUID]]:
    """The ids of the persons a small reach holds: active contexts at its places."""
    # Its own alias: the caller's query may join Personenkontext too (a class's members).
    kontext = aliased(Personenkontext)
    where = [
        kontext.valid_from <= on,
        or_(kontext.valid_until.is_(None), kontext.valid_until >= on),
        kontext.organisation_id.in_(reach.places),
    ]
    if reach.targets:
        kinds = select(Rolle.code).where(Rolle.rollenart.in_(reach.targets))
        where.append(kontext.rolle.in_(kinds))
    return select(kontext.person_id).where(*where)


def _person_condition(reach: Reach, on: dt.date) -> ColumnElement[bool]:
    """Two shapes with the same meaning. A school's reach lists its people from their
    contexts (few rows); a Schulamt's or the Land's checks each candidate's own one or two
    contexts by equality, so a name search walks its index and stops at the page size."""
    if reach.scope == "organisation" and reach.small:
        return Person.id.in_(_members(reach, on))
    # Its own alias: the caller's query may join Personenkontext too (a class's members).
    kontext = aliased(Personenkontext)
    where = [
        kontext.valid_from <= on,
        or_(kontext.valid_until.is_(None), kontext.valid_until >= on),
        kontext.person_id == Person.id,
    ]
    if reach.targets:
        kinds = select(Rolle.code).where(Rolle.rollenart.in_(reach.targets))
        where.append(kontext.rolle.in_(kinds))
    if reach.scope == "organisation":
        tree = _tree(reach.anchor)
        where.append(exists().where(tree.c.id == kontext.organisation_id))
    elif reach.scope == "schultraeger":
        place = aliased(Organisation)
        schools = select(Organisation.id).where(Organisation.schultraeger_id == reach.anchor)
        where.append(
            exists().where(
                place.id == kontext.organisation_id,
                or_(
                    place.id == reach.anchor,
                    place.schultraeger_id == reach.anchor,
                    place.parent_id.in_(schools),
                ),
            )
        )
    return exists().where(and_(*where))
