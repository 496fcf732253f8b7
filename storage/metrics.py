"""The database figures behind /metrics, each one indexed query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Outbox, OutboxStatus, Ticket, TicketEvent
from storage.tickets import overdue_clause


@dataclass(frozen=True)
class Snapshot:
    """What the gauges show at one instant."""

    outbox_depth: dict[str, int]
    tickets: dict[str, int]
    overdue: int
    oldest_due_check: datetime | None
    recent_created: int
    recent_queued: int


async def snapshot(*, session: AsyncSession, now: datetime, since: datetime) -> Snapshot:
    """Count the outbox backlog, tickets by state, overdue ones, and the sweeper's backlog."""
    depth = await session.exec(
        select(Outbox.channel, func.count())
        .where(col(Outbox.status).in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))
        .group_by(col(Outbox.channel))
    )
    states = await session.exec(select(Ticket.state, func.count()).group_by(col(Ticket.state)))
    overdue = await session.exec(
        select(func.count()).select_from(Ticket).where(overdue_clause(now))
    )
    oldest = await session.exec(
        select(func.min(Ticket.next_check_at)).where(col(Ticket.next_check_at) <= now)
    )
    created = await session.exec(
        select(func.count()).select_from(Ticket).where(col(Ticket.created_at) >= since)
    )
    queued = await session.exec(
        select(func.count())
        .select_from(TicketEvent)
        .join(Ticket, col(Ticket.id) == col(TicketEvent.ticket_id))
        .where(col(TicketEvent.kind) == "queued", col(Ticket.created_at) >= since)
    )
    return Snapshot(
        outbox_depth={str(channel): int(count) for channel, count in depth.all()},
        tickets={str(getattr(state, "value", state)): int(count) for state, count in states.all()},
        overdue=int(overdue.one()),
        oldest_due_check=_aware(oldest.one()),
        recent_created=int(created.one()),
        recent_queued=int(queued.one()),
    )


def _aware(instant: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes for an aggregate; the column stores UTC.
    if instant is not None and instant.tzinfo is None:
        return instant.replace(tzinfo=UTC)
    return instant
