"""Strict reading of one TOML table: known keys only, the right types, errors as PolicyError."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from idp.policy.errors import PolicyError

T = TypeVar("T")

_TYPE_NAMES = {
    str: "a string",
    bool: "true or false",
    int: "an integer",
    list: "a list",
    dict: "a table",
}


class Table:
    """One table of a policy file, read key by key; `done()` rejects keys nobody asked for.

    `entry` is the table's dotted name in the file ("" for the file's top level).
    """

    def __init__(self, data: Any, file: str, entry: str) -> None:
        if not isinstance(data, dict):
            raise PolicyError(file, entry, "must be a table")
        self.data = data
        self.file = file
        self.entry = entry
        self._seen: set[str] = set()

    def path(self, key: str) -> str:
        """The dotted name of `key` in this table, as error messages show it."""
        return f"{self.entry}.{key}" if self.entry else key

    def error(self, rule: str, key: str | None = None) -> PolicyError:
        return PolicyError(self.file, self.path(key) if key else self.entry or "(file)", rule)

    def get(self, key: str, typ: type[T], default: T | None = None, *, required: bool = False) -> T:
        self._seen.add(key)
        if key not in self.data:
            if required:
                raise self.error("is required", key)
            return default  # type: ignore[return-value]
        value = self.data[key]
        if not isinstance(value, typ) or (isinstance(value, bool) and typ is not bool):
            raise self.error(f"must be {_TYPE_NAMES.get(typ, typ.__name__)}", key)
        return value

    def get_str_list(
        self,
        key: str,
        *,
        allowed: Iterable[str] | None = None,
        required: bool = False,
        default: list[str] | None = None,
    ) -> list[str]:
        values = self.get(key, list, default if default is not None else [], required=required)
        allowed_set = set(allowed) if allowed is not None else None
        for value in values:
            if not isinstance(value, str):
                raise self.error("must be a list of strings", key)
            if allowed_set is not None and value not in allowed_set:
                raise self.error(
                    f"unknown value {value!r} (allowed: {', '.join(sorted(allowed_set))})", key
                )
        return list(values)

    def get_choice(
        self,
        key: str,
        allowed: Iterable[str],
        default: str | None = None,
        *,
        required: bool = False,
    ) -> str:
        value = self.get(key, str, default, required=required)
        allowed_list = list(allowed)
        if value is not None and value not in allowed_list:
            raise self.error(f"unknown value {value!r} (allowed: {', '.join(allowed_list)})", key)
        return value

    def sub(self, key: str, *, required: bool = False) -> Table:
        self._seen.add(key)
        if key not in self.data:
            if required:
                raise self.error("is required", key)
            return Table({}, self.file, self.path(key))
        return Table(self.data[key], self.file, self.path(key))

    def done(self) -> None:
        unknown = sorted(set(self.data) - self._seen)
        if unknown:
            raise self.error("unknown key", unknown[0])
