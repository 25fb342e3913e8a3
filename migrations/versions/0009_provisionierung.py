"""Provisionierung: Konten und Gruppen je Dienst, Ausgang mit Reservierung, Index auf dem Protokollziel

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 00:40:54.877655
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import idp.models.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provisioned_account",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("service_code", sa.String(length=40), nullable=False),
        sa.Column("target_key", sa.String(length=128), nullable=False),
        sa.Column("desired_hash", sa.String(length=64), nullable=True),
        sa.Column("applied_hash", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("applied_at", idp.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", idp.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("person_id", "service_code", name=op.f("pk_provisioned_account")),
    )
    with op.batch_alter_table("provisioned_account", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_provisioned_account_status"), ["status"], unique=False)

    op.create_table(
        "provisioned_group",
        sa.Column("service_code", sa.String(length=40), nullable=False),
        sa.Column("group_key", sa.String(length=128), nullable=False),
        sa.Column("applied_hash", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("updated_at", idp.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("service_code", "group_key", name=op.f("pk_provisioned_group")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_target"), ["target"], unique=False)

    with op.batch_alter_table("outbox_event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("claimed_at", idp.models.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_event", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")

    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_target"))

    op.drop_table("provisioned_group")
    with op.batch_alter_table("provisioned_account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provisioned_account_status"))

    op.drop_table("provisioned_account")
