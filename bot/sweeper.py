"""The deadline sweeper: claims due tickets and dossiers from the database and queues notices.

One pass (`sweep_once`) works in batches, one transaction each: claim the rows whose indexed
due instant has come (FOR UPDATE SKIP LOCKED), work out which ladder milestones fell in
[due instant, now] (`bot.domain.tickets.due_milestones`,
`bot.domain.dossiers.watch_milestones`), apply the
one state change among them (deemed acceptance), record the events, write the notices to the
outbox and move each row's due instant past `now`, then commit. Every notice carries the
idempotency key (ticket or dossier, milestone, due instant, audience), so even two sweepers
that somehow handled the same milestone, or a pass repeated after a crash, queue it once.
Resolved tickets whose reopen window (`[deadlines] reopen_days`) has passed are then closed,
claimed the same way.

`Sweeper.run` repeats passes inside `hotline run`; `hotline sweep --once [--now ISO]` runs one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.chat import Attachment, Reply
from bot.config import Config
from bot.domain import dossiers as dossier_rules
from bot.domain import reports as report_rules
from bot.domain.followers import for_followers
from bot.domain.outcomes import notice_key
from bot.domain.tickets import (
    Milestone,
    Rung,
    close_resolved,
    deem_accepted,
    due_milestones,
    milestone_notices,
    milestones,
)
from handlers import reports as report_views
from handlers.messages import t
from handlers.notices import render
from storage import console as console_store
from storage import dossiers as dossier_store
from storage import files as file_store
from storage import reports as report_store
from storage import sweeps as sweep_store
from storage import tickets as ticket_store
from storage.db import Database
from storage.dialogs import forget_processed_updates
from storage.models import Dossier, DossierSubscription, Ticket, TicketFollower, TicketState

log = logging.getLogger(__name__)

BATCH = 500
RETRY_AFTER_ERROR = timedelta(minutes=15)


@dataclass
class SweepResult:
    """What one pass did; str() is a one-line summary."""

    now: datetime
    # When the pass's notices may go out: the real instant the pass ran, even when it ran as
    # of another one (`hotline sweep --once --now T`), so a time-travel pass delivers at once.
    deliver_at: datetime | None = None  # None: `now`
    tickets: int = 0
    dossiers: int = 0
    notices: int = 0
    already_queued: int = 0
    errors: int = 0
    seconds: float = 0.0
    milestones: Counter[str] = field(default_factory=Counter)

    def __str__(self) -> str:
        handled = ", ".join(f"{name} {count}" for name, count in sorted(self.milestones.items()))
        return (
            f"sweep as of {self.now.isoformat(timespec='seconds')}: "
            f"{self.tickets} tickets and {self.dossiers} dossiers due, "
            f"milestones: {handled or 'none'}; {self.notices} notices queued, "
            f"{self.already_queued} already queued, {self.errors} errors, {self.seconds:.2f} s"
        )


PROCESSED_UPDATE_RETENTION = timedelta(days=3)


# --- tickets ---------------------------------------------------------------------------------


@dataclass
class TicketPlan:
    """What a pass does to one due ticket."""

    handled: list[Milestone] = field(default_factory=list)
    notices: list[Reply] = field(default_factory=list)


def plan_ticket(
    ticket: Ticket,
    config: Config,
    now: datetime,
    followers: Mapping[int, Sequence[TicketFollower]] | None = None,
) -> TicketPlan:
    """Handle the ticket's milestones in [next_check_at, now] and schedule the next one;
    `followers` (by ticket id) hear what the reporter hears."""
    plan = TicketPlan()
    ladder = milestones(ticket, config)
    since = ticket.next_check_at or now
    for milestone in due_milestones(ticket, config, since=since, until=now, ladder=ladder):
        if milestone.rung == Rung.DEEMED_ACCEPTED:
            if ticket.state != TicketState.ROUTED:
                continue
            deem_accepted(ticket)
        plan.handled.append(milestone)
        notices = milestone_notices(ticket, milestone, config, now)
        plan.notices.extend(render(config, for_followers(notices, followers or {})))
    # Deemed acceptance only ends the accept clock; the rest of the ladder stays as it was.
    routed = ticket.state == TicketState.ROUTED
    ticket.next_check_at = next(
        (m.at for m in ladder if m.at > now and (routed or m.rung != Rung.DEEMED_ACCEPTED)),
        None,
    )
    return plan


_LADDER_FIELDS = ("state", "deemed_accepted", "accepted_at", "next_check_at")


async def _sweep_ticket_batch(
    *, db: Database, config: Config, now: datetime, batch: int, result: SweepResult
) -> int:
    async with db.transaction() as session:
        tickets = await sweep_store.claim_due_tickets(session=session, now=now, limit=batch)
        followers = await console_store.followers_of(
            session=session, ticket_ids=[t.id for t in tickets if t.id is not None]
        )
        queued: list[sweep_store.QueuedNotice] = []
        events: list[dict[str, Any]] = []
        for ticket in tickets:
            before = {name: getattr(ticket, name) for name in _LADDER_FIELDS}
            try:
                plan = plan_ticket(ticket, config, now, followers)
            except Exception:
                # One bad ticket must not stall the others: put it back and look again later.
                log.exception("sweeper could not handle ticket %s", ticket.code)
                for name, value in before.items():
                    setattr(ticket, name, value)
                ticket.next_check_at = now + RETRY_AFTER_ERROR
                result.errors += 1
                continue
            for milestone in plan.handled:
                result.milestones[milestone.rung.value] += 1
                events.append(
                    {
                        "ticket_id": ticket.id,
                        "at": now,
                        "actor": "system",
                        "kind": milestone.rung.value,
                        "note": "",
                        "data": {"due": milestone.due.isoformat(), "at": milestone.at.isoformat()},
                    }
                )
            queued.extend(_queued(plan.notices))
            session.add(ticket)
        await sweep_store.add_events(session=session, events=events)
        written = await sweep_store.enqueue_notices(
            session=session, notices=queued, now=result.deliver_at or result.now
        )
    result.tickets += len(tickets)
    result.notices += written
    result.already_queued += len(queued) - written
    return len(tickets)


def _queued(replies: Sequence[Reply]) -> list[sweep_store.QueuedNotice]:
    return [
        sweep_store.QueuedNotice(
            channel=reply.channel or "",
            chat_id=reply.chat_id or "",
            payload=reply.to_payload(),
            idempotency_key=reply.idempotency_key or "",
            ticket_id=reply.ticket_id,
        )
        for reply in replies
        if reply.channel and reply.chat_id and reply.idempotency_key
    ]


async def _close_resolved_batch(
    *, db: Database, config: Config, now: datetime, batch: int, result: SweepResult
) -> bool:
    """Close resolved tickets whose reopen window has passed; return True if more may wait.

    Same claim as the deadline ladder: the rows are locked for the transaction (SKIP LOCKED)
    and closing takes them out of the claim, so two sweepers or a repeated pass close each
    ticket once. Closing sends nothing; the event records it.
    """
    cutoff = now - timedelta(days=config.deadlines.reopen_days)
    async with db.transaction() as session:
        tickets = await ticket_store.claim_resolved_before(
            session=session, resolved_before=cutoff, limit=batch
        )
        events: list[dict[str, Any]] = []
        for ticket in tickets:
            if close_resolved(ticket, config=config, now=now):
                events.append(
                    {
                        "ticket_id": ticket.id,
                        "at": now,
                        "actor": "system",
                        "kind": "closed",
                        "note": "",
                        "data": {"reason": "reopen_window_ended", "rating": ticket.rating},
                    }
                )
                session.add(ticket)
        await sweep_store.add_events(session=session, events=events)
    if events:
        result.milestones["closed"] += len(events)
    return len(tickets) == batch and bool(events)


# --- dossiers --------------------------------------------------------------------------------


@dataclass
class DossierPlan:
    """What a pass does to one watched dossier."""

    handled: list[tuple[dossier_rules.WatchKind, datetime]] = field(default_factory=list)
    notices: list[Reply] = field(default_factory=list)


def plan_dossier(
    dossier: Dossier,
    subscribers: Sequence[DossierSubscription],
    config: Config,
    now: datetime,
) -> DossierPlan:
    """Handle the dossier's watch milestones in [watch_at, now] and schedule the next one.

    Only the latest milestone that has come is announced: a late dossier makes the apology
    reminder moot, and a dossier late past its new date makes the first lateness old news.
    """
    plan = DossierPlan()
    calendar = config.work_calendar
    rules: dict[str, Any] = {
        "status": dossier.status,
        "due_at": dossier.due_at,
        "new_due_at": dossier.new_due_at,
        "calendar": calendar,
    }
    since = dossier.watch_at or now
    came = [
        (kind, at) for kind, at in dossier_rules.watch_milestones(**rules) if since <= at <= now
    ]
    for kind, at in came[-1:]:
        plan.handled.append((kind, at))
        notices = dossier_rules.watch_notices(dossier, subscribers, kind, at)
        plan.notices.extend(render(config, notices))
    dossier.watch_at = dossier_rules.watch_after(**rules, after=now)
    return plan


async def _sweep_dossier_batch(
    *, db: Database, config: Config, now: datetime, batch: int, result: SweepResult
) -> int:
    async with db.transaction() as session:
        dossiers = await sweep_store.claim_due_dossiers(session=session, now=now, limit=batch)
        subscribers = await dossier_store.list_subscribers(
            session=session, codes=[d.code for d in dossiers]
        )
        queued: list[sweep_store.QueuedNotice] = []
        for dossier in dossiers:
            before = dossier.watch_at
            try:
                plan = plan_dossier(dossier, subscribers.get(dossier.code, []), config, now)
            except Exception:
                log.exception("sweeper could not handle dossier %s", dossier.code)
                dossier.watch_at = (before or now) + RETRY_AFTER_ERROR
                result.errors += 1
                continue
            for kind, _at in plan.handled:
                result.milestones[f"dossier_{kind.value}"] += 1
            queued.extend(_queued(plan.notices))
            session.add(dossier)
        written = await sweep_store.enqueue_notices(
            session=session, notices=queued, now=result.deliver_at or result.now
        )
    result.dossiers += len(dossiers)
    result.notices += written
    result.already_queued += len(queued) - written
    return len(dossiers)


# --- passes and the loop ---------------------------------------------------------------------


async def sweep_once(
    *,
    db: Database,
    config: Config,
    now: datetime,
    batch: int = BATCH,
    deliver_at: datetime | None = None,
) -> SweepResult:
    """Run one pass as of `now`: every due ticket and dossier, batch by batch.

    Its notices are deliverable from `deliver_at` (default `now`): the command line passes the
    real clock, so a pass run as of a later instant does not hold its notices back until then.
    """
    if now.tzinfo is None or (deliver_at is not None and deliver_at.tzinfo is None):
        raise ValueError("the sweeper needs an aware instant")
    started = time.perf_counter()
    result = SweepResult(now=now, deliver_at=deliver_at)
    while await _sweep_ticket_batch(db=db, config=config, now=now, batch=batch, result=result):
        pass
    while await _close_resolved_batch(db=db, config=config, now=now, batch=batch, result=result):
        pass
    while await _sweep_dossier_batch(db=db, config=config, now=now, batch=batch, result=result):
        pass
    # --- reports (issue 9) ---
    await deliver_monthly_report(db=db, config=config, now=now, result=result)
    await forget_old_records(db=db, config=config, now=now)
    # --- triage learning (issue 7): resolved and returned tickets teach the classifier ---
    from bot.learning import learn_from_outcomes

    await learn_from_outcomes(db=db, config=config, now=now)
    result.seconds = time.perf_counter() - started
    return result


# --- reports (issue 9): the leaders' monthly scorecard -------------------------------------


def leaders_target(config: Config) -> tuple[str, str] | None:
    """Return the leaders' chat, if one is configured."""
    chat = config.telegram.leaders_chat_id
    return None if chat is None else ("telegram", str(chat))


async def deliver_monthly_report(
    *, db: Database, config: Config, now: datetime, result: SweepResult
) -> bool:
    """From the first working morning of a month, queue last month's scorecard to the leaders.

    The chart (sendPhoto) and the workbook (sendDocument) are stored and queued in the
    transaction that claims the month's delivery row, so whichever instance claims it first
    sends it, once; a failure rolls the claim back and a later pass tries again.
    """
    target = leaders_target(config)
    month = report_rules.report_due(now, config.work_calendar)
    if target is None or month is None:
        return False
    channel, chat_id = target
    async with db.transaction() as session:
        if await report_store.report_delivered(
            session=session, month=str(month), channel=channel, chat_id=chat_id
        ):
            return False
    try:
        async with db.transaction() as session:
            if not await report_store.claim_report_delivery(
                session=session, month=str(month), channel=channel, chat_id=chat_id, now=now
            ):
                return False
            card = await report_rules.scorecard_in(
                session=session, config=config, month=month, now=now
            )
            replies = await _scorecard_replies(session, card, now)
            queued = [
                sweep_store.QueuedNotice(
                    channel=channel,
                    chat_id=chat_id,
                    payload=reply.to_payload(),
                    idempotency_key=notice_key("report", month, part, channel, chat_id),
                )
                for part, reply in replies
            ]
            written = await sweep_store.enqueue_notices(
                session=session, notices=queued, now=result.deliver_at or result.now
            )
    except Exception:
        log.exception("could not prepare the scorecard of %s for the leaders", month)
        result.errors += 1
        return False
    log.info("scorecard of %s queued for the leaders' chat", month)
    result.milestones["monthly_report"] += 1
    result.notices += written
    return True


async def _scorecard_replies(
    session: AsyncSession, card: report_rules.Scorecard, now: datetime
) -> list[tuple[str, Reply]]:
    """Render and store the chart and the workbook; return the two messages that carry them."""
    stem = report_views.file_stem(card)
    parts = []
    for part, fmt, kind, text in (
        ("photo", "png", "photo", report_views.leaders_caption(card)),
        (
            "document",
            "xlsx",
            "document",
            t("report.leaders.document", "vi", month=report_views.month_label(card.month)),
        ),
    ):
        name, media = f"{stem}.{fmt}", report_views.MEDIA_TYPES[fmt]
        file_id = await file_store.store_file(
            session=session,
            name=name,
            mime_type=media,
            data=report_views.render(card, fmt),
            now=now,
        )
        attachment = Attachment(kind, "", name, media, stored_file=file_id)
        parts.append((part, Reply(text, attachments=(attachment,))))
    return parts


async def forget_old_records(*, db: Database, config: Config, now: datetime) -> None:
    """Delete bookkeeping nobody needs any more, so those tables stay small.

    A redelivered update arrives within a day (Telegram keeps undelivered updates 24 hours);
    lookup attempts matter for the rate limit, the lock-out and the verification window.
    """
    lookup_window = max(timedelta(days=1), timedelta(minutes=config.lookup.lockout_minutes))
    async with db.transaction() as session:
        await forget_processed_updates(session=session, before=now - PROCESSED_UPDATE_RETENTION)
        await dossier_store.forget_lookup_attempts(session=session, before=now - lookup_window)


class Sweeper:
    """Runs passes until stopped: when work falls due, and at least every `interval` seconds."""

    def __init__(
        self,
        *,
        db: Database,
        config: Config,
        clock: Callable[[], datetime],
        interval: float = 60.0,
        on_queued: Callable[[], None] = lambda: None,
        batch: int = BATCH,
    ) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.interval = interval
        self.on_queued = on_queued
        self.batch = batch
        self._wakeup = asyncio.Event()

    def wake(self) -> None:
        """Ask for a pass now (e.g. after clocks changed)."""
        self._wakeup.set()

    async def run_once(self) -> SweepResult:
        """Run one pass as of the clock's now, and wake the outbox if it queued anything."""
        result = await sweep_once(
            db=self.db, config=self.config, now=self.clock(), batch=self.batch
        )
        if result.notices:
            self.on_queued()
        if result.tickets or result.dossiers or result.errors:
            log.info("%s", result)
        return result

    async def run(self, stop: asyncio.Event) -> None:
        """Sweep until `stop` is set."""
        while not stop.is_set():
            try:
                await self.run_once()
                delay = await self._seconds_until_next()
            except Exception:
                log.exception("deadline sweep failed; trying again in %.0f s", self.interval)
                delay = self.interval
            self._wakeup.clear()
            waiters = {
                asyncio.ensure_future(stop.wait()),
                asyncio.ensure_future(self._wakeup.wait()),
            }
            await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    async def _seconds_until_next(self) -> float:
        async with self.db.transaction() as session:
            at = await sweep_store.next_due_at(session=session)
        if at is None:
            return self.interval
        return max(0.5, min((at - self.clock()).total_seconds(), self.interval))
