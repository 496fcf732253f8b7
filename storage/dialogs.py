"""Dialog state per (channel, chat) and processed-update bookkeeping."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, bindparam, delete, text, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import advisory_key
from storage.models import DialogState, ProcessedUpdate
from storage.upsert import insert_for

ChatKey = tuple[str, str]


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
    table: Any = ProcessedUpdate.__table__  # type: ignore[attr-defined]
    # One statement, no savepoint: a concurrent twin's row makes this insert do nothing.
    statement = (
        insert_for(session, table)
        .values(channel=channel, update_id=update_id, processed_at=now)
        .on_conflict_do_nothing(index_elements=["channel", "update_id"])
    )
    result: Any = await session.execute(statement)
    return bool(result.rowcount)


@dataclass
class Dialog:
    """A chat's dialog as plain values (the batch path reads and writes them in bulk)."""

    state: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    language: str = "vi"
    updated_at: datetime | None = None


async def mark_updates_processed(
    *, session: AsyncSession, updates: Sequence[tuple[str, str]], now: datetime
) -> set[tuple[str, str]]:
    """Record many (channel, update id) at once; return those not recorded before."""
    keys = list(dict.fromkeys(key for key in updates if key[1]))
    if not keys:
        return set()
    table: Any = ProcessedUpdate.__table__  # type: ignore[attr-defined]
    statement = (
        insert_for(session, table)
        .on_conflict_do_nothing(index_elements=["channel", "update_id"])
        .returning(table.c.channel, table.c.update_id)
    )
    # Parameter sets, not a VALUES list built into the statement: SQLAlchemy still sends one
    # multi-row INSERT, without building and caching a statement per batch size.
    rows = [{"channel": c, "update_id": u, "processed_at": now} for c, u in keys]
    result = await session.execute(statement, rows)
    return {(row.channel, row.update_id) for row in result}


async def load_dialogs(
    *, session: AsyncSession, chats: Iterable[ChatKey]
) -> dict[ChatKey, Dialog]:
    """Return the stored dialogs of the chats, in one query (chats without one are absent)."""
    keys = sorted(set(chats))
    if not keys:
        return {}
    table: Any = DialogState.__table__  # type: ignore[attr-defined]
    query = select(table).where(tuple_(table.c.channel, table.c.chat_id).in_(keys))
    result = await session.execute(query)
    return {
        (row.channel, row.chat_id): Dialog(
            state=row.state, data=row.data or {}, language=row.language, updated_at=row.updated_at
        )
        for row in result
    }


async def save_dialogs(
    *, session: AsyncSession, dialogs: Mapping[ChatKey, Dialog], now: datetime
) -> None:
    """Store the dialogs of many chats in one statement (inserted or replaced)."""
    if not dialogs:
        return
    table: Any = DialogState.__table__  # type: ignore[attr-defined]
    statement = insert_for(session, table)
    statement = statement.on_conflict_do_update(
        index_elements=["channel", "chat_id"],
        set_={
            "state": statement.excluded.state,
            "data": statement.excluded.data,
            "language": statement.excluded.language,
            "updated_at": statement.excluded.updated_at,
        },
    )
    rows = [
        {
            "channel": channel,
            "chat_id": chat_id,
            "state": dialog.state,
            "data": dialog.data,
            "language": dialog.language,
            "updated_at": now,
        }
        for (channel, chat_id), dialog in dialogs.items()
    ]
    await session.execute(statement, rows)


def _lock_key(chat: ChatKey) -> int:
    """A stable signed 64-bit number for a chat (PostgreSQL advisory locks take bigint)."""
    return advisory_key(f"{chat[0]}:{chat[1]}")


async def lock_chats(*, session: AsyncSession, chats: Iterable[ChatKey]) -> None:
    """Hold the chats until the transaction ends, so one chat's updates never run at once.

    On PostgreSQL, transaction-scoped advisory locks taken in one sorted statement (so two
    instances cannot deadlock on them); SQLite's BEGIN IMMEDIATE already serialises writers.
    """
    if session.bind is None or session.bind.dialect.name != "postgresql":
        return
    keys = sorted({_lock_key(chat) for chat in chats})
    if not keys:
        return
    statement = text(
        "SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT unnest(:keys) AS k ORDER BY 1) s"
    ).bindparams(bindparam("keys", type_=ARRAY(BigInteger)))
    await session.execute(statement, {"keys": keys})


async def forget_processed_updates(*, session: AsyncSession, before: datetime) -> int:
    """Delete processed-update records older than `before`; return how many."""
    statement = delete(ProcessedUpdate).where(col(ProcessedUpdate.processed_at) < before)
    result: Any = await session.execute(statement)
    return int(result.rowcount or 0)


async def find_dialogs(*, session: AsyncSession, channel: str) -> list[DialogState]:
    """Return every dialog of a channel (for diagnostics and tests)."""
    query = select(DialogState).where(DialogState.channel == channel)
    return list((await session.exec(query)).all())
