"""What the hotline operators do to a ticket, from their chat or the web console, without texts.

Each service applies one change to a ticket loaded (and row-locked) in the caller's
transaction, appends its `ticket_event`, and returns an `Outcome`: the changed ticket, the
event, and the `Notice` values saying who must be told of what. `handlers/operator_notices.py`
words the notices; the caller queues them in the same transaction (DESIGN rule 7).

Internal notes are events of kind ``note``: no notice ever carries them, and the views given to
citizens and agencies never read them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Config
from bot.domain.outcomes import Audience, Notice, TicketOutcome
from bot.domain.tickets import reschedule, route_ticket
from storage import console as console_store
from storage import tickets as ticket_store
from storage.console import AgencyOnTime, PeriodCounts
from storage.models import (
    OPEN_STATES,
    Ticket,
    TicketAttachment,
    TicketEvent,
    TicketFollower,
    TicketState,
)

NOTE = "note"
NOTE_LIMIT = 4000  # characters of a note or a reply kept (a chat message's size)
CLOSED_STATES = (TicketState.CLOSED, TicketState.SPAM, TicketState.MERGED, TicketState.RESOLVED)


class CloseReason(enum.StrEnum):
    """Why an operator closes a ticket without an agency's answer."""

    SPAM = "spam"  # closed silently
    DUPLICATE = "duplicate"
    OUT_OF_SCOPE = "out_of_scope"


CLOSE_REASON_WORDS: dict[str, CloseReason] = {
    "spam": CloseReason.SPAM,
    "rac": CloseReason.SPAM,
    "duplicate": CloseReason.DUPLICATE,
    "dup": CloseReason.DUPLICATE,
    "trung": CloseReason.DUPLICATE,
    "out_of_scope": CloseReason.OUT_OF_SCOPE,
    "out-of-scope": CloseReason.OUT_OF_SCOPE,
    "scope": CloseReason.OUT_OF_SCOPE,
    "ngoai_tham_quyen": CloseReason.OUT_OF_SCOPE,
    "ngoai-tham-quyen": CloseReason.OUT_OF_SCOPE,
}


def parse_close_reason(word: str) -> CloseReason | None:
    """Read a close reason as an operator types it (English or unaccented Vietnamese)."""
    return CLOSE_REASON_WORDS.get(word.strip().lower().replace(" ", "_"))


class OperationError(Exception):
    """A change refused; `reason` is a stable code the presentation words."""

    def __init__(self, reason: str, ticket: Ticket | None = None) -> None:
        super().__init__(f"{reason}: {ticket.code if ticket else '-'}")
        self.reason = reason
        self.ticket = ticket


# The kinds of the notices below; handlers/operator_notices.py words them.
OPERATOR_NOTICES = (
    "op.reply",
    "op.merged",
    "op.merged_agency",
    "op.closed_agency",
    "op.closed_duplicate",
    "op.closed_out_of_scope",
    "op.reopened",
)


@dataclass(frozen=True)
class TicketView:
    """Everything an operator sees of a ticket."""

    ticket: Ticket
    attachments: list[TicketAttachment]
    events: list[TicketEvent]
    notes: list[TicketEvent]
    followers: list[TicketFollower]
    duplicates: list[Ticket]
    merged_into: Ticket | None


async def view_ticket(*, session: AsyncSession, ticket: Ticket) -> TicketView:
    """Gather a ticket's card data, files, whole trail, notes and merges."""
    assert ticket.id is not None
    events = await ticket_store.list_events(session=session, ticket_id=ticket.id)
    merged_into = None
    if ticket.merged_into_id is not None:
        merged_into = await ticket_store.get_ticket(
            session=session, ticket_id=ticket.merged_into_id
        )
    return TicketView(
        ticket=ticket,
        attachments=await ticket_store.list_attachments(session=session, ticket_id=ticket.id),
        events=events,
        notes=[e for e in events if e.kind == NOTE],
        followers=await console_store.list_followers(session=session, ticket_id=ticket.id),
        duplicates=await console_store.list_merged_into(session=session, ticket_id=ticket.id),
        merged_into=merged_into,
    )


async def _to_citizens(
    session: AsyncSession, ticket: Ticket, kind: str, facts: dict[str, str]
) -> list[Notice]:
    """Address a notice to the reporter and to every follower of the ticket."""
    notices = [Notice(kind, Audience.CITIZEN, ticket=ticket, facts=facts)]
    assert ticket.id is not None
    own = (ticket.channel, ticket.chat_id)
    for follower in await console_store.list_followers(session=session, ticket_id=ticket.id):
        chat = (follower.channel, follower.chat_id)
        if chat != own:
            notices.append(
                Notice(
                    kind,
                    Audience.SUBSCRIBER,
                    ticket=ticket,
                    facts=facts,
                    chat=chat,
                    language=follower.language,
                )
            )
    return notices


def _to_agency(ticket: Ticket, kind: str, **facts: str) -> list[Notice]:
    if ticket.agency_id is None:
        return []
    return [Notice(kind, Audience.AGENCY, ticket=ticket, facts={"code": ticket.code, **facts})]


async def assign(
    *,
    session: AsyncSession,
    config: Config,
    ticket: Ticket,
    agency_id: str,
    actor: str,
    now: datetime,
) -> TicketOutcome:
    """Route or reroute the ticket to an agency, through the routing rules."""
    return await route_ticket(
        session=session,
        config=config,
        ticket=ticket,
        agency_id=agency_id,
        user_id=actor.split(":", 1)[-1],
        now=now,
    )


async def add_note(
    *, session: AsyncSession, ticket: Ticket, text: str, actor: str, now: datetime
) -> TicketOutcome:
    """Add an internal note: the trail keeps it; nobody outside the operators is told."""
    text = text.strip()
    if not text:
        raise OperationError("empty_note", ticket)
    await ticket_store.add_event(
        session=session, ticket=ticket, kind=NOTE, at=now, actor=actor, note=text[:NOTE_LIMIT]
    )
    return TicketOutcome(ticket, NOTE)


async def reply_to_citizen(
    *, session: AsyncSession, ticket: Ticket, text: str, actor: str, now: datetime
) -> TicketOutcome:
    """Send the reporter (and the followers) a message from the hotline."""
    text = text.strip()
    if not text:
        raise OperationError("empty_reply", ticket)
    text = text[:NOTE_LIMIT]
    notices = await _to_citizens(session, ticket, "op.reply", {"code": ticket.code, "text": text})
    if ticket.citizen_blocked and len(notices) == 1:
        raise OperationError("no_reporter", ticket)
    await ticket_store.add_event(
        session=session, ticket=ticket, kind="operator_reply", at=now, actor=actor, note=text
    )
    return TicketOutcome(ticket, "operator_reply", notices)


def _finish(ticket: Ticket, state: TicketState, now: datetime) -> None:
    ticket.state = state
    ticket.closed_at = now
    ticket.paused_at = None
    ticket.next_check_at = None


async def merge(
    *,
    session: AsyncSession,
    keep: Ticket,
    duplicate: Ticket,
    actor: str,
    now: datetime,
) -> TicketOutcome:
    """Merge a duplicate into the kept ticket: its reporters follow the kept one and are told."""
    if keep.id == duplicate.id:
        raise OperationError("merge_self", duplicate)
    if duplicate.state not in OPEN_STATES:
        raise OperationError("merge_closed", duplicate)
    if keep.state not in OPEN_STATES:
        raise OperationError("merge_target_closed", keep)
    assert keep.id is not None and duplicate.id is not None
    facts = {"code": duplicate.code, "kept": keep.code}
    told = await _to_citizens(session, duplicate, "op.merged", facts)
    notices = _to_agency(duplicate, "op.merged_agency", kept=keep.code) + told
    _finish(duplicate, TicketState.MERGED, now)
    duplicate.merged_into_id = keep.id
    for notice in told:
        chat = notice.chat or (duplicate.channel, duplicate.chat_id)
        if chat != (keep.channel, keep.chat_id):
            await console_store.add_follower(
                session=session,
                ticket_id=keep.id,
                channel=chat[0],
                chat_id=chat[1],
                language=notice.language if notice.chat else duplicate.language,
                from_ticket_id=duplicate.id,
                now=now,
            )
    await ticket_store.add_event(
        session=session,
        ticket=duplicate,
        kind="merged",
        at=now,
        actor=actor,
        data={"into": keep.code, "into_id": keep.id},
    )
    await ticket_store.add_event(
        session=session,
        ticket=keep,
        kind="merged_from",
        at=now,
        actor=actor,
        data={"from": duplicate.code, "from_id": duplicate.id, "reporters": len(told)},
    )
    return TicketOutcome(duplicate, "merged", notices)


async def close(
    *,
    session: AsyncSession,
    ticket: Ticket,
    reason: CloseReason,
    actor: str,
    now: datetime,
) -> TicketOutcome:
    """Close an open ticket as spam (silently), a duplicate, or out of the hotline's scope."""
    if ticket.state not in OPEN_STATES:
        raise OperationError("not_open", ticket)
    notices = _to_agency(ticket, "op.closed_agency")
    _finish(ticket, TicketState.SPAM if reason == CloseReason.SPAM else TicketState.CLOSED, now)
    await ticket_store.add_event(
        session=session,
        ticket=ticket,
        kind="closed",
        at=now,
        actor=actor,
        data={"reason": reason.value},
    )
    if reason != CloseReason.SPAM:
        facts = {"code": ticket.code}
        notices += await _to_citizens(session, ticket, f"op.closed_{reason.value}", facts)
    return TicketOutcome(ticket, "closed", notices)


async def reopen(
    *, session: AsyncSession, config: Config, ticket: Ticket, actor: str, now: datetime
) -> TicketOutcome:
    """Put a closed, spam, merged or resolved ticket back in the operators' queue."""
    if ticket.state not in CLOSED_STATES:
        raise OperationError("not_closed", ticket)
    previous = ticket.state
    merged_into = ticket.merged_into_id
    ticket.state = TicketState.TRIAGE
    ticket.agency_id = None
    ticket.merged_into_id = None
    ticket.closed_at = None
    ticket.resolved_at = None
    ticket.answer = ""
    ticket.rating = None
    ticket.accept_due_at = None
    ticket.resolve_due_at = None
    ticket.deemed_accepted = False
    ticket.triage_due_at = config.work_calendar.add_working_hours(
        now, config.deadlines.triage_hours
    )
    ticket.next_check_at = None
    reschedule(ticket, config, now)
    await ticket_store.add_event(
        session=session,
        ticket=ticket,
        kind="reopened_by_operator",
        at=now,
        actor=actor,
        data={"previous": previous.value, "merged_into": merged_into},
    )
    notices: list[Notice] = []
    if previous != TicketState.SPAM:  # a spammer is not told their spam is looked at again
        notices = await _to_citizens(session, ticket, "op.reopened", {"code": ticket.code})
    return TicketOutcome(ticket, "reopened_by_operator", notices)


# --- numbers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    """Today's and this month's numbers, and what is overdue or waiting now."""

    today: PeriodCounts
    month: PeriodCounts
    overdue: int
    waiting: int
    on_time: list[AgencyOnTime]


def day_and_month(config: Config, now: datetime) -> tuple[datetime, datetime, datetime]:
    """Return the starts of the local day and month of `now`, and the next month's start."""
    local = now.astimezone(config.work_calendar.tz)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    month = day.replace(day=1)
    following = (month + timedelta(days=32)).replace(day=1)
    return day, month, following


async def stats(*, session: AsyncSession, config: Config, now: datetime) -> Stats:
    """Count today's and this month's tickets, the overdue ones, and the queue."""
    day, month, following = day_and_month(config, now)
    overdue, waiting = await console_store.count_open_now(session=session, now=now)
    return Stats(
        today=await console_store.count_period(
            session=session, start=day, end=day + timedelta(days=1)
        ),
        month=await console_store.count_period(session=session, start=month, end=following),
        overdue=overdue,
        waiting=waiting,
        on_time=await console_store.on_time_by_agency(session=session, start=month, end=following),
    )
