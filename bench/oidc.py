"""Benchmark: OIDC logins and token grants per server CPU-second, ours beside Canaille 0.3.6.

Serves `idp.wsgi:app` with one worker per core, on SQLite and then on a throwaway PostgreSQL,
and drives it from a load generator in processes of its own (bench/oidc_peer/loadgen.py,
2 processes x 4 threads, each thread on its own connection):
  1. full logins: authorize with PKCE, login form (GET, then POST with the real Argon2id
     check), back to authorize, the code exchanged at the token endpoint; every login is a
     different learner with a fresh cookie jar                             target >= 30
  2. refresh grants with rotation: each chain sends the refresh token it got last   >= 600
  3. client-credentials grants                                                     >= 2,000
Targets are per CPU-second of the server's processes (workers and master, from /proc), so
other work on the machine moves the figures less than wall rates (still by 10-20 % on a busy
machine); wall rates, and PostgreSQL's own CPU, are printed beside them. Each load runs a
1-second warm-up, then --rounds rounds of --seconds; the median round counts.
The same loads run against Canaille 0.3.6 (installed from PyPI into a venv under
~/.cache/schul-idp-bench, configured from bench/oidc_peer/canaille.toml) under the same server
on the same kind of database, with Argon2id at our parameters and ES256 tokens as ours, so
"ours/theirs" compares the apps. Learners share one password, so their hashes come from a
small pool (every login still computes the check).

Server: granian (`--interface wsgi --workers N --blocking-threads 1`) by default. It serves
our app best: HTTP is parsed in Rust and connections are kept alive, so a light request costs
about a third less server CPU than under gunicorn's sync workers (2,980 vs 1,800 discovery
requests per CPU-second; client-credentials +10-15 %), and while gunicorn's worker waits for
each client to close its connection, granian goes on serving, so on a busy machine it keeps
1.5-3x the wall rate. More blocking threads per worker only add GIL contention.

    .venv/bin/python bench/oidc.py [--db sqlite|postgresql|both] [--rounds 3] [--seconds 4]
                                   [--server granian|gunicorn] [--no-peer]
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import secrets
import shutil
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from oidc_peer.loadgen import cpu_seconds, descendants  # noqa: E402

from idp.auth import passwords  # noqa: E402
from tests.pg_server import PostgresServer  # noqa: E402

PEER_DIR = Path(__file__).resolve().parent / "oidc_peer"
LOADGEN = PEER_DIR / "loadgen.py"
CANAILLE = "canaille[front,oidc,sqlite,postgresql,server]==0.3.6"
CANAILLE_VENV = Path(
    os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"), "schul-idp-bench", "canaille-0.3.6"
)
LOADS = {  # name: (what, target per server CPU-second)
    "login": ("full code-flow logins", 30.0),
    "refresh": ("refresh grants (rotating)", 600.0),
    "cc": ("client-credentials grants", 2000.0),
}
WORKERS = os.cpu_count() or 2
PASSWORD = "Leuchtturm-Wellenbrecher-42"  # noqa: S105 (the bench learners' password)
REDIRECT_URI = "http://127.0.0.1:9999/cb"
HASH_POOL = 16
CHAINS = 32  # refresh chains: 4 per load generator worker
# Canaille's access tokens for one person, client and scope within one second are equal and
# collide in its database: enough chains that each one waits more than a second between uses.
CANAILLE_CHAINS = 96
LOADGEN_PROCESSES, LOADGEN_THREADS = 2, 4
LOGINS_PER_SECOND_MAX = 50 * WORKERS  # persons are sized for this: above the hash-bound limit
SECRET_KEY = secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Provider:
    """A running provider as the load generator needs to know it."""

    name: str
    base: str
    pids: list[int]
    token_path: str
    authorize_path: str
    client_id: str
    client_secret: str
    user: str  # login name, {i} = the person's number
    persons: int
    chains: int
    db_pids: list[int]  # PostgreSQL's processes; SQLite works inside the server's


@dataclass(frozen=True)
class Result:
    """One load on one provider: medians over the rounds."""

    per_cpu_second: float
    per_wall_second: float
    server_cores: float
    db_cores: float
    p50_ms: float
    requests_each: float
    ok: int
    failed: int
    error: str | None
    ran_out: bool


# ---------------------------------------------------------------- our app


def hash_pool(params: passwords.HashParameters) -> list[str]:
    with ProcessPoolExecutor(WORKERS) as pool:
        return list(pool.map(passwords.hash_password, [params] * HASH_POOL, [PASSWORD] * HASH_POOL))


def build_ours(url: str, persons: int) -> tuple[str, str, passwords.HashParameters]:
    """Migrate, add `persons` learners of one school and one client; returns its id and secret."""
    from idp import database
    from idp.app import create_app
    from idp.auth.settings import auth_settings
    from idp.config import load_config
    from idp.extensions import db
    from idp.oidc import clients, keys
    from idp.policy import current_policies
    from tests import factories as f

    app = create_app(load_config(None, env={"IDP_DATABASE_URL": url, "IDP_SECRET_KEY": SECRET_KEY}))
    with app.app_context():
        database.upgrade()
        database.sync_policy_rows(current_policies())
        params = auth_settings().hashing
        hashes = hash_pool(params)
        state = f.small_state(db.session)
        for number in range(persons):
            person = f.person(
                db.session,
                f"bench.lernende{number:05d}",
                "Bench",
                f"Lernende{number}",
                password_hash=hashes[number % HASH_POOL],
            )
            f.kontext(db.session, person, state.schule, "LERN")
            f.kontext(db.session, person, state.klasse, "LERN")
        registered = clients.register(
            db.session,
            current_policies(),
            name="Bench-Stundenplan",
            service="stundenplan",
            redirect_uris=[REDIRECT_URI],
        )
        keys.signing_key(db.session, "ES256")  # the first keys now, not in the first request
        db.session.commit()
        client_id, secret = registered.client.client_id, registered.secret
        db.engine.dispose()
    assert secret is not None
    return client_id, secret, params


def time_hash(params: passwords.HashParameters, samples: int = 30) -> float:
    """Median CPU seconds of one verification with the app's own function."""
    stored = passwords.hash_password(params, PASSWORD)
    cpus = []
    for _ in range(samples):
        started = time.process_time()
        passwords.verify(params, PASSWORD, stored)
        cpus.append(time.process_time() - started)
    return statistics.median(cpus)


def server_command(server: str, app: str, port: int, venv_bin: Path, factory: bool) -> list[str]:
    """`app` served on 127.0.0.1:`port` with one worker per core."""
    if server == "gunicorn":
        return [
            str(venv_bin / "gunicorn"),
            *("--workers", str(WORKERS), "--worker-class", "sync"),
            *("--bind", f"127.0.0.1:{port}", "--log-level", "warning"),
            "--no-control-socket",
            f"{app}()" if factory else app,
        ]
    return [
        str(venv_bin / "granian"),
        *("--interface", "wsgi", "--workers", str(WORKERS), "--blocking-threads", "1"),
        *("--host", "127.0.0.1", "--port", str(port), "--no-ws", "--log-level", "warning"),
        *(["--factory"] if factory else []),
        app,
    ]


@contextmanager
def serving(
    command: list[str], port: int, env: dict[str, str], cwd: Path, log: Path
) -> Iterator[int]:
    """Start the server, wait until it answers discovery, yield its pid; stop it afterwards."""
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=output, stderr=output)
    try:
        wait_for(port, process, log)
        settle(process.pid)
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args[0]} stopped at once:\n{log.read_text()[-3000:]}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", "/.well-known/openid-configuration")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.2)
    raise SystemExit(f"{process.args[0]} did not answer within 60 s:\n{log.read_text()[-3000:]}")


def settle(pid: int, limit: float = 60.0) -> None:
    """Wait until the server's processes are idle: the first worker answers while the others
    may still import the app, and that CPU must not count as serving."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        pids = descendants([pid])
        before = cpu_seconds(pids)
        time.sleep(0.5)
        if cpu_seconds(pids) - before < 0.05:
            return


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ---------------------------------------------------------------- Canaille


def ensure_canaille(server: str) -> Path:
    """Canaille 0.3.6 (and the server, and Argon2) in its own venv; returns its bin dir."""
    bin_dir = CANAILLE_VENV / "bin"
    wanted = ["gunicorn" if server == "gunicorn" else "granian", "canaille"]
    if all((bin_dir / name).exists() for name in wanted):
        return bin_dir
    started = time.perf_counter()
    if not (bin_dir / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(CANAILLE_VENV)], check=True)
    command = [str(bin_dir / "pip"), "install", "-q", CANAILLE, "argon2-cffi", wanted[0]]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"installing Canaille failed:\n{done.stderr[-3000:]}")
    print(f"installed Canaille 0.3.6 into {CANAILLE_VENV} ({time.perf_counter() - started:.0f} s)")
    return bin_dir


def canaille_jwks() -> str:
    """A P-256 key to sign with (ES256, as we do) and the RSA key Canaille insists on, as TOML."""
    from joserfc.jwk import ECKey, RSAKey

    tables = []
    for key in (
        ECKey.generate_key("P-256", auto_kid=True),
        RSAKey.generate_key(2048, auto_kid=True),
    ):
        items = key.as_dict(private=True).items()
        tables.append("{" + ", ".join(f"{k} = {json.dumps(v)}" for k, v in items) + "}")
    return ", ".join(tables)


def build_canaille(
    bin_dir: Path,
    work: Path,
    database_uri: str,
    port: int,
    persons: int,
    params: passwords.HashParameters,
) -> tuple[dict[str, str], str]:
    """Write Canaille's config, create its tables, client and persons; returns env and secret."""
    config = work / "canaille.toml"
    template = string.Template((PEER_DIR / "canaille.toml").read_text())
    config.write_text(
        template.substitute(
            secret_key=SECRET_KEY,
            port=port,
            database_uri=database_uri,
            memory_kib=params.memory_kib,
            time_cost=params.time_cost,
            parallelism=params.parallelism,
            jwks=canaille_jwks(),
        )
    )
    env = {**os.environ, "CANAILLE_CONFIG": str(config)}
    secret = secrets.token_urlsafe(32)
    for command in (
        [str(bin_dir / "canaille"), "install"],
        [
            str(bin_dir / "python"),
            str(PEER_DIR / "canaille_setup.py"),
            str(persons),
            "benchclient",
            secret,
            REDIRECT_URI,
            PASSWORD,
        ],
    ):
        done = subprocess.run(command, env=env, cwd=work, capture_output=True, text=True)
        if done.returncode != 0 or "CRITICAL" in done.stderr:
            raise SystemExit(f"{' '.join(command[:2])} failed:\n{done.stderr[-3000:]}")
    return env, secret


# ---------------------------------------------------------------- loads


def run_load(provider: Provider, load: str, first_user: int, args) -> tuple[Result, int]:
    """One load from the load generator's processes; returns the medians and the next person."""
    command = [
        sys.executable,
        str(LOADGEN),
        *("--base", provider.base, "--mode", load),
        *("--token-path", provider.token_path, "--authorize-path", provider.authorize_path),
        f"--client-id={provider.client_id}",  # = : they may begin with "-"
        f"--client-secret={provider.client_secret}",
        *("--redirect-uri", REDIRECT_URI, "--user", provider.user, "--password", PASSWORD),
        *("--first-user", str(first_user), "--users", str(provider.persons)),
        *("--chains", str(provider.chains), "--rounds", str(args.rounds)),
        *("--seconds", str(args.seconds)),
        *("--processes", str(LOADGEN_PROCESSES), "--threads", str(LOADGEN_THREADS)),
        *("--server-pid", *map(str, provider.pids)),
        *("--db-pid", *map(str, provider.db_pids)),
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"load generator ({provider.name}, {load}) failed:\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout)
    rounds = report["rounds"]

    def median(key) -> float:
        return statistics.median(key(r) for r in rounds)

    result = Result(
        per_cpu_second=median(lambda r: r["ok"] / r["server_cpu"] if r["server_cpu"] else 0.0),
        per_wall_second=median(lambda r: r["ok"] / r["wall"]),
        server_cores=median(lambda r: r["server_cpu"] / r["wall"]),
        db_cores=median(lambda r: r["db_cpu"] / r["wall"]),
        p50_ms=median(lambda r: r["p50_ms"] or 0.0),
        requests_each=median(lambda r: r["requests"] / r["ok"] if r["ok"] else 0.0),
        ok=sum(r["ok"] for r in rounds),
        failed=sum(r["failed"] for r in rounds),
        error=next((r["error"] for r in rounds if r["error"]), None),
        ran_out=any(r["ran_out"] for r in rounds),
    )
    return result, report["next_user"]


def run_loads(provider: Provider, args) -> dict[str, Result]:
    results, next_user = {}, 0
    for load in LOADS:
        results[load], next_user = run_load(provider, load, next_user, args)
        show(provider.name, load, results[load])
    return results


def show(name: str, load: str, result: Result) -> None:
    what, target = LOADS[load]
    notes = []
    if result.db_cores:
        notes.append(f"PostgreSQL beside: {result.db_cores:.2f} cores")
    if result.failed:
        notes.append(f"{result.failed} failed, e.g. {result.error}")
    if result.ran_out:
        notes.append("ran out of persons: raise LOGINS_PER_SECOND_MAX")
    print(
        f"  {name:9s} {what:27s} {result.per_cpu_second:8.1f} /s per core   "
        f"target {target:6.0f}   ratio {result.per_cpu_second / target:5.2f}   "
        f"({result.per_wall_second:.1f}/s wall on {result.server_cores:.2f} cores, "
        f"{result.requests_each:.0f} requests each, p50 {result.p50_ms:.0f} ms)"
        + ("   " + "; ".join(notes) if notes else ""),
        flush=True,
    )


# ---------------------------------------------------------------- one database


def persons_needed(args) -> int:
    logins = LOGINS_PER_SECOND_MAX * (1 + args.rounds * args.seconds)  # warm-up and rounds
    return max(CHAINS, CANAILLE_CHAINS) + round(logins) + 100


def bench_ours(
    url: str, db_pids: list[int], work: Path, args
) -> tuple[dict[str, Result], passwords.HashParameters]:
    persons = persons_needed(args)
    started = time.perf_counter()
    client_id, secret, params = build_ours(url, persons)
    print(
        f"  {persons:,} learners (Argon2id m={params.memory_kib} KiB, t={params.time_cost}, "
        f"p={params.parallelism}; one check {time_hash(params) * 1000:.1f} ms CPU here), "
        f"built in {time.perf_counter() - started:.1f} s; {CHAINS} refresh chains "
        f"(Canaille: {CANAILLE_CHAINS})"
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("IDP_")},
        "IDP_DATABASE_URL": url,
        "IDP_SECRET_KEY": SECRET_KEY,
        "IDP_ISSUER": base,
    }
    command = server_command(args.server, "idp.wsgi:app", port, Path(sys.executable).parent, False)
    with serving(command, port, env, REPO, work / "ours.log") as pid:
        provider = Provider(
            name="ours",
            base=base,
            pids=[pid],
            token_path="/oidc/token",  # noqa: S106 (a path)
            authorize_path="/oidc/authorize",
            client_id=client_id,
            client_secret=secret,
            user="bench.lernende{i:05d}",
            persons=persons,
            chains=CHAINS,
            db_pids=db_pids,
        )
        return run_loads(provider, args), params


def bench_canaille(
    bin_dir: Path, url: str, db_pids: list[int], work: Path, args, params
) -> dict[str, Result]:
    persons = persons_needed(args)
    port = free_port()
    env, secret = build_canaille(bin_dir, work, url, port, persons, params)
    command = server_command(args.server, "canaille:create_app", port, bin_dir, True)
    with serving(command, port, env, work, work / "canaille.log") as pid:
        provider = Provider(
            name="Canaille",
            base=f"http://127.0.0.1:{port}",
            pids=[pid],
            token_path="/oauth/token",  # noqa: S106 (a path)
            authorize_path="/oauth/authorize",
            client_id="benchclient",
            client_secret=secret,
            user="bench{i}",
            persons=persons,
            chains=CANAILLE_CHAINS,
            db_pids=db_pids,
        )
        return run_loads(provider, args)


def bench_database(db: str, work: Path, args, canaille_bin: Path | None) -> dict:
    """Ours, then Canaille, on a fresh database of kind `db`."""
    print(f"\n== {db} ==")
    if db == "sqlite":
        ours, params = bench_ours(f"sqlite:///{work / 'idp.sqlite3'}", [], work, args)
        results = {"ours": ours}
        if canaille_bin is not None:
            url = f"sqlite:///{work / 'canaille.sqlite3'}"
            results["canaille"] = bench_canaille(canaille_bin, url, [], work, args, params)
        return results
    pg = PostgresServer().start()
    try:
        assert pg.process is not None
        for name in ("idp", "canaille"):
            createdb = [str(pg.bin / "createdb"), "-h", "127.0.0.1", "-p", str(pg.port)]
            subprocess.run([*createdb, "-U", "postgres", name], check=True)
        pids = [pg.process.pid]
        ours, params = bench_ours(pg.url("idp"), pids, work, args)
        results = {"ours": ours}
        if canaille_bin is not None:
            url = f"postgresql+psycopg2://postgres@127.0.0.1:{pg.port}/canaille"
            results["canaille"] = bench_canaille(canaille_bin, url, pids, work, args, params)
        return results
    finally:
        pg.stop()


def summary(all_results: dict[str, dict], server: str) -> None:
    print(f"\nper server CPU-second, {server} with {WORKERS} workers, medians of the rounds:")
    print(
        f"  {'database':10s} {'load':27s} {'ours':>8s} {'target':>7s} {'ratio':>6s} "
        f"{'Canaille':>9s} {'ours/theirs':>11s}"
    )
    for db, results in all_results.items():
        for load, (what, target) in LOADS.items():
            ours = results["ours"][load].per_cpu_second
            line = f"  {db:10s} {what:27s} {ours:8.1f} {target:7.0f} {ours / target:6.2f}"
            theirs = results.get("canaille", {}).get(load)
            if theirs is not None and theirs.per_cpu_second:
                line += f" {theirs.per_cpu_second:9.1f} {ours / theirs.per_cpu_second:11.2f}"
            print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds per load (3)")
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds per round (4)")
    parser.add_argument("--server", choices=["granian", "gunicorn"], default="granian")
    parser.add_argument(
        "--peer",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure Canaille 0.3.6 (default: yes)",
    )
    args = parser.parse_args()
    if not (Path(sys.executable).parent / args.server).exists():
        parser.error(f"{args.server} is not installed here: .venv/bin/pip install {args.server}")
    started = time.perf_counter()
    print(
        f"OIDC loads against idp.wsgi:app under {args.server} ({WORKERS} workers), "
        f"{args.rounds} rounds of {args.seconds:g} s each, load generator "
        f"{LOADGEN_PROCESSES} processes x {LOADGEN_THREADS} threads "
        f"(machine: {os.cpu_count()} cores, {dt.date.today()})"
    )
    canaille_bin = ensure_canaille(args.server) if args.peer else None
    work = Path(tempfile.mkdtemp(prefix="idp-bench-oidc-"))
    try:
        all_results = {}
        for db in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
            (work / db).mkdir()
            all_results[db] = bench_database(db, work / db, args, canaille_bin)
        summary(all_results, args.server)
        print(f"\n(whole run {time.perf_counter() - started:.0f} s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
