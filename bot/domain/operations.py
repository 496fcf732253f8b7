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
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.chat import Reply
from bot.config import Config
from bot.domain.tickets import (
    TARGET,
    agency_target,
    citizen_target,
    reschedule,
    route_ticket,
)
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


@dataclass(frozen=True)
class Notice:
    """Someone to tell of a change: where, in which language, which notice, with what."""

    kind: str
    target: TARGET
    lang: str
    ticket: Ticket
    values: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What a service did: the ticket changed, its event, and who must be told."""

    ticket: Ticket
    event: TicketEvent | None
    notices: list[Notice] = field(default_factory=list)
    # Notices already worded by the ticket services that still speak (bot/domain/tickets.py).
    replies: list[Reply] = field(default_factory=list)


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


async def _citizens(session: AsyncSession, ticket: Ticket) -> list[tuple[TARGET, str]]:
    """Return the reporter's chat and every follower's, each with its language."""
    found: list[tuple[TARGET, str]] = []
    own = citizen_target(ticket)
    if own is not None:
        found.append((own, ticket.language))
    assert ticket.id is not None
    for follower in await console_store.list_followers(session=session, ticket_id=ticket.id):
        target = (follower.channel, follower.chat_id)
        if all(target != seen for seen, _lang in found):
            found.append((target, follower.language))
    return found


def _agency_notice(config: Config, ticket: Ticket, kind: str, **values: str) -> list[Notice]:
    if ticket.agency_id is None:
        return []
    target = agency_target(config, ticket.agency_id)
    if target is None:
        return []
    return [Notice(kind, target, "vi", ticket, {"code": ticket.code, **values})]


async def assign(
    *,
    session: AsyncSession,
    config: Config,
    ticket: Ticket,
    agency_id: str,
    actor: str,
    now: datetime,
) -> Outcome:
    """Route or reroute the ticket to an agency, through the routing rules."""
    replies = await route_ticket(
        session=session,
        config=config,
        ticket=ticket,
        agency_id=agency_id,
        user_id=actor.split(":", 1)[-1],
        now=now,
    )
    return Outcome(ticket, None, replies=replies)


async def add_note(
    *, session: AsyncSession, ticket: Ticket, text: str, actor: str, now: datetime
) -> Outcome:
    """Add an internal note: the trail keeps it; nobody outside the operators is told."""
    text = text.strip()
    if not text:
        raise OperationError("empty_note", ticket)
    event = await ticket_store.add_event(
        session=session, ticket=ticket, kind=NOTE, at=now, actor=actor, note=text[:NOTE_LIMIT]
    )
    return Outcome(ticket, event)


async def reply_to_citizen(
    *, session: AsyncSession, ticket: Ticket, text: str, actor: str, now: datetime
) -> Outcome:
    """Send the reporter (and the followers) a message from the hotline."""
    text = text.strip()
    if not text:
        raise OperationError("empty_reply", ticket)
    text = text[:NOTE_LIMIT]
    event = await ticket_store.add_event(
        session=session, ticket=ticket, kind="operator_reply", at=now, actor=actor, note=text
    )
    notices = [
        Notice("reply", target, lang, ticket, {"code": ticket.code, "text": text})
        for target, lang in await _citizens(session, ticket)
    ]
    if not notices:
        raise OperationError("no_reporter", ticket)
    return Outcome(ticket, event, notices)


def _finish(ticket: Ticket, state: TicketState, now: datetime) -> None:
    ticket.state = state
    ticket.closed_at = now
    ticket.paused_at = None
    ticket.next_check_at = None


async def merge(
    *,
    session: AsyncSession,
    config: Config,
    keep: Ticket,
    duplicate: Ticket,
    actor: str,
    now: datetime,
) -> Outcome:
    """Merge a duplicate into the kept ticket: its reporters follow the kept one and are told."""
    if keep.id == duplicate.id:
        raise OperationError("merge_self", duplicate)
    if duplicate.state not in OPEN_STATES:
        raise OperationError("merge_closed", duplicate)
    if keep.state not in OPEN_STATES:
        raise OperationError("merge_target_closed", keep)
    assert keep.id is not None and duplicate.id is not None
    notices = _agency_notice(config, duplicate, "merged_agency", kept=keep.code)
    moved = await _citizens(session, duplicate)
    _finish(duplicate, TicketState.MERGED, now)
    duplicate.merged_into_id = keep.id
    keep_reporter = citizen_target(keep)
    for target, lang in moved:
        if target != keep_reporter:
            await console_store.add_follower(
                session=session,
                ticket_id=keep.id,
                channel=target[0],
                chat_id=target[1],
                language=lang,
                from_ticket_id=duplicate.id,
                now=now,
            )
        values = {"code": duplicate.code, "kept": keep.code}
        notices.append(Notice("merged", target, lang, duplicate, values))
    event = await ticket_store.add_event(
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
        data={"from": duplicate.code, "from_id": duplicate.id, "reporters": len(moved)},
    )
    return Outcome(duplicate, event, notices)


async def close(
    *,
    session: AsyncSession,
    config: Config,
    ticket: Ticket,
    reason: CloseReason,
    actor: str,
    now: datetime,
) -> Outcome:
    """Close an open ticket as spam (silently), a duplicate, or out of the hotline's scope."""
    if ticket.state not in OPEN_STATES:
        raise OperationError("not_open", ticket)
    notices = _agency_notice(config, ticket, "closed_agency", reason=reason.value)
    _finish(ticket, TicketState.SPAM if reason == CloseReason.SPAM else TicketState.CLOSED, now)
    event = await ticket_store.add_event(
        session=session, ticket=ticket, kind="closed", at=now, actor=actor, data={"reason": reason}
    )
    if reason != CloseReason.SPAM:
        notices.extend(
            Notice(f"closed_{reason.value}", target, lang, ticket, {"code": ticket.code})
            for target, lang in await _citizens(session, ticket)
        )
    return Outcome(ticket, event, notices)


async def reopen(
    *, session: AsyncSession, config: Config, ticket: Ticket, actor: str, now: datetime
) -> Outcome:
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
    event = await ticket_store.add_event(
        session=session,
        ticket=ticket,
        kind="reopened_by_operator",
        at=now,
        actor=actor,
        data={"previous": previous.value, "merged_into": merged_into},
    )
    notices = []
    if previous != TicketState.SPAM:
        notices = [
            Notice("reopened", target, lang, ticket, {"code": ticket.code})
            for target, lang in await _citizens(session, ticket)
        ]
    return Outcome(ticket, event, notices)


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
