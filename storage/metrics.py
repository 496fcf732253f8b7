"""Cheap indexed counts read at scrape time for /metrics."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Outbox, OutboxStatus, Ticket
from storage.tickets import overdue_clause

QUEUED = (OutboxStatus.PENDING, OutboxStatus.SENDING)


async def outbox_depth(*, session: AsyncSession) -> dict[str, int]:
    """Return how many messages wait per channel (pending or being sent)."""
    query = (
        select(Outbox.channel, func.count())
        .where(col(Outbox.status).in_(QUEUED))
        .group_by(col(Outbox.channel))
    )
    return {channel: int(n) for channel, n in (await session.exec(query)).all()}


async def tickets_by_state(*, session: AsyncSession) -> dict[str, int]:
    """Return how many tickets are in each state."""
    query = select(Ticket.state, func.count()).group_by(col(Ticket.state))
    return {str(state): int(n) for state, n in (await session.exec(query)).all()}


async def count_overdue(*, session: AsyncSession, now: datetime) -> int:
    """Return how many open tickets are overdue at `now`."""
    query = select(func.count()).select_from(Ticket).where(overdue_clause(now))
    return int((await session.exec(query)).one())


async def oldest_due_check(*, session: AsyncSession, now: datetime) -> datetime | None:
    """Return the earliest deadline check that is due but not yet done (the sweeper's backlog)."""
    query = select(func.min(col(Ticket.next_check_at))).where(col(Ticket.next_check_at) <= now)
    return (await session.exec(query)).one()


async def triage_counts(*, session: AsyncSession, since: datetime) -> tuple[int, int]:
    """Return (tickets filed since `since`, of which the classifier left to the operators)."""
    to_triage = or_(
        col(Ticket.routed_at).is_(None), col(Ticket.routed_at) > col(Ticket.created_at)
    )
    query = select(func.count(), func.count().filter(to_triage)).where(
        col(Ticket.created_at) >= since
    )
    total, triaged = (await session.exec(query)).one()
    return int(total), int(triaged)
