"""Compare what a source says with what the database holds, and write down every change.

Nothing is written here: the result is a `Plan`, which `applier.apply_plan` carries out.
Rules (issue "Imports"): a person is matched by (source, external id); a new external id with
the name and birth date of a known person is a probable match for a human, not a new person;
people missing from the export lose their contexts at the organisations the export covers,
and are never deleted here; contexts of other sources are never touched.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cached_property
from itertools import filterfalse
from operator import itemgetter

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from idp.clock import now, today
from idp.ids import as_uuid
from idp.imports import plan as p
from idp.imports.problems import Problem
from idp.imports.records import KontextRecord, OrgRecord, PersonRecord, SourceData
from idp.imports.state import (
    DbState,
    KontextRow,
    OrgRow,
    TakenUsernames,
    current_kontexte,
    link_pairs,
    load_state,
    persons_by_id,
    persons_by_name_and_birth,
    taken_mail_parts,
)
from idp.models import Person, Personenkontext
from idp.naming import MailAllocator, UsernameAllocator, sort_key
from idp.naming.addresses import address_after_rename
from idp.naming.policy import SEPARATORS
from idp.naming.usernames import with_suffix
from idp.policy.loader import Policies

# A new person's usernames are looked up one by one while they cost less than reading all
# in use: each new person's few names cost about as much as reading fifty (measured, SQLite).
NAMES_ASKED_PER_PERSON = 50


@dataclass(frozen=True)
class PlanSettings:
    mail_domain: str
    school_share: float = 0.10
    source_share: float = 0.05
    allow_mass_end: bool = False


def make_plan(
    session: Session,
    policies: Policies,
    data: SourceData,
    settings: PlanSettings,
    *,
    path: str = "",
    problems: list[Problem] | None = None,
    on: dt.date | None = None,
    settings_hash: str = "",
    state: DbState | None = None,
) -> p.Plan:
    """Compute the plan for one source's export against the database (as `state` says, if
    the caller loaded it before reading the export)."""
    on = on or today()
    state = state or load_state(session, data.source)
    planner = _Planner(session, policies, data, settings, state, on)
    planner.plan_orgs()
    planner.plan_persons()
    planner.plan_links()
    plan = p.Plan(
        source=data.source,
        path=path,
        created_at=now().isoformat(),
        on=on.isoformat(),
        db_state=state.head,
        files=data.files,
        scope=sorted(data.scope),
        changes=planner.changes,
        problems=[*(problems or []), *planner.problems],
        allow_mass_end=settings.allow_mass_end,
        settings_hash=settings_hash,
    )
    plan.breaker = planner.breaker()
    return plan


class _Planner:
    def __init__(
        self,
        session: Session,
        policies: Policies,
        data: SourceData,
        settings: PlanSettings,
        state: DbState,
        on: dt.date,
    ) -> None:
        self.session, self.policies, self.data = session, policies, data
        self.settings, self.state, self.on = settings, state, on
        self.on_iso = on.isoformat()
        self.changes = p.Changes()
        self.problems: list[Problem] = []
        self.new_orgs: set[tuple[str, str]] = set()
        self.scope_ids = self._scope_ids()
        # external id -> person id, or "new:<ext>" for a person this plan creates
        self.person_ids: dict[str, uuid.UUID | str] = {}
        self.ending_at: Counter[str] = Counter()  # school kennung -> contexts ending

    # -- organisations -------------------------------------------------------------------

    def plan_orgs(self) -> None:
        for org in self.data.orgs:
            key = (org.typ, org.kennung)
            row = self.state.orgs.get(key)
            if row is None:
                self.new_orgs.add(key)
                self.changes.orgs_create.append(
                    p.NewOrg(
                        org.typ,
                        org.kennung,
                        org.name,
                        list(org.parent) if org.parent else None,
                        org.schultraeger,
                        org.schulart,
                    )
                )
                continue
            changes = self._org_changes(org, row)
            if changes:
                self.changes.orgs_update.append(
                    p.OrgUpdate(str(row.id), org.typ, org.kennung, changes)
                )

    def _org_changes(self, org: OrgRecord, row: OrgRow) -> dict:
        changes = {}
        if org.name != row.name:
            changes["name"] = [row.name, org.name]
        if org.schulart is not None and org.schulart != row.schulart:
            changes["schulart"] = [row.schulart, org.schulart]
        if org.parent is not None:
            parent = self.state.orgs.get(tuple(org.parent))
            old = self.state.orgs_by_id.get(row.parent_id) if row.parent_id else None
            if parent is None or parent.id != row.parent_id:
                changes["parent"] = [[old.typ, old.kennung] if old else None, list(org.parent)]
        if org.schultraeger is not None:
            old = self.state.orgs_by_id.get(row.schultraeger_id) if row.schultraeger_id else None
            if old is None or old.kennung != org.schultraeger:
                changes["schultraeger"] = [old.kennung if old else None, org.schultraeger]
        return changes

    def _org_known(self, typ: str, kennung: str) -> bool:
        return (typ, kennung) in self.state.orgs or (typ, kennung) in self.new_orgs

    def _scope_ids(self) -> set[uuid.UUID]:
        """Ids of the organisations the export covers, with the Klassen of covered schools."""
        ids = {
            row.id
            for (typ, kennung), row in self.state.orgs.items()
            if (kennung in self.data.scope and typ != "KLASSE")
            or (typ == "SCHULE" and self.data.full_schools)
        }
        ids |= {
            row.id
            for row in self.state.orgs.values()
            if row.typ == "KLASSE" and row.parent_id in ids
        }
        return ids

    # -- persons and their contexts ------------------------------------------------------

    @cached_property
    def _mails(self) -> MailAllocator:
        """One allocator for the whole plan: new persons' addresses and the new addresses of
        renamed persons must not meet."""
        return MailAllocator(taken_mail_parts(self.session), self.policies.naming)

    def _allocate_mail(self, base: str) -> str:
        # The addresses in use are read when the first address is made (most plans make none).
        return self._mails.allocate_base(base)

    def plan_persons(self) -> None:
        records = self._valid_records()
        hashes = self.state.hashes
        changed: list[tuple[PersonRecord, uuid.UUID]] = []
        new: list[PersonRecord] = []
        for record in records:
            known = hashes.get(record.external_id)
            if known is None:
                new.append(record)
                continue
            pid = self.state.person_id(record.external_id)
            self.person_ids[record.external_id] = pid
            if known != record.row_hash():
                changed.append((record, pid))
        # Unchanged persons (no record built) are present in the export all the same; the
        # stored ids are sifted in C, the unchanged (nearly all) first.
        absent = filterfalse(self.data.unchanged.__contains__, hashes)
        absent = filterfalse(self.data.skipped_ids.__contains__, absent)
        read = {r.external_id for r in records}
        missing = [self.state.person_id(ext) for ext in absent if ext not in read]
        ids = [pid for _r, pid in changed] + missing
        persons = persons_by_id(self.session, ids)
        kontexte = current_kontexte(self.session, ids, self.on, self.data.source)
        for record, pid in changed:
            self._plan_changed(record, persons[pid], kontexte.get(pid, []))
        for pid in missing:
            if pid in persons:
                self._end_kontexte(str(pid), kontexte.get(pid, []), keep=set())
        self._plan_new(new)
        self._plan_leaving()

    def _valid_records(self) -> list[PersonRecord]:
        """Drop records whose contexts name unknown organisations or wrong roles (reported)."""
        valid = []
        for record in self.data.persons:
            bad = False
            for k in record.kontexte:
                role = self.policies.roles.get(k.rolle)
                if role is None:
                    self.problems.append(
                        Problem(
                            record.origin.file,
                            record.origin.line,
                            "Rolle",
                            f"unknown role {k.rolle!r}",
                        )
                    )
                    bad = True
                elif k.org_typ not in role.org_types:
                    self.problems.append(
                        Problem(
                            record.origin.file,
                            record.origin.line,
                            "Rolle",
                            f"role {k.rolle} cannot be held at {k.org_typ}",
                        )
                    )
                    bad = True
                elif not self._org_known(k.org_typ, k.org_kennung):
                    where = k.origin or record.origin
                    self.problems.append(
                        Problem(
                            where.file,
                            where.line,
                            k.column or k.org_typ,
                            f"unknown {k.org_typ.lower()} {k.org_kennung!r}",
                        )
                    )
                    bad = True
            if bad:
                self.data.skipped_ids.add(record.external_id)
            else:
                valid.append(record)
        return valid

    def _plan_changed(self, record: PersonRecord, person: Person, rows: list[KontextRow]) -> None:
        pid = str(person.id)
        changes = {}
        for name, new in (
            ("vorname", record.vorname),
            ("familienname", record.familienname),
            ("geburtsdatum", p.iso(record.geburtsdatum)),
        ):
            old = getattr(person, name)
            old = p.iso(old) if isinstance(old, dt.date) else old
            if old != new:
                changes[name] = [old, new]
        if "vorname" in changes or "familienname" in changes:
            changes["sortname"] = [person.sortname, sort_key(record.familienname, record.vorname)]
            moved = address_after_rename(
                self.policies.naming,
                person.mail,
                list(person.mail_aliases or []),
                (person.vorname, person.familienname),
                (record.vorname, record.familienname),
                self._allocate_mail,
            )
            if moved is not None:
                changes["mail"] = [person.mail, moved[0]]
                changes["mail_aliases"] = [list(person.mail_aliases or []), moved[1]]
        if changes:
            self.changes.persons_update.append(
                p.PersonUpdate(pid, record.external_id, person.username, changes, record.row_hash())
            )
        else:
            self.changes.hashes_only.append(["person", record.external_id, record.row_hash()])
        if person.ausgeschieden_am is not None and self._current(record):
            self.changes.persons_return.append(p.PersonReturns(pid, person.username))
        desired = {self._kontext_key(k): k for k in self._current(record)}
        existing = {}
        for row in rows:
            org = self.state.orgs_by_id[row.organisation_id]
            existing[(row.rolle, org.typ, org.kennung)] = row
        for key, k in desired.items():
            row = existing.get(key)
            if row is None:
                self._start(pid, k)
            elif row.valid_until != k.valid_until:
                self.changes.kontexte_change.append(
                    p.KontextChange(
                        str(row.id), pid, [p.iso(row.valid_until), p.iso(k.valid_until)]
                    )
                )
        self._end_kontexte(pid, rows, keep=set(desired))

    def _current(self, record: PersonRecord) -> list[KontextRecord]:
        """The record's contexts that have not ended before the plan's day."""
        return [k for k in record.kontexte if k.valid_until is None or k.valid_until >= self.on]

    def _kontext_key(self, k: KontextRecord) -> tuple[str, str, str]:
        return (k.rolle, k.org_typ, k.org_kennung)

    def _start(self, person: str, k: KontextRecord) -> None:
        self.changes.kontexte_start.append(
            p.KontextStart(
                person,
                k.rolle,
                k.org_typ,
                k.org_kennung,
                k.valid_from.isoformat() if k.valid_from else self.on_iso,
                p.iso(k.valid_until),
            )
        )

    def _end_kontexte(self, person: str, rows: list[KontextRow], keep: set) -> None:
        yesterday = self.on - dt.timedelta(days=1)
        for row in rows:
            org = self.state.orgs_by_id[row.organisation_id]
            if (
                row.rolle,
                org.typ,
                org.kennung,
            ) in keep or row.organisation_id not in self.scope_ids:
                continue
            begun = row.valid_from <= yesterday
            self.changes.kontexte_end.append(
                p.KontextEnd(
                    str(row.id),
                    person,
                    row.rolle,
                    org.kennung,
                    p.iso(yesterday) if begun else None,
                )
            )
            if row.valid_from <= self.on:
                school = self.state.school_of(row.organisation_id)
                self.ending_at[school.kennung if school else org.kennung] += 1

    def _plan_new(self, records: list[PersonRecord]) -> None:
        if not records:
            return
        keys = {(r.familienname, r.vorname, r.geburtsdatum) for r in records if r.geburtsdatum}
        look_alikes = persons_by_name_and_birth(self.session, keys)
        creating: list[tuple[PersonRecord, list[KontextRecord]]] = []
        for record in records:
            decision = self.state.match_decisions.get(record.external_id)
            twin = look_alikes.get((record.familienname, record.vorname, record.geburtsdatum))
            if twin is not None and (decision is None or decision[1] is None):
                self.changes.probable_matches.append(
                    p.ProbableMatch(
                        record.external_id,
                        str(twin.id),
                        twin.username,
                        record.vorname,
                        record.familienname,
                        p.iso(record.geburtsdatum),
                    )
                )
                continue
            current = self._current(record)
            if current:  # else every context of theirs has ended already: nothing to create
                creating.append((record, current))
        taken = self._taken_usernames([record for record, _current in creating])
        usernames = UsernameAllocator(taken, self.policies.naming)
        for record, current in creating:
            rollenarten = [self.policies.roles[k.rolle].rollenart for k in record.kontexte]
            username = usernames.allocate(
                record.vorname, record.familienname, self._rollenart(record)
            )
            mail = None
            if any(self.policies.naming.gets_mailbox(r) for r in rollenarten):
                local = self._mails.allocate(record.vorname, record.familienname)
                mail = f"{local}@{self.settings.mail_domain}"
            ref = f"new:{record.external_id}"
            self.person_ids[record.external_id] = ref
            self.changes.persons_create.append(
                p.NewPerson(
                    record.external_id,
                    record.vorname,
                    record.familienname,
                    p.iso(record.geburtsdatum),
                    username,
                    mail,
                    record.row_hash(),
                )
            )
            for k in current:
                self._start(ref, k)

    def _rollenart(self, record: PersonRecord) -> str:
        """The rollenart a new person's username is formed for: their first context's."""
        if not record.kontexte:
            return "LERN"
        return self.policies.roles[record.kontexte[0].rolle].rollenart

    def _taken_usernames(self, records: list[PersonRecord]) -> TakenUsernames | set[str]:
        """The usernames in use, with the names the allocator will try for `records` read at
        once: per base name as many as there are new persons with it, and more while some of
        those are taken (any name beyond is read when tried).

        For many new persons (a first import) every username is read instead: cheaper then.
        """
        in_use = self.session.scalar(select(func.count()).select_from(Person))
        if len(records) * NAMES_ASKED_PER_PERSON >= in_use:
            return set(self.session.scalars(select(Person.username)))
        naming = self.policies.naming
        length, first = naming.username_max_length, naming.first_suffix
        wanted = Counter(
            naming.username_base(r.vorname, r.familienname, self._rollenart(r))[:length].rstrip(
                SEPARATORS
            )
            for r in records
        )
        taken = TakenUsernames(self.session)
        tries = {base: count + 2 for base, count in wanted.items()}
        while tries:
            names = {}
            for base, count in tries.items():
                try:
                    names[base] = [base] + [
                        with_suffix(base, number, length)
                        for number in range(first, first + count - 1)
                    ]
                except ValueError:
                    continue  # no room for a suffix: the allocator says so when it gets there
            taken.ask(name for found in names.values() for name in found)
            tries = {
                base: 2 * len(found)
                for base, found in names.items()
                if taken.free(found) < wanted[base]
            }
        return taken

    def _plan_leaving(self) -> None:
        """Persons all of whose current contexts (of any source) end with this plan."""
        ending: dict[str, set[str]] = defaultdict(set)
        for end in self.changes.kontexte_end:
            ending[end.person].add(end.id)
        if not ending:
            return
        starting = {s.person for s in self.changes.kontexte_start}
        candidates = [uuid.UUID(pid) for pid in ending if pid not in starting]
        all_current = current_kontexte(self.session, candidates, self.on)
        persons = persons_by_id(self.session, candidates)
        for pid in candidates:
            remaining = [k for k in all_current.get(pid, []) if str(k.id) not in ending[str(pid)]]
            person = persons.get(pid)
            if remaining or person is None or person.ausgeschieden_am is not None:
                continue
            rollenarten = {
                self.policies.roles[k.rolle].rollenart
                for k in all_current.get(pid, [])
                if k.rolle in self.policies.roles
            }
            rules = [self.policies.retention.for_rollenart(r) for r in rollenarten] or [
                self.policies.retention.default
            ]
            lock_after = max(r.lock_after_days for r in rules)
            delete_after = max(r.delete_after_days for r in rules)
            self.changes.persons_leave.append(
                p.PersonLeaves(
                    str(pid),
                    person.username,
                    self.on.isoformat(),
                    (self.on + dt.timedelta(days=delete_after)).isoformat(),
                    lock_after == 0,
                )
            )

    # -- guardian links -----------------------------------------------------------------

    def plan_links(self) -> None:
        """Compare the export's guardian links with the stored ones, by external ids."""
        existing = link_pairs(self.session, self.data.source, self.state.external_ids)
        links = self.data.links
        wanted = dict(zip(map(itemgetter(0, 1), links), links, strict=True))
        # The differences are found in C (filterfalse with a dict's own lookup), in the
        # export's and the table's order, without copying either side into a set.
        for pair in filterfalse(existing.__contains__, wanted):
            guardian, learner = self._ref(pair[0]), self._ref(pair[1])
            if guardian is None or learner is None:
                continue  # a side is a probable match or was skipped: the link waits for it
            self.changes.links_start.append(
                p.LinkStart(guardian, learner, wanted[pair].art, f"{pair[0]}>{pair[1]}")
            )
        # A learner in this export has all their guardians listed here: links of theirs that
        # are not listed have ended. A learner who left keeps their links until retention.
        present = {r.external_id for r in self.data.persons}
        unchanged = self.data.unchanged
        ended = {
            pair
            for pair in filterfalse(wanted.__contains__, existing)
            if pair[1] in unchanged or pair[1] in present
        }
        if ended:
            for pair, link_id in existing.items():
                if pair in ended:
                    self.changes.links_end.append(
                        p.LinkEnd(str(as_uuid(link_id)), f"{pair[0]}>{pair[1]}")
                    )

    def _ref(self, external_id: str) -> str | None:
        person = self.person_ids.get(external_id)
        if person is None and external_id in self.data.unchanged:
            person = self.state.person_id(external_id)
        return None if person is None else str(person)

    # -- the circuit breaker ------------------------------------------------------------

    def breaker(self) -> p.Breaker:
        verdict = p.Breaker(
            school_limit=self.settings.school_share, source_limit=self.settings.source_share
        )
        if not self.ending_at:
            return verdict  # nothing ends: no need to count what is active
        source_total = self.session.scalar(
            select(func.count()).select_from(Personenkontext).where(self._active())
        )
        totals = self._active_totals(source_total)
        for kennung, ending in sorted(self.ending_at.items()):
            total = totals.get(kennung, 0)
            if total and ending / total > self.settings.school_share:
                verdict.schools.append(
                    {
                        "kennung": kennung,
                        "ending": ending,
                        "total": total,
                        "share": round(ending / total, 4),
                    }
                )
        verdict.source_ending = sum(self.ending_at.values())
        verdict.source_total = source_total
        over_source = (
            verdict.source_total
            and verdict.source_ending / verdict.source_total > self.settings.source_share
        )
        verdict.tripped = bool(verdict.schools or over_source)
        return verdict

    def _active(self) -> ColumnElement[bool]:
        """SQL condition: an active context of this source."""
        return and_(Personenkontext.source == self.data.source, Personenkontext.active_on(self.on))

    def _active_totals(self, source_total: int) -> dict[str, int]:
        """Active contexts of this source per school with ending contexts (Klassen counted
        with their school), each counted only as far as the breaker needs: a school with
        more than ending / share stays under its share however many more it has.

        Where those counts would read about as much as counting all, all are counted.
        """
        share = self.settings.school_share
        caps = {k: int(n / share) + 2 for k, n in self.ending_at.items()} if share > 0 else {}
        if not caps or 2 * sum(caps.values()) > source_total:
            return self._all_totals()
        orgs_of: dict[str, list[uuid.UUID]] = defaultdict(list)
        for org_id in self.state.orgs_by_id:
            school = self.state.school_of(org_id)
            if school is not None and school.kennung in caps:
                orgs_of[school.kennung].append(org_id)
        counts: dict[str, int] = {}
        for kennung, org_ids in orgs_of.items():
            active = (
                select(Personenkontext.id)
                .where(self._active(), Personenkontext.organisation_id.in_(org_ids))
                .limit(caps[kennung])
                .subquery()
            )
            counts[kennung] = self.session.scalar(select(func.count()).select_from(active))
        return counts

    def _all_totals(self) -> dict[str, int]:
        """Active contexts of this source per school (Klassen counted with their school)."""
        counts: Counter[str] = Counter()
        rows = self.session.execute(
            select(Personenkontext.organisation_id, func.count())
            .where(self._active())
            .group_by(Personenkontext.organisation_id)
        )
        for org_id, count in rows:
            school = self.state.school_of(org_id)
            if school is not None:
                counts[school.kennung] += count
        return counts
