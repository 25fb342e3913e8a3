"""Helpers for import tests: a demo export to start from, CSV editing, database snapshots."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, inspect, text

from idp.demodata.generator import generate

EXPORT_DAY = dt.date(2026, 11, 2)
# Tables whose rows are the domain data an import may change (not its own run log).
DOMAIN_TABLES = (
    "organisation", "person", "personenkontext", "beziehung", "source_record", "audit_event",
    "audit_head", "outbox_event", "match_candidate",
)  # fmt: skip


def demo_export(folder: Path, schools: int = 3, seed: int = 1) -> Path:
    """A small synthetic state's export (sip/ and personal/) in `folder`."""
    generate(folder, schools=schools, seed=seed, today=EXPORT_DAY)
    return folder


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=";")
        return list(reader.fieldnames or []), list(reader)


def write_rows(
    path: Path,
    header: list[str],
    rows: list[dict[str, str]],
    encoding: str = "utf-8",
    delimiter: str = ";",
) -> None:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, header, delimiter=delimiter, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)


def edit_rows(path: Path, change: Callable[[list[dict[str, str]]], list[dict[str, str]]]) -> None:
    """Rewrite a CSV file of the export with `change` applied to its rows."""
    header, rows = read_rows(path)
    write_rows(path, header, change(rows))


def snapshot(database_url: str) -> dict[str, list]:
    """Every row of the domain tables, sorted: equal snapshots = nothing changed."""
    engine = create_engine(database_url)
    try:
        names = set(inspect(engine).get_table_names())
        result = {}
        with engine.connect() as conn:
            for table in DOMAIN_TABLES:
                if table in names:
                    rows = conn.execute(text(f"SELECT * FROM {table}")).all()  # noqa: S608
                    result[table] = sorted(json.dumps([str(v) for v in r]) for r in rows)
        return result
    finally:
        engine.dispose()


def count(database_url: str, sql: str, **params) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar_one()
    finally:
        engine.dispose()


def idp_import(run_idp, database_url: str, *args: str, env: dict | None = None):
    """`idp import ARGS --json` as a user runs it; returns (exit code, parsed JSON, stderr)."""
    result = run_idp(
        "import", *args, "--json", env={"IDP_DATABASE_URL": database_url, **(env or {})}
    )
    try:
        data = json.loads(result.stdout)
    except json.JSONDecodeError:
        data = None
    return result.returncode, data, result.stderr


def plain_teacher(export: Path) -> dict[str, str]:
    """A teacher at one school only, not in the Schulleitung (moves and leaves simply)."""
    staff = read_rows(export / "personal" / "personal.csv")[1]
    numbers = [r["Personalnummer"] for r in staff]
    return next(
        r for r in staff
        if r["Funktion"] == "LK" and not r["Schulleitung"]
        and numbers.count(r["Personalnummer"]) == 1
    )  # fmt: skip


def drop_learners(export: Path, learners: list[dict[str, str]]) -> None:
    """Remove learners from the SIP export, with their guardian links."""
    ids = {r["Schüler-ID"] for r in learners}
    keys = {(r["Schulnummer"], r["Schülernummer"]) for r in learners}
    edit_rows(
        export / "sip" / "schueler.csv",
        lambda rows: [r for r in rows if r["Schüler-ID"] not in ids],
    )
    edit_rows(
        export / "sip" / "schueler_erziehungsberechtigte.csv",
        lambda rows: [r for r in rows if (r["Schulnummer"], r["Schülernummer"]) not in keys],
    )


def drop_staff(export: Path, personalnummer: str) -> None:
    edit_rows(
        export / "personal" / "personal.csv",
        lambda rows: [r for r in rows if r["Personalnummer"] != personalnummer],
    )
