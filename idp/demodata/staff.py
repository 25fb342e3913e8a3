"""The personnel export: teachers, Referendare, pädagogische Fachkräfte, Schulamt and ministry.

One row per person and Dienststelle. A teacher working at two schools has two rows with the
same Personalnummer; the second one is an Abordnung for the running school year.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass

from idp.demodata import names
from idp.demodata.geography import MINISTRY_NUMBER, SCHULAEMTER
from idp.demodata.names import surname_for
from idp.demodata.organisations import BS, FOES, GES, GS, GY, RS, Schule
from idp.demodata.schoolyear import Stichtage, add_months, german, german_date

LK, REF, PF, SSA, MIN = "LK", "REF", "PF", "SSA", "MIN"
FUNKTIONEN = {
    LK: "Lehrkraft",
    REF: "Lehrkraft im Vorbereitungsdienst (Referendar/in)",
    PF: "pädagogische Fachkraft",
    SSA: "Beschäftigte/r eines Staatlichen Schulamts",
    MIN: "Beschäftigte/r des Ministeriums",
}
SL, SV = "SL", "SV"
SCHULLEITUNG = {SL: "Schulleiter/in", SV: "stellvertretende/r Schulleiter/in"}
LEHRAEMTER = {
    "GS": "Lehramt an Grundschulen",
    "RS": "Lehramt an Regionalen Schulen",
    "GY": "Lehramt an Gymnasien",
    "SO": "Lehramt für Sonderpädagogik",
    "BS": "Lehramt an beruflichen Schulen",
    "DL": "Diplomlehrer/in oder Lehrer/in für untere Klassen (Ausbildung vor 1990)",
    "SE": "Seiteneinstieg, ohne Lehramtsbefähigung",
}
# Which Lehramt the teachers of a Schulart hold, and how often (Referendare: the first).
_LEHRAMT_MIX = {
    GS: (("GS", 70), ("DL", 15), ("SE", 10), ("SO", 5)),
    RS: (("RS", 60), ("DL", 15), ("GY", 10), ("SE", 15)),
    GY: (("GY", 85), ("DL", 10), ("SE", 5)),
    GES: (("RS", 40), ("GY", 40), ("DL", 10), ("SE", 10)),
    FOES: (("SO", 70), ("GS", 15), ("DL", 10), ("SE", 5)),
    BS: (("BS", 75), ("GY", 5), ("SE", 20)),
}

LAND_COUNTS = {LK: 14_700, REF: 800, PF: 1_500, SSA: 200, MIN: 150}
LEARNERS_PER_TEACHER = 187_600 / 14_700
P_TWO_SCHOOLS = 0.03


@dataclass(frozen=True)
class StaffCounts:
    """How many people of each Funktion a state has (teachers include the Schulleitung)."""

    teachers: int
    referendare: int
    fachkraefte: int
    schulamt: int
    ministry: int


def staff_counts(learners: int, *, land: bool) -> StaffCounts:
    """The land's numbers, or numbers in proportion to a small state's learners."""
    if land:
        return StaffCounts(*LAND_COUNTS.values())
    teachers = max(1, round(learners / LEARNERS_PER_TEACHER))
    return StaffCounts(
        teachers=teachers,
        referendare=max(1, round(teachers * LAND_COUNTS[REF] / LAND_COUNTS[LK])),
        fachkraefte=max(1, round(teachers * LAND_COUNTS[PF] / LAND_COUNTS[LK])),
        schulamt=3 * len(SCHULAEMTER),
        ministry=5,
    )


def _share(total: int, weights: list[int], minimum: int) -> list[int]:
    """`total` split in proportion to `weights`, each part at least `minimum` if possible."""
    whole = sum(weights) or 1
    quotas = [total * w / whole for w in weights]
    parts = [max(minimum, math.floor(q)) for q in quotas]
    by_remainder = sorted(
        range(len(weights)), key=lambda i: quotas[i] - math.floor(quotas[i]), reverse=True
    )
    i = 0
    while sum(parts) < total:
        parts[by_remainder[i % len(parts)]] += 1
        i += 1
    by_size = sorted(range(len(weights)), key=lambda i: parts[i], reverse=True)
    i = 0
    while sum(parts) > total and any(p > minimum for p in parts):
        j = by_size[i % len(parts)]
        if parts[j] > minimum:
            parts[j] -= 1
        i += 1
    return parts


@dataclass(frozen=True)
class _Person:
    """Who a row is about; a teacher at two schools has two rows for one _Person."""

    number: str
    nachname: str
    vorname: str
    titel: str
    geschlecht: str
    geburtsdatum: str
    age: int


class _Staff:
    """Builds the rows of personal.csv; one instance per run."""

    def __init__(
        self, schulen: list[Schule], tage: Stichtage, rng: random.Random, total: int
    ) -> None:
        self.schulen = schulen
        self.tage = tage
        self.rng = rng
        self.year = tage.schuljahr.year
        self.end_of_year = dt.date(self.year + 1, 7, 31)
        self.rows: list[list[str]] = []
        self.next_lehrernummer = [rng.randint(1, 20) for _ in schulen]
        self.numbers = iter(rng.sample(range(1, 100_000_000), total))

    def lehrernummer(self, si: int) -> str:
        """The next free Lehrernummer at a school; numbers grow with gaps, as hires come in."""
        number = self.next_lehrernummer[si]
        self.next_lehrernummer[si] += self.rng.randint(1, 3)
        return f"{number:03d}"

    def person(self, share_w: float, ages: tuple[int, int], skew: float, dr: float) -> _Person:
        """A new adult; `skew` > 1 favours the young end of `ages`, < 1 the old end."""
        rng = self.rng
        background = names.staff_background(rng)
        roll = rng.random()
        geschlecht = "w" if roll < share_w else "d" if roll > 0.999 else "m"
        age = ages[0] + int((ages[1] - ages[0] + 1) * rng.random() ** skew)
        birth = dt.date(self.year - age - 1, 8, 2).toordinal() + rng.randrange(365)
        return _Person(
            number=f"{next(self.numbers):08d}",
            nachname=surname_for(background.surname(rng), geschlecht),
            vorname=names.adult_first_name(background, geschlecht, rng),
            titel="Dr." if rng.random() < dr else "",
            geschlecht=geschlecht,
            geburtsdatum=german_date(birth),
            age=age,
        )

    def hired(self, age: int) -> dt.date:
        """A hire date (1 August or 1 February) after the person's 24th birthday, since 1991."""
        first = min(max(1991, self.year - age + 24), self.year)
        # The earlier of two draws: most staff have been in service for a while.
        year = min(self.rng.randint(first, self.year), self.rng.randint(first, self.year))
        day = dt.date(year, 8, 1) if self.rng.random() < 0.8 else dt.date(year, 2, 1)
        return min(day, self.tage.schuljahr)

    def add(
        self,
        person: _Person,
        dienststelle: str,
        funktion: str,
        ab: dt.date,
        bis: dt.date | None,
        *,
        lehrernummer: str = "",
        lehramt: str = "",
        leitung: str = "",
    ) -> None:
        """Append one row of personal.csv."""
        self.rows.append(
            [
                person.number,
                dienststelle,
                lehrernummer,
                person.nachname,
                person.vorname,
                person.titel,
                person.geschlecht,
                person.geburtsdatum,
                lehramt,
                funktion,
                leitung,
                german(ab),
                german(bis),
            ]
        )

    def teachers(self, count: int) -> list[tuple[_Person, int, str]]:
        """Teachers of every school with the Schulleitung; returns those free for a 2nd school."""
        rng = self.rng
        learners = [s.learners for s in self.schulen]
        movable = []
        for si, (schule, n) in enumerate(
            zip(self.schulen, _share(count, learners, 2), strict=True)
        ):
            share_w = 0.88 if schule.schulart == GS else 0.7
            dr = 0.08 if schule.schulart == GY else 0.02
            staff = [self.person(share_w, (25, 66), 0.7, dr) for _ in range(n)]
            # The Schulleitung comes from the older half of the staff.
            staff.sort(key=lambda p: -p.age)
            leaders = rng.sample(range(max(2, n // 2)), 2 if learners[si] >= 250 and n >= 4 else 1)
            roles = {index: role for index, role in zip(leaders, (SL, SV), strict=False)}
            mix = _LEHRAMT_MIX[schule.schulart]
            for index, person in enumerate(staff):
                lehramt = rng.choices([c for c, _ in mix], [w for _, w in mix])[0]
                ab, bis = self.hired(person.age), None
                if person.age >= 64 or rng.random() < 0.04:
                    bis = self.end_of_year  # retiring, or a fixed-term contract
                elif rng.random() < 0.01:
                    ab = add_months(self.tage.halbjahr, 6)  # hired ahead of the next half-year
                leitung = roles.get(index, "")
                self.add(
                    person,
                    schule.number,
                    LK,
                    ab,
                    bis,
                    lehrernummer=self.lehrernummer(si),
                    lehramt=lehramt,
                    leitung=leitung,
                )
                if not leitung:
                    movable.append((person, si, lehramt))
        return movable

    def second_schools(self, teachers: list[tuple[_Person, int, str]], count: int) -> None:
        """Second rows (an Abordnung for this school year) for some teachers at another school."""
        rng = self.rng
        by_amt: dict[str, list[int]] = {}
        for si, schule in enumerate(self.schulen):
            by_amt.setdefault(schule.schulamt.number, []).append(si)
        for person, si, lehramt in rng.sample(teachers, min(count, len(teachers))):
            nearby = [o for o in by_amt[self.schulen[si].schulamt.number] if o != si]
            other = rng.choice(nearby or [o for o in range(len(self.schulen)) if o != si])
            self.add(
                person,
                self.schulen[other].number,
                LK,
                self.tage.schuljahr,
                self.end_of_year,
                lehrernummer=self.lehrernummer(other),
                lehramt=lehramt,
            )

    def weighted_schools(self, weights: dict[str, float], k: int) -> list[int]:
        """`k` school indexes, drawn in proportion to learners times a weight per Schulart."""
        by_school = [weights[s.schulart] * s.learners for s in self.schulen]
        return self.rng.choices(range(len(self.schulen)), by_school, k=k)

    def referendare(self, count: int) -> None:
        """Referendare in three cohorts; each has an end date 18 months after its start."""
        weights = {GS: 1.0, RS: 1.2, GY: 1.5, GES: 1.2, FOES: 0.5, BS: 0.8}
        for si in self.weighted_schools(weights, count):
            schule = self.schulen[si]
            person = self.person(0.65, (24, 35), 2.0, 0.0)
            start = add_months(self.tage.halbjahr, -6 * self.rng.randrange(3))
            end = add_months(start, 18) - dt.timedelta(days=1)
            self.add(
                person,
                schule.number,
                REF,
                start,
                end,
                lehrernummer=self.lehrernummer(si),
                lehramt=_LEHRAMT_MIX[schule.schulart][0][0],
            )

    def fachkraefte(self, count: int) -> None:
        """Pädagogische Fachkräfte, mostly at Grundschulen and Förderschulen."""
        weights = {GS: 3.0, RS: 0.5, GY: 0.2, GES: 1.0, FOES: 4.0, BS: 0.2}
        for si in self.weighted_schools(weights, count):
            person = self.person(0.85, (22, 65), 1.0, 0.0)
            bis = self.end_of_year if self.rng.random() < 0.1 else None
            self.add(person, self.schulen[si].number, PF, self.hired(person.age), bis)

    def offices(self, schulamt: int, ministry: int) -> None:
        """Staff of the Staatliche Schulämter (spread evenly) and of the ministry."""
        for n in range(schulamt):
            person = self.person(0.6, (28, 65), 1.0, 0.12)
            amt = SCHULAEMTER[n % len(SCHULAEMTER)]
            self.add(person, amt.number, SSA, self.hired(person.age), None)
        for _ in range(ministry):
            person = self.person(0.55, (28, 65), 1.0, 0.25)
            self.add(person, MINISTRY_NUMBER, MIN, self.hired(person.age), None)


def build_staff(
    schulen: list[Schule], tage: Stichtage, rng: random.Random, *, land: bool
) -> list[list[str]]:
    """The rows of personal.csv, sorted by Dienststelle and name as the personnel system lists."""
    counts = staff_counts(sum(s.learners for s in schulen), land=land)
    total = (
        counts.teachers
        + counts.referendare
        + counts.fachkraefte
        + counts.schulamt
        + counts.ministry
    )
    staff = _Staff(schulen, tage, rng, total)
    movable = staff.teachers(counts.teachers)
    if len(schulen) > 1 and movable:
        staff.second_schools(movable, max(1, round(counts.teachers * P_TWO_SCHOOLS)))
    staff.referendare(counts.referendare)
    staff.fachkraefte(counts.fachkraefte)
    staff.offices(counts.schulamt, counts.ministry)
    staff.rows.sort(key=lambda row: (row[1], row[3], row[4], row[0]))
    return staff.rows
