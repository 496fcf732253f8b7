"""Index resolved tickets by resolution time, for closing them after the reopen window.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_ticket_state_resolved_at", "ticket", ["state", "resolved_at", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_ticket_state_resolved_at", table_name="ticket")
