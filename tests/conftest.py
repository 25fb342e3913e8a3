"""Shared fixtures: an app on a fresh, migrated database, on SQLite and on PostgreSQL.

Every test that takes `app` (or `database_url`) runs twice, once per backend. The schema is
migrated once per session into a template; each test gets its own copy of it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from flask import Flask

from idp.app import create_app
from idp.config import Config, load_config
from tests.pg_server import PostgresServer

REPO = Path(__file__).resolve().parent.parent
TEST_SECRET = "test-secret-key-not-for-production"


def make_config(database_url: str, **extra_env: str) -> Config:
    env = {"IDP_DATABASE_URL": database_url, "IDP_SECRET_KEY": TEST_SECRET, **extra_env}
    return load_config(None, env=env)


def migrate(database_url: str) -> None:
    from sqlalchemy import delete, update

    from idp import audit, database
    from idp.extensions import db
    from idp.models import AuditEvent, AuditHead
    from idp.oidc import keys
    from idp.policy import current_policies

    app = create_app(make_config(database_url))
    with app.app_context():
        database.upgrade()
        database.sync_policy_rows(current_policies())
        # Keys once in the template: an RSA key takes a while to generate. Tests expect an
        # empty audit trail, so the keys' creation events go again.
        keys.ensure_keys(db.session)
        db.session.execute(delete(AuditEvent))
        db.session.execute(update(AuditHead).values(last_id=0, last_hash=audit.GENESIS))
        db.session.commit()
        db.engine.dispose()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_template(pg_server: PostgresServer) -> str:
    _pg_admin(pg_server, "CREATE DATABASE idp_template")
    migrate(pg_server.url("idp_template"))
    return "idp_template"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "idp.sqlite3"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated, empty database for one test."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "idp.sqlite3"
        shutil.copyfile(template, target)
        yield f"sqlite:///{target}"
        return
    server: PostgresServer = request.getfixturevalue("pg_server")
    template_name = request.getfixturevalue("pg_template")
    name = f"t_{uuid.uuid4().hex[:12]}"
    _pg_admin(server, f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
    yield server.url(name)
    _pg_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An SQLite path with no schema at all (for testing `idp db upgrade` itself)."""
    return f"sqlite:///{tmp_path / 'neu' / 'idp.sqlite3'}"


def _pg_admin(server: PostgresServer, statement: str) -> None:
    with psycopg.connect(
        f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres", autocommit=True
    ) as conn:
        conn.execute(statement)


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    from idp.extensions import db

    application = create_app(make_config(database_url))
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def site(database_url: str) -> Iterator[Flask]:
    """The app with no context pushed: each request gets its own, as in production.

    Arrange and assert inside `with site.app_context():` (see tests/web.py `data`).
    """
    from idp.extensions import db

    application = create_app(make_config(database_url))
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def session(app: Flask):
    from idp.extensions import db

    return db.session


@pytest.fixture
def policies(app: Flask):
    from idp.policy import current_policies

    return current_policies()


@pytest.fixture
def run_idp(tmp_path: Path):
    """Run the `idp` command as a user would, in a subprocess; returns CompletedProcess."""

    def run(
        *args: str,
        env: dict[str, str] | None = None,
        input: str | None = None,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
        full_env.update({"IDP_SECRET_KEY": TEST_SECRET, **(env or {})})
        return subprocess.run(
            [sys.executable, "-m", "idp", *args],
            env=full_env,
            input=input,
            text=True,
            capture_output=True,
            cwd=cwd or tmp_path,
            timeout=300,
        )

    return run


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium, driven by Playwright, for the whole test session."""
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: install the Debian package "
            "(`apt-get install chromium`, or `make system-test`).",
            pytrace=False,
        )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_site(site: Flask) -> Iterator[str]:
    """The app on a real, threaded HTTP server on a free port; yields its base URL."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, site, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()
