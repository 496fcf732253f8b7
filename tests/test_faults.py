"""Faults under load: a process killed, Bot API errors and timeouts, a slow database.

Each test counts what went out twice: a reply may be sent again only if it was on the wire
when the fault struck, so at most the outbox's concurrency (16) after a kill, and at most the
number of sends that timed out after the emulator had taken them.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bot.channels.emulator import TelegramEmulator
from bot.config import Config
from handlers.messages import t
from tests.harness import running_bot
from tests.processes import answers, eventually, start_bot, stop_bot, write_config

SENDER_CONCURRENCY = 16


def duplicates(counts: dict[int, int], expected: int = 1) -> int:
    """Replies beyond `expected` per chat, summed."""
    return sum(max(n - expected, 0) for n in counts.values())


async def test_kill_9_mid_load_loses_nothing_and_resends_only_the_wire(tmp_path: Path) -> None:
    chats = list(range(940_001, 940_301))
    async with TelegramEmulator() as emulator:
        for chat in chats:
            await emulator.register_private_chat(chat, f"Dân {chat}")
        url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
        config = write_config(tmp_path / "config.toml", emulator, url, lease=1.0)
        log = tmp_path / "bot.log"
        process = start_bot(config, log)
        try:
            await eventually(lambda: bool(emulator.requests("getUpdates")), 30, "polling")
            for chat in chats:
                await emulator.send_text(chat, "/start", chat)
            await eventually(
                lambda: sum(answers(emulator, chats).values()) >= 60, 30, "first answers"
            )
        finally:
            await stop_bot(process, signal.SIGKILL)
        at_kill = sum(answers(emulator, chats).values())
        restarted = start_bot(config, log)
        try:
            await eventually(
                lambda: all(n >= 1 for n in answers(emulator, chats).values()),
                60,
                "an answer in every chat after the restart",
            )
            await emulator.wait_idle(timeout=15, quiet=1.5)
        finally:
            status, _ = await stop_bot(restarted)
        twice = duplicates(answers(emulator, chats))
        print(f"kill -9 after {at_kill} answers: 0 lost, {twice} sent twice")
        assert status == 0
        assert twice <= SENDER_CONCURRENCY


async def test_bot_api_errors_and_timeouts_are_retried_until_delivered(tmp_path: Path) -> None:
    chats = list(range(941_001, 941_061))
    async with TelegramEmulator() as emulator:
        for chat in chats:
            await emulator.register_private_chat(chat, f"Dân {chat}")
        url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
        config = write_config(tmp_path / "config.toml", emulator, url, lease=30.0)
        log = tmp_path / "bot.log"
        process = start_bot(config, log)
        try:
            await eventually(lambda: bool(emulator.requests("getUpdates")), 30, "polling")
            emulator.fail_next("sendMessage", 429, retry_after=1, count=10)
            emulator.fail_next("sendMessage", 500, count=10)
            # Longer than the sender's 5 s read timeout: the bot gives up, the emulator sends.
            emulator.delay_next("sendMessage", 6.0, count=2)
            for chat in chats:
                await emulator.send_text(chat, "/start", chat)
            await eventually(
                lambda: all(n >= 1 for n in answers(emulator, chats).values()),
                60,
                "an answer in every chat",
            )
            await emulator.wait_idle(timeout=20, quiet=1.0)
        finally:
            status, _ = await stop_bot(process)
        failed = [r for r in emulator.requests("sendMessage") if r.status in (429, 500)]
        twice = duplicates(answers(emulator, chats))
        print(f"{len(failed)} sends refused (429/500), 2 timed out: {twice} sent twice")
        assert len(failed) == 20
        assert twice <= 2
        assert status == 0


async def test_slow_database_keeps_each_chat_in_order(config: Config, tmp_path: Path) -> None:
    chats = list(range(942_001, 942_031))
    async with running_bot(config, f"sqlite+aiosqlite:///{tmp_path / 'slow.db'}") as bot:

        def slow(*_: Any) -> None:
            time.sleep(0.003)  # every statement 3 ms late

        event.listen(bot.app.db.engine.sync_engine, "before_cursor_execute", slow)
        for chat in chats:
            await bot.emu.register_private_chat(chat, f"Dân {chat}")
        for lang in ("en", "vi", "en"):
            for chat in chats:
                await bot.emu.send_text(chat, f"/lang {lang}", chat)
        await eventually(
            lambda: all(n >= 3 for n in answers(bot.emu, chats).values()), 60, "three answers"
        )
        await bot.settle()
    expected = [t("lang.set", "en"), t("lang.set", "vi"), t("lang.set", "en")]
    for chat in chats:
        assert [m["text"] for m in bot.emu.bot_messages(chat)] == expected
