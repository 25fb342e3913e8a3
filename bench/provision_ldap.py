"""Benchmark: the whole state into a fresh mail directory (slapd), and how soon a change arrives.

Size: the land-scale state (`idp demo-data --scale land`, ~450,000 persons, of whom the
email service's policy entitles the teachers and staff) as imported by `idp import run`; the
SQLite database is the one bench/console_search.py builds and caches, copied per run. With
`--persons N` only the persons of the first schools (by number) until N are provisioned.

Measured, each against its own throwaway slapd (tests/slapd_server.py, mdb, memberof and
refint as in the tests):
  1. `idp worker --once` as a subprocess until the outbox is empty: the import's own pending
     events (one per person and organisation; or one per person written here when the copy
     has none pending). Entries written per second (persons under ou=personen plus groups
     under ou=gruppen, counted in slapd afterwards) and events per second.
  2. `idp sync email --full` into another fresh slapd: the reconciliation path writes
     everything too.
  3. Baseline: exactly the entries of 1., exported with `ldapsearch -LLL` as one LDIF and
     loaded with `ldapadd` into a fresh slapd. Ratio ours/ldapadd in entries per second
     (target issue "Provisioning": >= 0.8), for 1. and for 2.
  1.-3. run --rounds times (each on a fresh copy of the database and fresh slapds; one run
     of each varies by 10-20 % on this kind of machine); the ratios are of the medians.
  4. Delay: one long-running `idp worker` (poll_seconds from --poll-seconds) against the
     directory of 1.; --changes persons get a new family name, one after another with a random
     pause between them. Each change is written as the import's applier writes it: the
     person's UPDATE and an outbox event in one transaction (directly in SQL here, as running
     `idp import run` per change would measure the import instead). The delay is from that
     commit until slapd returns the new sn (polled every 10 ms); p50, p95 and max
     (target: p95 under 5 s).
With --profile SECONDS, py-spy samples the worker of 1. for that long (after a warm-up, idle
time in socket waits included) and prints where it spends its time. With --index every slapd
gets equality indexes on employeeNumber and member, which the connector searches by and the
tests' slapd does not index.

    .venv/bin/python bench/provision_ldap.py [--persons N] [--seed 1] [--changes 50]
        [--poll-seconds 1.0] [--no-sync] [--index] [--profile 60] [--keep DIR] [--rounds 3]
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import ldap3  # noqa: E402
from console_search import CACHE, SECRET_KEY, built_sqlite, percentile  # noqa: E402
from sqlalchemy import create_engine, func, insert, select, update  # noqa: E402

from idp.clock import now  # noqa: E402
from idp.database import head_revision, install_sqlite_pragmas  # noqa: E402
from idp.models import (  # noqa: E402
    Organisation,
    OrganisationTyp,
    OutboxEvent,
    Person,
    Personenkontext,
    ProvisionedAccount,
)
from tests.slapd_server import SlapdServer  # noqa: E402

TARGET_RATIO = 0.8
TARGET_P95_S = 5.0
SERVICE = "email"
BASE_DN = f"ou=mail,{SlapdServer.suffix}"
# What the connector searches by: its key, and a person's groups.
SEARCHED_BY = ("employeeNumber eq", "member eq")
PY_SPY = REPO / ".venv" / "bin" / "py-spy"
PROFILE_AFTER = 10.0  # seconds: past start-up and the organisations' events


# ---------------------------------------------------------------- the database


def prepare(database: Path, persons: int | None) -> tuple[int, int]:
    """Pending events for the worker: the import's own, or one per person (of the subset).

    Returns (persons to provision, pending events)."""
    engine = create_engine(f"sqlite:///{database}")
    outbox = OutboxEvent.__table__
    with engine.connect() as conn:
        # The cached copy was folded into one file (journal mode DELETE); the app runs SQLite
        # in WAL mode, which stays set in the file, so the database an import leaves behind is
        # in WAL mode. Switching costs a sync of the whole file (~0.3 s): not the worker's.
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    with engine.begin() as conn:
        pending = conn.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.status == "pending")
        )
        if persons is None and pending:
            total = conn.scalar(select(func.count()).select_from(Person.__table__))
        else:
            chosen = subset(conn, persons)
            conn.execute(update(outbox).where(outbox.c.status == "pending").values(status="done"))
            stamp = now()
            conn.execute(
                insert(outbox),
                [
                    {
                        "created_at": stamp,
                        "service": None,
                        "object_type": "person",
                        "object_id": person_id,
                        "operation": "upsert",
                        "not_before": stamp,
                        "attempts": 0,
                        "status": "pending",
                    }
                    for person_id in chosen
                ],
            )
            total = len(chosen)
        pending = conn.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.status == "pending")
        )
    engine.dispose()
    return total, pending


def subset(conn, persons: int | None) -> list[uuid.UUID]:
    """Everyone, or the persons of the first schools (by number, with their classes) until
    at least `persons`."""
    if persons is None:
        return list(conn.scalars(select(Person.id).order_by(Person.id)))
    parent = Organisation.__table__.alias("parent")
    school_of = func.coalesce(
        select(parent.c.kennung)
        .where(parent.c.id == Organisation.parent_id, parent.c.typ == OrganisationTyp.SCHULE)
        .scalar_subquery(),
        Organisation.kennung,
    )
    rows = conn.execute(
        select(school_of, Personenkontext.person_id)
        .join(Organisation, Organisation.id == Personenkontext.organisation_id)
        .where(Organisation.typ.in_([OrganisationTyp.SCHULE, OrganisationTyp.KLASSE]))
    )
    by_school: dict[str, set[uuid.UUID]] = collections.defaultdict(set)
    for kennung, person_id in rows:
        by_school[kennung].add(person_id)
    chosen: set[uuid.UUID] = set()
    for kennung in sorted(by_school):
        if len(chosen) >= persons:
            break
        chosen |= by_school[kennung]
    return sorted(chosen)


# ---------------------------------------------------------------- slapd and idp


def fresh_slapd(indexed: bool) -> SlapdServer:
    """A throwaway slapd with the branch the connector writes under; `indexed`: with equality
    indexes on the attributes the connector searches by (the test server has neither)."""
    server = SlapdServer().start()
    with server.connect() as connection:
        connection.add(BASE_DN, ["organizationalUnit"], {"ou": "mail"})
        if indexed:  # the admin is also the rootdn of cn=config
            connection.modify(
                "olcDatabase={1}mdb,cn=config",
                {"olcDbIndex": [(ldap3.MODIFY_ADD, list(SEARCHED_BY))]},
            )
    return server


def environment(work: Path, database: Path, server: SlapdServer, poll: float) -> dict[str, str]:
    config = work / f"idp-{server.port}.toml"
    config.write_text(
        "[connectors.ldap_mail]\n"
        f'url = "{server.url}"\n'
        f'bind_dn = "{server.admin_dn}"\n'
        f'base_dn = "{BASE_DN}"\n'
        "[provisioning]\n"
        f"poll_seconds = {poll}\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env.update(
        {
            "IDP_DATABASE_URL": f"sqlite:///{database}",
            "IDP_SECRET_KEY": SECRET_KEY,
            "IDP_CONFIG": str(config),
            "IDP_CONNECTOR_LDAP_MAIL_PASSWORD": server.admin_password,
        }
    )
    return env


def idp_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "idp", *args]


def run_timed(args: list[str], env: dict[str, str], profile: float, work: Path) -> tuple:
    """Run `idp ARGS`; (seconds, its JSON output, the py-spy stacks file or None)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        idp_command(*args), env=env, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    stacks = work / "worker.stacks" if profile else None
    spies: list[subprocess.Popen] = []

    def spy() -> None:
        if process.poll() is None:
            spies.append(
                subprocess.Popen(
                    [
                        *(PY_SPY, "record", "--pid", str(process.pid)),
                        *(
                            "--duration",
                            str(int(profile)),
                            "--rate",
                            "50",
                            "--idle",
                            "--nonblocking",
                        ),
                        *("--format", "raw", "--output", str(stacks)),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
            )

    timer = threading.Timer(PROFILE_AFTER, spy)
    if profile:
        timer.start()
    out, err = process.communicate()
    seconds = time.perf_counter() - started
    timer.cancel()
    for found in spies:
        _, spy_err = found.communicate()
        if found.returncode != 0 or not stacks or not stacks.exists():
            print(f"py-spy failed: {spy_err.decode(errors='replace')[-500:]}")
            stacks = None
    if not spies:
        stacks = None
    if process.returncode != 0:
        raise SystemExit(f"idp {' '.join(args)} failed:\n{err.decode(errors='replace')[-3000:]}")
    return seconds, json.loads(out), stacks


def again(work: Path, cache: Path, args, ldif: Path, times: dict[str, list[float]]) -> None:
    """One more round of 1.-3. on a fresh copy of the database and fresh slapds."""
    database = work / "again.sqlite3"
    shutil.copyfile(built_sqlite(cache, args.seed), database)
    prepare(database, args.persons)
    runs = [("worker", ["worker", "--once", "--json"])]
    if not args.no_sync:
        runs.append(("sync", ["sync", SERVICE, "--full", "--json"]))
    for name, command in runs:
        server = fresh_slapd(args.index)
        try:
            env = environment(work, database, server, args.poll_seconds)
            times[name].append(run_timed(command, env, 0, work)[0])
        finally:
            server.stop()
    times["ldapadd"].append(time_ldapadd(ldif, args.index))
    database.unlink()


def count_entries(server: SlapdServer) -> tuple[int, int]:
    """(persons under ou=personen, groups under ou=gruppen)."""
    counts = []
    with server.connect() as connection:
        for ou, object_class in (("personen", "inetOrgPerson"), ("gruppen", "groupOfNames")):
            found = connection.extend.standard.paged_search(
                f"ou={ou},{BASE_DN}", f"(objectClass={object_class})", attributes=["1.1"],
                paged_size=1000, generator=True,
            )  # fmt: skip
            counts.append(sum(1 for entry in found if entry.get("type") == "searchResEntry"))
    return counts[0], counts[1]


def export_ldif(server: SlapdServer, path: Path) -> int:
    """ou=personen, then ou=gruppen (members after the persons they name) as one LDIF."""
    with path.open("wb") as out:
        for ou in ("personen", "gruppen"):
            subprocess.run(
                [
                    *("ldapsearch", "-LLL", "-x", "-o", "ldif-wrap=no", "-H", server.url),
                    *("-D", server.admin_dn, "-w", server.admin_password),
                    *("-b", f"ou={ou},{BASE_DN}", "(objectClass=*)"),
                ],
                stdout=out,
                check=True,
            )
    return sum(1 for line in path.open("rb") if line.startswith(b"dn: "))


def time_ldapadd(path: Path, indexed: bool) -> float:
    server = fresh_slapd(indexed)
    try:
        started = time.perf_counter()
        subprocess.run(
            [
                *("ldapadd", "-x", "-H", server.url, "-D", server.admin_dn),
                *("-w", server.admin_password, "-f", str(path)),
            ],
            stdout=subprocess.DEVNULL,
            check=True,
        )
        return time.perf_counter() - started
    finally:
        server.stop()


# ---------------------------------------------------------------- delay


def measure_delay(
    database: Path, server: SlapdServer, env: dict, changes: int, poll: float, seed: int
) -> list[float]:
    """Seconds from a committed change to the changed entry in slapd, per change."""
    install_sqlite_pragmas()  # WAL and a busy timeout, as the worker has them
    engine = create_engine(f"sqlite:///{database}")
    accounts = ProvisionedAccount.__table__
    with engine.connect() as conn:
        people = conn.execute(
            select(Person.id, Person.username, Person.familienname)
            .join(accounts, accounts.c.person_id == Person.id)
            .where(accounts.c.service_code == SERVICE, accounts.c.status == "ok")
            .order_by(Person.id)
        ).all()
    rng = random.Random(seed)
    picked = rng.sample(people, min(changes, len(people)))
    worker = subprocess.Popen(
        idp_command("worker"), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    delays = []
    try:
        time.sleep(3)  # the worker has started and found the outbox empty
        with server.connect() as ldap:
            for n, (person_id, username, familienname) in enumerate(picked):
                new_name = f"{familienname}-{n}"
                with engine.begin() as conn:
                    stamp = now()
                    conn.execute(
                        update(Person)
                        .where(Person.id == person_id)
                        .values(familienname=new_name, updated_at=stamp)
                    )
                    conn.execute(
                        insert(OutboxEvent.__table__).values(
                            created_at=stamp, service=None, object_type="person",
                            object_id=person_id, operation="upsert", not_before=stamp,
                            attempts=0, status="pending",
                        )
                    )  # fmt: skip
                committed = time.perf_counter()
                dn = f"uid={ldap3.utils.dn.escape_rdn(username)},ou=personen,{BASE_DN}"
                while True:
                    ldap.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["sn"])
                    if ldap.entries and ldap.entries[0]["sn"].value == new_name:
                        break
                    if time.perf_counter() - committed > 120:
                        raise SystemExit(f"{username}: not changed in slapd after 120 s")
                    time.sleep(0.01)
                delays.append(time.perf_counter() - committed)
                time.sleep(rng.uniform(0, 2 * poll))  # land anywhere in the poll cycle
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        engine.dispose()
    return delays


# ---------------------------------------------------------------- profile


def summarize(stacks: Path, top: int = 18) -> None:
    """Inclusive share of the worker's samples per function of ours and per library call."""
    inclusive: collections.Counter[str] = collections.Counter()
    leaf: collections.Counter[str] = collections.Counter()
    total = 0
    for line in stacks.read_text(encoding="utf-8", errors="replace").splitlines():
        path, _, count = line.rpartition(" ")
        if not path or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [_frame(frame) for frame in path.split(";")]
        for frame in set(frames):
            inclusive[frame] += samples
        leaf[_area(path.split(";"))] += samples
    if not total:
        print("profile: no samples")
        return
    print(f"\nprofile of the worker: {total} samples; inclusive share per function:")
    shown = [(f, n) for f, n in inclusive.most_common() if _interesting(f)][:top]
    for frame, samples in shown:
        print(f"  {100 * samples / total:5.1f}%  {frame}")
    print("where the time ends up (innermost frame's area):")
    for area, samples in leaf.most_common(10):
        print(f"  {100 * samples / total:5.1f}%  {area}")


def _frame(frame: str) -> str:
    """`function (file:line)` without the line, the file relative to the repo or venv."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for prefix in (str(REPO) + "/", "site-packages/"):
        if prefix in where:
            where = where.split(prefix, 1)[1]
            break
    return f"{name} ({where})"


def _interesting(frame: str) -> bool:
    skip = ("click/", "flask/", "idp/__main__", "idp/cli", "idp/commands/", "<module>", "runpy")
    return not any(s in frame for s in skip)


def _area(frames: list[str]) -> str:
    """Which layer the innermost frame belongs to."""
    inner = frames[-1]
    for marker, area in (
        ("ldap3/", "ldap3 (LDAP client: encoding, socket waits)"),
        ("pyasn1/", "pyasn1 (LDAP BER encoding/decoding)"),
        ("sqlalchemy/", "SQLAlchemy (ORM, statements, rows; incl. the SQLite calls)"),
        ("sqlite3", "sqlite3 (the database itself)"),
        ("json/", "json (fingerprints)"),
        ("/work/", "our code"),
    ):
        if marker in inner:
            return area
    return inner.split(" (")[0] if inner else "?"


# ---------------------------------------------------------------- main


def rate(n: int, seconds: float) -> str:
    return f"{n:,} in {seconds:.1f} s = {n / seconds:,.0f}/s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, help="only the first schools' persons, until N")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--poll-seconds", type=float, default=1.0)
    parser.add_argument("--no-sync", action="store_true", help="skip `idp sync email --full`")
    parser.add_argument("--profile", type=float, default=0, help="py-spy the worker N seconds")
    parser.add_argument(
        "--index",
        action="store_true",
        help="slapd with eq indexes on employeeNumber and member (the tests' slapd has none)",
    )
    parser.add_argument("--keep", type=Path, help="keep the database copy and LDIF here")
    parser.add_argument(
        "--rounds", type=int, default=3, help="runs of 1.-3. (each on a fresh copy); medians"
    )
    args = parser.parse_args()

    cache = CACHE / "console-search" / f"land-{head_revision()}-seed{args.seed}"
    cache.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="idp-bench-ldap-", dir=args.keep))
    database = work / "land.sqlite3"
    shutil.copyfile(built_sqlite(cache, args.seed), database)
    persons, pending = prepare(database, args.persons)
    print(
        f"machine: {os.cpu_count()} cores, {dt.date.today()}; {persons:,} persons "
        f"({'subset: the first schools' if args.persons else 'the whole state'}), "
        f"{pending:,} pending outbox events; slapd "
        f"{'with indexes ' + ', '.join(SEARCHED_BY) if args.index else 'as in the tests'}"
    )
    servers: list[SlapdServer] = []
    synced: tuple[int, float] | None = None
    try:
        ours = fresh_slapd(args.index)
        servers.append(ours)
        env = environment(work, database, ours, args.poll_seconds)
        seconds, stats, stacks = run_timed(["worker", "--once", "--json"], env, args.profile, work)
        people, groups = count_entries(ours)
        entries = people + groups
        print(
            f"\n1. idp worker --once: {stats['events']:,} events in {seconds:.1f} s "
            f"({stats['events'] / seconds:,.0f} events/s; written {stats['written']:,}, "
            f"dead {stats['dead']}, retried {stats['retried']}); in slapd {people:,} persons "
            f"+ {groups:,} groups: {rate(entries, seconds)}"
        )
        if not args.no_sync:
            other = fresh_slapd(args.index)
            servers.append(other)
            sync_env = environment(work, database, other, args.poll_seconds)
            sync_seconds, report, _ = run_timed(
                ["sync", SERVICE, "--full", "--json"], sync_env, 0, work
            )
            other_people, other_groups = count_entries(other)
            synced = (other_people + other_groups, sync_seconds)
            print(
                f"2. idp sync {SERVICE} --full into a fresh slapd: desired {report['desired']:,};"
                f" in slapd {other_people:,} persons + {other_groups:,} groups: "
                f"{rate(other_people + other_groups, sync_seconds)}"
            )
            other.stop()
            servers.remove(other)
        ldif = work / "mail.ldif"
        in_ldif = export_ldif(ours, ldif)
        ldapadd_seconds = time_ldapadd(ldif, args.index)
        print(
            f"3. ldapadd of the same entries as one LDIF ({in_ldif:,} entries incl. the two "
            f"ou, {ldif.stat().st_size / 1e6:.1f} MB): {rate(in_ldif, ldapadd_seconds)}"
        )
        times = {"worker": [seconds], "sync": [synced[1]] if synced else [], "ldapadd": []}
        times["ldapadd"].append(ldapadd_seconds)
        for _ in range(args.rounds - 1):  # the same again, each on a fresh copy and slapd
            again(work, cache, args, ldif, times)
        if args.rounds > 1:
            print(
                f"   {args.rounds} rounds (s): "
                + "; ".join(
                    f"{name} " + ", ".join(f"{t:.1f}" for t in took)
                    for name, took in times.items()
                    if took
                )
            )
        ldapadd_seconds = statistics.median(times["ldapadd"])
        for label, n, took in (
            ("1. worker", entries, times["worker"]),
            ("2. sync --full", synced[0] if synced else 0, times["sync"]),
        ):
            if not took:
                continue
            ratio = (n / statistics.median(took)) / (in_ldif / ldapadd_seconds)
            print(
                f"   ratio ours/ldapadd (entries/s, medians of {len(took)}), {label}: "
                f"{ratio:.3f} (target >= {TARGET_RATIO})"
            )
        delays = measure_delay(database, ours, env, args.changes, args.poll_seconds, args.seed)
        p95 = percentile(delays, 95)
        print(
            f"4. delay import change -> entry in slapd, one `idp worker` (poll_seconds "
            f"{args.poll_seconds}), {len(delays)} changes: p50 {statistics.median(delays):.2f} s,"
            f" p95 {p95:.2f} s, max {max(delays):.2f} s; p95/target {p95 / TARGET_P95_S:.2f} "
            f"(target p95 < {TARGET_P95_S:.0f} s)"
        )
        if stacks is not None:
            summarize(stacks)
    finally:
        for server in servers:
            server.stop()
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
