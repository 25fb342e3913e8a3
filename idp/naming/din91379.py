"""Which characters a name may hold under DIN 91379, and the standard's search form of a name."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

DATA_FILE = Path(__file__).with_name("din91379_latin.txt")

LETTERS = "bll"
NON_LETTERS = "bnlreq"


@dataclass(frozen=True)
class _Table:
    """The allowed characters and sequences (NFC), each mapped to its search form."""

    entries: dict[str, tuple[str, str]]
    longest: int


def _decode(code_points: str) -> str:
    return "".join(chr(int(cp, 16)) for cp in code_points.split())


@cache
def _table() -> _Table:
    entries: dict[str, tuple[str, str]] = {}
    for raw in DATA_FILE.read_text(encoding="utf-8").splitlines():
        if not raw or raw.startswith("#"):
            continue
        group, code_points, search = raw.split("\t")
        text = _decode(code_points)
        # Names are compared in NFC; an entry that is not NFC-stable could never match.
        if unicodedata.normalize("NFC", text) != text:
            raise ValueError(f"{DATA_FILE.name}: entry is not in NFC: {raw!r}")
        entries[text] = (group, _decode(search))
    return _Table(entries=entries, longest=max(len(key) for key in entries))


def _cluster_end(text: str, start: int) -> int:
    """End of the base character at `start` together with the combining marks that follow it."""
    end = start + 1
    while end < len(text) and unicodedata.combining(text[end]):
        end += 1
    return end


def _segments(text: str) -> list[tuple[str, str | None]]:
    """Split NFC `text` into listed entries (with their group) and unlisted clusters (None)."""
    table = _table()
    segments: list[tuple[str, str | None]] = []
    i = 0
    while i < len(text):
        cluster_end = _cluster_end(text, i)
        for length in range(min(table.longest, len(text) - i), 0, -1):
            piece = text[i : i + length]
            # A listed letter must swallow every mark after it: "ä" + U+0301 is not "ä".
            if piece in table.entries and i + length >= cluster_end:
                segments.append((piece, table.entries[piece][0]))
                i += length
                break
        else:
            segments.append((text[i:cluster_end], None))
            i = cluster_end
    return segments


def invalid_characters(text: str) -> list[str]:
    """Characters or sequences of `text` (after NFC) that are neither DIN 91379 letters nor N1."""
    return list(_invalid(text))


@lru_cache(maxsize=65536)
def _invalid(text: str) -> tuple[str, ...]:
    # An import checks half a million names, most of them repeats: cache the answer per name.
    normalized = unicodedata.normalize("NFC", text)
    return tuple(
        piece for piece, group in _segments(normalized) if group not in (LETTERS, NON_LETTERS)
    )


def is_valid_name(text: str) -> bool:
    """Whether `text` is a non-empty name made only of DIN 91379 letters and N1 non-letters."""
    return bool(text.strip()) and not invalid_characters(text)


def search_form(text: str) -> str:
    """The DIN 91379 search form of a valid name: each letter replaced by its base letters.

    The list defines a search form for letters only; runs of non-letters (space, hyphen,
    apostrophe, ...) become one space, so "Anna-Lena" and "Anna Lena" find each other.
    """
    normalized = unicodedata.normalize("NFC", text)
    words: list[str] = []
    current: list[str] = []
    for piece, group in _segments(normalized):
        if group is None:
            raise ValueError(f"not a DIN 91379 name: {text!r} contains {piece!r}")
        if group == LETTERS:
            current.append(_table().entries[piece][1])
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return " ".join(words)
