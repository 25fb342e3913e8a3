"""Load generator for bench/saml.py: SAML single sign-on of logged-in browsers, from its own
processes.

--processes forked processes of --threads threads; each thread keeps one HTTP/1.1 connection
and one cookie jar, logs in once through the login form as its own learner, then, round after
round, sends HTTP-Redirect AuthnRequests to /saml/sso and counts the 200 pages that carry a
SAMLResponse. The AuthnRequests come from --template (an AuthnRequest made by the SP, its ID
and IssueInstant replaced by markers): before each round every thread fills in a fresh ID and
the current time, deflates and encodes a batch of them, so the timed loop only sends. The
server's CPU seconds are read from /proc for its processes (--server-pid and its descendants)
including the children they have reaped, since pysaml2 signs in `xmlsec1` processes; those of
the database server (--db-pid) beside. Standard library only, so any Python runs it.
Prints one JSON object: the rounds after the warm-up, one sampled response of the last round.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import math
import multiprocessing as mp
import os
import queue
import secrets
import sys
import threading
import time
import urllib.parse
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from oidc_peer.loadgen import (
    CLOCK_TICKS,
    Browser,
    Connection,
    descendants,
    filled_form,
    local_path,
    machine_ticks,
)

ID_MARK, INSTANT_MARK = "@ID@", "@INSTANT@"
FIRST_BATCH = 200  # AuthnRequests per thread for the warm-up; then sized from the last round
BARRIER_SECONDS = 300


def cpu_with_children(pids: list[int]) -> float:
    """User + system CPU seconds of `pids`, with that of the children they have waited for
    (loadgen.cpu_seconds leaves those out: OIDC spawns none, SAML signs in xmlsec1)."""
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rpartition(")")[2].split()
        except OSError:
            continue
        ticks += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return ticks / CLOCK_TICKS


def authn_requests(template: str, count: int) -> list[tuple[str, str]]:
    """`count` (path with query, request id) pairs, issued now (HTTP-Redirect binding)."""
    instant = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    made = []
    for _ in range(count):
        request_id = "_" + secrets.token_hex(20)
        xml = template.replace(ID_MARK, request_id).replace(INSTANT_MARK, instant)
        deflated = zlib.compress(xml.encode(), 9)[2:-4]  # raw DEFLATE: no zlib header, checksum
        query = urllib.parse.urlencode({"SAMLRequest": base64.b64encode(deflated).decode()})
        made.append((f"/saml/sso?{query}", request_id))
    return made


def log_in(browser: Browser, user: str, password: str) -> None:
    """The login form, as a person fills it in: GET for the CSRF token, then POST."""
    response, data = browser.go("GET", "/login")
    if response.status != 200:
        raise RuntimeError(f"{user}: GET /login: HTTP {response.status}")
    form = filled_form(data.decode("utf-8", "replace"), user, password)
    if form is None:
        raise RuntimeError(f"{user}: no login form")
    action, fields = form
    path = local_path(action or "/login", "/login")
    response, data = browser.go("POST", path, urllib.parse.urlencode(fields))
    if response.status not in (302, 303) or response.getheader("Location", "").startswith("/login"):
        raise RuntimeError(f"{user}: login refused: HTTP {response.status} {data[:200]!r}")


def thread_main(args, template: str, number: int, shared: dict, results, sampler: bool) -> None:
    """One browser: log in, then each round a fresh batch of AuthnRequests until the deadline."""
    user = args.user.format(i=number)
    connection = Connection(args.base)
    browser = Browser(connection)
    login_error = None
    try:
        log_in(browser, user, args.password)
    except Exception as problem:  # reported with every round; the others go on
        login_error = repr(problem)[:300]
    for round_number in range(args.rounds + 1):
        shared["sized"].wait()  # the batch size for this round is set
        batch = authn_requests(template, shared["batch"].value)
        shared["ready"].wait()
        shared["go"].wait()
        deadline = shared["deadline"].value
        ok = failed = late = 0
        times: list[float] = []
        error, sample = login_error, None
        while login_error is None and time.monotonic() < deadline:
            if not batch:
                batch = authn_requests(template, 1)
                late += 1
            path, request_id = batch.pop()
            begun = time.perf_counter()
            try:
                response, data = browser.go("GET", path)
                if response.status != 200 or b'name="SAMLResponse"' not in data:
                    raise RuntimeError(f"{user}: HTTP {response.status} {data[:200]!r}")
            except Exception as problem:  # counted and reported; the load goes on
                failed += 1
                error = error or repr(problem)[:300]
                connection.http.close()
                continue
            times.append(time.perf_counter() - begun)
            ok += 1
            if sampler and sample is None and round_number == args.rounds:
                sample = {"user": user, "request_id": request_id, "html": data.decode()}
        results.put(
            {
                "round": round_number,
                "ok": ok,
                "failed": failed + (1 if login_error else 0),
                "late": late,
                "times": times,
                "error": error,
                "sample": sample,
            }
        )


def process_main(args, template: str, first: int, shared: dict, results) -> None:
    threads = [
        threading.Thread(
            target=thread_main,
            args=(args, template, first + index, shared, results, first == 0 and index == 0),
        )
        for index in range(args.threads)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the IdP, e.g. http://127.0.0.1:8080")
    parser.add_argument("--template", required=True, help="file: AuthnRequest with markers")
    parser.add_argument("--user", required=True, help="login name; {i} is the learner's number")
    parser.add_argument("--password", required=True)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--warmup", type=float, default=1)
    parser.add_argument("--server-pid", type=int, nargs="+", required=True)
    parser.add_argument("--db-pid", type=int, nargs="*", default=[])
    args = parser.parse_args()
    template = Path(args.template).read_text(encoding="utf-8")
    workers = args.processes * args.threads
    ctx = mp.get_context("fork")
    shared = {
        "batch": ctx.Value("i", FIRST_BATCH),
        "deadline": ctx.Value("d", 0.0),
        "sized": ctx.Barrier(workers + 1, timeout=BARRIER_SECONDS),
        "ready": ctx.Barrier(workers + 1, timeout=BARRIER_SECONDS),
        "go": ctx.Barrier(workers + 1, timeout=BARRIER_SECONDS),
    }
    results = ctx.Queue()
    processes = [
        ctx.Process(target=process_main, args=(args, template, p * args.threads, shared, results))
        for p in range(args.processes)
    ]
    for process in processes:
        process.start()
    rounds, sample = [], None
    for round_number in range(args.rounds + 1):
        seconds = args.seconds if round_number else args.warmup
        shared["sized"].wait()  # logged in (first round)
        shared["ready"].wait()  # batches made
        pids, db_pids = descendants(args.server_pid), descendants(args.db_pid)
        loadgen_pids = descendants([os.getpid()])
        all0, idle0 = machine_ticks()
        server0, db0 = cpu_with_children(pids), cpu_with_children(db_pids)
        own0, wall0 = cpu_with_children(loadgen_pids), time.perf_counter()
        shared["deadline"].value = time.monotonic() + seconds
        shared["go"].wait()
        try:
            outs = [results.get(timeout=seconds + 120) for _ in range(workers)]
        except queue.Empty:
            raise SystemExit("a load generator thread did not report") from None
        wall = time.perf_counter() - wall0
        server, db = cpu_with_children(pids) - server0, cpu_with_children(db_pids) - db0
        own = cpu_with_children(loadgen_pids) - own0
        all1, idle1 = machine_ticks()
        times = sorted(t for out in outs for t in out["times"])
        ok = sum(out["ok"] for out in outs)
        # Enough requests for the next round at half as fast again as this one.
        shared["batch"].value = max(
            FIRST_BATCH, math.ceil(1.5 * ok / wall * args.seconds / workers)
        )
        sample = next((out["sample"] for out in outs if out["sample"]), sample)
        if not round_number:
            continue
        rounds.append(
            {
                "ok": ok,
                "failed": sum(out["failed"] for out in outs),
                "late": sum(out["late"] for out in outs),
                "wall": wall,
                "server_cpu": server,
                "db_cpu": db,
                "loadgen_cpu": own,
                "machine_busy": 1 - (idle1 - idle0) / max(1, all1 - all0),
                "p50_ms": 1000 * times[len(times) // 2] if times else None,
                "p99_ms": 1000 * times[int(len(times) * 0.99)] if times else None,
                "error": next((out["error"] for out in outs if out["error"]), None),
            }
        )
    for process in processes:
        process.join()
    json.dump({"rounds": rounds, "sample": sample}, sys.stdout)


if __name__ == "__main__":
    main()
