"""The scorecard's queries: a month's counts grouped in SQL, and the spans the calendar measures.

Counting happens in the database, grouped by agency, so a month of 100,000 tickets costs a few
index scans; only what needs the working-hour calendar (the time from routing to acceptance
and to resolution, dossier lateness) comes back as plain columns, never as ORM objects.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    String,
    and_,
    case,
    cast,
    distinct,
    extract,
    func,
    or_,
    select,
    type_coerce,
)
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Dossier, ReportDelivery, Ticket, TicketEvent, TicketState
from storage.tickets import count_overdue_by_agency, overdue_clause
from storage.upsert import insert_for

DONE_TICKET_STATES = (TicketState.RESOLVED, TicketState.CLOSED)


@dataclass
class MonthCounts:
    """A month's counts per agency id (absent: zero)."""

    received: dict[str, int] = field(default_factory=dict)
    resolved: dict[str, int] = field(default_factory=dict)
    resolved_on_time: dict[str, int] = field(default_factory=dict)
    returns: dict[str, int] = field(default_factory=dict)
    passed_around: dict[str, int] = field(default_factory=dict)
    deemed_accepted: dict[str, int] = field(default_factory=dict)
    reopened: dict[str, int] = field(default_factory=dict)
    ratings: dict[str, tuple[int, int]] = field(default_factory=dict)  # (how many, their sum)
    overdue_now: dict[str, int] = field(default_factory=dict)

    def agency_ids(self) -> set[str]:
        """Return every agency id that has a count."""
        found: set[str] = set()
        for value in vars(self).values():
            found.update(value)
        return found


@dataclass
class Spans:
    """Per agency, the (from, to) instants of the month's acceptances and resolutions, each as
    microseconds since 1970-01-01 UTC (a month holds 200,000 of them: no datetime objects)."""

    accept: dict[str, list[tuple[int, int]]] = field(default_factory=lambda: defaultdict(list))
    resolve: dict[str, list[tuple[int, int]]] = field(default_factory=lambda: defaultdict(list))


@dataclass(frozen=True)
class OverdueRow:
    """An overdue open ticket: its due time and, for a paused clock, when it paused."""

    code: str
    agency_id: str | None
    category_id: str
    due_at: datetime
    reference: datetime | None  # lateness stops here (the clock paused); None: now


@dataclass(frozen=True)
class DossierRow:
    """The columns of a dossier that its lateness depends on."""

    agency_id: str
    status: int
    due_at: datetime
    completed_at: datetime | None
    new_due_at: datetime | None


def _in(column: Any, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


async def month_counts(
    *,
    session: AsyncSession,
    start: datetime,
    end: datetime,
    now: datetime,
    count_overdue: bool = True,
) -> MonthCounts:
    """Count the month [start, end) per agency; overdue tickets as of `now` if asked."""
    counts = MonthCounts()
    agency = col(TicketEvent.data)["agency"].as_string()
    routing = ("routed", "rerouted")
    month = _in(col(TicketEvent.at), start, end)
    events = (
        select(col(TicketEvent.kind), agency, func.count())
        .where(col(TicketEvent.kind).in_((*routing, "returned", "reopened")), month)
        .group_by(col(TicketEvent.kind), agency)
    )
    for kind, agency_id, number in (await session.execute(events)).all():
        if agency_id is None:
            continue
        name = "received" if kind in routing else "returns" if kind == "returned" else "reopened"
        target = getattr(counts, name)
        target[agency_id] = target.get(agency_id, 0) + int(number)
    # A ticket sent to the agency, returned and sent back is received once: among the few
    # tickets routed more than once in the month (found from the index alone), take off the
    # repeats. Counting DISTINCT over every routing would cost a sort of the whole month.
    repeated = (
        select(col(TicketEvent.ticket_id))
        .where(col(TicketEvent.kind).in_(routing), month)
        .group_by(col(TicketEvent.ticket_id))
        .having(func.count() > 1)
    )
    repeats = (
        select(agency, func.count() - func.count(distinct(col(TicketEvent.ticket_id))))
        .where(
            col(TicketEvent.kind).in_(routing),
            month,
            col(TicketEvent.ticket_id).in_(repeated),
        )
        .group_by(agency)
    )
    for agency_id, extra in (await session.execute(repeats)).all():
        if agency_id is not None and extra:
            counts.received[agency_id] -= int(extra)

    passed = (
        select(agency, func.count(distinct(col(TicketEvent.ticket_id))))
        .join(Ticket, col(Ticket.id) == col(TicketEvent.ticket_id))
        .where(
            col(TicketEvent.kind) == "returned",
            month,
            col(Ticket.passed_around).is_(True),
            agency.is_not(None),
        )
        .group_by(agency)
    )
    counts.passed_around = {a: int(n) for a, n in (await session.execute(passed)).all()}

    on_time = or_(
        col(Ticket.resolve_due_at).is_(None), col(Ticket.resolved_at) <= col(Ticket.resolve_due_at)
    )
    resolved = (
        select(
            col(Ticket.agency_id),
            func.count(),
            func.sum(case((on_time, 1), else_=0)),
            func.count(col(Ticket.rating)),
            func.coalesce(func.sum(col(Ticket.rating)), 0),
        )
        .where(
            col(Ticket.state).in_(DONE_TICKET_STATES),
            _in(col(Ticket.resolved_at), start, end),
            col(Ticket.agency_id).is_not(None),
        )
        .group_by(col(Ticket.agency_id))
    )
    for agency_id, number, timely, rated, stars in (await session.execute(resolved)).all():
        counts.resolved[agency_id] = int(number)
        counts.resolved_on_time[agency_id] = int(timely or 0)
        if rated:
            counts.ratings[agency_id] = (int(rated), int(stars))

    deemed = (
        select(col(Ticket.agency_id), func.count())
        .where(
            col(Ticket.deemed_accepted).is_(True),
            _in(col(Ticket.accepted_at), start, end),
            col(Ticket.agency_id).is_not(None),
        )
        .group_by(col(Ticket.agency_id))
    )
    counts.deemed_accepted = {a: int(n) for a, n in (await session.execute(deemed)).all()}
    if count_overdue:
        overdue = await count_overdue_by_agency(session=session, now=now)
        counts.overdue_now = {a: n for a, n in overdue.items() if a is not None}
    return counts


def epoch_micros(session: AsyncSession, column: Any) -> ColumnElement[int]:
    """The instant in a column as microseconds since 1970-01-01 UTC, computed by the database.

    SQLite keeps an instant as UTC text 'YYYY-MM-DD HH:MM:SS.ffffff' (whole seconds from
    strftime, the digits after the point as they are); PostgreSQL's epoch is an exact numeric.
    """
    if _dialect(session) == "sqlite":
        text = type_coerce(column, String)
        seconds = cast(func.strftime("%s", text), Integer)
        fraction = cast(func.substr(text + ".000000", 21, 6), Integer)
        return seconds * 1_000_000 + fraction
    return cast(extract("epoch", column) * 1_000_000, BigInteger)


def _dialect(session: AsyncSession) -> str:
    bind = session.get_bind()
    return bind.dialect.name


async def month_spans(*, session: AsyncSession, start: datetime, end: datetime) -> Spans:
    """Return, per agency, routing → acceptance and routing → resolution of the month.

    Both queries read their covering index alone (ix_ticket_accepted_at, ix_ticket_resolved_month)
    and return plain integers through Core (no ORM rows, no datetime objects).
    """
    spans = Spans()
    routed = epoch_micros(session, col(Ticket.routed_at))
    accepted = select(
        col(Ticket.agency_id), routed, epoch_micros(session, col(Ticket.accepted_at))
    ).where(
        _in(col(Ticket.accepted_at), start, end),
        col(Ticket.agency_id).is_not(None),
        col(Ticket.routed_at).is_not(None),
    )
    connection = await session.connection()
    rows: Any = (await connection.execute(accepted)).all()
    for agency_id, routed_at, accepted_at in rows:
        spans.accept[agency_id].append((routed_at, accepted_at))
    resolved = select(
        col(Ticket.agency_id), routed, epoch_micros(session, col(Ticket.resolved_at))
    ).where(
        _in(col(Ticket.resolved_at), start, end),
        col(Ticket.state).in_(DONE_TICKET_STATES),
        col(Ticket.agency_id).is_not(None),
        col(Ticket.routed_at).is_not(None),
    )
    rows = (await connection.execute(resolved)).all()
    for agency_id, routed_at, resolved_at in rows:
        spans.resolve[agency_id].append((routed_at, resolved_at))
    return spans


async def month_dossiers(
    *, session: AsyncSession, start: datetime, end: datetime
) -> list[DossierRow]:
    """Return the dossiers whose due date falls in [start, end), with an agency."""
    query = select(
        col(Dossier.agency_id),
        col(Dossier.status),
        col(Dossier.due_at),
        col(Dossier.completed_at),
        col(Dossier.new_due_at),
    ).where(_in(col(Dossier.due_at), start, end), col(Dossier.agency_id).is_not(None))
    return [DossierRow(*row) for row in (await session.execute(query)).all()]


async def overdue_tickets(*, session: AsyncSession, now: datetime) -> list[OverdueRow]:
    """Return every overdue open ticket as of `now`, longest overdue first."""
    triage = col(Ticket.state) == TicketState.TRIAGE
    due = case((triage, col(Ticket.triage_due_at)), else_=col(Ticket.resolve_due_at))
    query = (
        select(
            col(Ticket.code),
            col(Ticket.agency_id),
            col(Ticket.category_id),
            col(Ticket.state),
            col(Ticket.triage_due_at),
            col(Ticket.resolve_due_at),
            col(Ticket.paused_at),
        )
        .where(overdue_clause(now))
        .order_by(due, col(Ticket.id))
    )
    rows: list[OverdueRow] = []
    for code, agency_id, category, state, triage_due, resolve_due, paused_at in (
        await session.execute(query)
    ).all():
        # Picked here rather than selected as CASE: SQLite returns a CASE of dates as text.
        due_at = triage_due if state == TicketState.TRIAGE else resolve_due
        waiting = state == TicketState.WAITING_CITIZEN
        rows.append(OverdueRow(code, agency_id, category, due_at, paused_at if waiting else None))
    return rows


# --- the leaders' monthly delivery -----------------------------------------------------------


async def report_delivered(
    *, session: AsyncSession, month: str, channel: str, chat_id: str
) -> bool:
    """Tell whether the month's scorecard was already claimed for that chat."""
    query = select(col(ReportDelivery.month)).where(
        col(ReportDelivery.month) == month,
        col(ReportDelivery.channel) == channel,
        col(ReportDelivery.chat_id) == chat_id,
    )
    return (await session.execute(query)).first() is not None


async def claim_report_delivery(
    *, session: AsyncSession, month: str, channel: str, chat_id: str, now: datetime
) -> bool:
    """Claim the month's delivery to a chat; False if another instance already has.

    The row is inserted in the caller's transaction: a concurrent claimer waits on the key
    until that transaction ends, then finds the row (or takes it, if the first rolled back).
    """
    table: Any = ReportDelivery.__table__  # type: ignore[attr-defined]
    statement = (
        insert_for(session, table)
        .values(month=month, channel=channel, chat_id=chat_id, claimed_at=now)
        .on_conflict_do_nothing(index_elements=["month", "channel", "chat_id"])
    )
    result: Any = await session.execute(statement)
    return bool(result.rowcount)
