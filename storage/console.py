"""Console queries: users, web sessions, sign-in failures; the filtered queue and the numbers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, delete, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    OPEN_STATES,
    ConsoleUser,
    SignInFailure,
    Ticket,
    TicketAttachment,
    TicketFollower,
    TicketState,
    WebSession,
)
from storage.tickets import TicketPage, overdue_clause

# --- users -----------------------------------------------------------------------------------


async def get_user_by_name(*, session: AsyncSession, name: str) -> ConsoleUser | None:
    """Return the console user with this name."""
    return (await session.exec(select(ConsoleUser).where(ConsoleUser.name == name))).first()


async def add_user(*, session: AsyncSession, user: ConsoleUser) -> ConsoleUser:
    """Insert a console user and give it its id."""
    session.add(user)
    await session.flush()
    return user


async def list_users(*, session: AsyncSession) -> list[ConsoleUser]:
    """Return every console user by name."""
    return list((await session.exec(select(ConsoleUser).order_by(col(ConsoleUser.name)))).all())


async def drop_user_sessions(*, session: AsyncSession, user_id: int) -> None:
    """Sign a user out everywhere."""
    await session.execute(delete(WebSession).where(col(WebSession.user_id) == user_id))


# --- sessions and failures -------------------------------------------------------------------


async def add_session(*, session: AsyncSession, web_session: WebSession) -> None:
    """Store a new signed-in browser."""
    session.add(web_session)
    await session.flush()


async def get_session(
    *, session: AsyncSession, token_hash: str, now: datetime
) -> tuple[WebSession, ConsoleUser] | None:
    """Return an unexpired session and its enabled user."""
    query = (
        select(WebSession, ConsoleUser)
        .join(ConsoleUser, col(ConsoleUser.id) == col(WebSession.user_id))
        .where(
            WebSession.token_hash == token_hash,
            col(WebSession.expires_at) > now,
            col(ConsoleUser.disabled).is_(False),
        )
    )
    row = (await session.exec(query)).first()
    return (row[0], row[1]) if row else None


async def drop_session(*, session: AsyncSession, token_hash: str) -> None:
    """Forget a signed-in browser (sign-out)."""
    await session.execute(delete(WebSession).where(col(WebSession.token_hash) == token_hash))


async def add_failure(*, session: AsyncSession, name: str, now: datetime) -> None:
    """Record a wrong password for a user name."""
    session.add(SignInFailure(name=name, at=now))


async def failures_since(*, session: AsyncSession, name: str, since: datetime) -> list[datetime]:
    """Return when the name's wrong passwords since `since` came, oldest first."""
    query = (
        select(SignInFailure.at)
        .where(SignInFailure.name == name, col(SignInFailure.at) >= since)
        .order_by(col(SignInFailure.at))
    )
    return [at for at in (await session.exec(query)).all() if at is not None]


async def clear_failures(*, session: AsyncSession, name: str) -> None:
    """Forget a name's wrong passwords (after a good one)."""
    await session.execute(delete(SignInFailure).where(col(SignInFailure.name) == name))


# --- followers of a kept ticket ---------------------------------------------------------------


async def add_follower(
    *,
    session: AsyncSession,
    ticket_id: int,
    channel: str,
    chat_id: str,
    language: str,
    from_ticket_id: int | None,
    now: datetime,
) -> bool:
    """Make a chat follow a ticket; return False if it already does."""
    query = select(TicketFollower).where(
        TicketFollower.ticket_id == ticket_id,
        TicketFollower.channel == channel,
        TicketFollower.chat_id == chat_id,
    )
    if (await session.exec(query)).first() is not None:
        return False
    session.add(
        TicketFollower(
            ticket_id=ticket_id,
            channel=channel,
            chat_id=chat_id,
            language=language,
            from_ticket_id=from_ticket_id,
            created_at=now,
        )
    )
    await session.flush()
    return True


async def list_followers(*, session: AsyncSession, ticket_id: int) -> list[TicketFollower]:
    """Return the chats following a ticket, in the order they came."""
    query = (
        select(TicketFollower)
        .where(TicketFollower.ticket_id == ticket_id)
        .order_by(col(TicketFollower.id))
    )
    return list((await session.exec(query)).all())


async def followers_of(
    *, session: AsyncSession, ticket_ids: Iterable[int]
) -> dict[int, list[TicketFollower]]:
    """Return the followers of several tickets at once, by ticket id, in the order they came."""
    wanted = list(ticket_ids)
    if not wanted:
        return {}
    query = (
        select(TicketFollower)
        .where(col(TicketFollower.ticket_id).in_(wanted))
        .order_by(col(TicketFollower.id))
    )
    found: dict[int, list[TicketFollower]] = {}
    for follower in (await session.exec(query)).all():
        found.setdefault(follower.ticket_id, []).append(follower)
    return found


async def list_merged_into(*, session: AsyncSession, ticket_id: int) -> list[Ticket]:
    """Return the duplicates merged into a ticket."""
    query = select(Ticket).where(Ticket.merged_into_id == ticket_id).order_by(col(Ticket.id))
    return list((await session.exec(query)).all())


async def get_attachment(
    *, session: AsyncSession, attachment_id: int
) -> tuple[TicketAttachment, Ticket] | None:
    """Return an attachment and its ticket."""
    query = (
        select(TicketAttachment, Ticket)
        .join(Ticket, col(Ticket.id) == col(TicketAttachment.ticket_id))
        .where(TicketAttachment.id == attachment_id)
    )
    row = (await session.exec(query)).first()
    return (row[0], row[1]) if row else None


# --- the console's queue ----------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilter:
    """What the console's queue shows; empty fields do not filter."""

    state: str = ""  # a TicketState value, or "open" for every open state
    agency_id: str = ""  # an agency id, or "triage" for the operators' queue
    category_id: str = ""
    channel: str = ""
    overdue: bool = False
    text: str = ""  # in the code, the complaint or the reporter's name


def _due() -> ColumnElement[Any]:
    return func.coalesce(col(Ticket.resolve_due_at), col(Ticket.triage_due_at))


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def list_queue(
    *, session: AsyncSession, where: QueueFilter, now: datetime, offset: int, limit: int
) -> TicketPage:
    """Return one page of tickets matching the filter, earliest due time first."""
    clauses: list[Any] = []
    if where.state == "open":
        clauses.append(col(Ticket.state).in_(OPEN_STATES))
    elif where.state:
        clauses.append(col(Ticket.state) == where.state)
    if where.agency_id == "triage":
        clauses.append(col(Ticket.agency_id).is_(None))
    elif where.agency_id:
        clauses.append(col(Ticket.agency_id) == where.agency_id)
    if where.category_id:
        clauses.append(col(Ticket.category_id) == where.category_id)
    if where.channel:
        clauses.append(col(Ticket.channel) == where.channel)
    if where.overdue:
        clauses.append(overdue_clause(now))
    if where.text.strip():
        pattern = _like(where.text.strip().lower())
        clauses.append(
            or_(
                func.lower(col(Ticket.code)).like(pattern, escape="\\"),
                func.lower(col(Ticket.text)).like(pattern, escape="\\"),
                func.lower(col(Ticket.reporter_name)).like(pattern, escape="\\"),
            )
        )
    order = [case((_due().is_(None), 1), else_=0), _due(), col(Ticket.id)]
    query = select(Ticket).where(*clauses).order_by(*order).offset(offset).limit(limit)
    tickets = list((await session.exec(query)).all())
    counted = await session.exec(select(func.count()).select_from(Ticket).where(*clauses))
    return TicketPage(tickets, int(counted.one()))


# --- numbers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodCounts:
    """How many tickets came, were routed, accepted and resolved in a period."""

    new: int
    routed: int
    accepted: int
    resolved: int


def _in(column: Any, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


def _count_if(clause: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((clause, 1), else_=0)), 0)


async def count_period(*, session: AsyncSession, start: datetime, end: datetime) -> PeriodCounts:
    """Count the tickets created, routed, accepted and resolved in [start, end)."""
    query = select(
        _count_if(_in(col(Ticket.created_at), start, end)),
        _count_if(_in(col(Ticket.routed_at), start, end)),
        _count_if(_in(col(Ticket.accepted_at), start, end)),
        _count_if(_in(col(Ticket.resolved_at), start, end)),
    ).where(
        or_(
            _in(col(Ticket.created_at), start, end),
            _in(col(Ticket.routed_at), start, end),
            _in(col(Ticket.accepted_at), start, end),
            _in(col(Ticket.resolved_at), start, end),
        )
    )
    new, routed, accepted, resolved = (await session.exec(query)).one()
    return PeriodCounts(int(new), int(routed), int(accepted), int(resolved))


async def count_open_now(*, session: AsyncSession, now: datetime) -> tuple[int, int]:
    """Return how many open tickets are overdue now, and how many wait in the triage queue."""
    query = select(
        _count_if(overdue_clause(now)), _count_if(col(Ticket.state) == TicketState.TRIAGE)
    ).where(col(Ticket.state).in_(OPEN_STATES))
    overdue, waiting = (await session.exec(query)).one()
    return int(overdue), int(waiting)


@dataclass(frozen=True)
class AgencyOnTime:
    """An agency's tickets resolved in a period and how many of them in time."""

    agency_id: str
    resolved: int
    on_time: int


async def on_time_by_agency(
    *, session: AsyncSession, start: datetime, end: datetime
) -> list[AgencyOnTime]:
    """Return per agency the tickets resolved in [start, end) and those resolved by their due."""
    in_time = or_(
        col(Ticket.resolve_due_at).is_(None),
        col(Ticket.resolved_at) <= col(Ticket.resolve_due_at),
    )
    query = (
        select(Ticket.agency_id, func.count(), _count_if(in_time))
        .where(col(Ticket.agency_id).is_not(None), _in(col(Ticket.resolved_at), start, end))
        .group_by(col(Ticket.agency_id))
        .order_by(col(Ticket.agency_id))
    )
    return [
        AgencyOnTime(str(agency), int(total), int(good))
        for agency, total, good in (await session.exec(query)).all()
    ]
