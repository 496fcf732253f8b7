"""Open311 queries: the service-request list with its filters, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import OPEN_STATES, Ticket, TicketState

MAX_REQUESTS = 1000
# Spam is never published: it is not a service request, and its text may be abuse.
HIDDEN_STATES = (TicketState.SPAM,)
CLOSED_STATES = tuple(s for s in TicketState if s not in OPEN_STATES and s not in HIDDEN_STATES)


async def list_requests(
    *,
    session: AsyncSession,
    codes: Sequence[str] = (),
    category_ids: Sequence[str] = (),
    start: datetime | None = None,
    end: datetime | None = None,
    status: str | None = None,
    limit: int = MAX_REQUESTS,
) -> list[Ticket]:
    """Return the published tickets matching every filter given, newest first, at most `limit`.

    `status` is "open" or "closed"; `start`/`end` bound the creation time (end excluded when
    equal, as a range of instants). Codes use the unique index, the rest `created_at`'s.
    """
    where: list[Any] = [col(Ticket.state).not_in(HIDDEN_STATES)]
    if codes:
        where.append(col(Ticket.code).in_([code.strip().upper() for code in codes]))
    if category_ids:
        where.append(col(Ticket.category_id).in_(list(category_ids)))
    if start is not None:
        where.append(col(Ticket.created_at) >= start)
    if end is not None:
        where.append(col(Ticket.created_at) <= end)
    if status == "open":
        where.append(col(Ticket.state).in_(OPEN_STATES))
    elif status == "closed":
        where.append(col(Ticket.state).in_(CLOSED_STATES))
    query = (
        select(Ticket)
        .where(*where)
        .order_by(col(Ticket.created_at).desc(), col(Ticket.id).desc())
        .limit(min(limit, MAX_REQUESTS))
    )
    return list((await session.exec(query)).all())


async def get_request(*, session: AsyncSession, code: str) -> Ticket | None:
    """Return the published ticket with this code, if any."""
    found = await list_requests(session=session, codes=[code], limit=1)
    return found[0] if found else None
