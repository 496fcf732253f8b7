"""Scorecards: indexes for the month's counts, generated files, and claimed monthly deliveries.

Revision ID: 0007
Revises: 0010 (chained after main's Zalo OA tables at merge)
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.models

revision: str = "0007"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_ticket_event_kind_at", "ticket_event", ["kind", "at", "ticket_id"])
    op.create_index(
        "ix_ticket_accepted_at",
        "ticket",
        ["accepted_at", "agency_id", "deemed_accepted", "routed_at"],
    )
    op.create_index(
        "ix_ticket_resolved_month",
        "ticket",
        ["resolved_at", "state", "agency_id", "routed_at", "resolve_due_at", "rating"],
    )
    op.create_table(
        "stored_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("mime_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "report_delivery",
        sa.Column("month", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("chat_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("claimed_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("month", "channel", "chat_id"),
    )


def downgrade() -> None:
    op.drop_table("report_delivery")
    op.drop_table("stored_file")
    op.drop_index("ix_ticket_resolved_month", table_name="ticket")
    op.drop_index("ix_ticket_accepted_at", table_name="ticket")
    op.drop_index("ix_ticket_event_kind_at", table_name="ticket_event")
