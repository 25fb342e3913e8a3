"""Load generator for bench/oidc.py: one OIDC load against one provider, from its own processes.

Modes: `cc` (client-credentials grants), `refresh` (refresh grants; each chain sends the refresh
token it got last, so rotation is exercised), `login` (authorize with PKCE, the login form(s),
back to authorize, the code exchanged at the token endpoint; every login is a different
person with a fresh cookie jar). Workers are threads in --processes forked processes; each
keeps one HTTP/1.1 connection and reopens it when the server closes it. Every round reads the
CPU seconds of the server's processes (--server-pid and its descendants) from /proc, so the
caller can state rates per server CPU-second, and those of the database server (--db-pid), if
it runs in processes of its own. Standard library only, so any Python runs it.
Prints one JSON object: the rounds, the first error seen, the next unused person number.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import json
import multiprocessing as mp
import os
import resource
import secrets
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from html.parser import HTMLParser

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
LOGIN_FIELDS = ("login_name", "login", "username")  # ours, Canaille's
MAX_STEPS = 12  # redirects and forms in one login before we call it a loop


# ---------------------------------------------------------------- CPU of the server


def descendants(roots: list[int]) -> list[int]:
    """`roots` and every process below them, from /proc."""
    parent = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    stat = handle.read()
            except OSError:
                continue
            parent[int(entry)] = int(stat.rpartition(")")[2].split()[1])
    found, todo = set(), [p for p in roots if p in parent]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo += [child for child, pp in parent.items() if pp == pid]
    return sorted(found)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes `pids` have used so far."""
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rpartition(")")[2].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / CLOCK_TICKS


def machine_ticks() -> tuple[int, int]:
    """(all, idle) jiffies of the whole machine, to say how busy it was."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    return sum(values[:8]), values[3] + values[4]


def own_cpu() -> float:
    """CPU seconds of this process and of its waited-for children (the workers)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


# ---------------------------------------------------------------- HTTP


class Connection:
    """One keep-alive connection; reopened when the server closes it (gunicorn's sync workers)."""

    def __init__(self, base: str) -> None:
        parts = urllib.parse.urlsplit(base)
        self.http = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=60)

    def request(self, method: str, path: str, body: str | None = None, headers: dict | None = None):
        for attempt in (0, 1):
            try:
                self.http.request(method, path, body=body, headers=headers or {})
                response = self.http.getresponse()
                data = response.read()
            except (http.client.HTTPException, OSError):
                self.http.close()  # a kept-alive connection the server had dropped: once more
                if attempt:
                    raise
                continue
            if response.getheader("Connection", "").lower() == "close":
                self.http.close()
            return response, data
        raise AssertionError("unreachable")


class Browser:
    """A fresh cookie jar on a worker's connection: one person's browser for one login."""

    def __init__(self, connection: Connection) -> None:
        self.connection, self.cookies = connection, {}

    def go(self, method: str, path: str, body: str | None = None):
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        response, data = self.connection.request(method, path, body, headers)
        for cookie in response.msg.get_all("Set-Cookie") or []:
            pair, *attributes = cookie.split(";")
            name, _, value = pair.strip().partition("=")
            expired = ";".join(attributes).lower()
            if not value or "max-age=0" in expired or "1970" in expired:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return response, data


class Forms(HTMLParser):
    """The forms of a page with their inputs and buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self.current: dict | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self.current = {
                "action": attributes.get("action"),
                "method": (attributes.get("method") or "get").lower(),
                "inputs": [],
            }
            self.forms.append(self.current)
        elif tag in ("input", "button") and self.current is not None:
            self.current["inputs"].append({"tag": tag, **attributes})

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None


def filled_form(html: str, user: str, password: str) -> tuple[str | None, list] | None:
    """(action, fields) of the page's login (or consent) form, filled in as a person would."""
    parser = Forms()
    parser.feed(html)
    posts = [f for f in parser.forms if f["method"] == "post"]
    chosen = next(
        (f for f in posts if {i.get("name") for i in f["inputs"]} & {*LOGIN_FIELDS, "password"}),
        posts[0] if posts else None,
    )
    if chosen is None:
        return None
    fields, pressed = [], False
    for item in chosen["inputs"]:
        name = item.get("name")
        kind = (item.get("type") or ("submit" if item["tag"] == "button" else "text")).lower()
        if not name:
            continue
        if kind == "submit":
            if not pressed and item.get("value") is not None:  # the first named button
                fields.append((name, item["value"]))
                pressed = True
        elif name in LOGIN_FIELDS:
            fields.append((name, user))
        elif name == "password":
            fields.append((name, password))
        elif kind == "checkbox":
            if "checked" in item:
                fields.append((name, item.get("value") or "on"))
        else:
            fields.append((name, item.get("value") or ""))
    return chosen["action"], fields


def local_path(url: str, relative_to: str) -> str:
    """Path and query of `url` on the server we talk to."""
    parts = urllib.parse.urlsplit(urllib.parse.urljoin(relative_to, url))
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class Load:
    """What every worker needs to know about the provider and the load."""

    args: argparse.Namespace
    token_headers: dict = field(init=False)

    def __post_init__(self) -> None:
        a = self.args
        secret = urllib.parse.quote(a.client_secret)
        basic = base64.b64encode(f"{urllib.parse.quote(a.client_id)}:{secret}".encode())
        self.token_headers = {
            "Authorization": "Basic " + basic.decode(),
            "Content-Type": "application/x-www-form-urlencoded",
        }

    def token(self, connection: Connection, form: dict) -> dict:
        path = self.args.token_path
        response, data = connection.request(
            "POST", path, urllib.parse.urlencode(form), self.token_headers
        )
        if response.status != 200:
            raise RuntimeError(f"token endpoint: HTTP {response.status} {data[:200]!r}")
        return json.loads(data)

    def login(self, connection: Connection, number: int) -> tuple[dict, int]:
        """One person's full code-flow login; returns the token response and the requests made."""
        a = self.args
        user = a.user.format(i=number)
        browser = Browser(connection)
        verifier, challenge = pkce()
        query = {
            "response_type": "code",
            "client_id": a.client_id,
            "redirect_uri": a.redirect_uri,
            "scope": a.scope,
            "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        path, method, body = f"{a.authorize_path}?{urllib.parse.urlencode(query)}", "GET", None
        for step in range(1, MAX_STEPS + 1):
            response, data = browser.go(method, path, body)
            if response.status in (301, 302, 303, 307):
                location = response.getheader("Location")
                if location.startswith(a.redirect_uri):
                    answer = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
                    if "code" not in answer:
                        raise RuntimeError(f"{user}: no code in {location}")
                    form = {
                        "grant_type": "authorization_code",
                        "code": answer["code"][0],
                        "redirect_uri": a.redirect_uri,
                        "code_verifier": verifier,
                    }
                    return self.token(connection, form), step + 1
                path = local_path(location, path)
                if response.status != 307:
                    method, body = "GET", None
            elif response.status == 200:
                form = filled_form(data.decode("utf-8", "replace"), user, a.password)
                if form is None:
                    raise RuntimeError(f"{user}: no form at {path}")
                action, fields = form
                path, method, body = (
                    local_path(action or path, path),
                    "POST",
                    urllib.parse.urlencode(fields),
                )
            else:
                raise RuntimeError(
                    f"{user}: HTTP {response.status} at {method} {path}: {data[:200]!r}"
                )
        raise RuntimeError(f"{user}: more than {MAX_STEPS} steps")


# ---------------------------------------------------------------- workers


class People:
    """Person numbers shared by all processes: nobody logs in twice."""

    def __init__(self, first: int, end: int) -> None:
        self.next = mp.get_context("fork").Value("q", first)
        self.end = end

    def take(self) -> int | None:
        with self.next.get_lock():
            number = self.next.value
            if number >= self.end:
                return None
            self.next.value = number + 1
        return number


def worker(load: Load, people: People, chains: list[list[str]], stop, out: dict) -> None:
    """Requests of one kind until `stop`; counts successes, failures, and times each."""
    a = load.args
    connection = Connection(a.base)
    ok = failed = requests = 0
    times: list[float] = []
    error = None
    turn = 0
    while not stop.is_set():
        begun = time.perf_counter()
        try:
            if a.mode == "cc":
                load.token(connection, {"grant_type": "client_credentials"})
                requests += 1
            elif a.mode == "refresh":
                chain = chains[turn % len(chains)]
                turn += 1
                answer = load.token(
                    connection, {"grant_type": "refresh_token", "refresh_token": chain[0]}
                )
                requests += 1
                if not answer.get("refresh_token") or answer["refresh_token"] == chain[0]:
                    raise RuntimeError("refresh grant without a new refresh token (no rotation)")
                chain[0] = answer["refresh_token"]
            else:
                number = people.take()
                if number is None:
                    out["ran_out"] = True
                    break
                _, made = load.login(connection, number)
                requests += made
            ok += 1
            times.append(time.perf_counter() - begun)
        except Exception as problem:  # counted and reported; the load goes on
            failed += 1
            error = error or repr(problem)[:300]
            connection.http.close()
    if chains:  # the next round goes on where this one stopped, not at the chain used last
        chains[:] = chains[turn % len(chains) :] + chains[: turn % len(chains)]
    out.update(ok=ok, failed=failed, requests=requests, times=times, error=error)


def process_main(load: Load, people: People, chains: list, start, stop, results) -> None:
    """One forked process: its threads, its share of the chains; reports through `results`."""
    threads, outs = [], []
    for index in range(load.args.threads):
        out: dict = {}
        mine = chains[index] if chains else []
        outs.append(out)
        threads.append(threading.Thread(target=worker, args=(load, people, mine, stop, out)))
    start.wait()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put((outs, chains))


def run_round(load: Load, people: People, chains: list, seconds: float) -> tuple[dict, list]:
    """All workers for `seconds`; returns the figures and the chains as they now stand."""
    a = load.args
    ctx = mp.get_context("fork")
    start, stop, results = ctx.Event(), ctx.Event(), ctx.Queue()
    processes = [
        ctx.Process(
            target=process_main,
            args=(load, people, chains[p] if chains else [], start, stop, results),
        )
        for p in range(a.processes)
    ]
    for process in processes:
        process.start()
    time.sleep(0.2)  # let the forked processes reach start.wait()
    pids, db_pids = descendants(a.server_pid), descendants(a.db_pid)
    all0, idle0 = machine_ticks()
    server0, db0 = cpu_seconds(pids), cpu_seconds(db_pids)
    own0, wall0 = own_cpu(), time.perf_counter()
    start.set()
    time.sleep(seconds)
    stop.set()
    reported = [results.get() for _ in processes]
    for process in processes:
        process.join()
    wall = time.perf_counter() - wall0
    server, db, own = cpu_seconds(pids) - server0, cpu_seconds(db_pids) - db0, own_cpu() - own0
    all1, idle1 = machine_ticks()
    outs = [out for outs, _ in reported for out in outs]
    times = sorted(t for out in outs for t in out.get("times", []))
    figures = {
        "ok": sum(o.get("ok", 0) for o in outs),
        "failed": sum(o.get("failed", 0) for o in outs),
        "requests": sum(o.get("requests", 0) for o in outs),
        "wall": wall,
        "server_cpu": server,
        "db_cpu": db,
        "loadgen_cpu": own,
        "machine_busy": 1 - (idle1 - idle0) / max(1, all1 - all0),
        "p50_ms": 1000 * times[len(times) // 2] if times else None,
        "p99_ms": 1000 * times[int(len(times) * 0.99)] if times else None,
        "ran_out": any(o.get("ran_out") for o in outs),
        "error": next((o["error"] for o in outs if o.get("error")), None),
    }
    # The queue hands back copies: the chains' newest tokens come from the reports.
    return figures, [chains_of_process for _, chains_of_process in reported]


def make_chains(load: Load, people: People) -> list:
    """One refresh token per chain, each from a full login of its own person, made in parallel."""
    a = load.args
    per_worker = -(-a.chains // (a.processes * a.threads))
    numbers = [
        [[people.take() for _ in range(per_worker)] for _ in range(a.threads)]
        for _ in range(a.processes)
    ]
    if any(n is None for p in numbers for t in p for n in t):
        raise SystemExit("not enough persons for the refresh chains")

    problems: list[str] = []

    def start(numbers_of_thread: list[int], into: list) -> None:
        connection = Connection(a.base)
        try:
            for number in numbers_of_thread:
                answer, _ = load.login(connection, number)
                if "refresh_token" not in answer:
                    raise RuntimeError(f"no refresh token from a login: {answer}")
                into.append([answer["refresh_token"]])
        except Exception as problem:  # reported below
            problems.append(repr(problem)[:300])

    chains = [[[] for _ in range(a.threads)] for _ in range(a.processes)]
    threads = [
        threading.Thread(target=start, args=(numbers[p][t], chains[p][t]))
        for p in range(a.processes)
        for t in range(a.threads)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if problems:
        raise SystemExit(f"making the refresh chains failed: {problems[0]}")
    return chains


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the provider, e.g. http://127.0.0.1:8080")
    parser.add_argument("--mode", choices=["cc", "refresh", "login"], required=True)
    parser.add_argument("--token-path", required=True)
    parser.add_argument("--authorize-path", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--redirect-uri", required=True)
    parser.add_argument("--scope", default="openid offline_access")
    parser.add_argument("--user", required=True, help="login name; {i} is the person's number")
    parser.add_argument("--password", required=True)
    parser.add_argument("--first-user", type=int, default=0)
    parser.add_argument("--users", type=int, required=True, help="persons 0..N-1 exist")
    parser.add_argument("--chains", type=int, default=32)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--warmup", type=float, default=1)
    parser.add_argument("--server-pid", type=int, nargs="+", required=True)
    parser.add_argument("--db-pid", type=int, nargs="*", default=[])
    args = parser.parse_args()
    load = Load(args)
    people = People(args.first_user, args.users)
    chains = make_chains(load, people) if args.mode == "refresh" else []
    if args.warmup:
        _, chains = run_round(load, people, chains, args.warmup)
    rounds = []
    for _ in range(args.rounds):
        figures, chains = run_round(load, people, chains, args.seconds)
        rounds.append(figures)
    json.dump({"rounds": rounds, "next_user": people.next.value}, sys.stdout)


if __name__ == "__main__":
    main()
