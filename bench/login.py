"""Benchmark: how many password logins one core serves, and how much the web part adds to the hash.

On a fresh SQLite database with N learners, each with their own Argon2id hash at the configured
parameters, measures complete logins through the real form (GET /login for the CSRF token,
POST /login up to its redirect), every one a different person in a fresh browser session, so
neither the brute-force guard nor any cache sees the same name twice:
  1. one after another in one process, with Flask's test client (no network); what counts is
     the CPU time inside the app, from the WSGI call to the response, as a server runs it (the
     figure with the client's own work in the same process is printed beside it)
  2. over HTTP with `requests` against the production server: granian serving the app of
     idp.wsgi on 127.0.0.1 with one worker per core (bench/oidc.py starts it the same way);
     its CPU is that of the granian processes (skipped without requests)
The overhead is (CPU per login - CPU of its hash) / CPU of its hash. The hash's time drifts
from run to run (CPU frequency, other load), so each login measures its own: the thread CPU
time spent in `passwords.verify` (in the server, a small WSGI wrapper sends it back in a
response header), and everything else the serving side spends is the web part: request
parsing, session, CSRF, guard, database writes, audit, template, headers, HTTP. Each way runs
--rounds rounds; after each round, hash checks alone (the same function; over HTTP in a server
worker, through a path only this bench's wrapper answers) give a second baseline, shown beside
the first. The medians of the rounds count. Wall time counts whatever else runs on the
machine; CPU time does not, so "per core" figures and the overhead come from CPU time.
Over HTTP the web part is also split (medians per login, from response headers of the same
wrapper): the app's CPU on the GET, on the POST beside its hash (and of that, after the
hash), and the rest, which is granian's and the kernel's.
Target: the web part adds less than 15 % to the hash cost, so one core's logins/s stay close
to the hash-bound limit.

    .venv/bin/python bench/login.py [--users 3000] [--rounds 5] [--seconds 3] [--no-http]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import shutil
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
from oidc import free_port, server_command, serving  # noqa: E402
from oidc_peer.loadgen import cpu_seconds, descendants  # noqa: E402

from idp.auth import passwords  # noqa: E402
from idp.config import Config, load_config  # noqa: E402
from tests.web import csrf_token  # noqa: E402

TARGET_OVERHEAD = 0.15
HASH_SAMPLES = 50  # hash checks alone before the logins: the hash-bound limit
ROUND_HASH_SAMPLES = 15  # hash checks alone after each round
WARM_UP = 3  # logins per way not counted: template compilation, first connections
HASH_HEADER = "X-Bench-Hash-CPU"  # the server's CPU seconds in passwords.verify, per response
HASH_PATH = "/_bench/hash"  # the server's hash checks alone (only in the app this bench serves)
APP_HEADER = "X-Bench-App-CPU"  # the thread's CPU seconds in the app (Flask on), per response
AFTER_HEADER = "X-Bench-After-Hash-CPU"  # of those, the CPU seconds after its hash check

_verify = passwords.verify
_hash_cpu = [0.0]  # CPU seconds this process's threads spent in passwords.verify so far


_hash_ended = [0.0]  # this thread's CPU clock when its last hash check ended


def _timed_verify(*args, **kwargs):
    started = time.thread_time()
    try:
        return _verify(*args, **kwargs)
    finally:
        _hash_ended[0] = time.thread_time()
        _hash_cpu[0] += _hash_ended[0] - started


def hash_cpu_so_far() -> float:
    return _hash_cpu[0]


def measured_app():
    """What the HTTP way serves (granian --factory login:measured_app): the production app of
    idp.wsgi, each response carrying the CPU time its hash checks took in a header, and
    GET /_bench/hash answering with the median CPU time of hash checks alone in this process.
    Exact with granian's one blocking thread per worker: one request at a time per process."""
    passwords.verify = _timed_verify
    from idp.wsgi import app

    params = passwords.HashParameters.from_config(app.config["IDP"]["auth"])
    stored = passwords.hash_password(params, password_of(0))
    inner = app.wsgi_app

    def wsgi_app(environ, start_response):
        if environ["PATH_INFO"] == HASH_PATH:
            median = time_hash(params, stored, ROUND_HASH_SAMPLES, time.thread_time)
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [f"{median:.9f}".encode()]
        before, entered = _hash_cpu[0], time.thread_time()

        def start(status, headers, exc_info=None):
            # Flask has done all its work when it starts the response (the body is in memory).
            at = time.thread_time()
            spent = _hash_cpu[0] - before
            timed = [(HASH_HEADER, f"{spent:.9f}"), (APP_HEADER, f"{at - entered:.9f}")]
            if spent:
                timed.append((AFTER_HEADER, f"{at - _hash_ended[0]:.9f}"))
            return start_response(status, [*headers, *timed], exc_info)

        return inner(environ, start)

    app.wsgi_app = wsgi_app  # type: ignore[method-assign]
    return app


@dataclass(frozen=True)
class Round:
    """One round of logins: how many, their wall time, the CPU time of the process serving
    them (in the test client's process: also what it spent inside the app alone), the CPU of
    their hash checks, and the median CPU time of one hash check alone, measured right after."""

    logins: int
    elapsed: float
    cpu: float
    app_cpu: float | None
    hash_cpu: float
    hash_alone: float

    @property
    def served_cpu(self) -> float:
        """The serving side's CPU: the app's where it shares its process with the client."""
        return self.cpu if self.app_cpu is None else self.app_cpu

    @property
    def cpu_per_login(self) -> float:
        return self.served_cpu / self.logins

    @property
    def overhead(self) -> float:
        """What the web part adds to the hash checks of the same logins."""
        return (self.served_cpu - self.hash_cpu) / self.hash_cpu

    @property
    def overhead_with_client(self) -> float:
        return (self.cpu - self.hash_cpu) / self.hash_cpu

    @property
    def overhead_vs_alone(self) -> float:
        return self.cpu_per_login / self.hash_alone - 1


def bench_config(url: str, secret_key: str) -> Config:
    return load_config(None, env={"IDP_DATABASE_URL": url, "IDP_SECRET_KEY": secret_key})


def password_of(number: int) -> str:
    return f"Leuchtturm-{number:05d}-Wellenbrecher"


def username_of(number: int) -> str:
    return f"bench.lernende{number:05d}"


def _hash(args: tuple[passwords.HashParameters, str]) -> str:
    return passwords.hash_password(*args)


def build_database(url: str, users: int, secret_key: str) -> passwords.HashParameters:
    """Migrate, then add `users` learners of one school with real hashes; returns the params."""
    from idp import database
    from idp.auth.settings import auth_settings
    from idp.extensions import db
    from idp.policy import current_policies
    from tests import factories as f

    app = create_app(bench_config(url, secret_key))
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


def time_hash(
    params: passwords.HashParameters,
    stored: str,
    samples: int,
    clock: Callable[[], float] = time.process_time,
) -> float:
    """The median CPU time of one verification with the app's own function."""
    times = []
    for _ in range(samples):
        started = clock()
        ok, _ = _verify(params, password_of(0), stored)
        times.append(clock() - started)
        assert ok
    return statistics.median(times)


def run_rounds(
    login: Callable[[int], float],
    users: Iterator[int],
    rounds: int,
    seconds: float,
    cpu_clock: Callable[[], float],
    hash_alone: Callable[[], float],
    app_clock: Callable[[], float] | None = None,
) -> list[Round]:
    """`rounds` rounds of logging in one user after another for `seconds`, each followed by
    hash checks alone; `login` returns the CPU time the login's hash check took."""
    for number in [next(users) for _ in range(WARM_UP)]:
        login(number)
    done = []
    for _ in range(rounds):
        logins, hash_cpu = 0, 0.0
        started, cpu_started = time.perf_counter(), cpu_clock()
        app_started = app_clock() if app_clock else 0.0
        while time.perf_counter() - started < seconds:
            number = next(users, None)
            if number is None:
                raise SystemExit(f"ran out of users after {logins} logins: raise --users")
            hash_cpu += login(number)
            logins += 1
        elapsed, cpu = time.perf_counter() - started, cpu_clock() - cpu_started
        app_cpu = app_clock() - app_started if app_clock else None
        done.append(Round(logins, elapsed, cpu, app_cpu, hash_cpu, hash_alone()))
    return done


def client_login(url: str, secret_key: str) -> tuple[Callable[[int], float], Callable[[], float]]:
    """Logging in with the test client, and the clock of the CPU time spent inside the app
    (from the WSGI call to the response, as a server would run it; the client's own work of
    building requests and reading responses is outside)."""
    app = create_app(bench_config(url, secret_key))
    inside = [0.0]
    inner = app.wsgi_app

    def wsgi_app(environ, start_response):
        started = time.process_time()
        try:
            return inner(environ, start_response)
        finally:
            inside[0] += time.process_time() - started

    app.wsgi_app = wsgi_app  # type: ignore[method-assign]

    def login(number: int) -> float:
        before = hash_cpu_so_far()
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
        return hash_cpu_so_far() - before

    return login, lambda: inside[0]


def http_login(base: str, in_app: list[tuple[float, float, float]]) -> Callable[[int], float]:
    """Logging in over HTTP; appends to `in_app` the CPU time the app itself (not granian)
    spent on the GET, on the POST beside its hash, and of that after the hash."""
    import requests

    def login(number: int) -> float:
        with requests.Session() as browser:  # a fresh browser: no cookies, its own connection
            page = browser.get(f"{base}/login", timeout=30)
            token = csrf_token(page.text)
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
            f"{base}/",
        ):
            raise SystemExit(f"login of {username_of(number)} failed: {answer.status_code}")
        hashed = float(answer.headers[HASH_HEADER])
        in_app.append(
            (
                float(page.headers[APP_HEADER]),
                float(answer.headers[APP_HEADER]) - hashed,
                float(answer.headers[AFTER_HEADER]),
            )
        )
        return hashed

    return login


def report(way: str, rounds: list[Round]) -> None:
    with_client = rounds[0].app_cpu is not None
    print(f"\n{way}: {len(rounds)} rounds")
    print(
        "  logins  wall s   CPU/login   its hash   hash alone   web part adds to its hash"
        + (" (with the client's work)" if with_client else "")
        + " / to the hash alone"
    )
    for r in rounds:
        client = f" ({r.overhead_with_client * 100:4.1f} %)" if with_client else ""
        print(
            f"  {r.logins:6d}  {r.elapsed:6.1f}  {r.cpu_per_login * 1000:7.2f} ms  "
            f"{r.hash_cpu / r.logins * 1000:6.2f} ms  {r.hash_alone * 1000:8.2f} ms   "
            f"{r.overhead * 100:6.1f} %{client}   {r.overhead_vs_alone * 100:6.1f} %"
        )
    overhead = statistics.median(r.overhead for r in rounds)
    alone = statistics.median(r.overhead_vs_alone for r in rounds)
    cpu = statistics.median(r.cpu_per_login for r in rounds)
    spread = max(r.overhead for r in rounds) - min(r.overhead for r in rounds)
    print(
        f"  median {1 / cpu:.1f} logins/s per core ({cpu * 1000:.1f} ms CPU each, "
        f"{sum(r.logins for r in rounds) / sum(r.elapsed for r in rounds):.1f}/s wall)"
    )
    print(
        f"  web part adds {overhead * 100:.1f} % to the hash cost (rounds within "
        f"{spread * 100:.1f} points)   target < {TARGET_OVERHEAD * 100:.0f} %   "
        f"ratio {overhead / TARGET_OVERHEAD:4.2f}   (vs hash alone: {alone * 100:.1f} %)"
    )
    if with_client:
        whole = statistics.median(r.overhead_with_client for r in rounds)
        print(f"  with the test client's own work in the same process: {whole * 100:.1f} %")


def report_split(rounds: list[Round], in_app: list[tuple[float, float, float]]) -> None:
    """Where the web part over HTTP goes: the app's own CPU on the GET and on the POST (beside
    the hash: before and after it), and the rest, which is granian's and the kernel's
    (connections, HTTP)."""
    web = statistics.median(r.cpu_per_login - r.hash_cpu / r.logins for r in rounds)
    get = statistics.median(g for g, _, _ in in_app)
    post = statistics.median(p for _, p, _ in in_app)
    after = statistics.median(a for _, _, a in in_app)
    print(
        f"  web part per login {web * 1000:.2f} ms: the app {get * 1000:.2f} ms on the GET and "
        f"{post * 1000:.2f} ms on the POST beside its hash ({after * 1000:.2f} ms of it after "
        f"the hash), the server and the kernel {(web - get - post) * 1000:.2f} ms (medians)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=3000, help="persons to create (default 3000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per way (default 5)")
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per round (default 3)")
    parser.add_argument("--no-http", action="store_true", help="skip the real HTTP server")
    args = parser.parse_args()
    if args.users < 4 * WARM_UP:
        parser.error(f"--users must be at least {4 * WARM_UP}")
    secret_key = secrets.token_urlsafe(32)  # one per run, shared with the server it starts
    work = Path(tempfile.mkdtemp(prefix="idp-bench-login-"))
    try:
        url = f"sqlite:///{work / 'login.sqlite3'}"
        started = time.perf_counter()
        params = build_database(url, args.users, secret_key)
        print(
            f"{args.users} learners with Argon2id hashes (m={params.memory_kib} KiB, "
            f"t={params.time_cost}, p={params.parallelism}) on SQLite: "
            f"{time.perf_counter() - started:.1f} s "
            f"(machine: {os.cpu_count()} cores, {dt.date.today()})\n"
        )
        stored = passwords.hash_password(params, password_of(0))
        cpu = time_hash(params, stored, HASH_SAMPLES)
        print(
            f"one hash verification alone: {cpu * 1000:.1f} ms CPU (median of {HASH_SAMPLES}); "
            f"hash-bound limit {1 / cpu:.1f} logins/s per core"
        )

        def hash_alone() -> float:
            return time_hash(params, stored, ROUND_HASH_SAMPLES)

        passwords.verify = _timed_verify
        # Each way gets its own half of the persons: nobody logs in twice.
        half = args.users if args.no_http else args.users // 2
        login, app_clock = client_login(url, secret_key)
        report(
            "login form, Flask test client (CPU inside the app)",
            run_rounds(
                login,
                iter(range(half)),
                args.rounds,
                args.seconds,
                time.process_time,
                hash_alone,
                app_clock,
            ),
        )
        if args.no_http:
            return
        try:
            import requests
        except ImportError:
            print("login form over HTTP: skipped (requests is not installed)")
            return
        port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("IDP_")},
            "IDP_DATABASE_URL": url,
            "IDP_SECRET_KEY": secret_key,
            "PYTHONPATH": os.pathsep.join([str(REPO / "bench"), str(REPO)]),
        }
        command = server_command(
            "granian", "login:measured_app", port, REPO / ".venv" / "bin", True
        )
        base = f"http://127.0.0.1:{port}"
        with serving(command, port, env, work, work / "granian.log") as pid:
            server = descendants([pid])
            in_app: list[tuple[float, float, float]] = []
            rounds = run_rounds(
                http_login(base, in_app),
                iter(range(half, args.users)),
                args.rounds,
                args.seconds,
                lambda: cpu_seconds(server),
                lambda: float(requests.get(f"{base}{HASH_PATH}", timeout=60).text),
            )
        report("login form, HTTP (granian, server CPU)", rounds)
        report_split(rounds, in_app)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
