"""What each service should hold: the desired account of a person, and the groups it needs.

From the person, their contexts and the policy alone: the service gets an account while the
person is entitled (idp.policy.entitlement), with exactly the attributes the policy releases
(idp.policy.entitlement.release). A person who is locked or has left keeps a disabled account
until retention deletes them; an opt-out removes the account at once. The account's key is
the person's pairwise id for the service, the `sub` its users log in with.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.base import INSTRUCTOR, LEARNER, MEMBER, Account, Group, Membership
from idp.bulk import chunks
from idp.models import Organisation, Person, Personenkontext
from idp.oidc.claims import pairwise_sub
from idp.policy.entitlement import PersonFacts, Reason, entitlement, possible_roles, release
from idp.policy.facts import PERSON_COLUMNS, load_facts_of_many
from idp.policy.loader import Policies

# Reasons to keep an existing account, disabled, rather than delete it.
KEEP_DISABLED = {Reason.KONTO_NICHT_AKTIV, Reason.KEINE_AKTIVEN_KONTEXTE}
# Person-level attributes a disabled account keeps (its contexts have ended).
PERSONAL = ("username", "vorname", "familienname", "mail", "mail_aliases", "geburtsdatum")
CHUNK = 1000  # persons read at once
# ... except the first few: a caller streaming the accounts to a target (sync --full) can send
# the first ones while the next thousand are read.
FIRST_CHUNK = 100
ROLES = {"LERN": LEARNER, "LEHR": INSTRUCTOR, "LEIT": INSTRUCTOR}
_KONTEXT = Personenkontext.__table__


@dataclass(frozen=True)
class Desired:
    """One person at one service: the account it should hold (None: none) and its groups."""

    person_id: uuid.UUID
    service: str
    key: str
    account: Account | None
    groups: tuple[Group, ...] = ()


def account_key(secret_key: str, service: str, person_id: uuid.UUID) -> str:
    return pairwise_sub(secret_key, service, person_id)


class Planner:
    """Computes desired accounts; keeps a small cache of schools for the class groups."""

    def __init__(self, session: Session, policies: Policies, secret_key: str):
        self.session = session
        self.policies = policies
        self.secret_key = secret_key
        self._schools: dict[uuid.UUID, tuple[str, str]] = {}

    def for_persons(
        self,
        services: Mapping[uuid.UUID, Collection[str]],
        had: Mapping[uuid.UUID, Collection[str]],
    ) -> list[Desired]:
        return list(self.each_person(services, had))

    def each_person(
        self,
        services: Mapping[uuid.UUID, Collection[str]],
        had: Mapping[uuid.UUID, Collection[str]],
    ) -> Iterator[Desired]:
        """The desired state of each person at each of their services (`services`: person id
        -> service codes; `had`: person id -> services that hold an account of theirs).

        Persons who hold no account at these services and have no context of a role that
        could grant one of them are left out: nothing is desired of them and nothing is to be
        removed. The others are read with a few queries per thousand persons (the first hundred
        on their own)."""
        codes = {code for wanted in services.values() for code in wanted}
        roles = sorted(possible_roles(self.policies, codes))
        everyone = list(services)
        head, rest = everyone[:FIRST_CHUNK], everyone[FIRST_CHUNK:]
        for chunk in [head, *chunks(rest, CHUNK)]:
            # Plain rows on the session's connection (taken per chunk: a caller reading the
            # accounts as they come may commit between chunks): no ORM loading, nothing to
            # flush first (provisioning never changes persons or their contexts).
            connection = self.session.connection()
            hopeful = set(
                connection.execute(
                    select(_KONTEXT.c.person_id)
                    .where(_KONTEXT.c.person_id.in_(chunk), _KONTEXT.c.rolle.in_(roles))
                    .distinct()
                ).scalars()
            )
            ids = [person_id for person_id in chunk if person_id in hopeful or had.get(person_id)]
            if not ids:
                continue
            persons = connection.execute(select(*PERSON_COLUMNS).where(Person.id.in_(ids)))
            facts = load_facts_of_many(self.session, self.policies, persons.all())
            for person_id in ids:
                for service in sorted(services[person_id]):
                    yield self._one(
                        person_id, facts.get(person_id), service, service in had.get(person_id, ())
                    )

    def _one(
        self, person_id: uuid.UUID, facts: PersonFacts | None, service: str, has_account: bool
    ) -> Desired:
        key = account_key(self.secret_key, service, person_id)
        if facts is None:  # deleted (retention)
            return Desired(person_id, service, key, None)
        decision = entitlement(self.policies, facts, service)
        if decision.allowed:
            attributes = {
                name: value
                for name, value in release(self.policies, facts, service, decision).items()
                if value not in (None, "", [])
            }
            memberships, groups = self._groups(decision.kontexte, facts)
            account = Account(key, attributes, True, memberships)
            return Desired(person_id, service, key, account, groups)
        if has_account and decision.reason in KEEP_DISABLED:
            allowed = self.policies.services[service].attributes
            attributes = {
                name: value
                for name, value in facts.attributes.items()
                if name in PERSONAL and name in allowed and value
            }
            return Desired(person_id, service, key, Account(key, attributes, False))
        return Desired(person_id, service, key, None)

    def _groups(
        self, granting, facts: PersonFacts
    ) -> tuple[tuple[Membership, ...], tuple[Group, ...]]:
        """School and class groups of the contexts that grant the service, with roles."""
        schools = {k.schule_id for k in granting if k.schule_id is not None}
        members: dict[str, str] = {}
        groups: dict[str, Group] = {}
        for kontext in facts.kontexte:
            if kontext.schule_id not in schools or kontext.org_typ not in ("SCHULE", "KLASSE"):
                continue
            role = ROLES.get(kontext.rollenart, MEMBER)
            if kontext.org_typ == "SCHULE":
                group = Group(kontext.org_kennung, kontext.org_name, "schule")
            else:
                school_key, school_name = self._school(kontext.schule_id)
                groups.setdefault(school_key, Group(school_key, school_name, "schule"))
                group = Group(kontext.org_kennung, kontext.org_name, "klasse", school_key)
            groups[group.key] = group
            if members.get(group.key) != INSTRUCTOR:  # the stronger role wins
                members[group.key] = role
        memberships = tuple(Membership(k, r) for k, r in sorted(members.items()))
        return memberships, tuple(groups[k] for k in sorted(groups))

    def _school(self, schule_id: uuid.UUID) -> tuple[str, str]:
        found = self._schools.get(schule_id)
        if found is None:
            row = self.session.execute(
                select(Organisation.kennung, Organisation.name).where(Organisation.id == schule_id)
            ).one()
            found = self._schools[schule_id] = (row.kennung, row.name)
        return found
