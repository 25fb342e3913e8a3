"""Alembic environment: runs on the connection `idp db upgrade` hands over, or on the app's URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import idp.models  # noqa: F401  (registers every table on the metadata)
from idp.config import load_config
from idp.extensions import db

target_metadata = db.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=load_config().database_url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(load_config().database_url)
    with engine.begin() as connection:
        _run(connection)


def _run(connection) -> None:
    # Batch mode lets later migrations alter tables on SQLite, which has no ALTER COLUMN.
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
