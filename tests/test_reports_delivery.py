"""The leaders' monthly scorecard, end to end: two sweepers race on the first working day of
the month, the outbox uploads the chart and the workbook to the Telegram emulator, once."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.chat import Attachment, Reply
from bot.config import Config
from bot.outbox import OutboxWorker
from bot.sweeper import SweepResult, deliver_monthly_report, sweep_once
from handlers import reports as render
from handlers.messages import t
from storage import files as file_store
from storage import outbox as outbox_store
from storage.db import Database
from storage.models import Outbox, OutboxStatus, ReportDelivery
from tests.conftest import _truncate_all
from tests.harness import LEADERS, FakeClock, running_bot
from tests.test_reports import REPORT_NOW, png_size
from tests.test_sweeper import change
from tests.test_tickets import at, open_one, reload, wired


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database for a whole bot: a SQLite file, or the run's PostgreSQL emptied."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'delivery.db'}"
        return
    url: str = request.getfixturevalue("pg_url")
    database = Database(url)
    await _truncate_all(database)
    await database.dispose()
    yield url


async def test_leaders_chat_receives_the_scorecard_once_from_two_sweepers(
    config: Config, database_url: str
) -> None:
    clock = FakeClock(at(30, 9))  # Monday 30/11: nothing is due yet
    async with running_bot(config, database_url, clock) as bot:
        cfg = bot.config
        # Within the clocks, so that the running sweeper has nothing to deem accepted.
        ticket = await open_one(bot.app.db, cfg, now=at(30, 8))
        await change(bot.app.db, ticket, "accept", at(30, 8, 15), config=cfg)
        ticket = await reload(bot.app.db, ticket)
        await change(bot.app.db, ticket, "resolve", at(30, 8, 30), config=cfg, answer="Đã vá.")
        quiet = await sweep_once(db=bot.app.db, config=cfg, now=clock())
        assert quiet.milestones["monthly_report"] == 0

        clock.now = REPORT_NOW  # Tuesday 1/12 09:00, the first working day of December
        second = Database(database_url)  # another instance's engine on the same database
        try:
            results = await asyncio.gather(
                sweep_once(db=bot.app.db, config=cfg, now=clock()),
                sweep_once(db=second, config=cfg, now=clock()),
            )
            again = await sweep_once(db=second, config=cfg, now=at(1, 15, month=12))
        finally:
            await second.dispose()
        assert sorted(r.milestones["monthly_report"] for r in results) == [0, 1]
        assert again.milestones["monthly_report"] == 0

        bot.app.outbox.wake()
        photo = await bot.emu.wait_for_bot_message(
            LEADERS, lambda m: m["kind"] == "photo", timeout=10
        )
        document = await bot.emu.wait_for_bot_message(
            LEADERS, lambda m: m["kind"] == "document", timeout=10
        )
        bot.app.sweeper.wake()
        await bot.settle()

        assert len(bot.emu.bot_messages(LEADERS)) == 2
        assert "11/2026" in photo["text"]
        width, height = render.chart_size(len(cfg.agencies))
        largest = photo["photo"][-1]
        assert (largest["width"], largest["height"]) == (width, height)
        chart = bot.emu.file_bytes(largest["file_id"])
        assert png_size(chart) == (width, height)
        assert document["document"]["file_name"] == "bang-diem-2026-11.xlsx"
        workbook = bot.emu.file_bytes(document["document"]["file_id"])

        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(workbook)).worksheets[0]
        works = next(row for row in sheet.iter_rows(values_only=True) if row[1] == "Sở Xây dựng")
        header = [cell.value for cell in sheet[1]]
        assert works[header.index(t("report.col.received", "vi"))] == 1
        assert works[header.index(t("report.col.resolved", "vi"))] == 1

        async with bot.app.db.transaction() as session:
            claims = (await session.exec(select(ReportDelivery))).all()
            sent = await outbox_store.list_outbox(session=session, status=OutboxStatus.SENT)
        assert [(c.month, c.chat_id) for c in claims] == [("2026-11", str(LEADERS))]
        keys = sorted(row.idempotency_key or "" for row in sent if row.chat_id == str(LEADERS))
        assert keys == [f"report:2026-11:{p}:telegram:{LEADERS}" for p in ("document", "photo")]


async def test_monthly_report_waits_when_no_leaders_chat_is_configured(
    sqlite_db: Database, config: Config
) -> None:
    result = SweepResult(now=REPORT_NOW)
    assert not await deliver_monthly_report(
        db=sqlite_db, config=wired(config), now=REPORT_NOW, result=result
    )
    async with sqlite_db.transaction() as session:
        assert (await session.exec(select(ReportDelivery))).all() == []


async def test_monthly_report_failure_rolls_back_the_claim_and_is_retried(
    sqlite_db: Database, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    cfg = wired(config)
    cfg = dataclasses.replace(
        cfg, telegram=dataclasses.replace(cfg.telegram, leaders_chat_id=LEADERS)
    )

    def broken(card: object, fmt: str, lang: str = "vi") -> bytes:
        raise RuntimeError("disk full")

    monkeypatch.setattr(render, "render", broken)
    result = SweepResult(now=REPORT_NOW)
    assert not await deliver_monthly_report(
        db=sqlite_db, config=cfg, now=REPORT_NOW, result=result
    )
    assert result.errors == 1
    async with sqlite_db.transaction() as session:
        assert (await session.exec(select(ReportDelivery))).all() == []
    monkeypatch.undo()

    result = SweepResult(now=REPORT_NOW)
    assert await deliver_monthly_report(db=sqlite_db, config=cfg, now=REPORT_NOW, result=result)
    assert result.notices == 2


class RecordingSender:
    """A sender that keeps what it was given."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []

    async def deliver(self, chat_id: str, reply: Reply) -> str | None:
        self.replies.append(reply)
        return str(len(self.replies))


async def test_outbox_loads_a_stored_file_and_fails_when_it_is_gone(sqlite_db: Database) -> None:
    async with sqlite_db.transaction() as session:
        kept = await file_store.store_file(
            session=session, name="a.png", mime_type="image/png", data=b"PNG!", now=REPORT_NOW
        )
        for key, stored in (("kept", kept), ("gone", kept + 99)):
            reply = Reply("x", attachments=(Attachment("photo", "", "a.png", stored_file=stored),))
            await outbox_store.enqueue(
                session=session,
                channel="telegram",
                chat_id=key,
                payload=reply.to_payload(),
                now=REPORT_NOW,
            )
    sender = RecordingSender()
    worker = OutboxWorker(db=sqlite_db, senders={"telegram": sender}, clock=lambda: REPORT_NOW)
    assert await worker.run_once() == 1

    assert [a.content for a in sender.replies[0].attachments] == [b"PNG!"]
    async with sqlite_db.transaction() as session:
        rows = (await session.exec(select(Outbox).order_by(col(Outbox.id)))).all()
    assert [(r.chat_id, r.status) for r in rows] == [
        ("kept", OutboxStatus.SENT),
        ("gone", OutboxStatus.FAILED),
    ]
    assert rows[1].last_error == "a stored file is missing"
