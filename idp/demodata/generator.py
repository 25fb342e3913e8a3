"""`generate`: build a synthetic state from one seed and write all its export files."""

from __future__ import annotations

import datetime as dt
import math
import random
from pathlib import Path

from idp import clock
from idp.demodata import formats, rows
from idp.demodata.families import populate
from idp.demodata.organisations import LAND_SCHOOLS, LAND_TRAEGER, build_schulen
from idp.demodata.schoolyear import stichtage
from idp.demodata.staff import build_staff
from idp.demodata.writer import write_csv

SCALES = ("small", "land")
SMALL_SCHOOLS = 3


def generate(
    out: Path,
    *,
    schools: int | None = None,
    scale: str | None = None,
    seed: int = 1,
    today: dt.date | None = None,
) -> dict[str, int]:
    """Write the SIP and personnel exports of a synthetic state below `out`.

    `scale="land"` is the whole of Mecklenburg-Vorpommern; otherwise a state of `schools`
    schools (default 3). `today` fixes the dates the data is built around (default: today).
    Returns the number of data rows per file, keyed by path relative to `out`.
    """
    if schools is not None and scale is not None:
        raise ValueError("give either schools or scale, not both")
    if scale is not None and scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}, expected one of {', '.join(SCALES)}")
    land = scale == "land"
    if land:
        schools = sum(LAND_SCHOOLS.values())
    elif schools is None:
        schools = SMALL_SCHOOLS
    if schools < 1:
        raise ValueError("a state needs at least one school")

    rng = random.Random(seed)
    tage = stichtage(today or clock.today())
    traeger_count = LAND_TRAEGER if land else math.ceil(schools * LAND_TRAEGER / 614)
    traeger, schulen = build_schulen(schools, traeger_count, rng, land=land)
    population = populate(schulen, tage, rng)
    schueler, links = rows.learner_rows(schulen, population, rng)
    personal = build_staff(schulen, tage, rng, land=land)

    out.mkdir(parents=True, exist_ok=True)
    written = {
        formats.SCHULAEMTER: rows.schulaemter_rows(),
        formats.SCHULTRAEGER: rows.schultraeger_rows(traeger, schulen),
        formats.SCHULEN: rows.schulen_rows(schulen),
        formats.KLASSEN: rows.klassen_rows(schulen),
        formats.SCHUELER: schueler,
        formats.ERZIEHUNGSBERECHTIGTE: rows.guardian_rows(population),
        formats.SCHUELER_ERZIEHUNGSBERECHTIGTE: links,
        formats.DIENSTSTELLEN: rows.dienststellen_rows(),
        formats.PERSONAL: personal,
    }
    return {fmt.path: write_csv(out, fmt, data) for fmt, data in written.items()}
