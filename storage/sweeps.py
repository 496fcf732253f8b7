"""Deadline queries: claiming due tickets and dossiers, queueing notices in bulk, row locks.

Claims read the indexed due instants (`ticket.next_check_at`, `dossier.watch_at`) in time
order with FOR UPDATE SKIP LOCKED: on PostgreSQL several sweepers take disjoint batches without
waiting for each other; SQLite has no row locks and ignores the clause, but its writer lock
(taken at BEGIN IMMEDIATE, see storage/db.py) makes every sweeper's transaction run alone.
A claim lasts as long as its transaction: the caller moves each claimed row's due instant past
`now` and writes its notices before committing, so a crash before the commit leaves everything
to be claimed again and a crash after it has the notices safe in the outbox.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from storage.models import Dossier, Outbox, OutboxStatus, Ticket, TicketEvent
from storage.upsert import insert_for

# Multi-row INSERTs of a few fixed sizes: every distinct row count is another prepared
# statement that the drivers cache (SQLite keeps 100), and big ones cost megabytes each.
CHUNK_SIZES = (64, 16, 4, 1)


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Split rows into chunks whose sizes come from CHUNK_SIZES only."""
    start = 0
    for size in CHUNK_SIZES:
        while len(rows) - start >= size:
            yield rows[start : start + size]
            start += size


@dataclass(frozen=True)
class QueuedNotice:
    """One outbox row to write: where, what, and the key that makes it happen once."""

    channel: str
    chat_id: str
    payload: dict[str, Any]
    idempotency_key: str
    ticket_id: int | None = None


def claim_tickets_query(now: datetime, limit: int) -> SelectOfScalar[Ticket]:
    """Return the claim statement for tickets due by `now` (also used to EXPLAIN it)."""
    return (
        select(Ticket)
        .where(col(Ticket.next_check_at) <= now)
        .order_by(col(Ticket.next_check_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


def claim_dossiers_query(now: datetime, limit: int) -> SelectOfScalar[Dossier]:
    """Return the claim statement for dossiers whose watch instant has come."""
    return (
        select(Dossier)
        .where(col(Dossier.watch_at) <= now)
        .order_by(col(Dossier.watch_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


async def claim_due_tickets(*, session: AsyncSession, now: datetime, limit: int) -> list[Ticket]:
    """Claim up to `limit` tickets due by `now`, earliest first, locked for this transaction."""
    return list((await session.exec(claim_tickets_query(now, limit))).all())


async def claim_due_dossiers(*, session: AsyncSession, now: datetime, limit: int) -> list[Dossier]:
    """Claim up to `limit` dossiers due by `now`, earliest first, locked for this transaction."""
    return list((await session.exec(claim_dossiers_query(now, limit))).all())


async def next_due_at(*, session: AsyncSession) -> datetime | None:
    """Return the earliest instant a ticket or dossier will need the sweeper (index-only)."""
    ticket_at = (await session.exec(select(func.min(Ticket.next_check_at)))).one()
    dossier_at = (await session.exec(select(func.min(Dossier.watch_at)))).one()
    present = [at for at in (ticket_at, dossier_at) if at is not None]
    if not present:
        return None
    # min() over the raw column bypasses the column type on SQLite: normalise to aware UTC.
    return min(_aware(at) for at in present)


def _aware(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


async def enqueue_notices(
    *, session: AsyncSession, notices: Sequence[QueuedNotice], now: datetime
) -> int:
    """Write notices to the outbox in bulk, skipping keys already queued; return how many new."""
    if not notices:
        return 0
    table: Any = Outbox.__table__  # type: ignore[attr-defined]
    statement = (
        insert_for(session, table)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(table.c.id)
    )
    rows = [
        {
            "channel": notice.channel,
            "chat_id": notice.chat_id,
            "payload": notice.payload,
            "idempotency_key": notice.idempotency_key,
            "ticket_id": notice.ticket_id,
            "status": OutboxStatus.PENDING.value,
            "attempts": 0,
            "available_at": now,
            "created_at": now,
            "last_error": "",
        }
        for notice in notices
    ]
    # One statement, many parameter sets: SQLAlchemy batches them into multi-row INSERTs
    # ("insertmanyvalues") and RETURNING gives back only the rows actually inserted.
    written = 0
    for chunk in _chunks(rows):
        written += len((await session.execute(statement, chunk)).all())
    return written


async def add_events(*, session: AsyncSession, events: Sequence[dict[str, Any]]) -> None:
    """Append many ticket events at once (ticket_id, at, actor, kind, note, data each)."""
    if events:
        table: Any = TicketEvent.__table__  # type: ignore[attr-defined]
        for chunk in _chunks(list(events)):
            await session.execute(table.insert(), chunk)
