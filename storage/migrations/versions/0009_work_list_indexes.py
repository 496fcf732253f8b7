"""Indexes for the work lists at a million tickets, and for outbox claims in chat order.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTSTANDING = "status IN ('pending', 'sending')"


def upgrade() -> None:
    op.create_index("ix_ticket_state_triage_due", "ticket", ["state", "triage_due_at", "id"])
    op.create_index("ix_ticket_state_resolve_due", "ticket", ["state", "resolve_due_at", "id"])
    op.create_index(
        "ix_ticket_agency_state_due", "ticket", ["agency_id", "state", "resolve_due_at", "id"]
    )
    op.create_index(
        "ix_outbox_outstanding",
        "outbox",
        ["channel", "chat_id", "id"],
        sqlite_where=sa.text(OUTSTANDING),
        postgresql_where=sa.text(OUTSTANDING),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_outstanding", table_name="outbox")
    op.drop_index("ix_ticket_agency_state_due", table_name="ticket")
    op.drop_index("ix_ticket_state_resolve_due", table_name="ticket")
    op.drop_index("ix_ticket_state_triage_due", table_name="ticket")
