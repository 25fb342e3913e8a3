"""Passwords too common to allow: a shipped list, checked without any network access."""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

from zxcvbn.frequency_lists import FREQUENCY_LISTS

_TRAILING = "0123456789!?.,;:-_#+*$%&/()= "
_WORD = re.compile(r"[^\W\d_]+")


@cache
def context_words() -> frozenset[str]:
    """Our German list: common German passwords and the words of this context (school, Land)."""
    own = files("idp.auth").joinpath("data/haeufige_passwoerter.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip().casefold()
        for line in own.splitlines()
        if line.strip() and not line.startswith("#")
    )


@cache
def common_passwords() -> frozenset[str]:
    """The zxcvbn project's 30,000 most common passwords plus our German list."""
    return context_words() | {w.casefold() for w in FREQUENCY_LISTS["passwords"]}


def is_common(password: str) -> bool:
    """True for a listed password, also with digits or punctuation appended ("Sommer2026!"),
    and for one made only of context words ("Schule-Rostock-2026")."""
    lowered = password.casefold()
    stem = lowered.rstrip(_TRAILING)
    listed = common_passwords()
    if lowered in listed or (len(stem) >= 4 and stem in listed):
        return True
    words = _WORD.findall(lowered)
    return bool(words) and all(word in context_words() for word in words)
