"""Open311 service requests: the reporter's email, the address and the media URL they carry.

Revision ID: 0008
Revises: 0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        batch.add_column(
            sa.Column(
                "reporter_email",
                sqlmodel.sql.sqltypes.AutoString(length=254),
                nullable=False,
                server_default="",
            )
        )
        batch.add_column(sa.Column("address", sa.Text(), nullable=False, server_default=""))
        batch.add_column(
            sa.Column(
                "media_url",
                sqlmodel.sql.sqltypes.AutoString(length=2048),
                nullable=False,
                server_default="",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        batch.drop_column("media_url")
        batch.drop_column("address")
        batch.drop_column("reporter_email")
