"""Ticket lifecycle: creation, clocks, the allowed transitions and the deadline ladder.

The rules are plain functions on a `Ticket` with time passed in and no I/O: `initial_clocks`,
`milestones` (the escalation ladder of SPEC §4), and the transitions `accept`, `return_`,
`ask`, `resume`, `resolve`, `route`, `deem_accepted`, and after resolution `rate`, `reopen`,
`close_resolved`, each raising `TransitionError` when the ticket's state does not allow it.
The async service functions below apply a rule to a ticket loaded (and row-locked) in the
caller's transaction, record a `ticket_event`, and return a `TicketOutcome`: the ticket, the
event, and the notices the change causes (who must be told of what, `bot/domain/outcomes.py`).
They never speak: `handlers/notices.py` renders the notices, and the caller queues them in the
same transaction (DESIGN rule 7). `milestone_notices` says the same for the sweeper's ladder.

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
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.chat import Attachment
from bot.config import Config
from bot.domain.followers import with_followers
from bot.domain.outcomes import Audience, Notice, TicketOutcome, notice_key, stamp
from bot.domain.routing import TRIAGE, Router, RoutingRefused
from bot.domain.triage import Decision
from storage import tickets as ticket_store
from storage.models import Privacy, Ticket, TicketState

log = logging.getLogger(__name__)


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


def latest_resolution(ticket: Ticket, config: Config) -> datetime | None:
    """Return the resolve due, or for a queued ticket the one it carries if routed at the last.

    A ticket in the operators' queue has no resolve clock yet; routed when its triage clock
    runs out, the agency's clock would end this long after.
    """
    if ticket.resolve_due_at is not None or ticket.triage_due_at is None:
        return ticket.resolve_due_at
    return config.work_calendar.add_working_hours(
        ticket.triage_due_at, sla_hours_of(config, ticket.category_id)
    )


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


def milestone_notices(
    ticket: Ticket, milestone: Milestone, config: Config, now: datetime
) -> list[Notice]:
    """Return who must hear of one milestone, each notice keyed (ticket, rung, due, audience)."""
    calendar = config.work_calendar
    rung, due = milestone.rung, milestone.due
    facts: dict[str, object] = {"due": due}
    if rung == Rung.TRIAGE_OVERDUE:
        facts["escalate"] = calendar.add_working_hours(due, config.deadlines.triage_hours)
    elif rung == Rung.OVERDUE:
        facts["escalate"] = calendar.add_working_hours(due, config.deadlines.escalate_after_hours)
    elif rung == Rung.REMINDER:
        facts["left"] = max(0.0, calendar.working_hours_between(now, due))
    elif rung == Rung.ESCALATED:
        facts["late"] = max(0.0, calendar.working_hours_between(due, now))
    audiences: dict[Rung, tuple[tuple[Audience, str, Audience | None], ...]] = {
        Rung.TRIAGE_OVERDUE: ((Audience.OPERATORS, "triage_overdue", None),),
        Rung.TRIAGE_ESCALATED: ((Audience.SUPERVISOR, "triage_escalated", None),),
        Rung.DEEMED_ACCEPTED: (
            (Audience.AGENCY, "deemed_accepted", None),
            (Audience.CITIZEN, "accepted", None),
        ),
        Rung.REMINDER: ((Audience.AGENCY, "reminder", None),),
        Rung.OVERDUE: (
            # An agency without its own chat is the operators: they get their own notice.
            (Audience.AGENCY, "overdue", Audience.OPERATORS),
            (Audience.OPERATORS, "overdue", None),
            (Audience.CITIZEN, "overdue", None),
        ),
        Rung.ESCALATED: (
            (Audience.SUPERVISOR, "escalated", None),
            (Audience.CITIZEN, "escalated", None),
        ),
    }
    return [
        Notice(
            kind,
            audience,
            ticket,
            facts=facts,
            key=notice_key("t", ticket.id, rung.value, stamp(due), audience.value),
            unless_same_chat_as=unless,
        )
        for audience, kind, unless in audiences[rung]
    ]


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


def _files(attachments: Sequence[Attachment]) -> list[dict[str, str]]:
    return [
        {"kind": a.kind, "file_id": a.file_id, "file_name": a.file_name, "mime_type": a.mime_type}
        for a in attachments
    ]


async def accept_ticket(
    *,
    session: AsyncSession,
    config: Config,
    ticket: Ticket,
    agency_id: str | None,
    user_id: str,
    now: datetime,
) -> TicketOutcome:
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
    told = await with_followers(session, [Notice("accepted", Audience.CITIZEN, ticket)])
    return TicketOutcome(ticket, "accepted", told)


async def return_ticket(
    *,
    session: AsyncSession,
    config: Config,
    ticket: Ticket,
    agency_id: str | None,
    user_id: str,
    reason: str,
    now: datetime,
) -> TicketOutcome:
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
    facts = {"previous": previous, "reason": reason}
    notices = [
        Notice("returned", Audience.OPERATORS, ticket, facts=facts),
        # The card (with its routing buttons) goes to the operators now that no agency holds it.
        Notice("card", Audience.AGENCY, ticket),
    ]
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
        returned = {"agencies": returners}
        notices.append(Notice("passed_around", Audience.OPERATORS, ticket, facts=returned))
        notices.append(
            Notice(
                "passed_around",
                Audience.SUPERVISOR,
                ticket,
                agency_id=previous,
                facts=returned,
                unless_same_chat_as=Audience.OPERATORS,
            )
        )
    return TicketOutcome(ticket, "returned", notices)


async def ask_citizen(
    *,
    session: AsyncSession,
    config: Config,
    ticket: Ticket,
    agency_id: str | None,
    user_id: str,
    question: str,
    now: datetime,
) -> TicketOutcome:
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
    notice = Notice("question", Audience.CITIZEN, ticket, facts={"question": question})
    return TicketOutcome(ticket, "asked_citizen", [notice])


async def record_citizen_answer(
    *,
    session: AsyncSession,
    config: Config,
    channel: str,
    chat_id: str,
    text: str,
    attachments: Sequence[Attachment] = (),
    now: datetime,
) -> TicketOutcome | None:
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
    files = _files(attachments)
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
    notice = Notice(
        "citizen_answer",
        Audience.AGENCY,
        ticket,
        facts={"answer": text, "files": len(files), "channel": channel},
        attachments=tuple(attachments),
    )
    return TicketOutcome(ticket, "citizen_answered", [notice])


async def resolve_ticket(
    *,
    session: AsyncSession,
    config: Config,
    ticket: Ticket,
    agency_id: str | None,
    user_id: str,
    answer: str,
    now: datetime,
) -> TicketOutcome:
    """The agency answers and resolves: the citizen gets the answer and may rate or reopen."""
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
    notice = Notice("resolved", Audience.CITIZEN, ticket, facts={"answer": answer})
    return TicketOutcome(ticket, "resolved", await with_followers(session, [notice]))


async def route_ticket(
    *,
    session: AsyncSession,
    config: Config,
    ticket: Ticket,
    agency_id: str,
    user_id: str,
    now: datetime,
) -> TicketOutcome:
    """Operators route (or reroute) the ticket: the agency gets its card, the citizen is told."""
    previous = ticket.agency_id
    was_triage = ticket.state == TicketState.TRIAGE
    route(ticket, config=config, agency_id=agency_id, now=now)
    reschedule(ticket, config, now)
    event = "routed" if was_triage else "rerouted"
    await ticket_store.add_event(
        session=session,
        ticket=ticket,
        kind=event,
        at=now,
        actor=f"operator:{user_id}",
        data={"agency": agency_id, "previous": previous, "final": ticket.passed_around},
    )
    stored = await ticket_store.list_attachments(session=session, ticket_id=ticket.id or 0)
    attachments = tuple(Attachment(a.kind, a.file_id, a.file_name, a.mime_type) for a in stored)
    notices = [
        Notice("card", Audience.AGENCY, ticket, attachments=attachments),
        Notice("routed", Audience.CITIZEN, ticket),
    ]
    if previous is not None:
        notices.append(Notice("rerouted", Audience.AGENCY, ticket, agency_id=previous))
    return TicketOutcome(ticket, event, await with_followers(session, notices))


async def apply_agency_action(
    *,
    session: AsyncSession,
    config: Config,
    ticket: Ticket,
    action: Action,
    agency_id: str | None,
    user_id: str,
    text: str,
    now: datetime,
) -> TicketOutcome:
    """Run one of an agency's actions (accept; return, ask, resolve with their text), from a
    chat button, a typed command or the web console alike; each service checks the agency."""
    common: dict[str, Any] = {
        "session": session,
        "config": config,
        "ticket": ticket,
        "agency_id": agency_id,
        "user_id": user_id,
        "now": now,
    }
    if action == Action.ACCEPT:
        return await accept_ticket(**common)
    if action == Action.RETURN:
        return await return_ticket(**common, reason=text)
    if action == Action.ASK:
        return await ask_citizen(**common, question=text)
    if action == Action.RESOLVE:
        return await resolve_ticket(**common, answer=text)
    raise ValueError(f"not an agency action: {action}")


# --- services after resolution: rating and reopening -----------------------------------------


async def rate_ticket(
    *,
    session: AsyncSession,
    config: Config,
    ticket: Ticket,
    channel: str,
    chat_id: str,
    stars: int,
    now: datetime,
) -> TicketOutcome:
    """The reporter rates the result: event, and a low rating is reported to the operators."""
    check_reporter(ticket, channel=channel, chat_id=chat_id)
    previous = rate(ticket, config=config, stars=stars, now=now)
    if previous == stars:
        return TicketOutcome(ticket, "", [], previous=previous, changed=False)
    await ticket_store.add_event(
        session=session,
        ticket=ticket,
        kind="rated",
        at=now,
        actor="citizen",
        data={"rating": stars, "previous": previous},
    )
    notices: list[Notice] = []
    if stars <= LOW_RATING:
        notices.append(Notice("low_rating", Audience.OPERATORS, ticket, facts={"stars": stars}))
    return TicketOutcome(ticket, "rated", notices, previous=previous)


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
) -> TicketOutcome:
    """The reporter reopens the resolved ticket with a reason: back to its agency, new clock.

    The agency gets a notice with the reason and the ticket's card (its buttons again); the
    operators are told too.
    """
    check_reporter(ticket, channel=channel, chat_id=chat_id)
    previous_answer, previous_rating = ticket.answer, ticket.rating
    reopen(ticket, config=config, now=now, requested_at=requested_at)
    reschedule(ticket, config, now)
    assert ticket.id is not None
    count = await ticket_store.count_events(session=session, ticket_id=ticket.id, kind="reopened")
    files = _files(attachments)
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
    facts = {"count": count + 1, "reason": reason, "answer": previous_answer, "due": due}
    notices: list[Notice] = []
    if ticket.agency_id is not None:
        notices.append(Notice("reopened", Audience.AGENCY, ticket, facts=facts))
    notices.append(
        Notice(
            "reopened",
            Audience.OPERATORS,
            ticket,
            facts=facts,
            # An agency without a chat of its own is the operators: they just heard it.
            unless_same_chat_as=Audience.AGENCY if ticket.agency_id is not None else None,
        )
    )
    notices.append(Notice("card", Audience.AGENCY, ticket, attachments=tuple(attachments)))
    return TicketOutcome(ticket, "reopened", notices)
