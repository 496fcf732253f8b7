"""Dialog state per (channel, chat) and processed-update bookkeeping."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import DialogState, ProcessedUpdate


async def load_dialog(*, session: AsyncSession, channel: str, chat_id: str) -> DialogState:
    """Return the chat's dialog state (a fresh, unsaved one if the chat is new)."""
    row = await session.get(DialogState, (channel, chat_id))
    return row or DialogState(channel=channel, chat_id=chat_id, state="", data={})


async def save_dialog(
    *, session: AsyncSession, dialog: DialogState, state: str, data: dict[str, Any], now: datetime
) -> None:
    """Store the chat's new state and data."""
    dialog.state = state
    dialog.data = dict(data)
    dialog.updated_at = now
    session.add(dialog)


async def mark_update_processed(
    *, session: AsyncSession, channel: str, update_id: str, now: datetime
) -> bool:
    """Record the update; return False if it was already processed (a redelivery)."""
    if not update_id:
        return True
    if await session.get(ProcessedUpdate, (channel, update_id)) is not None:
        return False
    try:
        async with session.begin_nested():
            session.add(ProcessedUpdate(channel=channel, update_id=update_id, processed_at=now))
    except IntegrityError:
        return False
    return True


async def forget_processed_updates(*, session: AsyncSession, before: datetime) -> int:
    """Delete processed-update records older than `before`; return how many."""
    statement = delete(ProcessedUpdate).where(col(ProcessedUpdate.processed_at) < before)
    result: Any = await session.execute(statement)
    return int(result.rowcount or 0)


async def find_dialogs(*, session: AsyncSession, channel: str) -> list[DialogState]:
    """Return every dialog of a channel (for diagnostics and tests)."""
    query = select(DialogState).where(DialogState.channel == channel)
    return list((await session.exec(query)).all())
