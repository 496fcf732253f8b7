"""Ticket lifecycle: creating a ticket from a complaint, its clocks, and where its card goes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Config
from bot.triage import Decision
from storage import tickets as ticket_store
from storage.models import Privacy, Ticket, TicketState

TRIAGE = "triage"


@dataclass(frozen=True)
class Reporter:
    """Who filed the complaint and how to reach them."""

    channel: str
    chat_id: str
    user_id: str
    language: str = "vi"
    name: str = ""
    phone: str = ""
    privacy: Privacy = Privacy.AGENCY


@dataclass(frozen=True)
class Clocks:
    """The due instants a new ticket carries."""

    triage_due_at: datetime | None
    accept_due_at: datetime | None
    resolve_due_at: datetime | None


def initial_clocks(*, config: Config, routed: bool, sla_hours: float, now: datetime) -> Clocks:
    """Start the clocks: triage for the operators' queue; accept and resolve for an agency."""
    calendar = config.work_calendar
    if not routed:
        return Clocks(calendar.add_working_hours(now, config.deadlines.triage_hours), None, None)
    return Clocks(
        triage_due_at=None,
        accept_due_at=calendar.add_working_hours(now, config.deadlines.accept_hours),
        resolve_due_at=calendar.add_working_hours(now, sla_hours),
    )


def expected_resolution(*, config: Config, category_id: str, now: datetime) -> datetime:
    """Return the due date a complaint of this category filed now would carry."""
    category = config.category(category_id)
    sla = category.sla_hours if category else 40.0
    return config.work_calendar.add_working_hours(now, sla)


def default_privacy(track: str) -> Privacy:
    """Denunciations keep the reporter's identity with the operators by default."""
    return Privacy.OPERATORS if track == "to-cao" else Privacy.AGENCY


def next_check_at(ticket: Ticket) -> datetime | None:
    """Return the earliest due instant among the ticket's running clocks."""
    candidates = [
        ticket.triage_due_at if ticket.state == TicketState.TRIAGE else None,
        ticket.accept_due_at if ticket.state == TicketState.ROUTED else None,
        ticket.resolve_due_at
        if ticket.state in (TicketState.ROUTED, TicketState.ACCEPTED)
        else None,
    ]
    present = [c for c in candidates if c is not None]
    return min(present) if present else None


async def open_ticket(
    *,
    session: AsyncSession,
    config: Config,
    reporter: Reporter,
    text: str,
    decision: Decision,
    category_id: str,
    now: datetime,
    attachments: Sequence[dict[str, str]] = (),
    location: tuple[float, float] | None = None,
    dossier_code: str | None = None,
) -> Ticket:
    """Create the ticket with its code, clocks and first events (not yet committed)."""
    category = config.category(category_id)
    agency_id = decision.agency if category_id == decision.category else None
    if agency_id is None and category is not None:
        agency_id = category.agency
    if agency_id == TRIAGE:
        agency_id = None
    routed = agency_id is not None
    clocks = initial_clocks(
        config=config, routed=routed, sla_hours=category.sla_hours if category else 40, now=now
    )
    local_year = now.astimezone(config.work_calendar.tz).year
    ticket = Ticket(
        code=await ticket_store.next_ticket_code(session=session, year=local_year),
        channel=reporter.channel,
        chat_id=reporter.chat_id,
        user_id=reporter.user_id,
        language=reporter.language,
        reporter_name=reporter.name,
        reporter_phone=reporter.phone,
        privacy=reporter.privacy,
        text=text,
        category_id=category_id,
        agency_id=agency_id,
        ward=decision.ward,
        subject_agency_id=decision.subject_agency,
        dossier_code=dossier_code,
        confidence=decision.confidence,
        evidence=list(decision.evidence),
        suggestions=[list(alt) for alt in decision.alternatives],
        track=category.track if category else decision.track,
        state=TicketState.ROUTED if routed else TicketState.TRIAGE,
        latitude=location[0] if location else None,
        longitude=location[1] if location else None,
        created_at=now,
        routed_at=now if routed else None,
        triage_due_at=clocks.triage_due_at,
        accept_due_at=clocks.accept_due_at,
        resolve_due_at=clocks.resolve_due_at,
    )
    ticket.next_check_at = next_check_at(ticket)
    await ticket_store.add_ticket(session=session, ticket=ticket)
    await ticket_store.add_attachments(session=session, ticket=ticket, attachments=attachments)
    await ticket_store.add_event(
        session=session,
        ticket=ticket,
        kind="created",
        at=now,
        actor="citizen",
        data={"category": category_id, "confidence": decision.confidence},
    )
    await ticket_store.add_event(
        session=session,
        ticket=ticket,
        kind="routed" if routed else "queued",
        at=now,
        actor="system",
        data={"agency": agency_id} if routed else {"suggestions": ticket.suggestions},
    )
    return ticket
