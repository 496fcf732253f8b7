"""Console users, web sessions, sign-in failures, merge followers, tickets' merged_into_id.

Revision ID: 0005
Revises: 0007 (chained after the merged reports revision)
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.models

revision: str = "0005"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AutoString = sqlmodel.sql.sqltypes.AutoString
When = storage.models.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        batch.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch.create_index("ix_ticket_merged_into_id", ["merged_into_id"], unique=False)
    op.create_table(
        "console_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", AutoString(length=64), nullable=False),
        sa.Column("role", AutoString(length=16), nullable=False),
        sa.Column("agency_id", AutoString(length=64), nullable=True),
        sa.Column("password_hash", AutoString(length=255), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", When(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_console_user_name", "console_user", ["name"], unique=True)
    op.create_table(
        "web_session",
        sa.Column("token_hash", AutoString(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", AutoString(length=64), nullable=False),
        sa.Column("language", AutoString(length=8), nullable=False),
        sa.Column("created_at", When(timezone=True), nullable=True),
        sa.Column("expires_at", When(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["console_user.id"]),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_web_session_user_id", "web_session", ["user_id"], unique=False)
    op.create_index("ix_web_session_expires_at", "web_session", ["expires_at"], unique=False)
    op.create_table(
        "sign_in_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", AutoString(length=64), nullable=False),
        sa.Column("at", When(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sign_in_failure_name_at", "sign_in_failure", ["name", "at"], unique=False)
    op.create_table(
        "ticket_follower",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("channel", AutoString(length=16), nullable=False),
        sa.Column("chat_id", AutoString(length=64), nullable=False),
        sa.Column("language", AutoString(), nullable=False),
        sa.Column("from_ticket_id", sa.Integer(), nullable=True),
        sa.Column("created_at", When(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id", "channel", "chat_id"),
    )
    op.create_index("ix_ticket_follower_ticket_id", "ticket_follower", ["ticket_id"], unique=False)


def downgrade() -> None:
    op.drop_table("ticket_follower")
    op.drop_table("sign_in_failure")
    op.drop_table("web_session")
    op.drop_table("console_user")
    with op.batch_alter_table("ticket") as batch:
        batch.drop_index("ix_ticket_merged_into_id")
        batch.drop_column("merged_into_id")
