"""Zalo Official Account: the token pair, each follower's reply window, recorded webhook events.

Revision ID: 0010
Revises: 0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.models

revision: str = "0010"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oa_token",
        sa.Column("app_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=False),
        sa.Column("expires_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("seed_refresh_token", sa.Text(), nullable=False),
        sa.Column("updated_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("app_id"),
    )
    op.create_table(
        "oa_reply_window",
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("last_message_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("replies_since", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "oa_inbound",
        sa.Column("msg_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("msg_id"),
    )
    op.create_index("ix_oa_inbound_received_at", "oa_inbound", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_oa_inbound_received_at", table_name="oa_inbound")
    op.drop_table("oa_inbound")
    op.drop_table("oa_reply_window")
    op.drop_table("oa_token")
