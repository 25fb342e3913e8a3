"""Database set-up: SQLite pragmas, migrations (Alembic) and copying policy rows into tables."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, event, select
from sqlalchemy.exc import DisconnectionError

import migrations
from idp.extensions import db
from idp.models import Rolle, Service
from idp.policy.loader import Policies

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS_DIR = Path(migrations.__file__).parent
# A pooled connection that waited longer than this is tested before use (a restarted database
# or a firewall's idle timeout may have closed it). One that another request gave back a moment
# ago is not: testing every checkout costs PostgreSQL a round trip per request.
PING_AFTER_IDLE_SECONDS = 10.0
# Alembic is imported where a migration is asked about, not when the app starts: every
# command and server process imports this module, few of them migrate.


def install_sqlite_pragmas() -> None:
    """Foreign keys on, WAL and a busy timeout for every SQLite connection (once per process)."""
    if not event.contains(Engine, "connect", _sqlite_pragmas):
        event.listen(Engine, "connect", _sqlite_pragmas)


def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def ping_when_idle(engine: Engine, idle_seconds: float = PING_AFTER_IDLE_SECONDS) -> None:
    """Test connections that idled in `engine`'s pool for `idle_seconds` before handing them
    out; a dead one is replaced by a new connection (SQLAlchemy's pessimistic disconnect
    handling, not for every checkout as `pool_pre_ping` does)."""

    def note_checkin(dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    def ping_if_idle(dbapi_connection, record, proxy) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise DisconnectionError(str(error)) from error

    event.listen(engine, "checkin", note_checkin)
    event.listen(engine, "checkout", ping_if_idle)


def alembic_config() -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade(revision: str = "head") -> None:
    """Create or upgrade the app's database to `revision`, then copy roles and services in."""
    _ensure_sqlite_folder(db.engine.url.database if db.engine.dialect.name == "sqlite" else None)
    from alembic import command

    config = alembic_config()
    sqlite = db.engine.dialect.name == "sqlite"
    with db.engine.connect() as connection:
        if sqlite:
            # A batch migration copies a table and drops the old one; with foreign keys on,
            # that drop would delete (ON DELETE CASCADE) every row referring to it. SQLite
            # ignores this pragma inside a transaction, so it is set before the migration's.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration left broken references: {broken[:5]}")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def current_revision() -> str | None:
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def sync_policy_rows(policies: Policies) -> None:
    """Make the rolle and service tables match the policy files (they are the source)."""
    session = db.session
    existing_roles = {r.code: r for r in session.scalars(select(Rolle))}
    for role in policies.roles.values():
        row = existing_roles.get(role.code) or Rolle(code=role.code)
        row.name, row.rollenart, row.org_types = role.name, role.rollenart, list(role.org_types)
        row.rights = [
            {"right": g.right, "scope": g.scope, "targets": list(g.targets)} for g in role.grants
        ]
        session.add(row)
    existing_services = {s.code: s for s in session.scalars(select(Service))}
    for service in policies.services.values():
        row = existing_services.get(service.code) or Service(code=service.code)
        row.name, row.protocol, row.sensitive = service.name, service.protocol, service.sensitive
        row.connector, row.activation_required = service.connector, service.activation
        session.add(row)
    session.commit()


def _ensure_sqlite_folder(database: str | None) -> None:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
