"""Console queries on SQLite and PostgreSQL: queue, numbers, followers, sign-in failures."""

from __future__ import annotations

from datetime import timedelta

from bot.config import Config
from bot.domain import accounts, operations, tickets
from bot.domain.tickets import Reporter
from storage import console as console_store
from storage.console import QueueFilter
from storage.db import Database
from storage.models import Ticket
from tests.harness import MONDAY_9AM
from tests.test_tickets import decision


async def file(db: Database, config: Config, text: str, *, minutes: int = 0) -> Ticket:
    async with db.transaction() as session:
        return await tickets.open_ticket(
            session=session,
            config=config,
            reporter=Reporter("telegram", "501", "501", "vi", "Trần Văn Bình", "0912000000"),
            text=text,
            decision=decision("khac", "triage"),
            category_id="khac",
            now=MONDAY_9AM + timedelta(minutes=minutes),
        )


async def test_queue_filters_text_agency_overdue_and_pages(db: Database, config: Config) -> None:
    first = await file(db, config, "Cống thoát nước 50% bị tắc")
    second = await file(db, config, "Đèn đường hỏng", minutes=5)
    async with db.transaction() as session:
        second = await tickets.load_for_change(session=session, ticket_id=second.id or 0)
        assert second is not None
        await tickets.route_ticket(
            session=session,
            config=config,
            ticket=second,
            agency_id="xay-dung",
            user_id="1",
            now=MONDAY_9AM,
        )
        now = MONDAY_9AM + timedelta(minutes=10)
        by_text = await console_store.list_queue(
            session=session, where=QueueFilter(text="50%"), now=now, offset=0, limit=10
        )
        by_name = await console_store.list_queue(
            session=session, where=QueueFilter(text="trần văn"), now=now, offset=0, limit=10
        )
        triage = await console_store.list_queue(
            session=session, where=QueueFilter(agency_id="triage"), now=now, offset=0, limit=10
        )
        routed = await console_store.list_queue(
            session=session, where=QueueFilter(state="routed"), now=now, offset=0, limit=10
        )
        page_two = await console_store.list_queue(
            session=session, where=QueueFilter(state="open"), now=now, offset=1, limit=1
        )
        late = await console_store.list_queue(
            session=session,
            where=QueueFilter(overdue=True),
            now=MONDAY_9AM + timedelta(hours=6),
            offset=0,
            limit=10,
        )
    assert [t.code for t in by_text.tickets] == [first.code]
    assert by_name.total == 2
    assert [t.code for t in triage.tickets] == [first.code]
    assert [t.code for t in routed.tickets] == [second.code]
    assert page_two.total == 2 and len(page_two.tickets) == 1
    assert [t.code for t in late.tickets] == [first.code]


async def test_stats_count_the_day_the_month_and_on_time(db: Database, config: Config) -> None:
    ticket = await file(db, config, "Đường ngập")
    await file(db, config, "Rác thải")
    async with db.transaction() as session:
        ticket = await tickets.load_for_change(session=session, ticket_id=ticket.id or 0)
        assert ticket is not None
        await tickets.route_ticket(
            session=session,
            config=config,
            ticket=ticket,
            agency_id="xay-dung",
            user_id="1",
            now=MONDAY_9AM,
        )
        await tickets.resolve_ticket(
            session=session,
            config=config,
            ticket=ticket,
            agency_id="xay-dung",
            user_id="2",
            answer="Đã xử lý",
            now=MONDAY_9AM + timedelta(hours=1),
        )
    async with db.transaction() as session:
        numbers = await operations.stats(
            session=session, config=config, now=MONDAY_9AM + timedelta(hours=2)
        )
    assert (numbers.today.new, numbers.today.routed, numbers.today.resolved) == (2, 1, 1)
    assert numbers.month.new == 2 and numbers.waiting == 1 and numbers.overdue == 0
    assert [(r.agency_id, r.resolved, r.on_time) for r in numbers.on_time] == [("xay-dung", 1, 1)]


async def test_followers_are_added_once(db: Database, config: Config) -> None:
    ticket = await file(db, config, "Đèn đường hỏng")
    async with db.transaction() as session:
        args = {"ticket_id": ticket.id or 0, "channel": "zalo", "chat_id": "z1", "language": "en"}
        first = await console_store.add_follower(
            session=session, from_ticket_id=None, now=MONDAY_9AM, **args
        )
        again = await console_store.add_follower(
            session=session, from_ticket_id=None, now=MONDAY_9AM, **args
        )
        followers = await console_store.list_followers(session=session, ticket_id=ticket.id or 0)
    assert (first, again) == (True, False)
    assert [(f.channel, f.chat_id) for f in followers] == [("zalo", "z1")]


async def test_sign_in_failures_lock_and_a_good_password_clears_them(
    db: Database, config: Config
) -> None:
    async with db.transaction() as session:
        await accounts.add_user(
            session=session,
            config=config,
            name="binh",
            role="operator",
            password="mat-khau-dai-lam",
            now=MONDAY_9AM,
        )
    for minute in range(3):
        async with db.transaction() as session:
            refused = await accounts.sign_in(
                session=session,
                name="binh",
                password="sai",
                language="vi",
                now=MONDAY_9AM + timedelta(minutes=minute),
            )
        assert refused.refused == "bad_login"
    async with db.transaction() as session:
        good = await accounts.sign_in(
            session=session,
            name="binh",
            password="mat-khau-dai-lam",
            language="vi",
            now=MONDAY_9AM + timedelta(minutes=4),
        )
        left = await console_store.failures_since(
            session=session, name="binh", since=MONDAY_9AM - timedelta(hours=1)
        )
        assert good.token is not None
        found = await console_store.get_session(
            session=session,
            token_hash=accounts.token_hash(good.token),
            now=MONDAY_9AM + timedelta(minutes=5),
        )
    assert left == [] and found is not None and found[1].name == "binh"
