"""Provisioning from the command line, as operators run it: `idp worker`, `idp sync`, `idp
outbox`, against a real slapd; and a worker killed mid-batch (kill -9)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import ldap3
import pytest
from sqlalchemy import select

from idp.models import OutboxEvent
from tests import factories as f
from tests.conftest import TEST_SECRET
from tests.provisioning import changed, mail_directory, school
from tests.slapd_server import SlapdServer
from tests.web import data

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture(scope="module")
def slapd() -> Iterator[SlapdServer]:
    server = SlapdServer().start()
    yield server
    server.stop()


@pytest.fixture
def env(slapd, tmp_path, database_url) -> dict[str, str]:
    directory = mail_directory(slapd)
    config = tmp_path / "idp.toml"
    config.write_text(
        "[connectors.ldap_mail]\n"
        f'url = "{slapd.url}"\n'
        f'bind_dn = "{slapd.admin_dn}"\n'
        f'base_dn = "{directory.base_dn}"\n'
        "timeout = 2\n"
        "[provisioning]\n"
        "lease_seconds = 2\n",
        encoding="utf-8",
    )
    return {
        "IDP_DATABASE_URL": database_url,
        "IDP_CONFIG": str(config),
        "IDP_CONNECTOR_LDAP_MAIL_PASSWORD": slapd.admin_password,
        "BASE_DN": directory.base_dn,
    }


def _uids(slapd, base_dn) -> list[str]:
    with slapd.connect() as connection:
        connection.search(base_dn, "(ou=personen)", ldap3.LEVEL)
        if not connection.entries:
            return []  # the worker has not made its branch yet
        connection.search(
            f"ou=personen,{base_dn}", "(objectClass=inetOrgPerson)", attributes=["uid"]
        )
        return sorted(str(e["uid"].value) for e in connection.entries)


def test_worker_sync_and_status(site, slapd, env, run_idp):
    world = school(site)
    changed(site, world.teacher, world.other_teacher, world.learner)

    worked = run_idp("worker", "--once", "--json", env=env)
    assert worked.returncode == 0, worked.stderr
    assert json.loads(worked.stdout)["written"] == 2
    with slapd.connect() as connection:  # behind our back: one entry goes, one is changed
        connection.delete(f"uid=tina.tafel,ou=personen,{env['BASE_DN']}")
        connection.modify(
            f"uid=tom.lehrer,ou=personen,{env['BASE_DN']}", {"sn": [("MODIFY_REPLACE", ["Falsch"])]}
        )

    report = run_idp("sync", "email", "--full", "--report", "--json", env=env)
    repaired = run_idp("sync", "email", "--full", "--json", env=env)
    again = run_idp("sync", "email", "--full", "--report", "--json", env=env)
    status = run_idp("sync", "status", "--json", env=env)

    drift = json.loads(report.stdout)
    assert (drift["missing"], drift["changed"], drift["extra"]) == (1, 1, 0), report.stderr
    assert json.loads(repaired.stdout)["repaired"] is True
    assert json.loads(again.stdout)["missing"] == json.loads(again.stdout)["changed"] == 0
    assert _uids(slapd, env["BASE_DN"]) == ["tina.tafel", "tom.lehrer"]
    assert json.loads(status.stdout) == {"accounts": {"email": {"ok": 2}}, "outbox": {"done": 3}}


def test_dead_events_are_listed_and_replayed(site, slapd, env, run_idp):
    world = school(site)
    with slapd.connect() as connection:
        connection.add(f"ou=personen,{env['BASE_DN']}", ["organizationalUnit"], {"ou": "personen"})
        connection.add(
            f"uid=tom.lehrer,ou=personen,{env['BASE_DN']}",
            ["inetOrgPerson"],
            {"cn": "Fremd", "sn": "Fremd"},
        )
    changed(site, world.teacher)
    run_idp("worker", "--once", env=env)

    dead = run_idp("outbox", "dead", "--json", env=env)
    assert [e["object_id"] for e in json.loads(dead.stdout)] == [str(world.teacher)]
    with slapd.connect() as connection:  # the operator clears the clash
        connection.delete(f"uid=tom.lehrer,ou=personen,{env['BASE_DN']}")
    replayed = run_idp("outbox", "replay", "--all", env=env)
    worked = run_idp("worker", "--once", "--json", env=env)

    assert replayed.returncode == 0 and json.loads(worked.stdout)["written"] == 1
    assert _uids(slapd, env["BASE_DN"]) == ["tom.lehrer"]


def test_a_worker_killed_mid_batch_leaves_nothing_twice(site, slapd, env, tmp_path):
    with data(site) as s:
        state = f.small_state(s)
        ids = []
        for n in range(400):
            teacher = f.person(
                s, f"l{n:03d}.lehrer", "Lehr", f"Kraft{n:03d}", mail=f"l{n:03d}@schule-mv.de"
            )
            f.kontext(s, teacher, state.schule, "LEHR")
            ids.append(teacher.id)
        s.commit()
    changed(site, *ids)
    # One event per batch, so that the worker is still busy when the first entries show (a
    # batch of the default size is written in a fraction of a second).
    # A longer timeout than the other tests': a write timed out is a retry, not due again for
    # `--once`, and a slapd on a busy machine may take over 2 s to answer.
    config = Path(env["IDP_CONFIG"])
    text = config.read_text(encoding="utf-8").replace("timeout = 2\n", "timeout = 30\n")
    config.write_text(text + "batch_size = 1\n", encoding="utf-8")
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    full_env.update({"IDP_SECRET_KEY": TEST_SECRET, **env})
    command = [sys.executable, "-m", "idp", "worker"]
    process = subprocess.Popen(
        command, env=full_env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(_uids(slapd, env["BASE_DN"])) < 40:
            time.sleep(0.05)
    finally:
        # The worker now waits for an answer that does not come: it dies in the middle of a
        # write (a stopped slapd would instead answer at once that it cannot be reached, and
        # the worker would record a retry that is not due again for `--once`).
        slapd.freeze()
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        slapd.thaw()
    halfway = len(_uids(slapd, env["BASE_DN"]))
    assert 0 < halfway < 400, halfway

    time.sleep(2.5)  # the dead worker's claimed events are due again after the lease
    finished = subprocess.run(
        [*command, "--once", "--json"],
        env=full_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert finished.returncode == 0, finished.stderr
    uids = _uids(slapd, env["BASE_DN"])
    with data(site) as s:
        left = s.execute(
            select(OutboxEvent.id, OutboxEvent.status, OutboxEvent.last_error).where(
                OutboxEvent.status != "done"
            )
        ).all()
    assert not left, (left, finished.stdout)
    assert len(uids) == len(set(uids)) == 400, (finished.stdout, finished.stderr[-2000:])
