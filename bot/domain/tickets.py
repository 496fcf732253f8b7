"""Ticket lifecycle: creation, clocks, the allowed transitions and the deadline ladder.

The rules are plain functions on a `Ticket` with time passed in and no I/O: `initial_clocks`,
`milestones` (the escalation ladder of SPEC §4), and the transitions `accept`, `return_`,
`ask`, `resume`, `resolve`, `route`, `deem_accepted`, and after resolution `rate`, `reopen`,
`close_resolved`, each raising `TransitionError` when the ticket's state does not allow it.
The async service functions below apply a rule to a ticket loaded (and row-locked) in the
caller's transaction, record a `ticket_event`, and return the messages the change causes, as
`Reply` values carrying their target chat; the caller queues them in the same transaction
(DESIGN rule 7).

Scheduling: `Ticket.next_check_at` is the earliest ladder milestone the sweeper has not yet
handled. The sweeper handles the milestones in [next_check_at, now] and moves it to the first
one after now; a transition moves it to the first milestone of the new state at or after the
transition, keeping an earlier one still waiting for the sweeper (see `reschedule`).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.chat import Attachment, Reply
from bot.config import Config
from bot.domain.routing import TRIAGE, Router, RoutingRefused
from bot.domain.triage import Decision
from handlers.messages import Safe, fmt_datetime, t
from storage import tickets as ticket_store
from storage.models import Privacy, Ticket, TicketState

log = logging.getLogger(__name__)

NOTICE_TEXT_LIMIT = 3000  # user text quoted in a notice; the whole text stays in the event
RESOLVED_NOTICE_LIMIT = 4000  # a "resolved" notice with its rating invitation, under 4096
TARGET = tuple[str, str]  # (channel, chat id)


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


def sla_hours_of(config: Config, category_id: str) -> float:
    """Return the resolve clock's length for a category (40 working hours if unknown)."""
    category = config.category(category_id)
    return category.sla_hours if category else 40.0


def expected_resolution(*, config: Config, category_id: str, now: datetime) -> datetime:
    """Return the due date a complaint of this category filed now would carry."""
    return config.work_calendar.add_working_hours(now, sla_hours_of(config, category_id))


def default_privacy(track: str) -> Privacy:
    """Denunciations keep the reporter's identity with the operators by default."""
    return Privacy.OPERATORS if track == "to-cao" else Privacy.AGENCY


# --- the deadline ladder ---------------------------------------------------------------------


class Rung(enum.StrEnum):
    """A milestone of SPEC §4's escalation ladder."""

    TRIAGE_OVERDUE = "triage_overdue"  # triage clock out: operators
    TRIAGE_ESCALATED = "triage_escalated"  # still not routed one triage period later: supervisor
    DEEMED_ACCEPTED = "deemed_accepted"  # accept clock out: the agency has agreed by silence
    REMINDER = "reminder"  # resolve clock at 75 %: the agency
    OVERDUE = "overdue"  # resolve clock out: agency, operators, citizen
    ESCALATED = "escalated"  # 2 working days past due: the supervisor (and the citizen)


@dataclass(frozen=True)
class Milestone:
    """One rung of a ticket's ladder: when it fires and the due instant it belongs to."""

    rung: Rung
    at: datetime
    due: datetime


RESOLVE_STATES = (TicketState.ROUTED, TicketState.ACCEPTED)


def milestones(ticket: Ticket, config: Config) -> list[Milestone]:
    """Return the ladder of the ticket's running clocks, in time order."""
    calendar = config.work_calendar
    deadlines = config.deadlines
    found: list[Milestone] = []
    if ticket.state == TicketState.TRIAGE and ticket.triage_due_at is not None:
        due = ticket.triage_due_at
        found.append(Milestone(Rung.TRIAGE_OVERDUE, due, due))
        escalate = calendar.add_working_hours(due, deadlines.triage_hours)
        found.append(Milestone(Rung.TRIAGE_ESCALATED, escalate, due))
    if ticket.state == TicketState.ROUTED and ticket.accept_due_at is not None:
        found.append(Milestone(Rung.DEEMED_ACCEPTED, ticket.accept_due_at, ticket.accept_due_at))
    if ticket.state in RESOLVE_STATES and ticket.resolve_due_at is not None:
        due = ticket.resolve_due_at
        remaining = (1 - deadlines.reminder_fraction) * sla_hours_of(config, ticket.category_id)
        found.append(Milestone(Rung.REMINDER, calendar.add_working_hours(due, -remaining), due))
        found.append(Milestone(Rung.OVERDUE, due, due))
        escalate = calendar.add_working_hours(due, deadlines.escalate_after_hours)
        found.append(Milestone(Rung.ESCALATED, escalate, due))
    order = list(Rung)
    return sorted(found, key=lambda m: (m.at, order.index(m.rung)))


def due_milestones(
    ticket: Ticket,
    config: Config,
    *,
    since: datetime,
    until: datetime,
    ladder: Sequence[Milestone] | None = None,
) -> list[Milestone]:
    """Return the milestones in [since, until]; an overdue notice makes the reminder moot."""
    ladder = milestones(ticket, config) if ladder is None else ladder
    due = [m for m in ladder if since <= m.at <= until]
    if any(m.rung == Rung.OVERDUE for m in due):
        due = [m for m in due if m.rung != Rung.REMINDER]
    return due


def first_milestone_after(
    ticket: Ticket, config: Config, after: datetime, *, inclusive: bool = False
) -> datetime | None:
    """Return the first milestone after `after` (or at it, when inclusive)."""
    for milestone in milestones(ticket, config):
        if milestone.at > after or (inclusive and milestone.at == after):
            return milestone.at
    return None


def next_check_at(ticket: Ticket, config: Config, now: datetime) -> datetime | None:
    """Return when the sweeper must first look at a ticket whose clocks changed at `now`."""
    return first_milestone_after(ticket, config, now, inclusive=True)


def reschedule(ticket: Ticket, config: Config, now: datetime) -> None:
    """Set `next_check_at` after a transition, keeping a milestone the sweeper has not handled."""
    upcoming = next_check_at(ticket, config, now)
    pending = ticket.next_check_at
    if upcoming is None:
        ticket.next_check_at = None
    elif pending is not None and pending <= now:
        ticket.next_check_at = min(pending, upcoming)
    else:
        ticket.next_check_at = upcoming


# --- transitions (pure rules) ----------------------------------------------------------------


class Action(enum.StrEnum):
    """What someone may do to a ticket."""

    ACCEPT = "accept"
    RETURN = "return"
    ASK = "ask"
    RESOLVE = "resolve"
    ROUTE = "route"


class TransitionError(Exception):
    """A change the ticket's state does not allow; `reason` names the message to show."""

    def __init__(self, reason: str, ticket: Ticket) -> None:
        super().__init__(f"{reason}: {ticket.code} ({ticket.state})")
        self.reason = reason
        self.ticket = ticket


AGENCY_ACTION_STATES: dict[Action, tuple[TicketState, ...]] = {
    Action.ACCEPT: (TicketState.ROUTED,),
    Action.RETURN: (TicketState.ROUTED,),
    Action.ASK: (TicketState.ROUTED, TicketState.ACCEPTED, TicketState.WAITING_CITIZEN),
    Action.RESOLVE: (TicketState.ROUTED, TicketState.ACCEPTED, TicketState.WAITING_CITIZEN),
}
ROUTABLE_STATES = (TicketState.TRIAGE, TicketState.ROUTED, TicketState.ACCEPTED)


def check_agency_action(ticket: Ticket, action: Action, agency_id: str | None) -> None:
    """Raise TransitionError unless the agency `agency_id` may do `action` now."""
    if agency_id is None or ticket.agency_id != agency_id:
        raise TransitionError("not_holder", ticket)
    if action == Action.ACCEPT and ticket.state == TicketState.ACCEPTED:
        raise TransitionError("already_accepted", ticket)
    if action == Action.RETURN:
        if ticket.deemed_accepted:
            raise TransitionError("deemed_accepted", ticket)
        if ticket.passed_around:
            raise TransitionError("final_owner", ticket)
        if ticket.state == TicketState.ACCEPTED:
            raise TransitionError("accepted_no_return", ticket)
    if ticket.state not in AGENCY_ACTION_STATES[action]:
        raise TransitionError("wrong_state", ticket)


def accept(ticket: Ticket, *, now: datetime) -> None:
    """The agency takes the ticket: the accept clock stops, the resolve clock runs on."""
    if ticket.state != TicketState.ROUTED:
        raise TransitionError("wrong_state", ticket)
    ticket.state = TicketState.ACCEPTED
    ticket.accepted_at = now


def deem_accepted(ticket: Ticket) -> None:
    """The accept clock ran out: the agency has agreed by silence and may no longer return."""
    if ticket.state != TicketState.ROUTED:
        raise TransitionError("wrong_state", ticket)
    ticket.state = TicketState.ACCEPTED
    ticket.deemed_accepted = True
    ticket.accepted_at = ticket.accept_due_at


def return_(ticket: Ticket, *, config: Config, now: datetime) -> bool:
    """The agency hands the ticket back to the operators; return True if now passed around."""
    if ticket.state != TicketState.ROUTED or ticket.deemed_accepted or ticket.passed_around:
        raise TransitionError("wrong_state", ticket)
    ticket.returns_count += 1
    ticket.state = TicketState.TRIAGE
    ticket.agency_id = None
    ticket.accepted_at = None
    ticket.accept_due_at = None
    ticket.resolve_due_at = None
    ticket.triage_due_at = config.work_calendar.add_working_hours(
        now, config.deadlines.triage_hours
    )
    if ticket.returns_count >= 2:
        ticket.passed_around = True
        return True
    return False


def ask(ticket: Ticket, *, now: datetime) -> bool:
    """The agency asks the citizen: the resolve clock pauses. Return True if this accepted it."""
    if ticket.state not in AGENCY_ACTION_STATES[Action.ASK]:
        raise TransitionError("wrong_state", ticket)
    implicitly_accepted = ticket.state == TicketState.ROUTED
    if implicitly_accepted:
        ticket.accepted_at = now
    if ticket.state != TicketState.WAITING_CITIZEN:
        ticket.paused_at = now
    ticket.state = TicketState.WAITING_CITIZEN
    return implicitly_accepted


def resume(ticket: Ticket, *, config: Config, now: datetime) -> float:
    """The citizen answered: the resolve clock restarts, its due pushed by the paused hours."""
    if ticket.state != TicketState.WAITING_CITIZEN:
        raise TransitionError("not_waiting", ticket)
    calendar = config.work_calendar
    paused_at = ticket.paused_at or now
    paused_hours = max(0.0, calendar.working_hours_between(paused_at, now))
    if ticket.resolve_due_at is not None:
        ticket.resolve_due_at = calendar.add_working_hours(ticket.resolve_due_at, paused_hours)
    ticket.paused_at = None
    ticket.state = TicketState.ACCEPTED
    return paused_hours


def resolve(ticket: Ticket, *, answer: str, now: datetime) -> None:
    """The agency answers the citizen and closes its work on the ticket."""
    if ticket.state not in AGENCY_ACTION_STATES[Action.RESOLVE]:
        raise TransitionError("wrong_state", ticket)
    if ticket.accepted_at is None:
        ticket.accepted_at = now
    ticket.state = TicketState.RESOLVED
    ticket.answer = answer
    ticket.resolved_at = now
    ticket.paused_at = None


def route(ticket: Ticket, *, config: Config, agency_id: str, now: datetime) -> None:
    """Operators send (or resend) the ticket to an agency: accept and resolve clocks start."""
    try:
        Router.from_config(config).assign(
            agency_id, subject_agency=ticket.subject_agency_id, ticket=ticket.code
        )
    except RoutingRefused as refused:
        raise TransitionError(refused.reason, ticket) from refused
    if ticket.state not in ROUTABLE_STATES:
        raise TransitionError("wrong_state", ticket)
    if ticket.state != TicketState.TRIAGE and ticket.agency_id == agency_id:
        raise TransitionError("same_agency", ticket)
    clocks = initial_clocks(
        config=config,
        routed=True,
        sla_hours=sla_hours_of(config, ticket.category_id),
        now=now,
    )
    ticket.agency_id = agency_id
    ticket.state = TicketState.ROUTED
    ticket.routed_at = now
    ticket.accepted_at = None
    ticket.deemed_accepted = False
    ticket.paused_at = None
    ticket.triage_due_at = None
    ticket.accept_due_at = clocks.accept_due_at
    ticket.resolve_due_at = clocks.resolve_due_at


# --- after resolution: rating, reopening, closing (pure rules) -------------------------------

RATINGS = range(1, 6)  # ⭐1 … ⭐5
LOW_RATING = 2  # this or less tells the operators


def is_overdue(ticket: Ticket, now: datetime) -> bool:
    """Tell whether the ticket's running clock has run out (storage.tickets.overdue_clause)."""
    if ticket.state == TicketState.TRIAGE:
        return ticket.triage_due_at is not None and ticket.triage_due_at <= now
    if ticket.state in RESOLVE_STATES:
        return ticket.resolve_due_at is not None and ticket.resolve_due_at <= now
    if ticket.state == TicketState.WAITING_CITIZEN:
        # The clock is paused: overdue only if it had run out when the citizen was asked.
        return (
            ticket.resolve_due_at is not None
            and ticket.paused_at is not None
            and ticket.resolve_due_at <= ticket.paused_at
        )
    return False


def feedback_deadline(ticket: Ticket, config: Config) -> datetime | None:
    """Return until when the reporter may rate or reopen the resolved ticket."""
    if ticket.resolved_at is None:
        return None
    return ticket.resolved_at + timedelta(days=config.deadlines.reopen_days)


def check_reporter(ticket: Ticket, *, channel: str, chat_id: str) -> None:
    """Raise TransitionError unless the chat is the one the ticket was filed from."""
    if (ticket.channel, ticket.chat_id) != (channel, chat_id):
        raise TransitionError("not_reporter", ticket)


def check_feedback(ticket: Ticket, *, config: Config, now: datetime) -> None:
    """Raise TransitionError unless the ticket is resolved and its reopen window is open."""
    if ticket.state == TicketState.CLOSED and ticket.resolved_at is not None:
        raise TransitionError("feedback_closed", ticket)
    if ticket.state != TicketState.RESOLVED:
        raise TransitionError("not_resolved", ticket)
    deadline = feedback_deadline(ticket, config)
    if deadline is None or now > deadline:
        raise TransitionError("feedback_closed", ticket)


def rate(ticket: Ticket, *, config: Config, stars: int, now: datetime) -> int | None:
    """The reporter rates the result 1–5 (again, to change it, inside the window).

    Return the previous rating.
    """
    if stars not in RATINGS:
        raise TransitionError("bad_rating", ticket)
    check_feedback(ticket, config=config, now=now)
    previous = ticket.rating
    ticket.rating = stars
    return previous


def reopen(
    ticket: Ticket, *, config: Config, now: datetime, requested_at: datetime | None = None
) -> None:
    """The reporter says the matter is not solved: the ticket goes back to its agency.

    The window is checked at `requested_at` (when the reopen button was pressed; default
    `now`). The agency gets the ticket as ACCEPTED, not ROUTED: it already took this ticket
    and answered it, so it owns the unfinished work and may not return it; a fresh accept
    clock would also let a silent agency be "deemed accepted" a second time for nothing.
    The resolve clock starts again for the category's whole SLA from `now`. Without a known
    agency the ticket goes back to the operators' queue instead.
    """
    check_feedback(ticket, config=config, now=requested_at or now)
    calendar = config.work_calendar
    ticket.resolved_at = None
    ticket.closed_at = None
    ticket.paused_at = None
    ticket.rating = None
    ticket.answer = ""
    if ticket.agency_id is None or config.agency(ticket.agency_id) is None:
        ticket.state = TicketState.TRIAGE
        ticket.agency_id = None
        ticket.resolve_due_at = None
        ticket.accept_due_at = None
        ticket.triage_due_at = calendar.add_working_hours(now, config.deadlines.triage_hours)
        return
    ticket.state = TicketState.ACCEPTED
    if ticket.accepted_at is None:
        ticket.accepted_at = now
    ticket.resolve_due_at = calendar.add_working_hours(
        now, sla_hours_of(config, ticket.category_id)
    )


def close_resolved(ticket: Ticket, *, config: Config, now: datetime) -> bool:
    """Close a resolved ticket whose reopen window has passed; return True if it closed."""
    deadline = feedback_deadline(ticket, config)
    if ticket.state != TicketState.RESOLVED or deadline is None or now <= deadline:
        return False
    ticket.state = TicketState.CLOSED
    ticket.closed_at = deadline
    ticket.next_check_at = None
    return True


# --- where notices go ------------------------------------------------------------------------


def agency_name(config: Config, agency_id: str | None, lang: str = "vi") -> str:
    """Return an agency's display name (the operators when there is none)."""
    if agency_id is None:
        return t("notice.name.operators", lang)
    agency = config.agency(agency_id)
    return agency.name if agency else agency_id


def operators_target(config: Config) -> TARGET | None:
    """Return the operators' chat, Telegram first."""
    if config.telegram.operators_chat_id is not None:
        return "telegram", str(config.telegram.operators_chat_id)
    if config.zalo.operators_chat_id:
        return "zalo", config.zalo.operators_chat_id
    return None


def agency_target(config: Config, agency_id: str | None) -> TARGET | None:
    """Return an agency's own chat, else the operators' (who then act for it)."""
    agency = config.agency(agency_id) if agency_id else None
    if agency is not None and agency.telegram_chat_id is not None:
        return "telegram", str(agency.telegram_chat_id)
    if agency is not None and agency.zalo_chat_id:
        return "zalo", agency.zalo_chat_id
    return operators_target(config)


def supervisor_of(config: Config, agency_id: str | None) -> tuple[TARGET | None, str]:
    """Return the supervisor's chat and name for an agency (SPEC §4, with its fallbacks).

    The chat of the agency's `supervisor` agency, else `[telegram] supervisor_chat_id`, else
    the operators' (who then carry the escalation up by hand).
    """
    agency = config.agency(agency_id) if agency_id else None
    supervisor = config.agency(agency.supervisor) if agency and agency.supervisor else None
    name = supervisor.name if supervisor else t("notice.name.supervisor", "vi")
    if supervisor is not None and (
        supervisor.telegram_chat_id is not None or supervisor.zalo_chat_id
    ):
        return agency_target(config, supervisor.id), name
    if config.telegram.supervisor_chat_id is not None:
        return ("telegram", str(config.telegram.supervisor_chat_id)), name
    return operators_target(config), name


def citizen_target(ticket: Ticket) -> TARGET | None:
    """Return the reporter's chat, unless the reporter has blocked the bot."""
    if ticket.citizen_blocked:
        return None
    return ticket.channel, ticket.chat_id


def addressed(
    target: TARGET | None, reply: Reply, *, ticket: Ticket | None, key: str | None = None
) -> list[Reply]:
    """Give a reply its target chat, ticket and idempotency key; nothing without a target."""
    if target is None:
        return []
    return [
        Reply(
            text=reply.text,
            buttons=reply.buttons,
            channel=target[0],
            chat_id=target[1],
            attachments=reply.attachments,
            ticket_id=ticket.id if ticket is not None else None,
            idempotency_key=key,
            extra=reply.extra,
        )
    ]


def clip(text: str, limit: int = NOTICE_TEXT_LIMIT) -> str:
    """Shorten user text quoted in a notice (the stored text stays whole)."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- creating a ticket -----------------------------------------------------------------------


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
    """Create the ticket with its code, clocks and first events (not yet committed).

    `decision` was routed by `bot.domain.routing` for `category_id`; a decision made for
    another category is routed again here, so no caller can skip the rules.
    """
    category = config.category(category_id)
    if category_id != decision.category:
        route = Router.from_config(config).route(
            category_id, subject_agency=decision.subject_agency, ward=decision.ward
        )
        decision = replace(decision, category=category_id, agency=route.agency)
    agency_id = None if decision.agency == TRIAGE else decision.agency
    if agency_id is not None and agency_id == decision.subject_agency:
        # The routing module never proposes this; a decision built by hand must not do it either.
        log.error("ticket about %s was to be sent to it; queued for the operators", agency_id)
        agency_id = None
    routed = agency_id is not None
    clocks = initial_clocks(
        config=config, routed=routed, sla_hours=sla_hours_of(config, category_id), now=now
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
    ticket.next_check_at = next_check_at(ticket, config, now)
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


# --- services: a rule, its event, its notices ------------------------------------------------


async def load_for_change(*, session: AsyncSession, ticket_id: int) -> Ticket | None:
    """Return the ticket, row-locked until the transaction ends, read fresh."""
    return await ticket_store.lock_ticket(session=session, ticket_id=ticket_id)


async def accept_ticket(
    *,
    session: AsyncSession,
    config: Config,
    ticket: Ticket,
    agency_id: str | None,
    user_id: str,
    now: datetime,
) -> list[Reply]:
    """The agency accepts: event, and the citizen is told."""
    check_agency_action(ticket, Action.ACCEPT, agency_id)
    accept(ticket, now=now)
    reschedule(ticket, config, now)
    await ticket_store.add_event(
        session=session,
        ticket=ticket,
        kind="accepted",
        at=now,
        actor=f"agency:{agency_id}",
        data={"user": user_id},
    )
    return _citizen_accepted(config, ticket)


def _citizen_accepted(config: Config, ticket: Ticket) -> list[Reply]:
    lang = ticket.language
    text = t(
        "notice.citizen.accepted",
        lang,
        code=ticket.code,
        agency=agency_name(config, ticket.agency_id, lang),
        due=fmt_datetime(ticket.resolve_due_at),
    )
    return addressed(citizen_target(ticket), Reply(text), ticket=ticket)


async def return_ticket(
    *,
    session: AsyncSession,
    config: Config,
    ticket: Ticket,
    agency_id: str | None,
    user_id: str,
    reason: str,
    now: datetime,
) -> list[Reply]:
    """The agency returns the ticket with a reason: back to triage; twice → passed around."""
    check_agency_action(ticket, Action.RETURN, agency_id)
    previous = ticket.agency_id
    passed_around = return_(ticket, config=config, now=now)
    reschedule(ticket, config, now)
    await ticket_store.add_event(
        session=session,
        ticket=ticket,
        kind="returned",
        at=now,
        actor=f"agency:{agency_id}",
        note=reason,
        data={"user": user_id, "agency": previous, "returns": ticket.returns_count},
    )
    notices = _returned_notices(config, ticket, previous, reason)
    if passed_around:
        returners = await ticket_store.returning_agencies(session=session, ticket_id=ticket.id)
        await ticket_store.add_event(
            session=session,
            ticket=ticket,
            kind="passed_around",
            at=now,
            actor="system",
            data={"agencies": returners, "returns": ticket.returns_count},
        )
        notices.extend(_passed_around_notices(config, ticket, previous, returners))
    return notices


def _returned_notices(
    config: Config, ticket: Ticket, previous: str | None, reason: str
) -> list[Reply]:
    # Imported here: handlers.cards imports the handlers that import this module.
    from handlers.cards import ticket_cards

    text = t(
        "notice.operators.returned",
        "vi",
        code=ticket.code,
        agency=agency_name(config, previous),
        count=ticket.returns_count,
        reason=clip(reason),
        due=fmt_datetime(ticket.triage_due_at),
    )
    notices = addressed(operators_target(config), Reply(text), ticket=ticket)
    # The card (with its routing buttons) goes to the operators now that no agency holds it.
    notices.extend(ticket_cards(config, ticket))
    return notices


def _passed_around_notices(
    config: Config, ticket: Ticket, previous: str | None, returners: list[str]
) -> list[Reply]:
    names = ", ".join(agency_name(config, a) for a in returners) or "—"
    text = t(
        "notice.passed_around", "vi", code=ticket.code, count=ticket.returns_count, agencies=names
    )
    operators = operators_target(config)
    supervisor, _name = supervisor_of(config, previous)
    notices = addressed(operators, Reply(text), ticket=ticket)
    if supervisor is not None and supervisor != operators:
        excerpt = t("notice.excerpt", "vi", text=clip(ticket.text, 600))
        notices.extend(addressed(supervisor, Reply(text + excerpt), ticket=ticket))
    return notices


async def ask_citizen(
    *,
    session: AsyncSession,
    config: Config,
    ticket: Ticket,
    agency_id: str | None,
    user_id: str,
    question: str,
    now: datetime,
) -> list[Reply]:
    """The agency asks the citizen: the resolve clock pauses until the answer."""
    check_agency_action(ticket, Action.ASK, agency_id)
    implicitly_accepted = ask(ticket, now=now)
    reschedule(ticket, config, now)
    actor = f"agency:{agency_id}"
    if implicitly_accepted:
        await ticket_store.add_event(
            session=session,
            ticket=ticket,
            kind="accepted",
            at=now,
            actor=actor,
            data={"user": user_id, "by": "asking"},
        )
    await ticket_store.add_event(
        session=session,
        ticket=ticket,
        kind="asked_citizen",
        at=now,
        actor=actor,
        note=question,
        data={"user": user_id},
    )
    lang = ticket.language
    text = t(
        "notice.citizen.question",
        lang,
        code=ticket.code,
        agency=agency_name(config, ticket.agency_id, lang),
        question=clip(question),
    )
    return addressed(citizen_target(ticket), Reply(text), ticket=ticket)


async def record_citizen_answer(
    *,
    session: AsyncSession,
    config: Config,
    channel: str,
    chat_id: str,
    text: str,
    attachments: Sequence[Attachment] = (),
    now: datetime,
) -> tuple[Ticket, list[Reply]] | None:
    """Take a citizen's message as the answer to the question their ticket waits on.

    Returns None when no ticket of this chat waits for the citizen. Otherwise the resolve clock
    restarts (its due pushed by the working hours it was paused), the answer is recorded as an
    event (its files as the ticket's attachments), and the agency is told.
    """
    ticket = await ticket_store.lock_waiting_ticket(
        session=session, channel=channel, chat_id=chat_id
    )
    if ticket is None:
        return None
    old_due = ticket.resolve_due_at
    paused_hours = resume(ticket, config=config, now=now)
    reschedule(ticket, config, now)
    files = [
        {"kind": a.kind, "file_id": a.file_id, "file_name": a.file_name, "mime_type": a.mime_type}
        for a in attachments
    ]
    await ticket_store.add_attachments(session=session, ticket=ticket, attachments=files)
    await ticket_store.add_event(
        session=session,
        ticket=ticket,
        kind="citizen_answered",
        at=now,
        actor="citizen",
        note=text,
        data={
            "paused_hours": paused_hours,
            "old_due": old_due.isoformat() if old_due else None,
            "new_due": ticket.resolve_due_at.isoformat() if ticket.resolve_due_at else None,
            "files": len(files),
        },
    )
    target = agency_target(config, ticket.agency_id)
    body = t(
        "notice.agency.citizen_answer",
        "vi",
        code=ticket.code,
        answer=clip(text) or "—",
        files=len(files),
        due=fmt_datetime(ticket.resolve_due_at),
    )
    notices = addressed(target, Reply(body), ticket=ticket)
    if target is not None:
        # Across channels the sender downloads a Zalo URL or links a Telegram file (issue 11).
        for attachment in attachments:
            notices.extend(
                addressed(
                    target,
                    Reply(
                        t("notice.attachment_of", "vi", code=ticket.code),
                        attachments=(attachment,),
                        extra={"files_from": channel},
                    ),
                    ticket=ticket,
                )
            )
    return ticket, notices


async def resolve_ticket(
    *,
    session: AsyncSession,
    config: Config,
    ticket: Ticket,
    agency_id: str | None,
    user_id: str,
    answer: str,
    now: datetime,
) -> list[Reply]:
    """The agency answers and resolves: the citizen gets the answer."""
    # Imported here: handlers.cards and handlers.rating import this module.
    from handlers.cards import split_escaped
    from handlers.rating import rating_buttons

    check_agency_action(ticket, Action.RESOLVE, agency_id)
    resolve(ticket, answer=answer, now=now)
    reschedule(ticket, config, now)
    on_time = ticket.resolve_due_at is None or now <= ticket.resolve_due_at
    await ticket_store.add_event(
        session=session,
        ticket=ticket,
        kind="resolved",
        at=now,
        actor=f"agency:{agency_id}",
        note=answer,
        data={"user": user_id, "on_time": on_time},
    )
    lang = ticket.language
    header = t(
        "notice.citizen.resolved",
        lang,
        code=ticket.code,
        agency=agency_name(config, ticket.agency_id, lang),
        answer="",
    )
    chunks = split_escaped(answer, 3900 - len(header))
    texts = [
        t(
            "notice.citizen.resolved",
            lang,
            code=ticket.code,
            agency=agency_name(config, ticket.agency_id, lang),
            answer=Safe(chunks[0]),
        )
    ]
    texts.extend(t("notice.continued", lang, code=ticket.code, text=Safe(c)) for c in chunks[1:])
    # The answer's last message invites a rating and offers to reopen (handlers/rating.py);
    # when the invitation does not fit there, it follows on its own.
    invite = t("rating.invite", lang, days=config.deadlines.reopen_days)
    if len(texts[-1]) + len(invite) <= RESOLVED_NOTICE_LIMIT:
        texts[-1] += invite
    else:
        texts.append(invite.strip())
    buttons = rating_buttons(ticket, lang)
    target = citizen_target(ticket)
    notices: list[Reply] = []
    for index, text in enumerate(texts):
        last = index == len(texts) - 1
        notices.extend(
            addressed(target, Reply(text, buttons=buttons if last else ()), ticket=ticket)
        )
    return notices


async def route_ticket(
    *,
    session: AsyncSession,
    config: Config,
    ticket: Ticket,
    agency_id: str,
    user_id: str,
    now: datetime,
) -> list[Reply]:
    """Operators route (or reroute) the ticket: the agency gets its card, the citizen is told."""
    # Imported here: handlers.cards imports the handlers that import this module.
    from handlers.cards import ticket_cards

    previous = ticket.agency_id
    was_triage = ticket.state == TicketState.TRIAGE
    route(ticket, config=config, agency_id=agency_id, now=now)
    reschedule(ticket, config, now)
    await ticket_store.add_event(
        session=session,
        ticket=ticket,
        kind="routed" if was_triage else "rerouted",
        at=now,
        actor=f"operator:{user_id}",
        data={"agency": agency_id, "previous": previous, "final": ticket.passed_around},
    )
    stored = await ticket_store.list_attachments(session=session, ticket_id=ticket.id or 0)
    attachments = [Attachment(a.kind, a.file_id, a.file_name, a.mime_type) for a in stored]
    notices = list(ticket_cards(config, ticket, attachments))
    lang = ticket.language
    text = t(
        "notice.citizen.routed",
        lang,
        code=ticket.code,
        agency=agency_name(config, agency_id, lang),
        due=fmt_datetime(ticket.resolve_due_at),
    )
    notices.extend(addressed(citizen_target(ticket), Reply(text), ticket=ticket))
    if previous is not None:
        moved = t(
            "notice.agency.rerouted",
            "vi",
            code=ticket.code,
            agency=agency_name(config, agency_id),
        )
        notices.extend(addressed(agency_target(config, previous), Reply(moved), ticket=ticket))
    return notices


# --- services after resolution: rating and reopening -----------------------------------------


@dataclass(frozen=True)
class RatingOutcome:
    """What a rating press did: the rating before it, and the notices it causes."""

    previous: int | None
    changed: bool
    notices: list[Reply]


async def rate_ticket(
    *,
    session: AsyncSession,
    config: Config,
    ticket: Ticket,
    channel: str,
    chat_id: str,
    stars: int,
    now: datetime,
) -> RatingOutcome:
    """The reporter rates the result: event, and a low rating is reported to the operators."""
    check_reporter(ticket, channel=channel, chat_id=chat_id)
    previous = rate(ticket, config=config, stars=stars, now=now)
    if previous == stars:
        return RatingOutcome(previous, False, [])
    await ticket_store.add_event(
        session=session,
        ticket=ticket,
        kind="rated",
        at=now,
        actor="citizen",
        data={"rating": stars, "previous": previous},
    )
    notices: list[Reply] = []
    if stars <= LOW_RATING:
        text = t(
            "notice.operators.low_rating",
            "vi",
            code=ticket.code,
            agency=agency_name(config, ticket.agency_id),
            stars=stars,
            answer=clip(ticket.answer, 600) or "—",
        )
        notices = addressed(operators_target(config), Reply(text), ticket=ticket)
    return RatingOutcome(previous, True, notices)


async def reopen_ticket(
    *,
    session: AsyncSession,
    config: Config,
    ticket: Ticket,
    channel: str,
    chat_id: str,
    reason: str,
    now: datetime,
    requested_at: datetime | None = None,
    attachments: Sequence[Attachment] = (),
) -> list[Reply]:
    """The reporter reopens the resolved ticket with a reason: back to its agency, new clock.

    The agency gets a notice with the reason and the ticket's card (its buttons again); the
    operators are told too.
    """
    # Imported here: handlers.cards imports the handlers that import this module.
    from handlers.cards import ticket_cards

    check_reporter(ticket, channel=channel, chat_id=chat_id)
    previous_answer, previous_rating = ticket.answer, ticket.rating
    reopen(ticket, config=config, now=now, requested_at=requested_at)
    reschedule(ticket, config, now)
    assert ticket.id is not None
    count = await ticket_store.count_events(session=session, ticket_id=ticket.id, kind="reopened")
    files = [
        {"kind": a.kind, "file_id": a.file_id, "file_name": a.file_name, "mime_type": a.mime_type}
        for a in attachments
    ]
    await ticket_store.add_attachments(session=session, ticket=ticket, attachments=files)
    due = ticket.resolve_due_at or ticket.triage_due_at
    await ticket_store.add_event(
        session=session,
        ticket=ticket,
        kind="reopened",
        at=now,
        actor="citizen",
        note=reason,
        data={
            "count": count + 1,
            "agency": ticket.agency_id,
            "previous_rating": previous_rating,
            "new_due": due.isoformat() if due else None,
            "files": len(files),
        },
    )
    values = {
        "code": ticket.code,
        "agency": agency_name(config, ticket.agency_id),
        "count": count + 1,
        "reason": clip(reason) or "—",
        "answer": clip(previous_answer, 600) or "—",
        "due": fmt_datetime(due),
    }
    operators = operators_target(config)
    notices: list[Reply] = []
    if ticket.agency_id is not None:
        target = agency_target(config, ticket.agency_id)
        text = t("notice.agency.reopened", "vi", **values)
        notices.extend(addressed(target, Reply(text), ticket=ticket))
        if target == operators:
            operators = None  # the agency has no chat of its own: the operators just heard it
    if operators is not None:
        notices.extend(
            addressed(
                operators, Reply(t("notice.operators.reopened", "vi", **values)), ticket=ticket
            )
        )
    notices.extend(ticket_cards(config, ticket, attachments))
    return notices
