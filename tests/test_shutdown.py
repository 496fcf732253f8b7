"""SIGTERM and SIGINT under load: intake stops, work in flight finishes, exit 0, nothing lost."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from bot.channels.emulator import TelegramEmulator
from tests.processes import answers, eventually, start_bot, stop_bot, write_config

CHATS = list(range(930_001, 930_161))


def assert_stopped_cleanly(status: int | None, seconds: float, log: Path) -> None:
    """Exit 0 within the 10 s a stop has, and a log without tracebacks or errors."""
    text = log.read_text(errors="replace")
    assert status == 0
    assert seconds < 10
    assert "Traceback" not in text
    assert " ERROR " not in text


def sqlite_bot_files(tmp_path: Path, emulator: TelegramEmulator) -> tuple[Path, Path]:
    """A polling config on an SQLite file in `tmp_path`, and the log the bot writes."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    return write_config(tmp_path / "config.toml", emulator, url), tmp_path / "bot.log"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_signal_under_load_exits_cleanly_and_loses_nothing(
    tmp_path: Path, sig: signal.Signals
) -> None:
    async with TelegramEmulator() as emulator:
        for chat in CHATS:
            await emulator.register_private_chat(chat, f"Dân {chat}")
        config, log = sqlite_bot_files(tmp_path, emulator)
        process = start_bot(config, log)
        try:
            await eventually(lambda: bool(emulator.requests("getUpdates")), 30, "polling")
            for chat in CHATS:
                await emulator.send_text(chat, "/start", chat)
            await eventually(
                lambda: sum(answers(emulator, CHATS).values()) >= 20, 30, "first answers"
            )
            status, seconds = await stop_bot(process, sig)
        finally:
            await stop_bot(process, signal.SIGKILL)
        assert_stopped_cleanly(status, seconds, log)

        restarted = start_bot(config, log)
        try:
            polls = len(emulator.requests("getUpdates"))
            # Started (and its signal handlers set) once it polls.
            await eventually(lambda: len(emulator.requests("getUpdates")) > polls, 30, "polling")
            await eventually(
                lambda: all(n >= 1 for n in answers(emulator, CHATS).values()),
                40,
                "an answer in every chat",
            )
            await emulator.wait_idle(timeout=10, quiet=0.5)
        finally:
            again, _ = await stop_bot(restarted)
        assert again == 0
        # A graceful stop leaves nothing on the wire: no /start is answered twice.
        assert sorted(set(answers(emulator, CHATS).values())) == [1]


async def test_signal_during_start_up_stops_what_started_and_exits_0(tmp_path: Path) -> None:
    async with TelegramEmulator() as emulator:
        emulator.delay_next("getMe", 30.0)  # start-up waits on a Bot API that does not answer
        config, log = sqlite_bot_files(tmp_path, emulator)
        process = start_bot(config, log)
        try:
            await eventually(lambda: bool(emulator.requests("getMe")), 30, "starting")
            status, seconds = await stop_bot(process, signal.SIGTERM)
        finally:
            await stop_bot(process, signal.SIGKILL)
    assert_stopped_cleanly(status, seconds, log)
    assert not emulator.requests("getUpdates"), "stopped before taking any update"
