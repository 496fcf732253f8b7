"""Zalo Official Account storage: the token pair, followers' reply windows, recorded events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import OaInbound, OaReplyWindow, OaToken, Outbox, OutboxStatus
from storage.upsert import insert_for


async def load_token(*, session: AsyncSession, app_id: str, lock: bool = False) -> OaToken | None:
    """Return the OA's token row; with `lock`, hold it until the transaction ends.

    On PostgreSQL the row lock makes a second refresher wait and then read the new pair; on
    SQLite the write lock taken at BEGIN IMMEDIATE does the same for the whole database.
    """
    query = select(OaToken).where(OaToken.app_id == app_id)
    if lock:
        query = query.with_for_update()
    return (await session.exec(query)).first()


async def seed_token(
    *,
    session: AsyncSession,
    app_id: str,
    access_token: str,
    refresh_token: str,
    now: datetime,
) -> None:
    """Store the config's pair unless the database already holds one rotated from it."""
    row = await load_token(session=session, app_id=app_id, lock=True)
    if row is not None and row.seed_refresh_token == refresh_token:
        return  # the database's pair is newer: refresh tokens rotate
    if row is None:
        row = OaToken(app_id=app_id)
    row.access_token, row.refresh_token = access_token, refresh_token
    row.seed_refresh_token = refresh_token
    row.expires_at, row.updated_at = None, now
    session.add(row)


async def save_token(
    *,
    session: AsyncSession,
    app_id: str,
    access_token: str,
    refresh_token: str,
    expires_at: datetime,
    now: datetime,
) -> None:
    """Replace the pair after a refresh."""
    await session.exec(
        update(OaToken)
        .where(col(OaToken.app_id) == app_id)
        .values(
            access_token=access_token,
            refresh_token=refresh_token,
            expires_at=expires_at,
            updated_at=now,
        )
    )


async def record_inbound(
    *, session: AsyncSession, msg_id: str, payload: dict[str, Any], now: datetime
) -> bool:
    """Record a webhook event; False when the same event was recorded before."""
    table: Any = OaInbound.__table__  # type: ignore[attr-defined]
    statement = (
        insert_for(session, table)
        .values(msg_id=msg_id, payload=payload, received_at=now)
        .on_conflict_do_nothing(index_elements=["msg_id"])
    )
    result: Any = await session.execute(statement)
    return bool(result.rowcount)


async def pending_inbound(
    *, session: AsyncSession, received_before: datetime, limit: int = 100
) -> list[OaInbound]:
    """Return recorded events not yet handled, oldest first."""
    query = (
        select(OaInbound)
        .where(col(OaInbound.received_at) <= received_before)
        .order_by(col(OaInbound.received_at))
        .limit(limit)
    )
    return list((await session.exec(query)).all())


async def drop_inbound(*, session: AsyncSession, msg_id: str) -> None:
    """Forget a handled event (the inbox's processed-update row keeps it from running twice)."""
    await session.exec(delete(OaInbound).where(col(OaInbound.msg_id) == msg_id))


async def open_window(*, session: AsyncSession, user_id: str, now: datetime) -> None:
    """The follower wrote: a new 48-hour window with its full count of replies."""
    table: Any = OaReplyWindow.__table__  # type: ignore[attr-defined]
    statement = insert_for(session, table).values(
        user_id=user_id, last_message_at=now, replies_since=0
    )
    statement = statement.on_conflict_do_update(
        index_elements=["user_id"], set_={"last_message_at": now, "replies_since": 0}
    )
    await session.execute(statement)


async def window_of(*, session: AsyncSession, user_id: str) -> OaReplyWindow | None:
    """Return the follower's reply window, if they ever wrote."""
    return await session.get(OaReplyWindow, user_id)


async def count_replies(*, session: AsyncSession, user_id: str, sent: int) -> None:
    """Add `sent` messages to the replies used in the follower's window."""
    await session.exec(
        update(OaReplyWindow)
        .where(col(OaReplyWindow.user_id) == user_id)
        .values(replies_since=col(OaReplyWindow.replies_since) + sent)
    )


async def release_held(*, session: AsyncSession, channel: str, chat_id: str, now: datetime) -> int:
    """Queue again the chat's notices held outside the reply window; return how many."""
    result: Any = await session.exec(
        update(Outbox)
        .where(
            col(Outbox.channel) == channel,
            col(Outbox.chat_id) == chat_id,
            col(Outbox.status) == OutboxStatus.OUTSIDE_WINDOW,
        )
        .values(status=OutboxStatus.PENDING, available_at=now, attempts=0)
    )
    return int(result.rowcount or 0)
