"""Killing `hotline run` in the middle of filing loses nothing that was acknowledged."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.channels.emulator import TelegramEmulator

CITIZEN = 501
OPERATORS = -1001
COMPLAINT = "Đường Nguyễn Ái Quốc có nhiều ổ gà rất nguy hiểm, xe máy bị ngã liên tục mấy hôm nay"


def write_config(path: Path, emulator: TelegramEmulator, database: Path) -> None:
    path.write_text(
        f"""
[storage]
url = "sqlite+aiosqlite:///{database}"
[telegram]
token = "{emulator.token}"
base_url = "{emulator.base_url}"
base_file_url = "{emulator.base_file_url}"
operators_chat_id = {OPERATORS}
[web]
port = 0
[delivery]
lease_seconds = 2
""",
        encoding="utf-8",
    )


def start_bot(config: Path) -> subprocess.Popen[bytes]:
    with (config.parent / "bot.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--config", str(config)],
            stdout=log,
            stderr=log,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


def query(database: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(database) as connection:
        return connection.execute(sql).fetchall()


async def eventually(check: object, within: float = 15.0) -> None:
    assert callable(check)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


@pytest.fixture
async def emulator() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator() as emu:
        await emu.register_private_chat(CITIZEN, "An")
        await emu.register_group(OPERATORS, "Tổng đài viên")
        yield emu


async def test_kill_while_sending_the_code_loses_nothing(
    emulator: TelegramEmulator, tmp_path: Path
) -> None:
    database = tmp_path / "crash.db"
    config = tmp_path / "config.toml"
    write_config(config, emulator, database)
    process = start_bot(config)
    try:
        await emulator.send_text(CITIZEN, COMPLAINT)
        proposal = await emulator.wait_for_bot_message(CITIZEN, timeout=20)
        await emulator.press_button_labelled(CITIZEN, proposal["message_id"], "✅ Gửi")
        await emulator.wait_for_bot_message(CITIZEN)
        anonymous = await emulator.wait_for_bot_message(CITIZEN)
        # The confirmation with the code will fail on the wire: the bot must keep it queued.
        emulator.drop_next("sendMessage", count=50)
        await emulator.press_button_labelled(CITIZEN, anonymous["message_id"], "🕶 Gửi ẩn danh")
        await eventually(
            lambda: (
                query(
                    database,
                    "SELECT count(*) FROM outbox WHERE attempts > 0 AND status = 'pending'",
                )[0][0]
                >= 1
            )
        )
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    tickets = query(database, "SELECT code, state FROM ticket")
    assert tickets == [("PA-2026-000001", "triage")] or tickets[0][0].startswith("PA-")
    code = str(tickets[0][0])
    assert not any(code in (m.get("text") or "") for m in emulator.bot_messages(CITIZEN))

    emulator.clear_faults()
    restarted = start_bot(config)
    try:
        told = await emulator.wait_for_bot_message(
            CITIZEN, lambda m: code in (m.get("text") or ""), timeout=20
        )
        card = await emulator.wait_for_bot_message(
            OPERATORS, lambda m: code in (m.get("text") or ""), timeout=20
        )
        await emulator.wait_idle(timeout=10, quiet=0.5)
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(timeout=15)
    assert "Đã tiếp nhận" in told["text"]
    assert "ổ gà" in card["text"]
    citizen_copies = [m for m in emulator.bot_messages(CITIZEN) if code in (m.get("text") or "")]
    card_copies = [m for m in emulator.bot_messages(OPERATORS) if code in (m.get("text") or "")]
    assert len(citizen_copies) == 1
    assert len(card_copies) == 1
    assert restarted.returncode == 0
