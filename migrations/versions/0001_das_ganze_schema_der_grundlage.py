"""Das ganze Schema der Grundlage

Revision ID: 0001
Revises:
Create Date: 2026-11-28 18:29:25.506520
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import idp.models.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "audit_event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("time", idp.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=True),
        sa.Column("organisation_id", sa.Uuid(), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_action"), ["action"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_audit_event_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_audit_event_time"), ["time"], unique=False)

    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "organisation",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kennung", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "typ",
            sa.Enum(
                "LAND",
                "MINISTERIUM",
                "SCHULAMT",
                "SCHULTRAEGER",
                "SCHULE",
                "KLASSE",
                name="organisation_typ",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("schultraeger_id", sa.Uuid(), nullable=True),
        sa.Column("schulart", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.Column("created_at", idp.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["organisation.id"],
            name=op.f("fk_organisation_parent_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["schultraeger_id"],
            ["organisation.id"],
            name=op.f("fk_organisation_schultraeger_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation")),
        sa.UniqueConstraint("typ", "kennung", name=op.f("uq_organisation_typ_kennung")),
    )
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_organisation_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_organisation_schultraeger_id"), ["schultraeger_id"], unique=False
        )

    op.create_table(
        "outbox_event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("created_at", idp.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("service", sa.String(length=40), nullable=True),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.Uuid(), nullable=False),
        sa.Column("operation", sa.String(length=16), nullable=False),
        sa.Column("payload_hash", sa.String(length=64), nullable=True),
        sa.Column("not_before", idp.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_event")),
    )
    with op.batch_alter_table("outbox_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_event_not_before"), ["not_before"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_outbox_event_object_id"), ["object_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_event_status"), ["status"], unique=False)

    op.create_table(
        "person",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("vorname", sa.String(length=255), nullable=False),
        sa.Column("familienname", sa.String(length=255), nullable=False),
        sa.Column("geburtsdatum", sa.Date(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("mail", sa.String(length=255), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "aktiv",
                "gesperrt",
                "ausgeschieden",
                name="person_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("auskunftssperre", sa.Boolean(), nullable=False),
        sa.Column("ausgeschieden_am", sa.Date(), nullable=True),
        sa.Column("loeschdatum", sa.Date(), nullable=True),
        sa.Column("created_at", idp.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", idp.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
        sa.UniqueConstraint("mail", name=op.f("uq_person_mail")),
        sa.UniqueConstraint("username", name=op.f("uq_person_username")),
    )
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_familienname"), ["familienname"], unique=False)

    op.create_table(
        "rolle",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("rollenart", sa.String(length=16), nullable=False),
        sa.Column(
            "org_types",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "rights",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_rolle")),
    )
    op.create_table(
        "service",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("protocol", sa.String(length=8), nullable=False),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        sa.Column("connector", sa.String(length=40), nullable=True),
        sa.Column("activation_required", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_service")),
    )
    op.create_table(
        "source_record",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("object_id", sa.Uuid(), nullable=False),
        sa.Column("row_hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", idp.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_record")),
        sa.UniqueConstraint(
            "source", "kind", "external_id", name=op.f("uq_source_record_source_kind_external_id")
        ),
    )
    with op.batch_alter_table("source_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_source_record_object_id"), ["object_id"], unique=False)

    op.create_table(
        "beziehung",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("erziehungsberechtigter_id", sa.Uuid(), nullable=False),
        sa.Column("lernender_id", sa.Uuid(), nullable=False),
        sa.Column("art", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("created_at", idp.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["erziehungsberechtigter_id"],
            ["person.id"],
            name=op.f("fk_beziehung_erziehungsberechtigter_id_person"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lernender_id"],
            ["person.id"],
            name=op.f("fk_beziehung_lernender_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_beziehung")),
        sa.UniqueConstraint(
            "erziehungsberechtigter_id",
            "lernender_id",
            name=op.f("uq_beziehung_erziehungsberechtigter_id_lernender_id"),
        ),
    )
    with op.batch_alter_table("beziehung", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_beziehung_erziehungsberechtigter_id"),
            ["erziehungsberechtigter_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_beziehung_lernender_id"), ["lernender_id"], unique=False
        )

    op.create_table(
        "opt_out",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("service_code", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", idp.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_by", sa.String(length=255), nullable=True),
        sa.Column("withdrawn_at", idp.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_opt_out_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_code"],
            ["service.code"],
            name=op.f("fk_opt_out_service_code_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opt_out")),
    )
    with op.batch_alter_table("opt_out", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_opt_out_person_id"), ["person_id"], unique=False)

    op.create_table(
        "personenkontext",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("rolle", sa.String(length=40), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("created_at", idp.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_personenkontext_organisation_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_personenkontext_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rolle"],
            ["rolle.code"],
            name=op.f("fk_personenkontext_rolle_rolle"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personenkontext")),
        sa.UniqueConstraint(
            "person_id",
            "organisation_id",
            "rolle",
            "valid_from",
            name=op.f("uq_personenkontext_person_id_organisation_id_rolle_valid_from"),
        ),
    )
    with op.batch_alter_table("personenkontext", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_personenkontext_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_personenkontext_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "service_activation",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("schule_id", sa.Uuid(), nullable=False),
        sa.Column("service_code", sa.String(length=40), nullable=False),
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
        sa.Column(
            "kontaktpersonen",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", idp.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", idp.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["schule_id"],
            ["organisation.id"],
            name=op.f("fk_service_activation_schule_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_code"],
            ["service.code"],
            name=op.f("fk_service_activation_service_code_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_activation")),
        sa.UniqueConstraint(
            "schule_id", "service_code", name=op.f("uq_service_activation_schule_id_service_code")
        ),
    )


def downgrade() -> None:

    op.drop_table("service_activation")
    with op.batch_alter_table("personenkontext", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_personenkontext_person_id"))
        batch_op.drop_index(batch_op.f("ix_personenkontext_organisation_id"))

    op.drop_table("personenkontext")
    with op.batch_alter_table("opt_out", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opt_out_person_id"))

    op.drop_table("opt_out")
    with op.batch_alter_table("beziehung", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_beziehung_lernender_id"))
        batch_op.drop_index(batch_op.f("ix_beziehung_erziehungsberechtigter_id"))

    op.drop_table("beziehung")
    with op.batch_alter_table("source_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_source_record_object_id"))

    op.drop_table("source_record")
    op.drop_table("service")
    op.drop_table("rolle")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_familienname"))

    op.drop_table("person")
    with op.batch_alter_table("outbox_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_event_status"))
        batch_op.drop_index(batch_op.f("ix_outbox_event_object_id"))
        batch_op.drop_index(batch_op.f("ix_outbox_event_not_before"))

    op.drop_table("outbox_event")
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organisation_schultraeger_id"))
        batch_op.drop_index(batch_op.f("ix_organisation_parent_id"))

    op.drop_table("organisation")
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_time"))
        batch_op.drop_index(batch_op.f("ix_audit_event_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_audit_event_action"))

    op.drop_table("audit_event")
