"""Index fuer Nonce-Wiederholung

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 23:22:36.180950
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("authorization_code", schema=None) as batch_op:
        batch_op.create_index(
            "ix_authorization_code_client_nonce", ["client_id", "nonce"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("authorization_code", schema=None) as batch_op:
        batch_op.drop_index("ix_authorization_code_client_nonce")
