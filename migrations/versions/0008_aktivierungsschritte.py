"""Aktivierungsschritte: wer hat welchen Schritt eines Antrags wann getan

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 00:09:44.228824
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import idp.models.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_activation_step",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("activation_id", sa.Uuid(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "beantragt",
                "vertraege_bestaetigt",
                "freigegeben",
                "lehrkraefte_provisioniert",
                "lernende_beantragt",
                "lernende_freigegeben",
                "lernende_provisioniert",
                name="activation_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("actor_person_id", sa.Uuid(), nullable=True),
        sa.Column("at", idp.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["activation_id"],
            ["service_activation.id"],
            name=op.f("fk_service_activation_step_activation_id_service_activation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["actor_person_id"],
            ["person.id"],
            name=op.f("fk_service_activation_step_actor_person_id_person"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_activation_step")),
    )
    with op.batch_alter_table("service_activation_step", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_activation_step_activation_id"), ["activation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("service_activation_step", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_activation_step_activation_id"))

    op.drop_table("service_activation_step")
