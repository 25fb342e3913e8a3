"""Writes export files the way Windows school software does: `;`, CRLF, UTF-8 without BOM."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

from idp.demodata.formats import FileFormat


def write_csv(out: Path, fmt: FileFormat, rows: Iterable[Sequence[str]]) -> int:
    """Write `rows` under the header of `fmt` below `out`; returns the number of data rows."""
    path = out / fmt.path
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = rows if isinstance(rows, list) else list(rows)
    for row in rows[:1]:
        if len(row) != len(fmt.header):
            raise ValueError(f"{fmt.path}: {len(row)} fields for {len(fmt.header)} columns")
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
        writer.writerow(fmt.header)
        writer.writerows(rows)
    return len(rows)
