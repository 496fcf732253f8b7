"""The deadline sweeper: every rung by time travel, the pause, the dossier watch, the command
line, concurrency and crashes, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from bot import sweeper
from bot.__main__ import main
from bot.chat import Reply
from bot.config import Config
from bot.domain import dossiers as dossier_rules
from bot.domain import tickets
from bot.outbox import OutboxWorker
from storage import dossiers as dossier_store
from storage import outbox as outbox_store
from storage import sweeps as sweep_store
from storage import tickets as ticket_store
from storage.db import Database
from storage.models import Dossier, Outbox, OutboxStatus, Ticket, TicketEvent, TicketState
from tests.test_tickets import (
    CITIZEN_CHAT,
    MONDAY_9,
    OPERATORS,
    agency_chat,
    at,
    event_kinds,
    open_one,
    reload,
    wired,
)


@pytest.fixture
def cfg(config: Config) -> Config:
    return wired(config)


async def outbox(db: Database) -> list[Outbox]:
    async with db.transaction() as session:
        return await outbox_store.list_outbox(session=session)


async def texts_to(db: Database, chat: str | int) -> list[str]:
    """Return the texts queued for a chat, oldest first."""
    return [row.payload["text"] for row in await outbox(db) if row.chat_id == str(chat)]


async def sweep(db: Database, config: Config, now: datetime, **kwargs: Any) -> sweeper.SweepResult:
    return await sweeper.sweep_once(db=db, config=config, now=now, **kwargs)


async def change(db: Database, ticket: Ticket, action: str, now: datetime, **kwargs: Any) -> None:
    """Apply one service of bot/domain/tickets.py to the ticket in its own transaction."""
    async with db.transaction() as session:
        locked = await tickets.load_for_change(session=session, ticket_id=ticket.id or 0)
        assert locked is not None
        service = {
            "accept": tickets.accept_ticket,
            "ask": tickets.ask_citizen,
            "resolve": tickets.resolve_ticket,
            "return": tickets.return_ticket,
        }[action]
        await service(
            session=session,
            config=kwargs.pop("config"),
            ticket=locked,
            agency_id=kwargs.pop("agency_id", locked.agency_id),
            user_id="701",
            now=now,
            **kwargs,
        )


# --- the ladder, rung by rung ----------------------------------------------------------------


async def test_sweep_before_anything_is_due_does_nothing(db: Database, cfg: Config) -> None:
    await open_one(db, cfg)
    result = await sweep(db, cfg, at(25, 8, 59))
    assert (result.tickets, result.notices) == (0, 0)
    assert await outbox(db) == []


async def test_sweep_deems_a_silent_agency_to_have_accepted(db: Database, cfg: Config) -> None:
    ticket = await open_one(db, cfg)
    result = await sweep(db, cfg, at(25, 9))
    assert result.milestones == {"deemed_accepted": 1}
    fresh = await reload(db, ticket)
    assert fresh.state == TicketState.ACCEPTED
    assert fresh.deemed_accepted and fresh.accepted_at == at(25, 9)
    assert fresh.next_check_at == at(26, 11)
    agency = await texts_to(db, agency_chat(cfg, "xay-dung"))
    assert "coi là cơ quan đã tiếp nhận" in agency[0] and "09:00 27/11/2026" in agency[0]
    assert "đã tiếp nhận phản ánh" in (await texts_to(db, CITIZEN_CHAT))[0]
    assert (await event_kinds(db, ticket))[-1] == "deemed_accepted"
    with pytest.raises(tickets.TransitionError) as caught:
        await change(db, ticket, "return", at(25, 10), config=cfg, reason="không phải việc của sở")
    assert caught.value.reason == "deemed_accepted"


async def test_sweep_reminds_the_agency_at_75_percent(db: Database, cfg: Config) -> None:
    ticket = await open_one(db, cfg)
    await change(db, ticket, "accept", at(23, 10), config=cfg)
    early = await sweep(db, cfg, at(26, 10, 59))
    assert (early.tickets, early.notices) == (0, 0)
    result = await sweep(db, cfg, at(26, 11))
    assert result.milestones == {"reminder": 1}
    (reminder,) = await texts_to(db, agency_chat(cfg, "xay-dung"))
    assert "Nhắc hạn" in reminder and "09:00 27/11/2026" in reminder and "6 giờ" in reminder
    assert await texts_to(db, CITIZEN_CHAT) == []
    assert (await reload(db, ticket)).next_check_at == at(27, 9)


async def test_sweep_overdue_tells_agency_operators_and_citizen_in_their_language(
    db: Database, cfg: Config
) -> None:
    ticket = await open_one(db, cfg, language="en")
    await change(db, ticket, "accept", at(23, 10), config=cfg)
    await sweep(db, cfg, at(26, 11))
    result = await sweep(db, cfg, at(27, 9))
    assert result.milestones == {"overdue": 1}
    assert result.notices == 3
    agency = await texts_to(db, agency_chat(cfg, "xay-dung"))
    assert "Quá hạn" in agency[-1] and "09:00 01/12/2026" in agency[-1]
    (operators,) = await texts_to(db, OPERATORS)
    assert "Sở Xây dựng" in operators and "quá hạn" in operators
    row = next(r for r in await outbox(db) if r.chat_id == str(OPERATORS))
    reroute = [b["data"] for line in row.payload["buttons"] for b in line]
    assert reroute == [f"op:{ticket.id}:route:nn-mt", f"op:{ticket.id}:pick"]
    (citizen,) = await texts_to(db, CITIZEN_CHAT)
    assert "We apologise" in citizen
    assert "09:00 27/11/2026" in citizen  # the missed due time
    assert "09:00 01/12/2026" in citizen  # the new expectation
    assert (await reload(db, ticket)).next_check_at == at(1, 9, month=12)


async def test_sweep_escalates_two_working_days_past_due_to_the_supervisor(
    db: Database, cfg: Config
) -> None:
    ticket = await open_one(db, cfg)
    await change(db, ticket, "accept", at(23, 10), config=cfg)
    for now in (at(26, 11), at(27, 9)):
        await sweep(db, cfg, now)
    assert (await sweep(db, cfg, at(1, 8, 59, month=12))).notices == 0
    result = await sweep(db, cfg, at(1, 9, month=12))
    assert result.milestones == {"escalated": 1}
    (supervisor,) = await texts_to(db, agency_chat(cfg, "vp-ubnd"))
    assert "Báo cáo quá hạn" in supervisor and "16 giờ làm việc" in supervisor
    assert "ổ gà" in supervisor  # the complaint itself, without the reporter's identity
    assert "0912345678" not in supervisor
    assert "Văn phòng UBND tỉnh" in (await texts_to(db, CITIZEN_CHAT))[-1]
    fresh = await reload(db, ticket)
    assert fresh.next_check_at is None
    kinds = await event_kinds(db, ticket)
    assert kinds[-3:] == ["reminder", "overdue", "escalated"]


async def test_sweep_triage_clock_goes_to_operators_then_supervisor(
    db: Database, cfg: Config
) -> None:
    ticket = await open_one(db, cfg, category="khac", agency="triage")
    result = await sweep(db, cfg, at(23, 14, 30))
    assert result.milestones == {"triage_overdue": 1}
    (operators,) = await texts_to(db, OPERATORS)
    assert "chờ phân loại đã quá hạn" in operators
    row = next(r for r in await outbox(db) if r.chat_id == str(OPERATORS))
    buttons = [b["data"] for line in row.payload["buttons"] for b in line]
    assert f"op:{ticket.id}:route:xay-dung" in buttons and f"op:{ticket.id}:pick" in buttons
    result = await sweep(db, cfg, at(25, 9))
    assert result.milestones == {"triage_escalated": 1}
    (supervisor,) = await texts_to(db, "-1003")
    assert "chưa được chuyển cơ quan xử lý" in supervisor
    assert (await reload(db, ticket)).next_check_at is None


async def test_sweep_catches_up_after_downtime_in_order(db: Database, cfg: Config) -> None:
    ticket = await open_one(db, cfg)
    result = await sweep(db, cfg, at(2, 9, month=12))
    assert result.milestones == {"deemed_accepted": 1, "overdue": 1, "escalated": 1}
    kinds = await event_kinds(db, ticket)
    assert kinds[-3:] == ["deemed_accepted", "overdue", "escalated"]  # no stale reminder
    assert (await reload(db, ticket)).next_check_at is None


async def test_sweep_pause_holds_the_ladder_until_the_citizen_answers(
    db: Database, cfg: Config
) -> None:
    ticket = await open_one(db, cfg)
    await change(db, ticket, "ask", at(25, 10), config=cfg, question="Ở số nhà nào?")
    paused = await sweep(db, cfg, at(1, 10, month=12))  # past every original milestone
    assert (paused.tickets, paused.notices) == (0, 0)
    async with db.transaction() as session:
        await tickets.record_citizen_answer(
            session=session,
            config=cfg,
            channel="telegram",
            chat_id=CITIZEN_CHAT,
            text="Số 12",
            now=at(1, 10, month=12),
        )
    fresh = await reload(db, ticket)
    # Paused from Wed 25/11 10:00 to Tue 1/12 10:00: 32 working hours pushed onto Fri 27/11 09:00.
    assert fresh.resolve_due_at == at(3, 9, month=12)
    assert fresh.next_check_at == at(2, 11, month=12)
    assert (await sweep(db, cfg, at(2, 10, 59, month=12))).notices == 0
    assert (await sweep(db, cfg, at(2, 11, month=12))).milestones == {"reminder": 1}
    assert (await sweep(db, cfg, at(3, 9, month=12))).milestones == {"overdue": 1}


async def test_sweep_resolved_ticket_hears_no_more(db: Database, cfg: Config) -> None:
    ticket = await open_one(db, cfg)
    await change(db, ticket, "resolve", at(23, 10), config=cfg, answer="Đã xử lý")
    result = await sweep(db, cfg, at(10, 9, month=12))
    assert result.tickets == 0
    assert [r for r in await outbox(db)] == []


async def test_sweep_repeated_at_the_same_instant_queues_nothing_twice(
    db: Database, cfg: Config
) -> None:
    ticket = await open_one(db, cfg)
    await sweep(db, cfg, at(27, 9))
    queued = len(await outbox(db))
    assert (await sweep(db, cfg, at(27, 9))).notices == 0
    # Even a sweeper handed the same milestone again (its claim replayed) queues nothing new.
    async with db.transaction() as session:
        locked = await ticket_store.lock_ticket(session=session, ticket_id=ticket.id or 0)
        assert locked is not None
        locked.next_check_at = at(27, 9)
        session.add(locked)
    replay = await sweep(db, cfg, at(27, 9))
    assert replay.notices == 0 and replay.already_queued == 3
    assert len(await outbox(db)) == queued


def test_sweep_result_is_a_one_line_summary() -> None:
    result = sweeper.SweepResult(now=MONDAY_9, tickets=3, notices=5)
    result.milestones.update({"overdue": 2, "reminder": 1})
    line = str(result)
    assert "\n" not in line
    assert "3 tickets" in line and "5 notices queued" in line and "overdue 2" in line


# --- dossier watch ---------------------------------------------------------------------------


async def add_dossier(
    db: Database,
    config: Config,
    code: str,
    *,
    due_at: datetime,
    status: int = 4,
    new_due_at: datetime | None = None,
    now: datetime = MONDAY_9,
) -> None:
    watch_at = dossier_rules.initial_watch_at(
        status=status,
        due_at=due_at,
        new_due_at=new_due_at,
        calendar=config.work_calendar,
        now=now,
    )
    async with db.transaction() as session:
        session.add(
            Dossier(
                code=code,
                procedure="Cấp giấy phép xây dựng",
                agency_id="trung-tam-hcc",
                received_at=now - timedelta(days=10),
                due_at=due_at,
                new_due_at=new_due_at,
                status=status,
                watch_at=watch_at,
            )
        )
        for chat, lang in (("801", "vi"), ("802", "en")):
            await dossier_store.add_subscription(
                session=session,
                code=code,
                channel="telegram",
                chat_id=chat,
                language=lang,
                now=now,
            )


async def test_dossier_watch_reminds_agency_of_the_apology_slip_then_tells_subscribers(
    db: Database, cfg: Config
) -> None:
    code = "H23.22-261116-0001"
    await add_dossier(db, cfg, code, due_at=at(27, 17))
    assert (await sweep(db, cfg, at(27, 7, 29))).notices == 0
    # One working day before 17:00 on Friday: the start of Friday's work (same as Thursday 17:00).
    reminded = await sweep(db, cfg, at(27, 7, 30))
    assert reminded.milestones == {"dossier_apology_due": 1}
    (slip,) = await texts_to(db, agency_chat(cfg, "trung-tam-hcc"))
    assert code in slip and "Phiếu xin lỗi và hẹn lại ngày trả kết quả" in slip
    assert "118/2025/NĐ-CP" in slip and "17:00 27/11/2026" in slip
    assert await texts_to(db, "801") == []
    late = await sweep(db, cfg, at(27, 17))
    assert late.milestones == {"dossier_late": 1}
    (vietnamese,) = await texts_to(db, "801")
    (english,) = await texts_to(db, "802")
    assert "đã quá hạn trả kết quả" in vietnamese and code in vietnamese
    assert "past its due date" in english
    async with db.transaction() as session:
        dossier = await dossier_store.get_dossier(session=session, code=code)
    assert dossier is not None and dossier.watch_at is None


async def test_dossier_watch_with_a_new_date_skips_the_slip_and_watches_the_new_date(
    db: Database, cfg: Config
) -> None:
    code = "H23.22-261116-0002"
    await add_dossier(db, cfg, code, due_at=at(27, 17), new_due_at=at(4, 17, month=12))
    await sweep(db, cfg, at(26, 17))
    assert await texts_to(db, agency_chat(cfg, "trung-tam-hcc")) == []
    await sweep(db, cfg, at(27, 17))
    assert len(await texts_to(db, "801")) == 1
    result = await sweep(db, cfg, at(4, 17, month=12))
    assert result.milestones == {"dossier_late_new_due": 1}
    assert "quá cả ngày hẹn mới" in (await texts_to(db, "801"))[-1]


async def test_dossier_watch_ignores_done_dossiers(db: Database, cfg: Config) -> None:
    await add_dossier(db, cfg, "H23.22-261116-0003", due_at=at(27, 17), status=10)
    result = await sweep(db, cfg, at(10, 9, month=12))
    assert (result.dossiers, result.notices) == (0, 0)


# --- the command line ------------------------------------------------------------------------


def test_cli_sweep_once_time_travels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database = tmp_path / "cli.db"
    config_file = tmp_path / "config.toml"
    config_file.write_text(
        f'[storage]\nurl = "sqlite+aiosqlite:///{database}"\n'
        f"[telegram]\noperators_chat_id = {OPERATORS}\n",
        encoding="utf-8",
    )
    from bot.config import load_config

    config = load_config(config_file, environ={})

    async def setup() -> None:
        db = Database(config.storage.url)
        await db.upgrade()
        await open_one(db, config)
        await db.dispose()

    asyncio.run(setup())
    before = at(25, 8, 59).isoformat()
    assert main(["sweep", "--once", "--now", before, "--config", str(config_file)]) == 0
    assert "0 tickets" in capsys.readouterr().out
    now = at(25, 9).isoformat()
    assert main(["sweep", "--once", "--now", now, "--config", str(config_file)]) == 0
    out = capsys.readouterr().out.strip()
    assert out.count("\n") == 0
    assert "1 tickets" in out and "deemed_accepted 1" in out and "2 notices queued" in out
    assert main(["sweep", "--once", "--now", "hôm qua", "--config", str(config_file)]) == 2
    assert (
        main(["sweep", "--once", "--now", "2026-11-25T09:00", "--config", str(config_file)]) == 2
    )


# --- several sweepers, crashes ---------------------------------------------------------------


async def many_due_tickets(db: Database, config: Config, count: int) -> None:
    for index in range(count):
        await open_one(db, config, chat_id=str(10_000 + index))


async def count_events(db: Database, kind: str) -> int:
    async with db.transaction() as session:
        rows = (await session.exec(select(TicketEvent).where(TicketEvent.kind == kind))).all()
    return len(rows)


async def test_two_sweepers_at_once_each_notice_exactly_once(db: Database, cfg: Config) -> None:
    await many_due_tickets(db, cfg, 120)
    other = Database(db.url)
    try:
        first, second = await asyncio.gather(
            sweep(db, cfg, at(27, 9), batch=7), sweep(other, cfg, at(27, 9), batch=7)
        )
    finally:
        await other.dispose()
    # Each ticket is handled by one sweeper: events have no unique key to hide a duplicate.
    assert first.tickets + second.tickets == 120
    assert await count_events(db, "deemed_accepted") == 120
    assert await count_events(db, "overdue") == 120
    # 120 × (deemed: agency + citizen; overdue: agency + operators + citizen).
    assert first.notices + second.notices == 600
    assert first.already_queued == second.already_queued == 0
    assert len(await outbox(db)) == 600
    if not db.is_sqlite:
        # SKIP LOCKED let both work at once instead of one waiting for the other.
        assert first.tickets > 0 and second.tickets > 0


async def test_crash_between_claim_and_outbox_write_loses_nothing(
    db: Database, cfg: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    await many_due_tickets(db, cfg, 5)
    real_enqueue = sweep_store.enqueue_notices

    async def crash(**_: Any) -> int:
        raise ConnectionResetError("the process died here")

    monkeypatch.setattr(sweep_store, "enqueue_notices", crash)
    with pytest.raises(ConnectionResetError):
        await sweep(db, cfg, at(27, 9))
    assert await outbox(db) == []
    assert await count_events(db, "overdue") == 0
    async with db.transaction() as session:
        states = (await session.exec(select(Ticket.state, Ticket.next_check_at))).all()
    assert {(state, due) for state, due in states} == {(TicketState.ROUTED, at(25, 9))}
    monkeypatch.setattr(sweep_store, "enqueue_notices", real_enqueue)
    result = await sweep(db, cfg, at(27, 9))
    assert result.tickets == 5 and result.notices == 25
    assert await count_events(db, "overdue") == 5


async def test_sweeper_dying_with_its_claim_blocks_nobody_and_loses_nothing(
    db: Database, cfg: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    await many_due_tickets(db, cfg, 4)
    real_enqueue = sweep_store.enqueue_notices
    holding = asyncio.Event()

    async def hang(**_: Any) -> int:
        holding.set()
        await asyncio.sleep(3600)
        return 0

    first = Database(db.url)
    monkeypatch.setattr(sweep_store, "enqueue_notices", hang)
    dying = asyncio.create_task(sweep(first, cfg, at(27, 9), batch=2))
    await holding.wait()
    monkeypatch.setattr(sweep_store, "enqueue_notices", real_enqueue)
    if not db.is_sqlite:
        # While the dying sweeper holds 2 claims, another takes the other 2 without waiting.
        meanwhile = await asyncio.wait_for(sweep(db, cfg, at(27, 9), batch=2), timeout=10)
        assert meanwhile.tickets == 2
    dying.cancel()
    with pytest.raises(asyncio.CancelledError):
        await dying
    await first.dispose()
    after = await sweep(db, cfg, at(27, 9))
    assert after.tickets == (4 if db.is_sqlite else 2)
    assert await count_events(db, "overdue") == 4
    assert len(await outbox(db)) == 20


class RecordingSender:
    """A channel that records what it delivers."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def deliver(self, chat_id: str, reply: Reply) -> str | None:
        self.sent.append((chat_id, reply.text))
        return str(len(self.sent))


async def test_notices_survive_a_crash_between_queueing_and_sending(
    db: Database, cfg: Config
) -> None:
    await many_due_tickets(db, cfg, 3)
    await sweep(db, cfg, at(27, 9))
    # A sender claims the notices and dies before sending: its lease runs out, nothing is lost.
    async with db.transaction() as session:
        claimed = await outbox_store.claim_due(
            session=session, now=at(27, 9), limit=100, lease=timedelta(minutes=2)
        )
    assert len(claimed) == 15
    sender = RecordingSender()
    worker = OutboxWorker(db=db, senders={"telegram": sender}, clock=lambda: at(27, 9, 1))
    assert await worker.run_once() == 0  # still leased to the dead sender
    worker.clock = lambda: at(27, 9, 3)
    while await worker.run_once():
        pass
    assert len(sender.sent) == 15 == len(set(sender.sent))
    async with db.transaction() as session:
        statuses = (await session.exec(select(col(Outbox.status)))).all()
    assert set(statuses) == {OutboxStatus.SENT}
    assert (await sweep(db, cfg, at(27, 9))).notices == 0


async def test_sweep_keeps_the_accept_clock_when_the_reminder_comes_first(
    db: Database, cfg: Config
) -> None:
    slow = dataclasses.replace(cfg, deadlines=dataclasses.replace(cfg.deadlines, accept_hours=20))
    ticket = await open_one(db, slow)
    assert ticket.next_check_at == at(26, 11)  # the reminder (18 h) before the accept clock (20 h)
    assert (await sweep(db, slow, at(26, 11))).milestones == {"reminder": 1}
    fresh = await reload(db, ticket)
    assert fresh.state == TicketState.ROUTED
    assert fresh.next_check_at == at(26, 14, 30)  # then the ticket is deemed accepted
    assert (await sweep(db, slow, at(26, 14, 30))).milestones == {"deemed_accepted": 1}
    assert (await reload(db, ticket)).next_check_at == at(27, 9)


async def test_sweeper_loop_sweeps_wakes_the_outbox_and_stops(db: Database, cfg: Config) -> None:
    await open_one(db, cfg)
    queued = asyncio.Event()
    loop = sweeper.Sweeper(
        db=db, config=cfg, clock=lambda: at(27, 9), interval=0.05, on_queued=queued.set
    )
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    await asyncio.wait_for(queued.wait(), timeout=10)
    assert len(await outbox(db)) == 5
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    assert len(await outbox(db)) == 5  # later passes found nothing new
