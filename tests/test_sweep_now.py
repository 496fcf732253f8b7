"""`hotline sweep --once --now T` while `hotline run` is up: its notices go out at once.

A pass run as of an instant ahead of the clock (operations catching up, a rehearsal) used to
queue its notices for that instant, so nothing was delivered until then. Here a ticket two
working days past its due time gets its overdue and escalation notices through the running
bot within seconds.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.channels.emulator import TelegramEmulator
from bot.config import Config, load_config
from bot.domain import tickets
from bot.domain.tickets import Reporter
from storage.db import Database
from tests.test_crash import eventually, start_bot
from tests.test_tickets import decision

CITIZEN = 501
OPERATORS = -1001
SUPERVISOR = -1003


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
supervisor_chat_id = {SUPERVISOR}
[web]
port = 0
""",
        encoding="utf-8",
    )


def outbox_rows(database: Path) -> dict[str, tuple[str, str]]:
    """Return idempotency key → (status, available_at) of the queued notices."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT idempotency_key, status, available_at FROM outbox "
            "WHERE idempotency_key IS NOT NULL"
        ).fetchall()
    return {str(key): (str(status), str(at)) for key, status, at in rows}


async def hotline(*args: str) -> tuple[int, str]:
    """Run the command line in a child process without blocking the emulator's loop."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(child.communicate(), timeout=60)
    return child.returncode or 0, output.decode()


@pytest.fixture
async def emulator() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator() as emu:
        await emu.register_private_chat(CITIZEN, "An")
        await emu.register_group(OPERATORS, "Tổng đài viên")
        await emu.register_group(SUPERVISOR, "Văn phòng UBND tỉnh")
        yield emu


async def test_sweep_now_two_working_days_past_due_delivers_overdue_and_escalation(
    emulator: TelegramEmulator, tmp_path: Path
) -> None:
    database = tmp_path / "sweep.db"
    config_path = tmp_path / "config.toml"
    write_config(config_path, emulator, database)
    config: Config = load_config(config_path)
    db = Database(config.storage.url)
    await db.upgrade()
    # Filed now (real time), so the instant the pass runs as of lies days ahead of the clock.
    filed = datetime.now(UTC).replace(microsecond=0)
    async with db.transaction() as session:
        ticket = await tickets.open_ticket(
            session=session,
            config=config,
            reporter=Reporter("telegram", str(CITIZEN), str(CITIZEN), "vi", "An", "0912345678"),
            text="Đường Nguyễn Ái Quốc có nhiều ổ gà rất nguy hiểm",
            decision=decision("giao-thong", "xay-dung"),
            category_id="giao-thong",
            now=filed,
        )
    await db.dispose()
    assert ticket.resolve_due_at is not None
    escalate = config.work_calendar.add_working_hours(
        ticket.resolve_due_at, config.deadlines.escalate_after_hours
    )
    as_of = escalate + timedelta(minutes=1)
    assert as_of - filed > timedelta(days=2)

    process = start_bot(config_path)
    try:
        status, output = await hotline(
            "sweep", "--once", "--now", as_of.isoformat(), "--config", str(config_path)
        )
        assert status == 0, output
        assert "overdue 1" in output and "escalated 1" in output
        keys = outbox_rows(database)
        wanted = {
            key
            for key in keys
            if key.startswith(f"t:{ticket.id}:") and key.split(":")[2] in ("overdue", "escalated")
        }
        audiences = {(key.split(":")[2], key.split(":")[-1]) for key in wanted}
        assert audiences == {
            ("overdue", "operators"),
            ("overdue", "citizen"),
            ("escalated", "supervisor"),
            ("escalated", "citizen"),
        }
        # Deliverable when the pass ran, not at the instant it ran as of.
        assert all(
            datetime.fromisoformat(keys[key][1]).replace(tzinfo=UTC) < as_of for key in wanted
        )
        await eventually(
            lambda: all(outbox_rows(database)[key][0] == "sent" for key in wanted), within=30
        )
    finally:
        process.terminate()
        process.wait(timeout=15)
    for chat in (OPERATORS, SUPERVISOR, CITIZEN):
        assert any(ticket.code in (m.get("text") or "") for m in emulator.bot_messages(chat))
    assert process.returncode == 0
