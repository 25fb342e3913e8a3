"""Learners and their Erziehungsberechtigte, generated family by family into the schools' seats.

Every seat of every class is filled exactly once. A family starts at a random empty seat and
takes further seats for twins (same school, same grade, same birth date) and siblings (other
grades, often another school of the same Schulamt). Adults (18 or older on the Stichtag) get no
guardian rows; a family with no minor child has no guardians at all.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from anyascii import anyascii

from idp.demodata import names
from idp.demodata.geography import PLACES, SCHULAMT_OF_KREIS
from idp.demodata.names import Background, Showcase, surname_for
from idp.demodata.organisations import BS, Schule, street
from idp.demodata.schoolyear import Stichtage

MUTTER, VATER, VORMUND, SONSTIGE = "Mutter", "Vater", "Vormund", "sonstige Sorgeberechtigte"
ARTEN = (MUTTER, VATER, VORMUND, SONSTIGE)

P_TWINS = 0.015
P_VORMUND = 0.006
P_SINGLE = 0.14
P_SHARED_MAIL = 0.04
SIBLING_COUNTS = (0, 1, 2, 3)
SIBLING_WEIGHTS = (77, 18, 4, 1)
SIBLING_GAPS = (1, 2, 3, 4, 5, 6, 7, 8)
SIBLING_GAP_WEIGHTS = (22, 28, 20, 12, 8, 5, 3, 2)
# Years a vocational learner is older than the usual age of their Jahrgangsstufe.
VOC_EXTRA = (0, 1, 2, 3, 4, 5, 6, 8, 12)
VOC_EXTRA_WEIGHTS = (30, 25, 18, 10, 7, 4, 3, 2, 1)
MAIL_DOMAINS = ("example.org", "example.net", "example.com")
P_MAIL = 0.6


@dataclass
class Guardian:
    """An Erziehungsberechtigte(r); `number` is given out once all guardians exist."""

    nachname: str
    vorname: str
    geschlecht: str
    email: str
    street: str
    plz: str
    ort: str
    number: str = ""


@dataclass
class Learner:
    """A learner in a seat; `links` are the guardians with the Art of the relationship."""

    nachname: str
    vorname: str
    geschlecht: str
    birth: int
    nationality: str
    street: str
    plz: str
    ort: str
    family: int
    links: list[tuple[Guardian, str]] = field(default_factory=list)


@dataclass
class Population:
    """All learners by seat, all guardians, and the seat layout they were generated into."""

    seats: list[tuple[int, int]]
    learners: list[Learner]
    guardians: list[Guardian]


_GERMAN_FOLD = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss", " ": "-"}
)


def _fold(text: str, cache: dict[str, str]) -> str:
    """ASCII form of a name for a mail local part (ä → ae as Germans write it)."""
    folded = cache.get(text)
    if folded is None:
        german = text.translate(_GERMAN_FOLD)
        folded = "".join(c for c in anyascii(german).lower() if c.isalnum() or c in ".-")
        cache[text] = folded
    return folded


class _Generator:
    """Fills the seats of all schools; one instance per run, driven by one Random."""

    def __init__(self, schulen: list[Schule], tage: Stichtage, rng: random.Random) -> None:
        self.schulen = schulen
        self.rng = rng
        self.year = tage.schuljahr.year
        self.adult_cutoff = dt.date(self.year - 18, 8, 1).toordinal()
        self.fold_cache: dict[str, str] = {}
        self.used_mails: set[str] = set()
        self.guardians: list[Guardian] = []
        self.vormuender: dict[str, list[Guardian]] = {}
        self.family_sizes: list[int] = []

        self.amt_of_school = [s.schulamt.number for s in schulen]
        self.places_by_amt: dict[str, list[tuple[str, str]]] = {}
        for place in PLACES:
            entry = (place.plz, place.ort)
            bucket = self.places_by_amt.setdefault(SCHULAMT_OF_KREIS[place.kreis].number, [])
            if entry not in bucket:
                bucket.append(entry)

        # seats[i] = (school index, class index within the school)
        self.seats: list[tuple[int, int]] = []
        self.seat_grade: list[int] = []
        self.seat_voc: list[bool] = []
        for si, schule in enumerate(schulen):
            voc = schule.schulart == BS
            for ki, klasse in enumerate(schule.klassen):
                self.seats += [(si, ki)] * klasse.size
                self.seat_grade += [klasse.grade] * klasse.size
                self.seat_voc += [voc] * klasse.size
        self.learners: list[Learner | None] = [None] * len(self.seats)
        self.filled = bytearray(len(self.seats))

        self.by_amt: dict[tuple[str, int, bool], list[int]] = {}
        self.by_school: dict[tuple[int, int], list[int]] = {}
        for seat, (si, _) in enumerate(self.seats):
            grade, voc = self.seat_grade[seat], self.seat_voc[seat]
            self.by_amt.setdefault((self.amt_of_school[si], grade, voc), []).append(seat)
            self.by_school.setdefault((si, grade), []).append(seat)
        for stack in (*self.by_amt.values(), *self.by_school.values()):
            rng.shuffle(stack)

        # Birth dates of Jahrgangsstufe g fall from 1 July (Y-6-g) to 30 June (Y-5-g).
        self.window = {g: dt.date(self.year - 6 - g, 7, 1).toordinal() for g in range(-2, 40)}

    # -- seats -------------------------------------------------------------------------------

    def take(self, stack: list[int] | None) -> int | None:
        """The next empty seat of a stack (seats appear in two stacks, so skip filled ones)."""
        while stack:
            seat = stack.pop()
            if not self.filled[seat]:
                self.filled[seat] = 1
                return seat
        return None

    def birth(self, seat: int) -> int:
        """A birth date (ordinal) fitting the seat's Jahrgangsstufe, sometimes a year off."""
        rng = self.rng
        grade = self.seat_grade[seat]
        if self.seat_voc[seat]:
            extra = rng.choices(VOC_EXTRA, VOC_EXTRA_WEIGHTS)[0]
            return self.window[grade + extra] + rng.randrange(365)
        roll = rng.random()
        shift = 1 if roll < 0.05 else 2 if roll < 0.06 else -1 if roll < 0.07 else 0
        return self.window[grade + shift] + rng.randrange(365)

    def sibling_seat(self, seat: int) -> int | None:
        """A seat for a sibling: another grade, often at the same school, else same Schulamt."""
        rng = self.rng
        si = self.seats[seat][0]
        gap = rng.choices(SIBLING_GAPS, SIBLING_GAP_WEIGHTS)[0]
        grade = self.seat_grade[seat] + (gap if rng.random() < 0.5 else -gap)
        if grade < 1 or grade > 13:
            return None
        if rng.random() < 0.4:
            found = self.take(self.by_school.get((si, grade)))
            if found is not None:
                return found
        voc = grade == 13 or (grade >= 11 and rng.random() < 0.3)
        return self.take(self.by_amt.get((self.amt_of_school[si], grade, voc)))

    # -- people ------------------------------------------------------------------------------

    def address(self, amt: str, home: tuple[str, str]) -> tuple[str, str, str]:
        """Street, PLZ and Ort: mostly the school's town, else elsewhere in the Schulamt."""
        plz, ort = home if self.rng.random() < 0.65 else self.rng.choice(self.places_by_amt[amt])
        return street(self.rng), plz, ort

    def email(self, vorname: str, nachname: str) -> str:
        """A private mail address at an example domain, in one of several common shapes."""
        rng = self.rng
        first = _fold(vorname, self.fold_cache)
        last = _fold(nachname, self.fold_cache)
        roll = rng.random()
        if roll < 0.5:
            local = f"{first}.{last}"
        elif roll < 0.7:
            local = f"{first[:1]}.{last}"
        elif roll < 0.85:
            local = f"{last}{rng.randint(1, 99)}"
        else:
            local = f"{first}{last}{rng.randint(70, 99)}"
        if rng.random() < 0.05:
            # People type their address with capitals; the import must compare case-blind.
            local = ".".join(part.capitalize() for part in local.split("."))
        domain = rng.choice(MAIL_DOMAINS)
        address = f"{local}@{domain}"
        # Two people never share a mailbox by accident; only parents do so on purpose.
        while address.lower() in self.used_mails:
            address = f"{local}{rng.randint(2, 999)}@{domain}"
        self.used_mails.add(address.lower())
        return address

    def guardian(
        self, background: Background, geschlecht: str, nachname: str, home: tuple[str, str, str]
    ) -> Guardian:
        """A new guardian living at `home`."""
        rng = self.rng
        vorname = names.adult_first_name(background, geschlecht, rng)
        email = self.email(vorname, nachname) if rng.random() < P_MAIL else ""
        written = "" if rng.random() < 0.02 else geschlecht
        person = Guardian(nachname, vorname, written, email, *home)
        self.guardians.append(person)
        return person

    def vormund(self, amt: str) -> Guardian:
        """A Vormund of the Schulamt's region; one Vormund often has several wards."""
        pool = self.vormuender.setdefault(amt, [])
        if pool and self.rng.random() < 0.7:
            return self.rng.choice(pool)
        geschlecht = self.rng.choice("mw")
        nachname = surname_for(names.GERMAN.surname(self.rng), geschlecht)
        plz, ort = self.rng.choice(self.places_by_amt[amt])
        person = self.guardian(names.GERMAN, geschlecht, nachname, (street(self.rng), plz, ort))
        pool.append(person)
        return person

    # -- families ----------------------------------------------------------------------------

    def family(self, anchor: int, showcase: Showcase | None) -> None:
        """Create the family whose first child sits in `anchor`, with siblings and guardians."""
        rng = self.rng
        family_id = len(self.family_sizes)
        si = self.seats[anchor][0]
        schule = self.schulen[si]
        amt = self.amt_of_school[si]
        if showcase:
            background, child_pair, first_name, first_gender = showcase
        else:
            background = names.family_background(rng)
            child_pair, first_name, first_gender = background.surname(rng), None, None

        seats = [anchor]
        births = [self.birth(anchor)]
        # The first family always has twins, so that even the smallest state has a pair.
        if family_id == 0 or rng.random() < P_TWINS:
            twin = self.take(self.by_school.get((si, self.seat_grade[anchor])))
            if twin is not None:
                seats.append(twin)
                births.append(births[0])
        for _ in range(rng.choices(SIBLING_COUNTS, SIBLING_WEIGHTS)[0]):
            seat = self.sibling_seat(anchor)
            if seat is not None:
                seats.append(seat)
                births.append(self.birth(seat))

        minors = [b > self.adult_cutoff for b in births]
        home = self.address(amt, (schule.plz, schule.ort))
        guardian_sets = self.guardians_for(background, child_pair, amt, home, len(seats), minors)
        nationality = background.nationality(rng)

        pair = guardian_sets.child_pair
        used_first_names: set[str] = set()
        for n, (seat, birth) in enumerate(zip(seats, births, strict=True)):
            if n == 0 and first_name:
                geschlecht, vorname = first_gender, first_name
            else:
                roll = rng.random()
                geschlecht = "m" if roll < 0.505 else "w" if roll < 0.998 else "d"
                vorname = names.child_first_name(background, geschlecht, rng)
                if vorname in used_first_names:
                    vorname = names.child_first_name(background, geschlecht, rng)
            used_first_names.add(vorname)
            learner = Learner(
                nachname=surname_for(pair, geschlecht),
                vorname=vorname,
                geschlecht=geschlecht,
                birth=birth,
                nationality=nationality,
                street=home[0],
                plz=home[1],
                ort=home[2],
                family=family_id,
            )
            if minors[n]:
                learner.links = guardian_sets.links[n]
            self.learners[seat] = learner
        self.family_sizes.append(len(seats))

    def guardians_for(
        self,
        background: Background,
        pair: tuple[str, str],
        amt: str,
        home: tuple[str, str, str],
        children: int,
        minors: list[bool],
    ) -> _Custody:
        """Who has custody of each child, and which surname the children carry."""
        rng = self.rng
        if not any(minors):
            return _Custody(pair, [[] for _ in range(children)])
        roll = rng.random()
        if roll < P_VORMUND:
            person = self.vormund(amt)
            return _Custody(pair, [[(person, VORMUND)] for _ in range(children)])

        def other_background() -> Background:
            return background if rng.random() < 0.9 else names.family_background(rng)

        if roll < P_VORMUND + P_SINGLE:
            if rng.random() < 0.85:
                # Children of a single mother often carry the absent father's name.
                own = pair if rng.random() < 0.8 else background.surname(rng)
                parent = self.guardian(background, "w", own[1], home)
                links = [(parent, MUTTER)]
            else:
                parent = self.guardian(background, "m", pair[0], home)
                links = [(parent, VATER)]
        else:
            mother_home = home
            father_home = home
            if rng.random() < 0.15:
                # Separated parents who share custody live at two addresses.
                father_home = self.address(amt, (home[1], home[2]))
            if rng.random() < 0.02:
                partner = other_background().surname(rng)
                first = self.guardian(background, "w", pair[1], mother_home)
                second = self.guardian(other_background(), "w", partner[1], father_home)
                links = [(first, MUTTER), (second, MUTTER)]
            else:
                father_pair = pair
                roll = rng.random()
                if roll < 0.65:
                    mother_name = pair[1]
                    if rng.random() < 0.06:
                        mother_name = f"{other_background().surname(rng)[1]}-{pair[1]}"
                else:
                    own = other_background().surname(rng)
                    mother_name = own[1]
                    if roll < 0.82:
                        pair = own
                father = self.guardian(other_background(), "m", father_pair[0], father_home)
                mother = self.guardian(background, "w", mother_name, mother_home)
                links = [(mother, MUTTER), (father, VATER)]
                if mother.email and rng.random() < P_SHARED_MAIL:
                    father.email = mother.email
        if rng.random() < 0.05:
            geschlecht = rng.choice("mw")
            other = self.guardian(
                names.GERMAN, geschlecht, surname_for(names.GERMAN.surname(rng), geschlecht), home
            )
            links.append((other, SONSTIGE))
        per_child = [list(links) for _ in range(children)]
        minor_seats = [n for n, minor in enumerate(minors) if minor]
        if len(minor_seats) > 1 and rng.random() < 0.1 and links[0][1] == MUTTER:
            # A half-sibling: same mother, another father.
            step_father = self.guardian(other_background(), "m", background.surname(rng)[0], home)
            per_child[minor_seats[-1]] = [links[0], (step_father, VATER)]
        return _Custody(pair, per_child)

    def fill(self) -> None:
        """Fill every seat, starting families at seats in random order."""
        order = list(range(len(self.seats)))
        self.rng.shuffle(order)
        showcase = list(names.SHOWCASE)
        for seat in order:
            if self.filled[seat]:
                continue
            self.filled[seat] = 1
            if self.seat_voc[seat] and self.rng.random() < 0.7:
                self.lone_adult(seat)
                continue
            self.family(seat, showcase.pop(0) if showcase else None)

    def lone_adult(self, seat: int) -> None:
        """An adult learner at a Berufliche Schule, with no guardian and no sibling."""
        rng = self.rng
        si = self.seats[seat][0]
        background = names.family_background(rng)
        geschlecht = "m" if rng.random() < 0.55 else "w"
        schule = self.schulen[si]
        home = self.address(self.amt_of_school[si], (schule.plz, schule.ort))
        # The window of Jahrgangsstufe 13 holds the 18- and 19-year-olds; adults are that or older.
        extra = rng.choices(VOC_EXTRA, VOC_EXTRA_WEIGHTS)[0] + self.seat_grade[seat] - 11
        birth = self.window[13 + extra] + rng.randrange(365)
        self.learners[seat] = Learner(
            nachname=surname_for(background.surname(rng), geschlecht),
            vorname=names.adult_first_name(background, geschlecht, rng)
            if rng.random() < 0.3
            else names.child_first_name(background, geschlecht, rng),
            geschlecht=geschlecht,
            birth=birth,
            nationality=background.nationality(rng),
            street=home[0],
            plz=home[1],
            ort=home[2],
            family=len(self.family_sizes),
        )
        self.family_sizes.append(1)

    def same_names(self) -> None:
        """Give some pairs of classmates the same full name (different families)."""
        rng = self.rng
        starts = []
        position = 0
        for schule in self.schulen:
            for klasse in schule.klassen:
                starts.append((position, klasse.size))
                position += klasse.size
        for start, size in rng.sample(starts, max(1, len(starts) // 50)):
            members = [self.learners[s] for s in range(start, start + size)]
            model = rng.choice(members)
            singles = [
                m
                for m in members
                if m is not model and self.family_sizes[m.family] == 1 and m.family != model.family
            ]
            if not singles:
                continue
            copy = rng.choice(singles)
            for person, art in copy.links:
                # A Vormund is shared with other wards and keeps his own name.
                if art != VORMUND and person.nachname == copy.nachname:
                    person.nachname = model.nachname
            copy.nachname, copy.vorname, copy.geschlecht = (
                model.nachname,
                model.vorname,
                model.geschlecht,
            )

    def number_guardians(self) -> None:
        """Give every guardian a state-wide unique, stable 8-digit number."""
        numbers = self.rng.sample(range(10_000_000, 100_000_000), len(self.guardians))
        for person, number in zip(self.guardians, numbers, strict=True):
            person.number = str(number)


@dataclass
class _Custody:
    """The surname a family's children carry, and each child's guardians with their Art."""

    child_pair: tuple[str, str]
    links: list[list[tuple[Guardian, str]]]


def populate(schulen: list[Schule], tage: Stichtage, rng: random.Random) -> Population:
    """Learners for every seat of every class, with their guardians."""
    generator = _Generator(schulen, tage, rng)
    generator.fill()
    generator.same_names()
    generator.number_guardians()
    learners = [learner for learner in generator.learners if learner is not None]
    assert len(learners) == len(generator.seats), "every seat is filled"
    return Population(seats=generator.seats, learners=learners, guardians=generator.guardians)
