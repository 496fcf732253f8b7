"""storage/stats.py: a period's new, routed, accepted, resolved, missed deadlines, by agency."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.config import Config
from bot.domain import tickets
from storage import stats
from storage.db import Database
from storage.models import Ticket
from storage.stats import TicketCounts
from tests.test_tickets import MONDAY_9, at, open_one, reload, wired

DAY = (at(23, 0), at(24, 0))  # Monday 23/11/2026
MONTH = (at(1, 0), at(1, 0, month=12))


@pytest.fixture
def cfg(config: Config) -> Config:
    return wired(config)


async def accept(db: Database, cfg: Config, ticket: Ticket, now: datetime) -> None:
    async with db.transaction() as session:
        locked = await tickets.load_for_change(session=session, ticket_id=ticket.id or 0)
        assert locked is not None
        await tickets.accept_ticket(
            session=session,
            config=cfg,
            ticket=locked,
            agency_id=locked.agency_id,
            user_id="701",
            now=now,
        )


async def resolve(db: Database, cfg: Config, ticket: Ticket, now: datetime) -> None:
    async with db.transaction() as session:
        locked = await tickets.load_for_change(session=session, ticket_id=ticket.id or 0)
        assert locked is not None
        await tickets.resolve_ticket(
            session=session,
            config=cfg,
            ticket=locked,
            agency_id=locked.agency_id,
            user_id="701",
            answer="Đã vá.",
            now=now,
        )


async def counts(
    db: Database, period: tuple[datetime, datetime], now: datetime, agency: str | None = None
) -> TicketCounts:
    async with db.transaction() as session:
        return await stats.ticket_counts(
            session=session, since=period[0], until=period[1], now=now, agency_id=agency
        )


async def test_ticket_counts_count_each_instant_in_its_period(db: Database, cfg: Config) -> None:
    first = await open_one(db, cfg)  # Monday 09:00, routed to xay-dung
    await accept(db, cfg, first, MONDAY_9 + timedelta(hours=1))
    await open_one(db, cfg, category="khac", agency="triage")  # waits for the operators
    other = await open_one(db, cfg, agency="nn-mt", now=at(24, 10))  # Tuesday
    await resolve(db, cfg, other, at(24, 11))
    # The queued one's triage clock (4 working hours) ran out at 14:30: a missed deadline.
    monday = await counts(db, DAY, at(23, 18))
    assert monday == TicketCounts(new=2, routed=1, accepted=1, resolved=0, overdue=1, waiting=1)
    assert (await counts(db, DAY, at(23, 14))).overdue == 0
    month = await counts(db, MONTH, at(24, 18))
    assert month == TicketCounts(new=3, routed=2, accepted=2, resolved=1, overdue=1, waiting=1)
    building = await counts(db, MONTH, at(24, 18), agency="xay-dung")
    assert building == TicketCounts(new=1, routed=1, accepted=1)


async def test_ticket_counts_count_a_missed_deadline_once_it_has_passed(
    db: Database, cfg: Config
) -> None:
    late = await open_one(db, cfg)
    on_time = await open_one(db, cfg, agency="nn-mt")
    due = (await reload(db, late)).resolve_due_at
    assert due is not None
    await resolve(db, cfg, on_time, due - timedelta(hours=1))
    assert (await counts(db, MONTH, due - timedelta(minutes=1))).overdue == 0
    assert (await counts(db, MONTH, due + timedelta(minutes=1))).overdue == 1
    # Resolved late still missed its deadline; a later period does not count it.
    await resolve(db, cfg, late, due + timedelta(hours=2))
    assert (await counts(db, MONTH, due + timedelta(hours=3))).overdue == 1
    december = (at(1, 0, month=12), at(1, 0, month=1, year=2027))
    assert await counts(db, december, at(2, 9, month=12)) == TicketCounts()


async def test_ticket_counts_by_agency_groups_by_the_holder(db: Database, cfg: Config) -> None:
    await open_one(db, cfg)
    await open_one(db, cfg)
    await open_one(db, cfg, agency="nn-mt")
    await open_one(db, cfg, category="khac", agency="triage")
    async with db.transaction() as session:
        grouped = await stats.ticket_counts_by_agency(
            session=session, since=MONTH[0], until=MONTH[1], now=at(23, 12)
        )
    assert grouped == {
        "xay-dung": TicketCounts(new=2, routed=2),
        "nn-mt": TicketCounts(new=1, routed=1),
        None: TicketCounts(new=1, waiting=1),
    }
    assert sum(grouped.values(), TicketCounts()) == TicketCounts(new=4, routed=3, waiting=1)
