"""Ticket queries: codes, creation, events, attachments, lookups."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, cast, func, literal, null, or_, union_all
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    OPEN_STATES,
    Ticket,
    TicketAttachment,
    TicketCounter,
    TicketEvent,
    TicketState,
)
from storage.upsert import insert_for


def format_ticket_code(year: int, sequence: int) -> str:
    """Format the public ticket code `PA-YYYY-NNNNNN`."""
    return f"PA-{year:04d}-{sequence:06d}"


async def next_ticket_code(*, session: AsyncSession, year: int) -> str:
    """Hand out the next code of the year; safe under concurrent writers on both databases."""
    table: Any = TicketCounter.__table__  # type: ignore[attr-defined]
    statement = (
        insert_for(session, table)
        .values(year=year, last=1)
        .on_conflict_do_update(index_elements=["year"], set_={"last": table.c.last + 1})
        .returning(table.c.last)
    )
    sequence = (await session.execute(statement)).scalar_one()
    return format_ticket_code(year, int(sequence))


async def add_ticket(*, session: AsyncSession, ticket: Ticket) -> Ticket:
    """Insert a new ticket and give it its id."""
    session.add(ticket)
    await session.flush()
    return ticket


async def add_event(
    *,
    session: AsyncSession,
    ticket: Ticket,
    kind: str,
    at: datetime,
    actor: str = "system",
    note: str = "",
    data: dict[str, Any] | None = None,
) -> TicketEvent:
    """Append an event to the ticket's audit trail."""
    assert ticket.id is not None, "flush the ticket before adding events"
    event = TicketEvent(
        ticket_id=ticket.id, kind=kind, at=at, actor=actor, note=note, data=data or {}
    )
    session.add(event)
    return event


async def add_attachments(
    *, session: AsyncSession, ticket: Ticket, attachments: Sequence[dict[str, str]]
) -> None:
    """Store the files that came with the complaint."""
    assert ticket.id is not None
    for item in attachments:
        session.add(
            TicketAttachment(
                ticket_id=ticket.id,
                kind=item.get("kind", "document"),
                file_id=item["file_id"],
                file_name=item.get("file_name", ""),
                mime_type=item.get("mime_type", ""),
            )
        )


async def get_ticket_by_code(*, session: AsyncSession, code: str) -> Ticket | None:
    """Return the ticket with this public code."""
    query = select(Ticket).where(Ticket.code == code.strip().upper())
    return (await session.exec(query)).first()


async def get_ticket(*, session: AsyncSession, ticket_id: int) -> Ticket | None:
    """Return the ticket with this id."""
    return await session.get(Ticket, ticket_id)


async def list_attachments(*, session: AsyncSession, ticket_id: int) -> list[TicketAttachment]:
    """Return a ticket's attachments in the order they came."""
    query = (
        select(TicketAttachment)
        .where(TicketAttachment.ticket_id == ticket_id)
        .order_by(col(TicketAttachment.id))
    )
    return list((await session.exec(query)).all())


async def list_events(*, session: AsyncSession, ticket_id: int) -> list[TicketEvent]:
    """Return a ticket's audit trail, oldest first."""
    query = (
        select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(col(TicketEvent.id))
    )
    return list((await session.exec(query)).all())


async def list_reporter_tickets(
    *, session: AsyncSession, channel: str, chat_id: str, limit: int = 10
) -> list[Ticket]:
    """Return a reporter's newest tickets."""
    query = (
        select(Ticket)
        .where(Ticket.channel == channel, Ticket.chat_id == chat_id)
        .order_by(col(Ticket.created_at).desc(), col(Ticket.id).desc())
        .limit(limit)
    )
    return list((await session.exec(query)).all())


async def list_recent_open_in_category(
    *, session: AsyncSession, category_id: str, since: datetime, limit: int = 200
) -> list[Ticket]:
    """Return open tickets of a category created since `since` (for duplicate offers)."""
    query = (
        select(Ticket)
        .where(
            Ticket.category_id == category_id,
            col(Ticket.state).in_(OPEN_STATES),
            col(Ticket.created_at) >= since,
        )
        .order_by(col(Ticket.created_at).desc())
        .limit(limit)
    )
    return list((await session.exec(query)).all())


async def mark_reporter_unreachable(
    *,
    session: AsyncSession,
    ticket_id: int,
    channel: str,
    chat_id: str,
    now: datetime,
    reason: str,
) -> None:
    """Record on the ticket that its reporter can no longer be messaged (blocked the bot)."""
    ticket = await session.get(Ticket, ticket_id)
    if (
        ticket is None
        or ticket.citizen_blocked
        or (ticket.channel, ticket.chat_id) != (channel, chat_id)
    ):
        return
    ticket.citizen_blocked = True
    session.add(ticket)
    await add_event(
        session=session, ticket=ticket, kind="reporter_unreachable", at=now, note=reason[:500]
    )


async def count_tickets(*, session: AsyncSession) -> int:
    """Return how many tickets exist."""
    from sqlalchemy import func

    result = await session.exec(select(func.count()).select_from(Ticket))
    return int(result.one())


# --- after resolution, and work lists (rating, reopening, /danhsach, /hangdoi, /quahan) --------

AGENCY_WORK_STATES = (TicketState.ROUTED, TicketState.ACCEPTED, TicketState.WAITING_CITIZEN)
RUNNING_STATES = (TicketState.ROUTED, TicketState.ACCEPTED)


@dataclass(frozen=True)
class TicketPage:
    """The first tickets of a list and how many the whole list holds."""

    tickets: list[Ticket]
    total: int


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """Return the SQL test of "overdue at `now`" (bot.domain.tickets.is_overdue says the same)."""
    return or_(
        and_(col(Ticket.state) == TicketState.TRIAGE, col(Ticket.triage_due_at) <= now),
        and_(col(Ticket.state).in_(RUNNING_STATES), col(Ticket.resolve_due_at) <= now),
        # A paused clock: overdue only if it had run out when the agency asked the citizen.
        and_(
            col(Ticket.state) == TicketState.WAITING_CITIZEN,
            col(Ticket.paused_at).is_not(None),
            col(Ticket.resolve_due_at) <= col(Ticket.paused_at),
        ),
    )


@dataclass(frozen=True)
class _Slice:
    """One part of a work list that an index reads in list order.

    `due` is the column the slice is ordered by (then id), or None for a slice ordered by id
    alone; `rank` puts the whole slice before or after others (overdue first, no due last).
    """

    where: tuple[Any, ...]
    due: Any = None
    rank: tuple[int, ...] = ()


async def _merged_page(
    session: AsyncSession, slices: Sequence[_Slice], counted: Sequence[Sequence[Any]], limit: int
) -> TicketPage:
    """The first `limit` tickets of the slices merged in list order, and the list's size.

    One statement reads at most `limit` (id, due) keys from each slice in index order (no
    ticket row is read, nothing is sorted whole), the keys are merged here, and only the page's
    tickets are loaded. `counted` are the filters whose counts add up to the list's size.
    """
    due_type = Ticket.__table__.c.resolve_due_at.type  # type: ignore[attr-defined]
    parts = []
    for number, part in enumerate(slices):
        due = part.due if part.due is not None else cast(null(), due_type)
        order = (part.due, col(Ticket.id)) if part.due is not None else (col(Ticket.id),)
        inner = (
            select(literal(number, Integer).label("part"), due.label("due"), col(Ticket.id))
            .where(*part.where)
            .order_by(*order)
            .limit(limit)
            .subquery()
        )
        parts.append(select(inner.c.part, inner.c.due, inner.c.id))
    # Within one rank every due is a time, or (the slices by id alone) every due is None.
    keys = sorted(
        (await session.execute(union_all(*parts))).all(),
        key=lambda row: (slices[row[0]].rank, row[1] or 0, row[2]),
    )
    ids = [row[2] for row in keys[:limit]]
    rows = (await session.exec(select(Ticket).where(col(Ticket.id).in_(ids)))).all() if ids else []
    by_id = {ticket.id: ticket for ticket in rows}
    tickets = [by_id[ticket_id] for ticket_id in ids if ticket_id in by_id]
    if len(keys) < limit:  # every slice was read to its end
        return TicketPage(tickets, len(keys))
    return TicketPage(tickets, await _count(session, counted))


async def _count(session: AsyncSession, filters: Sequence[Sequence[Any]]) -> int:
    """How many tickets match any of the (disjoint) filters: one count each, in one statement."""
    counts = [
        select(func.count()).select_from(Ticket).where(*where).scalar_subquery()
        for where in filters
    ]
    total: ColumnElement[Any] = counts[0]
    for count in counts[1:]:
        total = total + count
    return int((await session.execute(select(total))).scalar_one())


def _paused_overdue() -> tuple[Any, ...]:
    """A paused clock is overdue only if it had run out when the agency asked the citizen."""
    return (
        col(Ticket.state) == TicketState.WAITING_CITIZEN,
        col(Ticket.paused_at).is_not(None),
        col(Ticket.resolve_due_at) <= col(Ticket.paused_at),
    )


def _overdue_filters(now: datetime) -> list[tuple[Any, ...]]:
    """The overdue test (overdue_clause) as disjoint filters, each one index range."""
    return [
        (col(Ticket.state) == TicketState.TRIAGE, col(Ticket.triage_due_at) <= now),
        *(
            (col(Ticket.state) == state, col(Ticket.resolve_due_at) <= now)
            for state in RUNNING_STATES
        ),
        _paused_overdue(),
    ]


async def list_agency_work(
    *,
    session: AsyncSession,
    agency_id: str,
    now: datetime,
    overdue_only: bool = False,
    limit: int = 30,
) -> TicketPage:
    """Return an agency's open tickets: overdue first, then by resolve due time (none last).

    Read slice by slice along ix_ticket_agency_state_due: for each state its overdue tickets,
    then the others by due time, then those without one.
    """
    mine = col(Ticket.agency_id) == agency_id
    due = col(Ticket.resolve_due_at)
    overdue = [
        *(_Slice((mine, Ticket.state == state, due <= now), due) for state in RUNNING_STATES),
        _Slice((mine, *_paused_overdue()), due),
    ]
    if overdue_only:
        return await _merged_page(session, overdue, [s.where for s in overdue], limit)
    waiting = col(Ticket.state) == TicketState.WAITING_CITIZEN
    in_time = [
        *(_Slice((mine, Ticket.state == state, due > now), due, (1,)) for state in RUNNING_STATES),
        _Slice(
            (
                mine,
                waiting,
                due.is_not(None),
                or_(col(Ticket.paused_at).is_(None), due > col(Ticket.paused_at)),
            ),
            due,
            (1,),
        ),
        *(
            _Slice((mine, Ticket.state == state, due.is_(None)), None, (2,))
            for state in AGENCY_WORK_STATES
        ),
    ]
    everything = (mine, col(Ticket.state).in_(AGENCY_WORK_STATES))
    return await _merged_page(session, overdue + in_time, [everything], limit)


async def list_triage_queue(*, session: AsyncSession, limit: int = 30) -> TicketPage:
    """Return the operators' triage queue, earliest triage due time first (none last)."""
    queued = col(Ticket.state) == TicketState.TRIAGE
    due = col(Ticket.triage_due_at)
    slices = [_Slice((queued, due.is_not(None)), due), _Slice((queued, due.is_(None)), None, (1,))]
    return await _merged_page(session, slices, [(queued,)], limit)


async def list_overdue(*, session: AsyncSession, now: datetime, limit: int = 30) -> TicketPage:
    """Return every overdue open ticket (triage queue included), longest overdue first.

    Longest overdue = earliest due time of the clock that ran out: the triage clock of a queued
    ticket, the resolve clock of the others (what the overdue line shows; the same as resolve
    due, else triage due, since a ticket entering the queue has its resolve clock cleared).
    Each part of the overdue test is read in the order of its own index
    (ix_ticket_state_triage_due, ix_ticket_state_resolve_due) and the parts merged: a million
    tickets with thousands overdue are not sorted whole.
    """
    triage, *running = _overdue_filters(now)
    slices = [
        _Slice(triage, col(Ticket.triage_due_at)),
        *(_Slice(where, col(Ticket.resolve_due_at)) for where in running),
    ]
    return await _merged_page(session, slices, _overdue_filters(now), limit)


async def count_overdue_by_agency(
    *, session: AsyncSession, now: datetime
) -> dict[str | None, int]:
    """Return how many tickets each agency holds overdue (None: the triage queue).

    One grouped count per part of the overdue test, each read from its index alone.
    """
    parts = [
        select(col(Ticket.agency_id), func.count().label("n"))
        .where(*where)
        .group_by(col(Ticket.agency_id))
        for where in _overdue_filters(now)
    ]
    counts: dict[str | None, int] = {}
    for agency, count in (await session.execute(union_all(*parts))).all():
        counts[agency] = counts.get(agency, 0) + int(count)
    return counts


async def count_events(*, session: AsyncSession, ticket_id: int, kind: str) -> int:
    """Return how many events of one kind a ticket's trail holds."""
    query = (
        select(func.count())
        .select_from(TicketEvent)
        .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == kind)
    )
    return int((await session.exec(query)).one())


async def claim_resolved_before(
    *, session: AsyncSession, resolved_before: datetime, limit: int
) -> list[Ticket]:
    """Claim resolved tickets resolved before the instant (their reopen window is over)."""
    query = (
        select(Ticket)
        .where(Ticket.state == TicketState.RESOLVED, col(Ticket.resolved_at) < resolved_before)
        .order_by(col(Ticket.resolved_at), col(Ticket.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.exec(query)).all())


async def lock_ticket(*, session: AsyncSession, ticket_id: int) -> Ticket | None:
    """Return the ticket row-locked until the transaction ends, read fresh from the database."""
    query = (
        select(Ticket)
        .where(Ticket.id == ticket_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.exec(query)).first()


async def lock_waiting_ticket(
    *, session: AsyncSession, channel: str, chat_id: str
) -> Ticket | None:
    """Return the reporter's ticket that waits for their answer (the latest asked), locked."""
    query = (
        select(Ticket)
        .where(
            Ticket.channel == channel,
            Ticket.chat_id == chat_id,
            Ticket.state == TicketState.WAITING_CITIZEN,
        )
        .order_by(col(Ticket.paused_at).desc(), col(Ticket.id).desc())
        .limit(1)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.exec(query)).first()


async def returning_agencies(*, session: AsyncSession, ticket_id: int | None) -> list[str]:
    """Return the agencies that returned the ticket, in the order they did."""
    if ticket_id is None:
        return []
    query = (
        select(TicketEvent.data)
        .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "returned")
        .order_by(col(TicketEvent.id))
    )
    agencies: list[str] = []
    for data in (await session.exec(query)).all():
        agency = (data or {}).get("agency")
        if agency and agency not in agencies:
            agencies.append(str(agency))
    return agencies
