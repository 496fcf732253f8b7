"""Files the bot generated (scorecard charts and workbooks), kept until the outbox sends them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import StoredFile


async def store_file(
    *, session: AsyncSession, name: str, mime_type: str, data: bytes, now: datetime
) -> int:
    """Keep a generated file; return its id for an outbox attachment."""
    row = StoredFile(name=name, mime_type=mime_type, data=data, created_at=now)
    session.add(row)
    await session.flush()
    assert row.id is not None
    return row.id


async def load_files(*, session: AsyncSession, ids: Sequence[int]) -> dict[int, StoredFile]:
    """Return the stored files with these ids (a missing id is simply absent)."""
    query = select(StoredFile).where(col(StoredFile.id).in_(list(ids)))
    return {row.id: row for row in (await session.exec(query)).all() if row.id is not None}
