"""Signierschluessel

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 21:26:30.944699
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import idp.models.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signing_key",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column(
            "alg",
            sa.Enum(
                "ES256",
                "RS256",
                name="signing_alg",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum(
                "next",
                "active",
                "retired",
                name="signing_key_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("private_key_sealed", sa.LargeBinary(), nullable=False),
        sa.Column(
            "public_jwk",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", idp.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("activated_at", idp.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retired_at", idp.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_signing_key")),
    )
    with op.batch_alter_table("signing_key", schema=None) as batch_op:
        batch_op.create_index(
            "uq_signing_key_alg_state",
            ["alg", "state"],
            unique=True,
            sqlite_where=sa.text("state != 'retired'"),
            postgresql_where=sa.text("state != 'retired'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("signing_key", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_signing_key_alg_state",
            sqlite_where=sa.text("state != 'retired'"),
            postgresql_where=sa.text("state != 'retired'"),
        )

    op.drop_table("signing_key")
