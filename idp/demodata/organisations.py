"""The organisations of a synthetic state: Schulträger, Schulen and their Klassen."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from idp.demodata.geography import PLACES, SCHULAMT_OF_KREIS, STREETS, Place, Schulamt

GS = "Grundschule"
RS = "Regionale Schule"
GY = "Gymnasium"
GES = "Gesamtschule"
FOES = "Förderschule"
BS = "Berufliche Schule"
SCHULARTEN = (GS, RS, GY, GES, FOES, BS)

LAND_SCHOOLS = {GS: 265, RS: 120, GY: 62, GES: 45, FOES: 80, BS: 42}
LAND_TRAEGER = 285
LAND_LEARNERS = 187_600

# A small state still gets one school of each kind first, in this order, so that it has
# siblings at a Grundschule and a Gymnasium and adult learners at a Berufliche Schule.
SMALL_ORDER = (GS, GY, BS, RS, GES, FOES)

MIN_CLASS, MAX_CLASS = 15, 28

# Which kind of Träger runs which Schulart, and how strongly (times population for towns).
_TRAEGER_WEIGHT = {
    GS: {"KS": 30.0, "ST": 1.0, "AMT": 2.0, "GEM": 1.5},
    RS: {"KS": 12.0, "ST": 1.0, "AMT": 1.0, "GEM": 0.5},
    GY: {"KS": 10.0, "LK": 6.0, "ST": 0.2},
    GES: {"KS": 6.0, "LK": 2.0, "ST": 0.15},
    FOES: {"KS": 8.0, "LK": 8.0, "ST": 0.1},
    BS: {"KS": 8.0, "LK": 4.0},
}
_POPULATION_SCALED = ("ST",)

HONOREES = (
    "Fritz Reuter", "John Brinckman", "Ernst Barlach", "Käthe Kollwitz", "Geschwister Scholl",
    "Albert Einstein", "Heinrich Heine", "Astrid Lindgren", "Janusz Korczak", "Erich Kästner",
    "Johann Wolfgang von Goethe", "Friedrich Schiller", "Gotthold Ephraim Lessing",
    "Alexander von Humboldt", "Lise Meitner", "Otto Lilienthal", "Caspar David Friedrich",
    "Ehm Welk", "Uwe Johnson", "Heinrich Schliemann", "Maria Skłodowska-Curie",
    "Pippi Langstrumpf", "Regenbogen", "Pusteblume", "Am Sonnenberg", "Am Wasserturm",
    "Am Lindenpark", "An der Warnow", "Am Mühlenteich", "Kleine Strolche", "Sonnenblume",
    "Bertolt Brecht", "Anne Frank", "Rudolf Tarnow", "Richard Wossidlo", "Felix Mendelssohn",
)  # fmt: skip

# Bildungsgänge of a Berufliche Schule, used as class name prefixes (KFZ11a, BFS-SA12b).
BILDUNGSGAENGE = (
    "KFZ", "ELT", "IT", "HOGA", "EH", "PFL", "BFS-SA", "FS-ERZ", "MT", "BAU", "LOG", "BK",
    "FOS", "HWK", "AGR", "TISCH",
)  # fmt: skip


@dataclass
class Traeger:
    """A Schulträger: the municipality, Amt or Landkreis that runs schools."""

    number: str
    place: Place
    street: str


@dataclass
class Klasse:
    """A class of a school; `size` is how many learners it will get."""

    name: str
    grade: int
    size: int


@dataclass
class Schule:
    """A school with its Schulamt, Träger, address and classes."""

    number: str
    name: str
    schulart: str
    traeger: Traeger
    schulamt: Schulamt
    street: str
    plz: str
    ort: str
    klassen: list[Klasse] = field(default_factory=list)

    @property
    def learners(self) -> int:
        """How many learners the school has."""
        return sum(klasse.size for klasse in self.klassen)


def choose_schularten(count: int, rng: random.Random, *, land: bool) -> list[str]:
    """The Schulart of each school: the land's real mix, or a small state with variety first."""
    if land:
        return [art for art, n in LAND_SCHOOLS.items() for _ in range(n)]
    arten = list(SMALL_ORDER[:count])
    rest = count - len(arten)
    if rest > 0:
        population = list(LAND_SCHOOLS)
        weights = list(LAND_SCHOOLS.values())
        arten += rng.choices(population, weights=weights, k=rest)
    return arten


def choose_places(count: int, rng: random.Random) -> list[Place]:
    """The places that act as Schulträger; a small state starts with a kreisfreie Stadt."""
    if count >= len(PLACES):
        return list(PLACES)
    firm = [p for p in PLACES if p.kind != "GEM"]
    if count >= len(firm):
        gemeinden = [p for p in PLACES if p.kind == "GEM"]
        chosen = set(rng.sample(range(len(gemeinden)), count - len(firm)))
        return firm + [g for i, g in enumerate(gemeinden) if i in chosen]
    first = rng.choice([p for p in PLACES if p.kind == "KS"])
    # A small state is one Schulamt's region, so that families have children at its schools.
    amt = SCHULAMT_OF_KREIS[first.kreis]
    near = [p for p in PLACES if p is not first and SCHULAMT_OF_KREIS[p.kreis] is amt]
    far = [p for p in PLACES if p is not first and SCHULAMT_OF_KREIS[p.kreis] is not amt]
    if count - 1 <= len(near):
        return [first, *rng.sample(near, count - 1)]
    return [first, *near, *rng.sample(far, count - 1 - len(near))]


def _weight(place: Place, art: str) -> float:
    base = _TRAEGER_WEIGHT[art].get(place.kind, 0.0)
    return base * place.population if place.kind in _POPULATION_SCALED else base


def assign_traeger(
    arten: list[str], places: list[Place], rng: random.Random
) -> list[tuple[str, int]]:
    """Pair every school's Schulart with a Träger (index into `places`); each Träger gets one.

    Restrictive Träger (Gemeinden run only Grundschulen and Regionale Schulen, Landkreise only
    the larger schools) choose first, so that the kreisfreie Städte, which run everything, take
    whatever is left over.
    """
    remaining = {art: arten.count(art) for art in SCHULARTEN}
    order = sorted(
        range(len(places)), key=lambda i: ("GEM", "AMT", "ST", "LK", "KS").index(places[i].kind)
    )
    pairs: list[tuple[str, int]] = []
    for i in order:
        fitting = [a for a in SCHULARTEN if remaining[a] and _weight(places[i], a) > 0]
        candidates = fitting or [a for a in SCHULARTEN if remaining[a]]
        if not candidates:
            break
        art = rng.choices(candidates, weights=[remaining[a] for a in candidates])[0]
        remaining[art] -= 1
        pairs.append((art, i))
    for art in SCHULARTEN:
        if not remaining[art]:
            continue
        weights = [_weight(p, art) for p in places]
        if not any(weights):
            weights = [1.0] * len(places)
        for i in rng.choices(range(len(places)), weights=weights, k=remaining[art]):
            pairs.append((art, i))
    return pairs


def _letters(count: int) -> str:
    return "abcdefghij"[:count]


def build_klassen(schulart: str, rng: random.Random) -> list[Klasse]:
    """The classes of one school, with sizes between 15 and 28."""

    def size() -> int:
        return rng.randint(MIN_CLASS, MAX_CLASS)

    klassen: list[Klasse] = []
    if schulart == BS:
        for prefix in rng.sample(BILDUNGSGAENGE, rng.randint(4, 12)):
            parallel = 2 if rng.random() < 0.2 else 1
            for grade in (11, 12, 13):
                klassen += [
                    Klasse(f"{prefix}{grade}{c}", grade, size()) for c in _letters(parallel)
                ]
        return klassen
    if schulart == FOES:
        grades = [g for g in range(1, 11) if rng.random() < 0.5] or [3, 6, 8]
        return [Klasse(f"{g}a", g, size()) for g in grades]
    if schulart == GS:
        grades, parallel = range(1, 5), rng.choices((1, 2, 3, 4), (25, 45, 25, 5))[0]
    elif schulart == RS:
        grades, parallel = range(5, 11), rng.choices((1, 2, 3, 4), (15, 45, 30, 10))[0]
    elif schulart == GY:
        start = 5 if rng.random() < 0.3 else 7
        grades, parallel = range(start, 13), rng.choices((3, 4, 5, 6), (30, 40, 25, 5))[0]
    else:
        grades, parallel = range(5, 13), rng.choices((3, 4, 5), (40, 45, 15))[0]
    for grade in grades:
        if grade >= 11:
            # Kursstufe: tutor groups rather than classes; fewer stay on at a Gesamtschule.
            groups = parallel if schulart == GY else max(1, math.ceil(parallel * 0.6))
            names = [str(grade)] if groups == 1 else [f"{grade}/{n}" for n in range(1, groups + 1)]
            klassen += [Klasse(name, grade, size()) for name in names]
        else:
            klassen += [Klasse(f"{grade}{c}", grade, size()) for c in _letters(parallel)]
    return klassen


def fit_total(schulen: list[Schule], total: int, rng: random.Random) -> None:
    """Nudge class sizes (staying within 15–28) until the state has exactly `total` learners."""
    klassen = [k for s in schulen for k in s.klassen]
    diff = total - sum(k.size for k in klassen)
    while diff:
        step = 1 if diff > 0 else -1
        room = [k for k in klassen if MIN_CLASS <= k.size + step <= MAX_CLASS]
        if not room:
            raise ValueError(f"cannot fit {total} learners into {len(klassen)} classes")
        for klasse in rng.sample(room, min(abs(diff), len(room))):
            klasse.size += step
        diff = total - sum(k.size for k in klassen)


def school_name(schulart: str, ort: str, rng: random.Random) -> str:
    """A plausible school name: some with a namesake in quotes, some with a dash or comma."""
    honoree = rng.choice(HONOREES)
    roll = rng.random()
    if schulart == GS:
        return f'Grundschule "{honoree}" {ort}' if roll < 0.6 else f"Grundschule {ort}"
    if schulart == RS:
        if roll < 0.15:
            return f"Regionale Schule mit Orientierungsstufe {ort}"
        return f'Regionale Schule "{honoree}" {ort}' if roll < 0.65 else f"Regionale Schule {ort}"
    if schulart == GY:
        return f"{honoree}-Gymnasium {ort}" if roll < 0.5 else f"Gymnasium {ort}"
    if schulart == GES:
        if roll < 0.2:
            return f"Europaschule {ort}, Integrierte Gesamtschule"
        kind = "Integrierte" if roll < 0.7 else "Kooperative"
        return f'{kind} Gesamtschule "{honoree}" {ort}'
    if schulart == FOES:
        if roll < 0.4:
            return f"Schule mit dem Förderschwerpunkt Lernen {ort}"
        return f'Förderzentrum "{honoree}" {ort}'
    field = rng.choice(("Technik", "Wirtschaft und Verwaltung", "Gesundheit und Soziales"))
    if roll < 0.5:
        return f"Regionales Berufliches Bildungszentrum {ort} – {field}"
    return f"Berufliche Schule {ort}"


def street(rng: random.Random) -> str:
    """A street and house number, now and then with a letter (12a)."""
    number = f"{rng.randint(1, 120)}{'abc'[rng.randrange(3)] if rng.random() < 0.08 else ''}"
    return f"{rng.choice(STREETS)} {number}"


def build_schulen(
    school_count: int, traeger_count: int, rng: random.Random, *, land: bool
) -> tuple[list[Traeger], list[Schule]]:
    """The Schulträger and schools of a state, schools with their classes."""
    places = choose_places(traeger_count, rng)
    numbers = rng.sample(range(1, 3000), len(places))
    traeger = [
        Traeger(f"{n:05d}", place, street(rng))
        for n, place in sorted(zip(numbers, places, strict=True), key=lambda pair: pair[0])
    ]
    towns_by_kreis: dict[str, list[Place]] = {}
    for place in PLACES:
        if place.kind == "ST":
            towns_by_kreis.setdefault(place.kreis, []).append(place)

    pairs = assign_traeger(
        choose_schularten(school_count, rng, land=land), [t.place for t in traeger], rng
    )
    pairs.sort(key=lambda pair: (pair[1], SCHULARTEN.index(pair[0])))
    school_numbers = sorted(rng.sample(range(700_000, 800_000), len(pairs)))
    schulen = []
    for number, (art, i) in zip(school_numbers, pairs, strict=True):
        owner = traeger[i]
        site = owner.place
        if site.kind == "LK":
            towns = towns_by_kreis[site.kreis]
            site = rng.choices(towns, weights=[t.population for t in towns])[0]
        schulen.append(
            Schule(
                number=str(number),
                name=school_name(art, site.ort, rng),
                schulart=art,
                traeger=owner,
                schulamt=SCHULAMT_OF_KREIS[owner.place.kreis],
                street=street(rng),
                plz=site.plz,
                ort=site.ort,
                klassen=build_klassen(art, rng),
            )
        )
    if land:
        fit_total(schulen, LAND_LEARNERS, rng)
    return traeger, schulen
