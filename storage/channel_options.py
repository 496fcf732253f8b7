"""Numbered options per (channel, chat): what a typed "2" means where buttons do not exist."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ChannelOptions
from storage.upsert import insert_for


async def save_options(
    *,
    session: AsyncSession,
    channel: str,
    chat_id: str,
    options: Sequence[str],
    now: datetime,
    message_id: str | None = None,
) -> None:
    """Remember the chat's options (number n → options[n - 1]), replacing earlier ones."""
    values = {
        "channel": channel,
        "chat_id": chat_id,
        "options": list(options),
        "message_id": message_id,
        "updated_at": now,
    }
    statement = insert_for(session, ChannelOptions).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["channel", "chat_id"],
        set_={key: values[key] for key in ("options", "message_id", "updated_at")},
    )
    await session.execute(statement)


async def clear_options(*, session: AsyncSession, channel: str, chat_id: str) -> None:
    """Forget the chat's options (a typed number is then just text)."""
    await session.execute(
        delete(ChannelOptions).where(
            ChannelOptions.channel == channel,  # type: ignore[arg-type]
            ChannelOptions.chat_id == chat_id,  # type: ignore[arg-type]
        )
    )


async def load_options(
    *, session: AsyncSession, channel: str, chat_id: str
) -> ChannelOptions | None:
    """Return the chat's current options, if any."""
    return await session.get(ChannelOptions, (channel, chat_id))


async def option_for(
    *, session: AsyncSession, channel: str, chat_id: str, number: int
) -> tuple[str, str | None] | None:
    """Return (callback data, message id) of option `number` of the chat, or None."""
    row = await load_options(session=session, channel=channel, chat_id=chat_id)
    if row is None or not 1 <= number <= len(row.options):
        return None
    return row.options[number - 1], row.message_id
