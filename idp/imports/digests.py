"""Hashes of an export's raw rows, to recognise a person whose rows are as at the last import.

The stored hash of a person (SourceRecord.row_hash) is taken over the raw values the column
mapping picked from the rows the person was read from, together with the policies of that
run (they say which roles are valid where). Rows that hash the same again would be validated
and turned into the same record as last time, so a reader may count such a person as present
without building the record; it still makes every check that depends on other rows
(duplicates, the school and class named, the links read).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from operator import eq, methodcaller

# Part of every hash: change it when a reader turns the same rows into different records.
VERSION = "raw-1"
_hexdigest = methodcaller("hexdigest")


class RowDigests:
    """Hashes rows and compares them with the hashes stored for their external ids."""

    def __init__(self, stored: Mapping[str, str], policies_hash: str) -> None:
        self._stored = stored
        # Control characters never reach a row (the CSV reader refuses them): they separate
        # fields unambiguously.
        self._prefix = f"{VERSION}\x1e{policies_hash}\x1e"

    def many(self, rows: Iterable[Iterable[str]]) -> list[str]:
        """The hash of each person's raw fields, in the order the reader gives them (the
        calls chained in C: no Python per row)."""
        joined = map(self._prefix.__add__, map("\x1f".join, rows))
        return list(map(_hexdigest, map(hashlib.sha256, map(str.encode, joined))))

    def unchanged(self, external_id: str, digest: str) -> bool:
        """Whether the last import stored exactly this hash for `external_id`."""
        return self._stored.get(external_id) == digest

    def unchanged_many(self, external_ids: Iterable[str], digests: Iterable[str]) -> list[bool]:
        """`unchanged` for each pair of external id and hash."""
        return list(map(eq, map(self._stored.get, external_ids), digests))
