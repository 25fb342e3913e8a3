"""Turns the generated state into the rows of each export file."""

from __future__ import annotations

import random
from collections.abc import Iterator

from idp.demodata.families import Population
from idp.demodata.geography import MINISTRY_ADDRESS, MINISTRY_NAME, MINISTRY_NUMBER, SCHULAEMTER
from idp.demodata.organisations import BS, FOES, Schule, Traeger
from idp.demodata.schoolyear import german_date

FOERDERSCHWERPUNKTE = (
    "Lernen",
    "Sprache",
    "emotionale und soziale Entwicklung",
    "geistige Entwicklung",
    "körperliche und motorische Entwicklung",
    "Hören",
    "Sehen",
)
_AT_FOERDERSCHULE = (50, 5, 15, 20, 5, 3, 2)
_INCLUSIVE = (40, 25, 25, 0, 6, 2, 2)
P_INCLUSIVE = 0.04
P_LRS = 0.05


def schulaemter_rows() -> list[list[str]]:
    """sip/schulaemter.csv: the four Staatliche Schulämter."""
    return [[a.number, a.name, a.street, a.plz, a.ort] for a in SCHULAEMTER]


def dienststellen_rows() -> list[list[str]]:
    """personal/dienststellen.csv: the ministry and the Schulämter (schools: see schulen.csv)."""
    rows = [[MINISTRY_NUMBER, MINISTRY_NAME, "MIN", *MINISTRY_ADDRESS]]
    return rows + [[a.number, a.name, "SSA", a.street, a.plz, a.ort] for a in SCHULAEMTER]


def schultraeger_rows(traeger: list[Traeger], schulen: list[Schule]) -> list[list[str]]:
    """sip/schultraeger.csv: every Schulträger that runs at least one school."""
    running = {s.traeger.number for s in schulen}
    return [
        [t.number, t.place.traeger_name, t.place.kind, t.street, t.place.plz, t.place.ort]
        for t in traeger
        if t.number in running
    ]


def schulen_rows(schulen: list[Schule]) -> list[list[str]]:
    """sip/schulen.csv: schools with their Schulamt and Schulträger written out."""
    return [
        [
            s.number,
            s.name,
            s.schulart,
            s.schulamt.number,
            s.schulamt.name,
            s.traeger.number,
            s.traeger.place.traeger_name,
            s.street,
            s.plz,
            s.ort,
        ]
        for s in schulen
    ]


def klassen_rows(schulen: list[Schule]) -> list[list[str]]:
    """sip/klassen.csv: every class of every school."""
    return [[s.number, k.name, str(k.grade)] for s in schulen for k in s.klassen]


def _class_members(population: Population) -> Iterator[list[int]]:
    """Learner indexes class by class, in the order the seats were laid out."""
    members: list[int] = []
    current = None
    for index, seat in enumerate(population.seats):
        if seat != current and members:
            yield members
            members = []
        current = seat
        members.append(index)
    if members:
        yield members


def learner_rows(
    schulen: list[Schule], population: Population, rng: random.Random
) -> tuple[list[list[str]], list[list[str]]]:
    """sip/schueler.csv and the guardian links, sorted by school, class and name."""
    learners = population.learners
    schueler: list[list[str]] = []
    links: list[list[str]] = []
    numbers: dict[int, Iterator[int]] = {}
    # The Schüler-ID is the state-wide id of a learner (SIP-Schule is one system for the whole
    # state): it stays when the learner changes school, the Schülernummer does not.
    ids = iter(rng.sample(range(10_000_000, 100_000_000), len(learners)))
    for members in _class_members(population):
        si, ki = population.seats[members[0]]
        schule = schulen[si]
        klasse = schule.klassen[ki]
        if si not in numbers:
            # Schülernummern are unique within a school only and overlap between schools.
            size = schule.learners
            numbers[si] = iter(rng.sample(range(1, max(20_000, 4 * size)), size))
        grade = str(klasse.grade)
        general = schule.schulart != BS and klasse.grade <= 10
        members.sort(key=lambda i: (learners[i].nachname, learners[i].vorname))
        for i in members:
            learner = learners[i]
            number = f"{next(numbers[si]):06d}"
            if schule.schulart == FOES:
                foerder = rng.choices(FOERDERSCHWERPUNKTE, _AT_FOERDERSCHULE)[0]
            elif rng.random() < P_INCLUSIVE:
                foerder = rng.choices(FOERDERSCHWERPUNKTE, _INCLUSIVE)[0]
            else:
                foerder = ""
            lrs = "ja" if general and rng.random() < P_LRS else "nein"
            schueler.append(
                [
                    schule.number, number, str(next(ids)), learner.nachname, learner.vorname,
                    learner.geschlecht, german_date(learner.birth), klasse.name, grade,
                    schule.schulart, foerder, lrs, learner.nationality, learner.street,
                    learner.plz, learner.ort,
                ]
            )  # fmt: skip
            links += [[schule.number, number, g.number, art] for g, art in learner.links]
    return schueler, links


def guardian_rows(population: Population) -> list[list[str]]:
    """sip/erziehungsberechtigte.csv, one row per person, sorted by number."""
    rows = [
        [g.number, g.nachname, g.vorname, g.geschlecht, g.email, g.street, g.plz, g.ort]
        for g in population.guardians
    ]
    rows.sort(key=lambda row: row[0])
    return rows
