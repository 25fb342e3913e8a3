"""Benchmark: import the whole state (`idp demo-data --scale land`) as an operator would.

Measures, per database (SQLite file, and PostgreSQL started on 127.0.0.1 by the bench):
  1. first full import of both sources (SIP-Schule and personnel): seconds, persons/s, peak RSS
  2. the same files again: seconds, and how many rows were written (must be 0)
  3. a 1 % change (name changes, class changes, leavers, newcomers): seconds
Targets (issue "Imports"): first < 60 s, again < 10 s with 0 rows, 1 % < 10 s, RSS < 1.5 GB.

    .venv/bin/python bench/import_land.py [--db sqlite|postgresql|both] [--seed 1]

The generated export is kept in ~/.cache/schul-idp-bench (per seed and generator version).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, inspect, text  # noqa: E402

from tests.pg_server import PostgresServer  # noqa: E402

TARGETS = {"first": 60.0, "again": 10.0, "change": 10.0, "rss_mb": 1536.0}
EXPORT_DAY = "2026-11-02"
CACHE = Path.home() / ".cache" / "schul-idp-bench"


def idp(args: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Run `idp ARGS`; returns (seconds, peak RSS of that process in MB, its CPU seconds).

    The CPU seconds (user + system, of the idp process only, not of a database server) tell
    what a run costs on a machine shared with other work, where the seconds wait as well.
    """
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "idp", *args], env=env, stdout=subprocess.DEVNULL, stderr=err
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            err.seek(0)
            raise SystemExit(
                f"idp {' '.join(args)} failed ({process.returncode}):\n"
                f"{err.read().decode(errors='replace')[-3000:]}"
            )
    return seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def row_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()  # noqa: S608
                for t in inspect(engine).get_table_names()
                if t != "alembic_version"
            }
    finally:
        engine.dispose()


def change_one_percent(export: Path, seed: int) -> dict[str, int]:
    """Edit about 1 % of the learners: new names, new classes, leavers, newcomers."""
    rng = random.Random(seed)
    path = export / "sip" / "schueler.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=";")
        header, rows = reader.fieldnames, list(reader)
    classes: dict[str, list[str]] = {}
    for row in rows:
        classes.setdefault(row["Schulnummer"], []).append(row["Klassenname"])
    n = len(rows) // 400  # 4 kinds of change, 0.25 % each = 1 %
    picked = rng.sample(range(len(rows)), 3 * n)
    for i in picked[:n]:
        rows[i]["Nachname"] = rows[i]["Nachname"] + "-Neumann"
    for i in picked[n : 2 * n]:
        rows[i]["Klassenname"] = rng.choice(classes[rows[i]["Schulnummer"]])
    leaving = {rows[i]["Schüler-ID"] for i in picked[2 * n :]}
    kept = [r for r in rows if r["Schüler-ID"] not in leaving]
    newcomers = []
    for k in range(n):
        template = dict(rng.choice(kept))
        template.update(
            {
                "Schüler-ID": str(90_000_000 + k),
                "Schülernummer": f"{900000 + k}",
                "Vorname": "Neu",
                "Nachname": "Ankömmling-" + _letters(k),
            }
        )
        newcomers.append(template)
    _write(path, header, kept + newcomers)
    gone = {(r["Schulnummer"], r["Schülernummer"]) for r in rows if r["Schüler-ID"] in leaving}
    links = export / "sip" / "schueler_erziehungsberechtigte.csv"
    with links.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=";")
        link_header, link_rows = reader.fieldnames, list(reader)
    _write(
        links,
        link_header,
        [r for r in link_rows if (r["Schulnummer"], r["Schülernummer"]) not in gone],
    )
    return {"renamed": n, "moved_class": n, "left": len(leaving), "new": n}


def _write(path: Path, header: list[str], rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, header, delimiter=";", lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)


def _letters(number: int) -> str:
    """A number spelt in letters (names may hold no digits): 0 -> "a", 27 -> "bb"."""
    text = ""
    while True:
        number, digit = divmod(number, 26)
        text = "abcdefghijklmnopqrstuvwxyz"[digit] + text
        if number == 0:
            return text.capitalize()


def bench(db: str, export: Path, work: Path, seed: int) -> dict:
    server = None
    if db == "sqlite":
        url = f"sqlite:///{work / 'land.sqlite3'}"
    else:
        server = PostgresServer().start()
        subprocess.run(
            [
                str(server.bin / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(server.port),
                "-U",
                "postgres",
                "land",
            ],
            check=True,
        )
        url = server.url("land")
    env = {**os.environ, "IDP_DATABASE_URL": url, "IDP_SECRET_KEY": "bench"}
    try:
        idp(["db", "upgrade"], env)
        first_sip = idp(["import", "run", "--source", "sip", str(export / "sip")], env)
        first_personal = idp(
            ["import", "run", "--source", "personal", str(export / "personal")], env
        )
        counts = row_counts(url)
        before = {k: v for k, v in counts.items() if k != "import_run"}
        again_sip = idp(["import", "run", "--source", "sip", str(export / "sip")], env)
        again_personal = idp(
            ["import", "run", "--source", "personal", str(export / "personal")], env
        )
        # The nightly steady state: unchanged files, nothing else changed in between.
        steady = [
            idp(["import", "run", "--source", s, str(export / s)], env)[0]
            for s in ("sip", "personal")
        ]
        after = {k: v for k, v in row_counts(url).items() if k != "import_run"}
        changed_export = work / "changed"
        shutil.copytree(export, changed_export)
        edits = change_one_percent(changed_export, seed)
        change = idp(
            ["import", "run", "--source", "sip", str(changed_export / "sip"), "--allow-mass-end"],
            env,
        )
        return {
            "db": db,
            "persons": counts["person"],
            "first": first_sip[0] + first_personal[0],
            "first_rss": max(first_sip[1], first_personal[1]),
            "first_cpu": first_sip[2] + first_personal[2],
            "again": again_sip[0] + again_personal[0],
            "again_cpu": again_sip[2] + again_personal[2],
            "steady": sum(steady),
            "again_rows_written": sum(abs(after[k] - before[k]) for k in before),
            "change": change[0],
            "change_rss": change[1],
            "change_cpu": change[2],
            "edits": edits,
            "rows": counts,
        }
    finally:
        if server:
            server.stop()


def report(result: dict) -> None:
    persons = result["persons"]
    print(
        f"\n== {result['db']}: {persons:,} persons, {result['rows']['personenkontext']:,} "
        f"contexts, {result['rows']['beziehung']:,} guardian links; load average now "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores =="
    )
    lines = [
        (
            "first full import (sip + personal)",
            result["first"],
            TARGETS["first"],
            f"{persons / result['first']:,.0f} persons/s, cpu {result['first_cpu']:.1f} s",
        ),
        (
            "same files again (first repeat)",
            result["again"],
            TARGETS["again"],
            f"rows written: {result['again_rows_written']} (files read and compared), "
            f"cpu {result['again_cpu']:.1f} s",
        ),
        (
            "same files again (nightly, unchanged)",
            result["steady"],
            TARGETS["again"],
            "files recognised by their hashes",
        ),
        (
            "1 % change",
            result["change"],
            TARGETS["change"],
            f"{result['edits']}, cpu {result['change_cpu']:.1f} s",
        ),
    ]
    for label, seconds, target, extra in lines:
        print(
            f"{label:38s} {seconds:7.1f} s   target {target:5.0f} s   "
            f"ratio {seconds / target:4.2f}   {extra}"
        )
    rss = max(result["first_rss"], result["change_rss"])
    print(
        f"{'peak memory':38s} {rss:7.0f} MB  target {TARGETS['rss_mb']:5.0f} MB  "
        f"ratio {rss / TARGETS['rss_mb']:4.2f}"
    )


def generated_export(seed: int, work: Path) -> Path:
    """The land's export for `seed`: generated once per seed and generator version, then
    reused from ~/.cache/schul-idp-bench (generating takes longer than a repeat import)."""
    sources = sorted((REPO / "idp" / "demodata").glob("*.py"))
    version = hashlib.sha256(b"".join(f.read_bytes() for f in sources)).hexdigest()[:16]
    cached = CACHE / f"land-{seed}-{EXPORT_DAY}-{version}"
    if not (cached / "complete").is_file():
        started = time.perf_counter()
        shutil.rmtree(cached, ignore_errors=True)
        partial = work / "export"
        idp(
            [
                "demo-data",
                "--scale",
                "land",
                "--seed",
                str(seed),
                "--out",
                str(partial),
                "--today",
                EXPORT_DAY,
            ],
            dict(os.environ),
        )
        cached.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(partial, cached)
        (cached / "complete").touch()
        print(f"demo-data --scale land: {time.perf_counter() - started:.1f} s (cached in {cached})")
    else:
        print(f"demo-data --scale land: reused {cached}")
    return cached


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="idp-bench-import-"))
    try:
        export = work / "land"
        shutil.copytree(generated_export(args.seed, work), export)
        print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, {dt.date.today()}")
        for db in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
            db_work = work / db
            db_work.mkdir()
            report(bench(db, export, db_work, args.seed))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
