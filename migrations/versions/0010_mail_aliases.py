"""Mail-Aliasse: frühere Adressen einer Person, die nach einer Namensänderung weiter zustellen

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 03:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import idp.models.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN, which SQLite knows too: a batch operation would copy the person
    # table, and dropping the old one must not touch the rows that refer to it.
    op.add_column(
        "person",
        sa.Column(
            "mail_aliases",
            idp.models.types.JSONType,
            nullable=False,
            server_default=sa.text("'[]'"),
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_column("mail_aliases")
