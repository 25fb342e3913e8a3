"""Column mappings: our field names -> the export's column headers, per file.

The defaults are the documented formats (docs/import-formats.md); `[import.<source>.columns]`
in the config overrides single columns per file, so another state's export fits without code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from idp.imports.csvfile import CsvTable, read_csv
from idp.imports.problems import ImportRejected, Problem


@dataclass(frozen=True)
class FileSpec:
    """One file of an export: its name, our fields with their default columns, the required ones."""

    name: str
    columns: Mapping[str, str]
    required: frozenset[str]


def resolve(specs: list[FileSpec], overrides: Mapping, source: str) -> dict[str, dict[str, str]]:
    """Each file's mapping, with the config's overrides checked and applied."""
    known = {spec.name.removesuffix(".csv"): spec for spec in specs}
    problems = []
    result = {spec.name: dict(spec.columns) for spec in specs}
    for stem, table in overrides.items():
        spec = known.get(stem)
        if spec is None or not isinstance(table, Mapping):
            problems.append(
                Problem(
                    "config",
                    None,
                    f"import.{source}.columns.{stem}",
                    f"unknown file (known: {', '.join(sorted(known))})",
                )
            )
            continue
        for field, column in table.items():
            if field not in spec.columns or not isinstance(column, str):
                problems.append(
                    Problem(
                        "config",
                        None,
                        f"import.{source}.columns.{stem}.{field}",
                        f"unknown field (known: {', '.join(spec.columns)})",
                    )
                )
            else:
                result[spec.name][field] = column
    if problems:
        raise ImportRejected(problems)
    return result


def read_files(
    folder: Path,
    specs: list[FileSpec],
    mapping: dict[str, dict[str, str]],
) -> dict[str, CsvTable]:
    """Read every file of the export; any problem of a file as a whole rejects the import."""
    if not folder.is_dir():
        raise ImportRejected([Problem(str(folder), None, None, "not a folder")])
    tables: dict[str, CsvTable] = {}
    problems: list[Problem] = []
    for spec in specs:
        path = folder / spec.name
        if not path.is_file():
            problems.append(Problem(str(path), None, None, "file missing from the export"))
            continue
        table = read_csv(path, mapping[spec.name], spec.required, label=str(path))
        problems += table.problems
        tables[spec.name] = table
    if problems:
        raise ImportRejected(problems)
    return tables


def file_info(tables: dict[str, CsvTable]) -> dict[str, dict]:
    return {
        name: {
            "sha256": t.sha256,
            "encoding": t.encoding,
            "delimiter": t.delimiter,
            "rows": len(t.lines),
        }
        for name, t in tables.items()
    }
