"""The durable outbox: messages are written with the change that caused them, then delivered."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, text
from sqlalchemy import update as sa_update
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import OUTSTANDING_SQL, Outbox, OutboxStatus
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


async def enqueue_many(
    *, session: AsyncSession, messages: Sequence[dict[str, Any]], now: datetime
) -> None:
    """Queue many messages in one statement, in the order given (their ids follow it).

    Each message has `channel`, `chat_id`, `payload` and optionally `idempotency_key` and
    `ticket_id`; one whose key is already queued is skipped.
    """
    if not messages:
        return
    table: Any = Outbox.__table__  # type: ignore[attr-defined]
    rows = [
        {
            "channel": message["channel"],
            "chat_id": message["chat_id"],
            "payload": message["payload"],
            "idempotency_key": message.get("idempotency_key"),
            "ticket_id": message.get("ticket_id"),
            "status": OutboxStatus.PENDING.value,
            "attempts": 0,
            "available_at": now,
            "created_at": now,
            "last_error": "",
        }
        for message in messages
    ]
    statement = insert_for(session, table).on_conflict_do_nothing(
        index_elements=["idempotency_key"]
    )
    await session.execute(statement, rows)


class ClaimedMessage(NamedTuple):
    """A message claimed for delivery: what a sender needs of its outbox row."""

    id: int
    channel: str
    chat_id: str
    payload: dict[str, Any]
    attempts: int
    ticket_id: int | None


async def claim_due(
    *, session: AsyncSession, now: datetime, limit: int = 50, lease: timedelta
) -> list[ClaimedMessage]:
    """Claim messages due for delivery: they become invisible to other senders for `lease`.

    One UPDATE … RETURNING. Oldest first, and a chat's message only when every earlier one of
    the chat still outstanding is due too (so comes in this claim): a message waiting for a
    retry, or claimed by another sender, holds the chat's later ones back, which keeps each
    chat in order across senders. On PostgreSQL the claims of all instances take turns (an
    advisory lock held for the claim's short transaction), since a claim running beside
    another could not see its uncommitted rows; SQLite's BEGIN IMMEDIATE serialises claims.
    A sender that dies keeps its claims only until the lease runs out, then they are retried.
    """
    table: Any = Outbox.__table__  # type: ignore[attr-defined]
    earlier = table.alias("earlier")
    held_back = (
        select(earlier.c.id)
        .where(
            earlier.c.channel == table.c.channel,
            earlier.c.chat_id == table.c.chat_id,
            earlier.c.id < table.c.id,
            # Written out, not bound: so the planner sees the partial index's own predicate.
            text(f"earlier.{OUTSTANDING_SQL}"),
            earlier.c.available_at > now,
        )
        # OFFSET 0 keeps PostgreSQL from turning the test into an anti-join, which it plans
        # as one scan of the whole outbox; as a subplan it is a short index probe per row.
        .offset(0)
        .exists()
    )
    due = (
        select(table.c.id)
        .where(
            # Written out, not bound: SQLite plans a bound IN as a scan of the whole table.
            text(f"outbox.{OUTSTANDING_SQL}"),
            table.c.available_at <= now,
            ~held_back,
        )
        .order_by(table.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if _is_postgresql(session):
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CLAIM_LOCK})
    statement = (
        sa_update(table)
        .where(table.c.id.in_(due.scalar_subquery()))
        .values(
            status=OutboxStatus.SENDING.value,
            attempts=table.c.attempts + 1,
            available_at=now + lease,
        )
        .returning(*(table.c[name] for name in ClaimedMessage._fields))
    )
    result = await session.execute(statement)
    # Plain tuples: a model instance per row cost more than the claim itself.
    return sorted(ClaimedMessage(*row) for row in result)


# An arbitrary constant naming the outbox claim among PostgreSQL advisory locks.
CLAIM_LOCK = 0x0B0C_1022


def _is_postgresql(session: AsyncSession) -> bool:
    return session.bind is not None and session.bind.dialect.name == "postgresql"


async def mark_sent(
    *, session: AsyncSession, outbox_id: int, now: datetime, message_id: str | None
) -> None:
    """Record a delivered message."""
    await mark_sent_many(session=session, sent=[(outbox_id, message_id)], now=now)


async def mark_sent_many(
    *, session: AsyncSession, sent: Sequence[tuple[int, str | None]], now: datetime
) -> None:
    """Record delivered messages, (outbox id, sent message id) each, in one statement."""
    if not sent:
        return
    table: Any = Outbox.__table__  # type: ignore[attr-defined]
    statement = (
        sa_update(table)
        .where(table.c.id == bindparam("sent_id"))
        .values(
            status=OutboxStatus.SENT.value,
            sent_at=now,
            sent_message_id=bindparam("sent_message"),
            last_error="",
        )
    )
    await session.execute(statement, [{"sent_id": oid, "sent_message": mid} for oid, mid in sent])


async def release_claims(
    *, session: AsyncSession, outbox_ids: Sequence[int], now: datetime
) -> int:
    """Give claimed messages back at once (a sender stopping), so none waits for its lease."""
    if not outbox_ids:
        return 0
    statement = (
        update(Outbox)
        .where(
            col(Outbox.id).in_(list(outbox_ids)),
            col(Outbox.status) == OutboxStatus.SENDING,
        )
        .values(status=OutboxStatus.PENDING, available_at=now, attempts=col(Outbox.attempts) - 1)
    )
    result: Any = await session.exec(statement)
    return int(result.rowcount or 0)


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
    table: Any = Outbox.__table__  # type: ignore[attr-defined]
    query = select(func.min(table.c.available_at)).where(text(f"outbox.{OUTSTANDING_SQL}"))
    return (await session.execute(query)).scalar()


async def list_outbox(
    *, session: AsyncSession, status: OutboxStatus | None = None
) -> list[Outbox]:
    """Return outbox rows, oldest first (diagnostics and tests)."""
    query = select(Outbox).order_by(col(Outbox.id))
    if status is not None:
        query = query.where(Outbox.status == status)
    return list((await session.exec(query)).all())
