"""`idp db upgrade` creates the schema from nothing; the migrations match the models."""

from __future__ import annotations

import json
import sqlite3

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from idp import database
from idp.app import create_app
from idp.database import head_revision
from idp.extensions import db
from idp.models import Rolle, Service

SENSITIVE = ("foerderbedarf", "lrs", "staatsangehoerigkeit", "nationalitaet", "strasse", "adresse")


def test_upgrade_creates_a_new_database_from_nothing(empty_database_url, run_idp):
    env = {"IDP_DATABASE_URL": empty_database_url}
    first = run_idp("db", "upgrade", env=env)
    assert first.returncode == 0, first.stderr
    head = head_revision()
    assert f"Datenbank auf Stand {head}" in first.stdout
    again = run_idp("db", "upgrade", env=env)  # idempotent
    assert again.returncode == 0, again.stderr
    status = run_idp("db", "status", "--json", env=env)
    assert json.loads(status.stdout) == {"current": head, "head": head, "up_to_date": True}
    path = empty_database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        roles = {r[0] for r in conn.execute("SELECT code FROM rolle")}
    assert {
        "organisation",
        "person",
        "personenkontext",
        "beziehung",
        "source_record",
        "service",
        "service_activation",
        "opt_out",
        "audit_event",
        "outbox_event",
        "rolle",
        "import_run",
        "match_candidate",
    } <= tables
    assert {"LERN", "LEHR", "IDM_SCHULE", "LANDESADMIN"} <= roles


def test_migrations_match_the_models(app):
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert diff == []


def test_an_upgrade_keeps_the_rows_that_refer_to_a_changed_table(tmp_path, monkeypatch):
    """Every migration from the first on, over a database holding a person with a context,
    login and relation: nothing that refers to a table a migration rebuilds is lost."""
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    monkeypatch.setenv("IDP_DATABASE_URL", url)
    site = create_app()
    with site.app_context():
        database.upgrade("0009")
        with db.engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO rolle (code, name, rollenart, org_types, rights) "
                "VALUES ('LEHR', 'Lehrkraft', 'LEHR', '[]', '[]')"
            )
            connection.exec_driver_sql(
                "INSERT INTO organisation (id, typ, kennung, name, created_at) "
                "VALUES ('00000000000000000000000000000001', 'SCHULE', '750001', 'Schule', "
                "'2026-01-01 00:00:00')"
            )
            connection.exec_driver_sql(
                "INSERT INTO person (id, vorname, familienname, sortname, username, status, "
                "must_change_password, auskunftssperre, created_at, updated_at) VALUES "
                "('00000000000000000000000000000002', 'Tom', 'Lehrer', 'lehrer tom', "
                "'tom.lehrer', 'aktiv', 0, 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
            connection.exec_driver_sql(
                "INSERT INTO personenkontext (id, person_id, organisation_id, rolle, valid_from, "
                "source, created_at) VALUES ('00000000000000000000000000000003', "
                "'00000000000000000000000000000002', '00000000000000000000000000000001', "
                "'LEHR', '2026-01-01', 'test', '2026-01-01 00:00:00')"
            )

        database.upgrade()

        with db.engine.connect() as connection:
            kontexte = connection.exec_driver_sql("SELECT count(*) FROM personenkontext").scalar()
            aliases = connection.exec_driver_sql("SELECT mail_aliases FROM person").scalar()
            foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
        db.engine.dispose()
    assert kontexte == 1 and aliases == "[]" and foreign_keys == 1


def test_policy_rows_are_copied(session, policies):
    assert {s.code for s in session.query(Service)} == set(policies.services)
    assert session.get(Service, "diagnostik").sensitive is True
    assert session.get(Rolle, "IDM_SCHULE").rights[0]["right"] == "personen.lesen"


def test_no_column_can_hold_sensitive_export_fields(app):
    inspector = inspect(db.engine)
    for table in inspector.get_table_names():
        for column in inspector.get_columns(table):
            name = column["name"].lower()
            assert not any(word in name for word in SENSITIVE), f"{table}.{name}"


def test_healthz_checks_the_database(app):
    client = app.test_client()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unreachable_database(tmp_path):
    from idp.app import create_app
    from tests.conftest import make_config

    broken = create_app(make_config("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"
