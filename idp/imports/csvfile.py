"""Read one CSV export file as German school software writes it, or say exactly what is wrong.

Encoding is detected, not guessed: a UTF-8 byte-order mark means UTF-8; otherwise text that is
valid UTF-8 is UTF-8 (Windows-1252 text with umlauts practically never is), and anything else
must decode as Windows-1252. The delimiter (`;` or `,`) is taken from the header line.
Only the columns the mapping names are kept; the rest of each row is dropped as it is read.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from operator import itemgetter, methodcaller
from pathlib import Path

from idp.imports.problems import Problem

# Longest field we accept: names, numbers and dates are short; a huge field is a broken file.
MAX_FIELD = 4096
DELIMITERS = ";,"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Rows parsed and picked per step of the quote-free path (memory stays flat).
CHUNK = 20_000


@dataclass
class CsvTable:
    """The rows of one file, mapped columns only: per row its line number and its values
    (stripped) in the order of `fields`."""

    path: Path
    encoding: str
    delimiter: str
    sha256: str
    fields: tuple[str, ...] = ()
    lines: list[int] = field(default_factory=list)
    values: list[tuple[str, ...]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """(line number, {our field: value}) per row, for readers that go row by row."""
        fields = self.fields
        for line, values in zip(self.lines, self.values, strict=True):
            yield line, dict(zip(fields, values, strict=True))

    def column(self, name: str) -> list[str] | None:
        """One field's values, row by row (None if the file lacks its optional column)."""
        if name not in self.fields:
            return None
        return list(map(itemgetter(self.fields.index(name)), self.values))


def read_csv(
    path: Path, columns: Mapping[str, str], required: Iterable[str], *, label: str | None = None
) -> CsvTable:
    """Read `path`, keeping `columns` (our field -> column header); collect every problem.

    Problems of the file as a whole (encoding, header, truncation) end the reading; problems of
    single rows are collected and the row is skipped, so one run reports them all.
    """
    label = label or path.name
    raw = path.read_bytes()
    table = CsvTable(path, "", "", hashlib.sha256(raw).hexdigest())
    text = _decode(raw, label, table)
    if text is None:
        return table
    header_line = text.split("\n", 1)[0].rstrip("\r")
    if not header_line.strip():
        table.problems.append(Problem(label, None, None, "empty file: no header line"))
        return table
    table.delimiter = _delimiter(header_line)
    header = next(csv.reader([header_line], delimiter=table.delimiter))
    header = [h.strip() for h in header]
    positions = _positions(header, columns, set(required), label, table)
    if positions is None:
        return table
    _read_rows(text, header, positions, label, table)
    if not table.lines and not table.problems:
        table.problems.append(
            Problem(
                label,
                None,
                None,
                "no data rows: an empty export is never read as 'everyone left'",
            )
        )
    return table


def _decode(raw: bytes, label: str, table: CsvTable) -> str | None:
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        table.problems.append(Problem(label, line, None, "binary data (NUL byte): not a CSV file"))
        return None
    encodings = ["utf-8-sig"] if raw.startswith(b"\xef\xbb\xbf") else ["utf-8", "cp1252"]
    for encoding in encodings:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            bad_line = raw[: exc.start].count(b"\n") + 1
            last_error = (bad_line, exc.start)
            continue
        table.encoding = "utf-8" if encoding == "utf-8-sig" else encoding
        control = _CONTROL.search(text)
        if control:
            line = text.count("\n", 0, control.start()) + 1
            table.problems.append(
                Problem(label, line, None, "control characters: not a text export")
            )
            return None
        return text
    names = " or ".join("UTF-8" if e.startswith("utf") else "Windows-1252" for e in encodings)
    table.problems.append(
        Problem(
            label, last_error[0], None, f"not readable as {names} (byte offset {last_error[1]})"
        )
    )
    return None


def _delimiter(header_line: str) -> str:
    try:
        return csv.Sniffer().sniff(header_line, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ";"


def _positions(
    header: list[str],
    columns: Mapping[str, str],
    required: set[str],
    label: str,
    table: CsvTable,
) -> dict[str, int] | None:
    index = {name: i for i, name in enumerate(header)}
    positions: dict[str, int] = {}
    missing = []
    for our_field, column in columns.items():
        if column in index:
            positions[our_field] = index[column]
        elif our_field in required:
            missing.append(column)
    for column in missing:
        table.problems.append(Problem(label, 1, column, "required column missing in header"))
    return None if missing else positions


def _read_rows(
    text: str, header: list[str], positions: dict[str, int], label: str, table: CsvTable
) -> None:
    table.fields = tuple(positions)
    # The kept values of a row in one C call (a tuple, even for a single column).
    pick = itemgetter(*positions.values()) if len(positions) > 1 else _single(*positions.values())
    previous_limit = csv.field_size_limit(MAX_FIELD)
    try:
        quoted = '"' in text or len(header) == 1
        if quoted or not _read_unquoted(text, len(header), max(positions.values()), pick, table):
            _read_row_by_row(text, len(header), pick, label, table)
    finally:
        csv.field_size_limit(previous_limit)


def _read_unquoted(
    text: str,
    width: int,
    last: int,
    pick: Callable[[list[str]], tuple[str, ...]],
    table: CsvTable,
) -> bool:
    """The rows of a file without a quote, split by C calls a chunk at a time; False (nothing
    kept) if a row needs `_read_row_by_row` to say what is wrong with it.

    Without quotes a record is one line and a field what lies between two delimiters, as the
    csv module reads it, provided lines end only where it ends them (CR, LF: str.splitlines
    also ends them at NEL and the Unicode separators) and no field is over the limit.
    """
    if "\x85" in text or "\u2028" in text or "\u2029" in text:
        return False
    lines = text.splitlines()
    del lines[0]  # the header
    if max(map(len, lines), default=0) > MAX_FIELD:
        return False
    delimiter = table.delimiter
    if list(map(methodcaller("count", delimiter), lines)).count(width - 1) != len(lines):
        return False  # a blank, truncated or broken line
    # Split no further than the last column kept: fewer strings made and dropped.
    split = methodcaller("split", delimiter, last + 1)
    count = len(table.fields)
    values: list[tuple[str, ...]] = []
    for start in range(0, len(lines), CHUNK):
        picked = list(map(pick, map(split, lines[start : start + CHUNK])))
        values += zip(
            *(map(str.strip, map(itemgetter(i), picked)) for i in range(count)), strict=True
        )
    table.lines = list(range(2, len(values) + 2))
    table.values = values
    return True


def _read_row_by_row(
    text: str,
    width: int,
    pick: Callable[[list[str]], tuple[str, ...]],
    label: str,
    table: CsvTable,
) -> None:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=table.delimiter, strict=True)
    next(reader)
    end = reader.line_num  # the last line of the last record read
    lines, values = table.lines, table.values
    try:
        for row in reader:
            start, end = end + 1, reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) != width:
                table.problems.append(
                    Problem(
                        label,
                        start,
                        None,
                        f"expected {width} fields, found {len(row)} (truncated or broken line)",
                    )
                )
                continue
            lines.append(start)
            values.append(tuple(map(str.strip, pick(row))))
    except csv.Error as exc:
        # After a broken record the rest of the file cannot be trusted.
        table.problems.append(Problem(label, end + 1, None, _csv_message(exc)))


def _single(position: int) -> Callable[[list[str]], tuple[str]]:
    return lambda row: (row[position],)


def _csv_message(exc: csv.Error) -> str:
    text = str(exc)
    if "field larger" in text:
        return f"field longer than {MAX_FIELD} characters"
    if "unexpected end of data" in text or "EOF" in text:
        return "file ends inside a quoted field (truncated)"
    return f"not valid CSV: {text}"
