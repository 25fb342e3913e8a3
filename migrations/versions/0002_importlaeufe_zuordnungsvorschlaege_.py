"""Importlaeufe, Zuordnungsvorschlaege, Sortiername

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 18:45:38.644737
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import idp.models.types
from idp.naming.sorting import sort_key

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "import_run",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("started_at", idp.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", idp.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "files",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "summary",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("settings_hash", sa.String(length=64), nullable=True),
        sa.Column(
            "db_state_after",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_run")),
    )
    with op.batch_alter_table("import_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_run_source"), ["source"], unique=False)
        batch_op.create_index(batch_op.f("ix_import_run_started_at"), ["started_at"], unique=False)

    op.create_table(
        "match_candidate",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", idp.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("decided_by", sa.String(length=255), nullable=True),
        sa.Column("decided_at", idp.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_match_candidate_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_candidate")),
        sa.UniqueConstraint(
            "source", "external_id", name=op.f("uq_match_candidate_source_external_id")
        ),
    )
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sortname", sa.String(length=520), nullable=False, server_default="")
        )
        batch_op.drop_index(batch_op.f("ix_person_familienname"))
        batch_op.create_index(batch_op.f("ix_person_sortname"), ["sortname"], unique=False)
    _fill_sortnames()


def _fill_sortnames() -> None:
    connection = op.get_bind()
    person = sa.table(
        "person",
        sa.column("id", sa.Uuid()),
        sa.column("vorname", sa.String()),
        sa.column("familienname", sa.String()),
        sa.column("sortname", sa.String()),
    )
    rows = connection.execute(sa.select(person.c.id, person.c.familienname, person.c.vorname))
    updates = [{"b_id": i, "b_sort": sort_key(f, v)} for i, f, v in rows]
    if updates:
        connection.execute(
            person.update()
            .where(person.c.id == sa.bindparam("b_id"))
            .values(sortname=sa.bindparam("b_sort")),
            updates,
        )


def downgrade() -> None:

    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_sortname"))
        batch_op.create_index(batch_op.f("ix_person_familienname"), ["familienname"], unique=False)
        batch_op.drop_column("sortname")

    op.drop_table("match_candidate")
    with op.batch_alter_table("import_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_run_started_at"))
        batch_op.drop_index(batch_op.f("ix_import_run_source"))

    op.drop_table("import_run")
