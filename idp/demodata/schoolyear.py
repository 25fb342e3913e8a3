"""The dates an export is built around, and dates written the way German software writes them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Stichtage:
    """Reference dates derived from the day of the export.

    `schuljahr` is 1 August of the running school year (ages and Jahrgangsstufen are computed
    against it); `halbjahr` is the last 1 February or 1 August (Referendare start on those days).
    Both stay the same for half a year, so the same seed gives the same files all that time.
    """

    schuljahr: dt.date
    halbjahr: dt.date


def stichtage(today: dt.date) -> Stichtage:
    """The reference dates for an export made on `today`."""
    year = today.year if today.month >= 8 else today.year - 1
    if today.month >= 8:
        halbjahr = dt.date(today.year, 8, 1)
    elif today.month >= 2:
        halbjahr = dt.date(today.year, 2, 1)
    else:
        halbjahr = dt.date(today.year - 1, 8, 1)
    return Stichtage(schuljahr=dt.date(year, 8, 1), halbjahr=halbjahr)


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` moved by whole months; only used with the first of a month, so no day overflow."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, day.day)


@cache
def german_date(ordinal: int) -> str:
    """A date (as proleptic ordinal) as TT.MM.JJJJ; cached because the same days recur a lot."""
    day = dt.date.fromordinal(ordinal)
    return f"{day.day:02d}.{day.month:02d}.{day.year:04d}"


def german(day: dt.date | None) -> str:
    """A date as TT.MM.JJJJ, or the empty string for no date."""
    return "" if day is None else german_date(day.toordinal())
