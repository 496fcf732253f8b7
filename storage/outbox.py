"""The durable outbox: messages are written with the change that caused them, then delivered."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Outbox, OutboxStatus
from storage.upsert import insert_for


async def enqueue(
    *,
    session: AsyncSession,
    channel: str,
    chat_id: str,
    payload: dict[str, Any],
    now: datetime,
    idempotency_key: str | None = None,
    ticket_id: int | None = None,
) -> bool:
    """Queue a message; with a key already queued, do nothing and return False."""
    table: Any = Outbox.__table__  # type: ignore[attr-defined]
    statement = insert_for(session, table).values(
        channel=channel,
        chat_id=chat_id,
        payload=payload,
        idempotency_key=idempotency_key,
        ticket_id=ticket_id,
        status=OutboxStatus.PENDING.value,
        attempts=0,
        available_at=now,
        created_at=now,
        last_error="",
    )
    if idempotency_key is not None:
        statement = statement.on_conflict_do_nothing(index_elements=["idempotency_key"])
    result: Any = await session.execute(statement)
    return bool(result.rowcount)


async def claim_due(
    *, session: AsyncSession, now: datetime, limit: int = 50, lease: timedelta
) -> list[Outbox]:
    """Claim messages due for delivery: they become invisible to other senders for `lease`.

    On PostgreSQL, FOR UPDATE SKIP LOCKED lets several instances claim without blocking or
    sharing; on SQLite the writer lock taken at BEGIN IMMEDIATE serialises claims.
    A sender that dies keeps its claims only until the lease runs out, then they are retried.
    """
    query = (
        select(Outbox)
        .where(
            col(Outbox.status).in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
            col(Outbox.available_at) <= now,
        )
        .order_by(col(Outbox.available_at), col(Outbox.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = list((await session.exec(query)).all())
    for row in rows:
        row.status = OutboxStatus.SENDING
        row.attempts += 1
        row.available_at = now + lease
        session.add(row)
    return rows


async def mark_sent(
    *, session: AsyncSession, outbox_id: int, now: datetime, message_id: str | None
) -> None:
    """Record a delivered message."""
    await session.exec(
        update(Outbox)
        .where(col(Outbox.id) == outbox_id)
        .values(status=OutboxStatus.SENT, sent_at=now, sent_message_id=message_id, last_error="")
    )


async def mark_retry(
    *, session: AsyncSession, outbox_id: int, available_at: datetime, error: str
) -> None:
    """Put a message back to be tried again at `available_at`."""
    await session.exec(
        update(Outbox)
        .where(col(Outbox.id) == outbox_id)
        .values(status=OutboxStatus.PENDING, available_at=available_at, last_error=error[:2000])
    )


async def mark_final(
    *, session: AsyncSession, outbox_id: int, status: OutboxStatus, error: str
) -> None:
    """Give up on a message (blocked by the user, or failed for good)."""
    await session.exec(
        update(Outbox)
        .where(col(Outbox.id) == outbox_id)
        .values(status=status, last_error=error[:2000])
    )


async def next_available_at(*, session: AsyncSession) -> datetime | None:
    """Return when the next queued message becomes due, if any is queued."""
    query = (
        select(Outbox.available_at)
        .where(col(Outbox.status).in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))
        .order_by(col(Outbox.available_at))
        .limit(1)
    )
    return (await session.exec(query)).first()


async def list_outbox(
    *, session: AsyncSession, status: OutboxStatus | None = None
) -> list[Outbox]:
    """Return outbox rows, oldest first (diagnostics and tests)."""
    query = select(Outbox).order_by(col(Outbox.id))
    if status is not None:
        query = query.where(Outbox.status == status)
    return list((await session.exec(query)).all())
