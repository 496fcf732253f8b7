"""Queries behind Open311 GeoReport v2: requests listed with its filters, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import desc
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Ticket, TicketAttachment, TicketState

# GeoReport's two statuses over the ticket's states.
CLOSED_STATES = (TicketState.RESOLVED, TicketState.CLOSED, TicketState.SPAM, TicketState.MERGED)
OPEN_STATES = tuple(state for state in TicketState if state not in CLOSED_STATES)


async def list_requests(
    *,
    session: AsyncSession,
    codes: Sequence[str] = (),
    categories: Sequence[str] = (),
    start: datetime | None = None,
    end: datetime | None = None,
    closed: bool | None = None,
    limit: int = 1000,
) -> list[Ticket]:
    """Return the tickets matching the filters, newest first, at most `limit`."""
    query = select(Ticket)
    if codes:
        query = query.where(col(Ticket.code).in_(list(codes)))
    if categories:
        query = query.where(col(Ticket.category_id).in_(list(categories)))
    if start is not None:
        query = query.where(col(Ticket.created_at) >= start)
    if end is not None:
        query = query.where(col(Ticket.created_at) <= end)
    if closed is not None:
        query = query.where(col(Ticket.state).in_(CLOSED_STATES if closed else OPEN_STATES))
    query = query.order_by(desc(col(Ticket.created_at)), desc(col(Ticket.id))).limit(limit)
    return list((await session.exec(query)).all())


async def first_media_urls(*, session: AsyncSession, ticket_ids: Sequence[int]) -> dict[int, str]:
    """Return, per ticket, the first attachment given as a web address (Open311's media_url)."""
    if not ticket_ids:
        return {}
    query = (
        select(TicketAttachment)
        .where(col(TicketAttachment.ticket_id).in_(list(ticket_ids)))
        .where(col(TicketAttachment.file_id).startswith("http"))
        .order_by(col(TicketAttachment.id))
    )
    found: dict[int, str] = {}
    for attachment in (await session.exec(query)).all():
        found.setdefault(attachment.ticket_id, attachment.file_id)
    return found
