"""Checks of single fields, shared by every reader, each returning a Problem or the value."""

from __future__ import annotations

import datetime as dt
import re

from idp.imports.problems import Problem
from idp.imports.records import Origin
from idp.naming import invalid_characters

_GERMAN_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
MAX_NAME = 255


class RowChecker:
    """Collects the problems of one row; `ok` tells whether the row can be used."""

    def __init__(self, file: str, line: int, problems: list[Problem]) -> None:
        self.file, self.line, self.problems = file, line, problems
        self.ok = True

    @property
    def origin(self) -> Origin:
        return Origin(self.file, self.line)

    def fail(self, field: str | None, message: str) -> None:
        self.ok = False
        self.problems.append(Problem(self.file, self.line, field, message))

    def required(self, value: str, field: str) -> str:
        if not value:
            self.fail(field, "must not be empty")
        return value

    def name(self, value: str, field: str) -> str:
        """A person's name: present, not too long, only DIN 91379 Latin letters."""
        if not value:
            self.fail(field, "must not be empty")
        elif len(value) > MAX_NAME:
            self.fail(field, f"longer than {MAX_NAME} characters")
        else:
            bad = invalid_characters(value)
            if bad:
                shown = ", ".join(f"{c!r} (U+{ord(c[0]):04X})" for c in bad[:3])
                self.fail(field, f"characters outside DIN 91379 Latin letters: {shown}")
        return value

    def date(self, value: str, field: str, *, required: bool = False) -> dt.date | None:
        """TT.MM.JJJJ as German software writes it, or ISO YYYY-MM-DD."""
        if not value:
            if required:
                self.fail(field, "must not be empty")
            return None
        match = _GERMAN_DATE.fullmatch(value)
        parts = (match.group(3), match.group(2), match.group(1)) if match else None
        if parts is None and (iso := _ISO_DATE.fullmatch(value)):
            parts = iso.groups()
        if parts is None:
            self.fail(field, f"{value!r} is not a date (TT.MM.JJJJ)")
            return None
        try:
            return dt.date(int(parts[0]), int(parts[1]), int(parts[2]))
        except ValueError:
            self.fail(field, f"{value!r} is not a valid date")
            return None
