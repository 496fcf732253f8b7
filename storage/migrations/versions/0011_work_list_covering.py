"""Work-list indexes that cover their lists: the id in list order, then what the filters read.

Revision ID: 0011
Revises: 0004
Create Date: 2026-12-02

The work lists read keys from these indexes alone and merge them (storage/tickets.py): the id
follows the due time so that the index order is the list order, and the columns after it
(agency, paused time) let the overdue counts by agency and the paused-ticket test be answered
without reading the table.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name: (columns after, columns before)
INDEXES = {
    "ix_ticket_state_triage_due": (
        ["state", "triage_due_at", "id", "agency_id"],
        ["state", "triage_due_at", "id"],
    ),
    "ix_ticket_state_resolve_due": (
        ["state", "resolve_due_at", "id", "paused_at", "agency_id"],
        ["state", "resolve_due_at", "paused_at", "id"],
    ),
    "ix_ticket_agency_state_due": (
        ["agency_id", "state", "resolve_due_at", "id", "paused_at"],
        ["agency_id", "state", "resolve_due_at", "id"],
    ),
}


def upgrade() -> None:
    for name, (columns, _) in INDEXES.items():
        op.drop_index(name, table_name="ticket")
        op.create_index(name, "ticket", columns)


def downgrade() -> None:
    for name, (_, columns) in INDEXES.items():
        op.drop_index(name, table_name="ticket")
        op.create_index(name, "ticket", columns)
