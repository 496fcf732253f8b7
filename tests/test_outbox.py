"""Durable delivery through the emulator: retries, blocked chats, order, crash recovery."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.chat import Reply
from bot.config import Config
from bot.outbox import OutboxWorker, backoff_seconds
from storage import outbox as outbox_store
from storage.models import OutboxStatus, Ticket
from storage.tickets import add_ticket, list_events
from tests.harness import CITIZEN, Harness, running_bot


@pytest.fixture
async def bot(config: Config, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_bot(config, f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}") as harness:
        yield harness


async def queue(
    bot: Harness, text: str, chat: int = CITIZEN, ticket_id: int | None = None
) -> None:
    async with bot.app.db.transaction() as session:
        await outbox_store.enqueue(
            session=session,
            channel="telegram",
            chat_id=str(chat),
            payload=Reply(text).to_payload(),
            now=bot.clock(),
            ticket_id=ticket_id,
        )
    bot.app.outbox.wake()


async def rows(bot: Harness) -> list[tuple[str, OutboxStatus, int]]:
    async with bot.app.db.transaction() as session:
        found = await outbox_store.list_outbox(session=session)
    return [(r.payload["text"], r.status, r.attempts) for r in found]


def test_backoff_grows_and_is_capped() -> None:
    assert [backoff_seconds(n) for n in (1, 2, 3)] == [2, 4, 8]
    assert backoff_seconds(30) == 300


async def retry_recorded(bot: Harness) -> None:
    """Wait until the failed send is back in the queue (the answer may land after `settle`)."""
    for _ in range(500):
        if any(s == OutboxStatus.PENDING and tries > 0 for _, s, tries in await rows(bot)):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"no retry recorded: {await rows(bot)}")


async def test_429_is_retried_after_the_given_delay(bot: Harness) -> None:
    bot.emu.fail_next("sendMessage", 429, retry_after=7)
    await queue(bot, "một")
    await retry_recorded(bot)
    assert bot.emu.bot_messages(CITIZEN) == []
    bot.clock.advance(seconds=7)
    bot.app.outbox.wake()
    message = await bot.reply()
    await bot.settle()
    assert message["text"] == "một"
    assert await rows(bot) == [("một", OutboxStatus.SENT, 2)]


async def test_server_error_is_retried_with_backoff(bot: Harness) -> None:
    bot.emu.fail_next("sendMessage", 502)
    await queue(bot, "hai")
    await retry_recorded(bot)
    bot.clock.advance(seconds=backoff_seconds(1))
    bot.app.outbox.wake()
    message = await bot.reply()
    assert message["text"] == "hai"
    assert len(bot.emu.bot_messages(CITIZEN)) == 1


async def test_blocked_bot_is_recorded_on_the_ticket(bot: Harness) -> None:
    async with bot.app.db.transaction() as session:
        ticket = await add_ticket(
            session=session,
            ticket=Ticket(
                code="PA-2026-000009",
                channel="telegram",
                chat_id=str(CITIZEN),
                text="x",
                category_id="khac",
                created_at=bot.clock(),
            ),
        )
    assert ticket.id is not None
    await bot.emu.block_bot(CITIZEN)
    await queue(bot, "ba", ticket_id=ticket.id)
    await bot.settle()
    async with bot.app.db.transaction() as session:
        stored = await session.get(Ticket, ticket.id)
        events = await list_events(session=session, ticket_id=ticket.id)
    assert await rows(bot) == [("ba", OutboxStatus.BLOCKED, 1)]
    assert stored is not None
    assert stored.citizen_blocked
    assert [e.kind for e in events] == ["reporter_unreachable"]


async def test_bad_request_is_not_retried(bot: Harness) -> None:
    await queue(bot, "<b>unclosed")
    await bot.settle()
    bot.clock.advance(seconds=600)
    bot.app.outbox.wake()
    await bot.settle()
    assert await rows(bot) == [("<b>unclosed", OutboxStatus.FAILED, 1)]


async def test_messages_to_one_chat_keep_their_order_across_a_retry(bot: Harness) -> None:
    bot.emu.fail_next("sendMessage", 429, retry_after=3)
    async with bot.app.db.transaction() as session:
        for text in ("thứ nhất", "thứ hai"):
            await outbox_store.enqueue(
                session=session,
                channel="telegram",
                chat_id=str(CITIZEN),
                payload=Reply(text).to_payload(),
                now=bot.clock(),
            )
    bot.app.outbox.wake()
    await bot.settle()
    assert bot.emu.bot_messages(CITIZEN) == []
    bot.clock.advance(seconds=3)
    bot.app.outbox.wake()
    first = await bot.reply()
    second = await bot.reply()
    assert (first["text"], second["text"]) == ("thứ nhất", "thứ hai")


async def test_claim_lost_in_a_crash_is_delivered_once_after_the_lease(bot: Harness) -> None:
    async with bot.app.db.transaction() as session:
        await outbox_store.enqueue(
            session=session,
            channel="telegram",
            chat_id=str(CITIZEN),
            payload=Reply("bốn").to_payload(),
            now=bot.clock(),
        )
        # A worker of another process claims the message and dies before sending it.
        claimed = await outbox_store.claim_due(
            session=session, now=bot.clock(), limit=10, lease=timedelta(seconds=120)
        )
    assert len(claimed) == 1
    bot.app.outbox.wake()
    await bot.settle()
    assert bot.emu.bot_messages(CITIZEN) == []
    bot.clock.advance(seconds=121)
    survivor = OutboxWorker(db=bot.app.db, senders=bot.app.senders, clock=bot.clock)
    # The app's own outbox loop may take the expired claim first: whoever does, it goes out once.
    await survivor.run_once()
    await bot.app.outbox.run_once()
    await bot.settle()
    assert [m["text"] for m in bot.emu.bot_messages(CITIZEN)] == ["bốn"]
