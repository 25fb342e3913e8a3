"""Benchmark: how many password logins one core serves, and how much the web part adds to the hash.

On a fresh SQLite database with N learners, each with their own Argon2id hash at the configured
parameters, measures
  1. one hash verification alone (median of many): the hash-bound limit is 1 / that time
  2. complete logins through the real form (GET /login for the CSRF token, POST /login up to
     its redirect), one after another in one process, with Flask's test client (no network)
  3. the same over HTTP with `requests` against the production server: granian serving
     idp.wsgi:app on 127.0.0.1 with one worker per core (bench/oidc.py starts it the same
     way); its CPU is that of the granian processes (skipped without requests)
Wall time counts whatever else runs on the machine; CPU time (of this process, or of the server
process) does not, so "per core" figures and the overhead are computed from CPU time.
Every login is a different person in a fresh browser session, so neither the brute-force guard
nor any cache sees the same name twice. Target: the web part (everything but the hash) adds
less than 15 % to the hash cost, so one core's logins/s stay close to the hash-bound limit.

    .venv/bin/python bench/login.py [--users 600] [--seconds 10] [--no-http]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import shutil
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from idp.app import create_app  # noqa: E402

sys.path.insert(0, str(REPO / "bench"))
from oidc import server_command, serving  # noqa: E402
from oidc_peer.loadgen import cpu_seconds, descendants  # noqa: E402

from idp.auth import passwords  # noqa: E402
from idp.config import Config, load_config  # noqa: E402
from tests.web import csrf_token  # noqa: E402

TARGET_OVERHEAD = 0.15
SECRET_KEY = secrets.token_urlsafe(32)  # one per run, shared with the server it starts
HASH_SAMPLES = 50
WARM_UP = 3  # logins per run not counted: template compilation, first connections


@dataclass
class Run:
    """The logins of one way in: each one's wall time, the total wall and CPU time they took."""

    way: str
    durations: list[float]
    elapsed: float
    cpu: float
    ran_out: bool

    @property
    def per_second(self) -> float:
        return len(self.durations) / self.elapsed

    @property
    def cpu_per_login(self) -> float:
        return self.cpu / len(self.durations)


@dataclass(frozen=True)
class HashTime:
    wall: float
    cpu: float


def bench_config(url: str) -> Config:
    return load_config(None, env={"IDP_DATABASE_URL": url, "IDP_SECRET_KEY": SECRET_KEY})


def password_of(number: int) -> str:
    return f"Leuchtturm-{number:05d}-Wellenbrecher"


def username_of(number: int) -> str:
    return f"bench.lernende{number:05d}"


def _hash(args: tuple[passwords.HashParameters, str]) -> str:
    return passwords.hash_password(*args)


def build_database(url: str, users: int) -> passwords.HashParameters:
    """Migrate, then add `users` learners of one school with real hashes; returns the params."""
    from idp import database
    from idp.auth.settings import auth_settings
    from idp.extensions import db
    from idp.policy import current_policies
    from tests import factories as f

    app = create_app(bench_config(url))
    with app.app_context():
        database.upgrade()
        database.sync_policy_rows(current_policies())
        params = auth_settings().hashing
        with ProcessPoolExecutor(os.cpu_count()) as pool:
            hashes = list(
                pool.map(_hash, [(params, password_of(n)) for n in range(users)], chunksize=16)
            )
        state = f.small_state(db.session)
        for number, password_hash in enumerate(hashes):
            person = f.person(
                db.session,
                username_of(number),
                "Bench",
                f"Lernende{number}",
                password_hash=password_hash,
            )
            f.kontext(db.session, person, state.schule, "LERN")
            f.kontext(db.session, person, state.klasse, "LERN")
        db.session.commit()
        db.engine.dispose()
    return params


def time_hash(params: passwords.HashParameters) -> HashTime:
    """The median wall and CPU time of one verification with the app's own function."""
    stored = passwords.hash_password(params, password_of(0))
    walls, cpus = [], []
    for _ in range(HASH_SAMPLES):
        wall, cpu = time.perf_counter(), time.process_time()
        ok, _ = passwords.verify(params, password_of(0), stored)
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
        assert ok
    return HashTime(statistics.median(walls), statistics.median(cpus))


def run_logins(
    way: str,
    login: Callable[[int], None],
    users: Iterator[int],
    seconds: float,
    cpu_clock: Callable[[], float],
) -> Run:
    """Log in one user after another for `seconds` (or until the users run out)."""
    for number in [next(users) for _ in range(WARM_UP)]:
        login(number)
    durations: list[float] = []
    started, cpu_started = time.perf_counter(), cpu_clock()
    ran_out = False
    while time.perf_counter() - started < seconds:
        number = next(users, None)
        if number is None:
            ran_out = True
            break
        begun = time.perf_counter()
        login(number)
        durations.append(time.perf_counter() - begun)
    elapsed, cpu = time.perf_counter() - started, cpu_clock() - cpu_started
    return Run(way, durations, elapsed, cpu, ran_out)


def client_login(url: str) -> Callable[[int], None]:
    app = create_app(bench_config(url))

    def login(number: int) -> None:
        client = app.test_client()  # a fresh browser: no cookies
        token = csrf_token(client.get("/login").text)
        answer = client.post(
            "/login",
            data={
                "csrf_token": token,
                "login_name": username_of(number),
                "password": password_of(number),
            },
        )
        if answer.status_code != 302 or answer.location != "/":
            raise SystemExit(f"login of {username_of(number)} failed: {answer.status_code}")

    return login


def http_login(base: str) -> Callable[[int], None]:
    import requests

    def login(number: int) -> None:
        with requests.Session() as browser:  # a fresh browser: no cookies, its own connection
            token = csrf_token(browser.get(f"{base}/login", timeout=30).text)
            answer = browser.post(
                f"{base}/login",
                data={
                    "csrf_token": token,
                    "login_name": username_of(number),
                    "password": password_of(number),
                },
                allow_redirects=False,
                timeout=30,
            )
        if answer.status_code != 302 or answer.headers.get("Location") not in (
            "/",
            "http://127.0.0.1:8080/",
        ):
            raise SystemExit(f"login of {username_of(number)} failed: {answer.status_code}")

    return login


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def report(run: Run, hashing: HashTime) -> None:
    overhead = run.cpu_per_login / hashing.cpu - 1
    wall_overhead = statistics.median(run.durations) / hashing.wall - 1
    note = "  (ran out of users: raise --users)" if run.ran_out else ""
    print(
        f"{run.way:34s} {1 / run.cpu_per_login:7.1f} logins/s per core   "
        f"({run.cpu_per_login * 1000:.1f} ms CPU each; {len(run.durations)} in "
        f"{run.elapsed:.1f} s wall){note}"
    )
    print(
        f"  HTTP overhead adds {overhead * 100:.1f} % to the hash cost   "
        f"target < {TARGET_OVERHEAD * 100:.0f} %   ratio {overhead / TARGET_OVERHEAD:4.2f}   "
        f"(from wall medians: {wall_overhead * 100:.0f} %)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=600, help="persons to create (default 600)")
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="seconds per way of logging in (default 10)"
    )
    parser.add_argument("--no-http", action="store_true", help="skip the real HTTP server")
    args = parser.parse_args()
    if args.users < 4 * WARM_UP:
        parser.error(f"--users must be at least {4 * WARM_UP}")
    work = Path(tempfile.mkdtemp(prefix="idp-bench-login-"))
    try:
        url = f"sqlite:///{work / 'login.sqlite3'}"
        started = time.perf_counter()
        params = build_database(url, args.users)
        print(
            f"{args.users} learners with Argon2id hashes (m={params.memory_kib} KiB, "
            f"t={params.time_cost}, p={params.parallelism}) on SQLite: "
            f"{time.perf_counter() - started:.1f} s "
            f"(machine: {os.cpu_count()} cores, {dt.date.today()})\n"
        )
        hashing = time_hash(params)
        print(
            f"{'one hash verification':34s} {hashing.cpu * 1000:7.1f} ms CPU   "
            f"{hashing.wall * 1000:.1f} ms wall (medians of {HASH_SAMPLES})"
        )
        print(f"{'hash-bound limit (1 / hash time)':34s} {1 / hashing.cpu:7.1f} logins/s per core")
        # Each way gets its own half of the persons: nobody logs in twice.
        half = args.users if args.no_http else args.users // 2
        report(
            run_logins(
                "login form, Flask test client",
                client_login(url),
                iter(range(half)),
                args.seconds,
                time.process_time,
            ),
            hashing,
        )
        if args.no_http:
            return
        try:
            import requests  # noqa: F401
        except ImportError:
            print("login form over HTTP: skipped (requests is not installed)")
            return
        port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("IDP_")},
            "IDP_DATABASE_URL": url,
            "IDP_SECRET_KEY": SECRET_KEY,
        }
        command = server_command("granian", "idp.wsgi:app", port, REPO / ".venv" / "bin", False)
        with serving(command, port, env, work, work / "granian.log") as pid:
            run = run_logins(
                "login form, HTTP (granian)",
                http_login(f"http://127.0.0.1:{port}"),
                iter(range(half, args.users)),
                args.seconds,
                lambda: cpu_seconds(descendants([pid])),
            )
        report(run, hashing)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
