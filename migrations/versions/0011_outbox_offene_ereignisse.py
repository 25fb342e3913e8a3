"""Outbox: Teilindizes nur über offene und beanspruchte Ereignisse

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Workers look only for pending events (in id order) and for claimed ones whose lease may
    # have run out; full indexes on status and not_before made every event that is marked done
    # move inside them, which after a whole state's import is some 450,000 events at once.
    op.create_index(
        "ix_outbox_event_pending",
        "outbox_event",
        ["id"],
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_outbox_event_working",
        "outbox_event",
        ["claimed_at"],
        sqlite_where=sa.text("status = 'working'"),
        postgresql_where=sa.text("status = 'working'"),
    )
    op.drop_index("ix_outbox_event_status", table_name="outbox_event")
    op.drop_index("ix_outbox_event_not_before", table_name="outbox_event")


def downgrade() -> None:
    op.create_index("ix_outbox_event_not_before", "outbox_event", ["not_before"])
    op.create_index("ix_outbox_event_status", "outbox_event", ["status"])
    op.drop_index("ix_outbox_event_working", table_name="outbox_event")
    op.drop_index("ix_outbox_event_pending", table_name="outbox_event")
