"""Counting queries for the numbers leaders, operators and the console show.

A period is [since, until). Counts read the ticket's own instants: `created_at` (new),
`routed_at` (routed: the latest route, so a reroute counts for the period it happened in),
`accepted_at` (accepted, by the agency or by silence), `resolved_at` (resolved), and a deadline
missed in the period: a resolve clock that ran out within it (before `now`) on a ticket not
resolved by then, or a triage clock that ran out within it on a ticket still in the queue.
`waiting` is the triage queue now, whatever the period. Filtering by agency means the agency
that holds the ticket now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Ticket, TicketState


@dataclass(frozen=True)
class TicketCounts:
    """How many tickets of a period were new, routed, accepted, resolved, overdue; the queue."""

    new: int = 0
    routed: int = 0
    accepted: int = 0
    resolved: int = 0
    overdue: int = 0
    waiting: int = 0

    def __add__(self, other: TicketCounts) -> TicketCounts:
        """Add two counts field by field (a province total from its agencies)."""
        return TicketCounts(
            self.new + other.new,
            self.routed + other.routed,
            self.accepted + other.accepted,
            self.resolved + other.resolved,
            self.overdue + other.overdue,
            self.waiting + other.waiting,
        )


def _within(column: Any, since: datetime, until: datetime) -> ColumnElement[bool]:
    return and_(col(column) >= since, col(column) < until)


def _missed(since: datetime, until: datetime, now: datetime) -> ColumnElement[bool]:
    end = min(until, now)
    resolve_due = col(Ticket.resolve_due_at)
    return or_(
        and_(
            resolve_due >= since,
            resolve_due < end,
            or_(col(Ticket.resolved_at).is_(None), col(Ticket.resolved_at) > resolve_due),
        ),
        and_(
            col(Ticket.state) == TicketState.TRIAGE,
            col(Ticket.triage_due_at) >= since,
            col(Ticket.triage_due_at) < end,
        ),
    )


def _counted(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _columns(since: datetime, until: datetime, now: datetime) -> list[Any]:
    return [
        _counted(_within(Ticket.created_at, since, until)),
        _counted(_within(Ticket.routed_at, since, until)),
        _counted(_within(Ticket.accepted_at, since, until)),
        _counted(_within(Ticket.resolved_at, since, until)),
        _counted(_missed(since, until, now)),
        _counted(col(Ticket.state) == TicketState.TRIAGE),
    ]


async def ticket_counts(
    *,
    session: AsyncSession,
    since: datetime,
    until: datetime,
    now: datetime | None = None,
    agency_id: str | None = None,
) -> TicketCounts:
    """Count the period's tickets, of one agency or of the whole province."""
    query = select(*_columns(since, until, now or until))
    if agency_id is not None:
        query = query.where(Ticket.agency_id == agency_id)
    row = (await session.exec(query)).one()
    return TicketCounts(*(int(value) for value in row))


async def ticket_counts_by_agency(
    *, session: AsyncSession, since: datetime, until: datetime, now: datetime | None = None
) -> dict[str | None, TicketCounts]:
    """Count the period's tickets per holding agency (None: no agency, the operators' queue)."""
    query = select(col(Ticket.agency_id), *_columns(since, until, now or until)).group_by(
        col(Ticket.agency_id)
    )
    counts: dict[str | None, TicketCounts] = {}
    for agency_id, *values in (await session.exec(query)).all():
        found = TicketCounts(*(int(value) for value in values))
        if found != TicketCounts():
            counts[agency_id] = found
    return counts
