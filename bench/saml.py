"""Benchmark: SAML single sign-on responses per server CPU-second, once the person is logged in.

Serves `idp.wsgi:app` under granian with one worker per core, on SQLite and then on a
throwaway PostgreSQL, with N learners of one school that has itslearning approved for its
learners, and one SP registered for itslearning from python3-saml's metadata (tests/saml_sp.py).
The load generator (bench/saml_peer/loadgen.py, 2 processes x 4 threads, each thread its own
connection and cookie jar) logs every thread in once as its own learner through the login form,
then sends HTTP-Redirect AuthnRequests to /saml/sso: the login session satisfies itslearning,
so each one is answered with the page that POSTs a signed SAMLResponse (Response and Assertion
signed, RSA-SHA256, by pysaml2 in `xmlsec1` processes). The AuthnRequests are python3-saml's
with a fresh ID and IssueInstant, deflated before each round, so the timed loop only sends.
The rate counts pages with a SAMLResponse, per CPU-second of the server's processes (workers,
master and the xmlsec1 processes they ran, from /proc), so other work on the machine moves it
less than the wall rate, which is printed beside, with PostgreSQL's own CPU. A 1-second
warm-up, then --rounds rounds of --seconds; the median round counts.
For context: what one signature costs (pysaml2's sign_statement, as the IdP calls it twice per
response; and one bare `xmlsec1 --sign`), so the signing bound is in view. One response of the
last round is checked by python3-saml as its SP would (signatures, audience, InResponseTo,
the learner's uid), so the figures count real responses.

    .venv/bin/python bench/saml.py [--db sqlite|postgresql|both] [--rounds 3] [--seconds 4]
                                    [--users 1000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
# pysaml2 7.5 names a cipher mode at import time that cryptography has moved; harmless.
warnings.filterwarnings("ignore", "CFB has been moved")

from flask import Flask  # noqa: E402
from oidc import (  # noqa: E402
    PASSWORD,
    SECRET_KEY,
    WORKERS,
    free_port,
    hash_pool,
    server_command,
    serving,
    time_hash,
)
from onelogin.saml2.authn_request import OneLogin_Saml2_Authn_Request  # noqa: E402
from onelogin.saml2.settings import OneLogin_Saml2_Settings  # noqa: E402
from saml_peer.loadgen import ID_MARK, INSTANT_MARK  # noqa: E402

from idp import database  # noqa: E402
from idp.app import create_app  # noqa: E402
from idp.auth.settings import auth_settings  # noqa: E402
from idp.config import load_config  # noqa: E402
from idp.extensions import db  # noqa: E402
from idp.models import ActivationState  # noqa: E402
from idp.oidc import keys  # noqa: E402
from idp.policy import current_policies  # noqa: E402
from idp.saml import providers  # noqa: E402
from idp.saml.server import idp_server  # noqa: E402
from tests import factories as f  # noqa: E402
from tests.pg_server import PostgresServer  # noqa: E402
from tests.saml_sp import Sp, posted_form  # noqa: E402

LOADGEN = Path(__file__).resolve().parent / "saml_peer" / "loadgen.py"
LOADGEN_PROCESSES, LOADGEN_THREADS = 2, 4
USER = "bench.lernende{i:05d}"
SERVICE = "itslearning"
SIGN_SAMPLES = 30
RESPONSE = "urn:oasis:names:tc:SAML:2.0:protocol:Response"


@dataclass(frozen=True)
class Result:
    """The SSO load on one database: medians over the rounds."""

    per_cpu_second: float
    per_wall_second: float
    server_cores: float
    db_cores: float
    loadgen_cores: float
    machine_busy: float
    p50_ms: float
    p99_ms: float
    ok: int
    failed: int
    late: int
    error: str | None


@dataclass(frozen=True)
class SignCost:
    """CPU and wall seconds of one signature, medians; CPU includes the xmlsec1 processes."""

    statement_cpu: float
    statement_wall: float
    bare_cpu: float
    bare_wall: float


# ---------------------------------------------------------------- the IdP's data


def build(app: Flask, learners: int, work: Path) -> tuple[Sp, str]:
    """Migrate; a school with itslearning approved for learners, `learners` learners, one SP
    registered from its metadata. Returns the SP and what the password hashing costs."""
    with app.app_context():
        database.upgrade()
        database.sync_policy_rows(current_policies())
        params = auth_settings().hashing
        hashes = hash_pool(params)
        state = f.small_state(db.session)
        f.activation(db.session, state.schule, SERVICE, ActivationState.LERNENDE_FREIGEGEBEN)
        for number in range(learners):
            person = f.person(
                db.session,
                USER.format(i=number),
                "Bench",
                f"Lernende{number}",
                password_hash=hashes[number % len(hashes)],
            )
            f.kontext(db.session, person, state.schule, "LERN")
            f.kontext(db.session, person, state.klasse, "LERN")
        db.session.commit()
    metadata = app.test_client().get("/saml/metadata")  # makes the SAML key, too
    assert metadata.status_code == 200, metadata.text[:300]
    sp = Sp("bench-lms", metadata.text)
    sp_metadata = work / "sp-metadata.xml"
    sp_metadata.write_text(sp.metadata(), encoding="utf-8")
    with app.app_context():
        providers.register(db.session, current_policies(), source=str(sp_metadata), service=SERVICE)
        db.session.commit()
        db.engine.dispose()
    return sp, f"Argon2id m={params.memory_kib} KiB, one check {time_hash(params) * 1000:.0f} ms"


def request_template(sp: Sp) -> str:
    """python3-saml's AuthnRequest with its ID and IssueInstant replaced by the markers."""
    request = OneLogin_Saml2_Authn_Request(OneLogin_Saml2_Settings(sp.settings()))
    xml = request.get_xml()
    xml = xml.decode() if isinstance(xml, bytes) else xml
    xml = xml.replace(request.get_id(), ID_MARK)
    return re.sub(r'IssueInstant="[^"]+"', f'IssueInstant="{INSTANT_MARK}"', xml)


# ---------------------------------------------------------------- what a signature costs


def sign_cost(app: Flask, signed_xml: str, work: Path) -> SignCost:
    """Sign a real response again, as pysaml2 does it in the IdP, and with a bare xmlsec1."""
    response_id = re.search(r'<(?:\w+:)?Response [^>]*?ID="([^"]+)"', signed_xml)
    assert response_id is not None
    with app.app_context():
        security = idp_server(db.session).sec
        node_id = response_id.group(1)
        document = work / "response.xml"
        document.write_text(signed_xml, encoding="utf-8")
        # The IdP writes its key only while xmlsec1 signs; the bare call gets a copy here.
        key_file = work / "key.pem"
        key_file.write_text(keys.saml_keys(db.session).private_pem, encoding="utf-8")
        key_file.chmod(0o600)
        bare = [
            shutil.which("xmlsec1") or "xmlsec1",
            *("--sign", "--privkey-pem", str(key_file), "--id-attr:ID", RESPONSE),
            *("--node-id", node_id, "--output", str(work / "signed.xml"), str(document)),
        ]
        (statement_cpu, statement_wall), (bare_cpu, bare_wall) = _timed(
            lambda: security.sign_statement(signed_xml, node_name=RESPONSE, node_id=node_id),
            lambda: subprocess.run(bare, check=True, capture_output=True),
        )
        key_file.unlink()
        db.engine.dispose()
    return SignCost(statement_cpu, statement_wall, bare_cpu, bare_wall)


def _timed(*actions) -> list[tuple[float, float]]:
    """Median CPU (with reaped children) and wall seconds of each action; taken in turns, so
    a machine busy with other work weighs on each alike."""
    cpus: list[list[float]] = [[] for _ in actions]
    walls: list[list[float]] = [[] for _ in actions]
    for _ in range(SIGN_SAMPLES):
        for index, action in enumerate(actions):
            before, started = _cpu_with_children(), time.perf_counter()
            action()
            walls[index].append(time.perf_counter() - started)
            cpus[index].append(_cpu_with_children() - before)
    return [(statistics.median(c), statistics.median(w)) for c, w in zip(cpus, walls, strict=True)]


def _cpu_with_children() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


# ---------------------------------------------------------------- the load


def run_load(base: str, pids: list[int], db_pids: list[int], template: Path, args):
    """The load generator's rounds; returns the medians and the sampled response."""
    command = [
        sys.executable,
        str(LOADGEN),
        *("--base", base, "--template", str(template)),
        *("--user", USER, "--password", PASSWORD),
        *("--processes", str(LOADGEN_PROCESSES), "--threads", str(LOADGEN_THREADS)),
        *("--rounds", str(args.rounds), "--seconds", str(args.seconds)),
        *("--server-pid", *map(str, pids)),
        *("--db-pid", *map(str, db_pids)),
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"load generator failed:\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout)
    rounds = report["rounds"]

    def median(key) -> float:
        return statistics.median(key(r) for r in rounds)

    result = Result(
        per_cpu_second=median(lambda r: r["ok"] / r["server_cpu"] if r["server_cpu"] else 0.0),
        per_wall_second=median(lambda r: r["ok"] / r["wall"]),
        server_cores=median(lambda r: r["server_cpu"] / r["wall"]),
        db_cores=median(lambda r: r["db_cpu"] / r["wall"]),
        loadgen_cores=median(lambda r: r["loadgen_cpu"] / r["wall"]),
        machine_busy=median(lambda r: r["machine_busy"]),
        p50_ms=median(lambda r: r["p50_ms"] or 0.0),
        p99_ms=median(lambda r: r["p99_ms"] or 0.0),
        ok=sum(r["ok"] for r in rounds),
        failed=sum(r["failed"] for r in rounds),
        late=sum(r["late"] for r in rounds),
        error=next((r["error"] for r in rounds if r["error"]), None),
    )
    return result, report["sample"]


def validated(sp: Sp, sample: dict | None) -> tuple[str, str]:
    """python3-saml accepts the sampled response for the learner who asked; its XML and a note."""
    if sample is None:
        raise SystemExit("no response was sampled")
    target, fields = posted_form(SimpleNamespace(text=sample["html"]))
    auth = sp.accept(fields, sample["request_id"])
    problems = auth.get_errors()
    uid = auth.get_friendlyname_attributes().get("uid")
    if problems or not auth.is_authenticated() or target != sp.acs or uid != [sample["user"]]:
        raise SystemExit(
            f"python3-saml refused the sampled response: {problems} "
            f"{auth.get_last_error_reason()} (to {target}, uid {uid})"
        )
    xml = auth.get_last_response_xml()
    xml = xml.decode() if isinstance(xml, bytes) else xml
    return xml, f"{len(xml):,} bytes, accepted by python3-saml for {sample['user']}"


def bench_database(kind: str, work: Path, args) -> tuple[Result, SignCost]:
    print(f"\n== {kind} ==", flush=True)
    pg = None
    if kind == "postgresql":
        pg = PostgresServer().start()
        assert pg.process is not None
        createdb = [str(pg.bin / "createdb"), "-h", "127.0.0.1", "-p", str(pg.port)]
        subprocess.run([*createdb, "-U", "postgres", "idp"], check=True)
        url, db_pids = pg.url("idp"), [pg.process.pid]
    else:
        url, db_pids = f"sqlite:///{work / 'idp.sqlite3'}", []
    try:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        started = time.perf_counter()
        env = {"IDP_DATABASE_URL": url, "IDP_SECRET_KEY": SECRET_KEY, "IDP_ISSUER": base}
        app = create_app(load_config(None, env=env))
        sp, hashing = build(app, args.users, work)
        print(
            f"  {args.users:,} learners ({hashing}), one SP for {SERVICE}, "
            f"built in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        template = work / "authn-request.xml"
        template.write_text(request_template(sp), encoding="utf-8")
        server_env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")} | env
        command = server_command(
            "granian", "idp.wsgi:app", port, Path(sys.executable).parent, False
        )
        with serving(command, port, server_env, REPO, work / "server.log") as pid:
            result, sample = run_load(base, [pid], db_pids, template, args)
        xml, note = validated(sp, sample)
        cost = sign_cost(app, xml, work)
    finally:
        if pg is not None:
            pg.stop()
    show(result, cost)
    print(f"  sampled response: {note}")
    return result, cost


def show(result: Result, cost: SignCost) -> None:
    notes = []
    if result.db_cores:
        notes.append(f"PostgreSQL beside: {result.db_cores:.2f} cores")
    if result.failed:
        notes.append(f"{result.failed} failed, e.g. {result.error}")
    if result.late:
        notes.append(f"{result.late} AuthnRequests made inside the rounds")
    bound = 1 / (2 * cost.statement_cpu)
    print(
        f"  SSO responses {result.per_cpu_second:7.1f} /s per server CPU-second   "
        f"({result.per_wall_second:.1f}/s wall on {result.server_cores:.2f} server cores, "
        f"p50 {result.p50_ms:.0f} ms, p99 {result.p99_ms:.0f} ms; load generator "
        f"{result.loadgen_cores:.2f} cores, machine {result.machine_busy:.0%} busy)"
        + ("\n  " + "; ".join(notes) if notes else ""),
    )
    print(
        f"  one signature: pysaml2 sign_statement {cost.statement_cpu * 1000:.1f} ms CPU "
        f"({cost.statement_wall * 1000:.1f} ms wall), bare xmlsec1 --sign "
        f"{cost.bare_cpu * 1000:.1f} ms CPU ({cost.bare_wall * 1000:.1f} ms wall); two per "
        f"response: signing bound {bound:.0f} /s per CPU-second, "
        f"signing {2 * cost.statement_cpu * result.per_cpu_second:.0%} of the server's CPU",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds (3)")
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds per round (4)")
    parser.add_argument("--users", type=int, default=1000, help="learners in the database (1000)")
    args = parser.parse_args()
    threads = LOADGEN_PROCESSES * LOADGEN_THREADS
    if args.users < threads:
        parser.error(f"--users must be at least {threads}: every thread logs in as its own")
    if not (Path(sys.executable).parent / "granian").exists():
        parser.error("granian is not installed here: .venv/bin/pip install granian")
    started = time.perf_counter()
    print(
        f"SAML SSO of logged-in learners against idp.wsgi:app under granian ({WORKERS} workers), "
        f"{args.rounds} rounds of {args.seconds:g} s each, load generator "
        f"{LOADGEN_PROCESSES} processes x {LOADGEN_THREADS} threads "
        f"(machine: {os.cpu_count()} cores, {dt.date.today()})"
    )
    work = Path(tempfile.mkdtemp(prefix="idp-bench-saml-"))
    try:
        results = {}
        for kind in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
            (work / kind).mkdir()
            results[kind] = bench_database(kind, work / kind, args)
        print(f"\nper server CPU-second, granian with {WORKERS} workers, medians of the rounds:")
        for kind, (result, cost) in results.items():
            print(
                f"  {kind:10s} {result.per_cpu_second:7.1f} SSO responses   "
                f"signing bound {1 / (2 * cost.statement_cpu):5.0f}   "
                f"share of the bound {result.per_cpu_second * 2 * cost.statement_cpu:4.2f}"
            )
        print(f"\n(whole run {time.perf_counter() - started:.0f} s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
