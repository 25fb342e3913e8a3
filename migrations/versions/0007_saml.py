"""SAML: Dienstanbieter, Sitzungen, wartende Nachrichten, Zertifikate

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 23:47:39.834642
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import idp.models.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "saml_hold",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", idp.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", idp.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_saml_hold")),
    )
    with op.batch_alter_table("saml_hold", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_saml_hold_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "saml_service_provider",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("entity_id", sa.String(length=1024), nullable=False),
        sa.Column("service_code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("metadata_xml", sa.Text(), nullable=False),
        sa.Column("metadata_url", sa.String(length=2048), nullable=True),
        sa.Column("idp_initiated", sa.Boolean(), nullable=False),
        sa.Column("requests_signed", sa.Boolean(), nullable=False),
        sa.Column("created_at", idp.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", idp.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saml_service_provider")),
        sa.UniqueConstraint("entity_id", name=op.f("uq_saml_service_provider_entity_id")),
    )
    with op.batch_alter_table("saml_service_provider", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_saml_service_provider_service_code"), ["service_code"], unique=False
        )

    op.create_table(
        "saml_session",
        sa.Column("login_session_id", sa.Uuid(), nullable=False),
        sa.Column("sp_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("name_id", sa.String(length=256), nullable=False),
        sa.Column("name_id_format", sa.String(length=128), nullable=False),
        sa.Column("session_index", sa.String(length=128), nullable=False),
        sa.Column("created_at", idp.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_saml_session_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sp_id"],
            ["saml_service_provider.id"],
            name=op.f("fk_saml_session_sp_id_saml_service_provider"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("login_session_id", "sp_id", name=op.f("pk_saml_session")),
    )
    with op.batch_alter_table("saml_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_saml_session_session_index"), ["session_index"], unique=False
        )

    with op.batch_alter_table("signing_key", schema=None) as batch_op:
        batch_op.add_column(sa.Column("certificate_pem", sa.Text(), nullable=True))
        batch_op.drop_constraint(op.f("ck_signing_key_signing_alg"), type_="check")
        batch_op.create_check_constraint("signing_alg", "alg IN ('ES256', 'RS256', 'SAML')")


def downgrade() -> None:
    op.execute("DELETE FROM signing_key WHERE alg = 'SAML'")
    with op.batch_alter_table("signing_key", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_signing_key_signing_alg"), type_="check")
        batch_op.create_check_constraint("signing_alg", "alg IN ('ES256', 'RS256')")
        batch_op.drop_column("certificate_pem")

    with op.batch_alter_table("saml_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saml_session_session_index"))

    op.drop_table("saml_session")
    with op.batch_alter_table("saml_service_provider", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saml_service_provider_service_code"))

    op.drop_table("saml_service_provider")
    with op.batch_alter_table("saml_hold", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saml_hold_expires_at"))

    op.drop_table("saml_hold")
