"""`hotline run` in processes of its own against the in-process emulator, for fault tests."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bot.channels.emulator import TelegramEmulator

ROOT = Path(__file__).resolve().parent.parent


def write_config(
    path: Path, emulator: TelegramEmulator, url: str, *, lease: float = 2.0, extra: str = ""
) -> Path:
    """Write a polling config for `hotline run` pointed at the emulator."""
    path.write_text(
        f"""
[storage]
url = "{url}"
[telegram]
token = "{emulator.token}"
base_url = "{emulator.base_url}"
base_file_url = "{emulator.base_file_url}"
[web]
port = 0
[delivery]
lease_seconds = {lease}
{extra}
""",
        encoding="utf-8",
    )
    return path


def start_bot(config: Path, log: Path) -> subprocess.Popen[bytes]:
    """Start `hotline run --config CONFIG`, its output appended to `log`."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


async def stop_bot(
    process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, within: float = 15.0
) -> tuple[int | None, float]:
    """Signal the process and wait for it (killed after `within`); return (status, seconds)."""
    started = time.monotonic()
    if process.poll() is None:
        process.send_signal(sig)
    deadline = started + within
    while process.poll() is None and time.monotonic() < deadline:  # noqa: ASYNC110 - a process
        await asyncio.sleep(0.05)
    if process.poll() is None:
        process.kill()
        process.wait()
        return None, time.monotonic() - started
    return process.returncode, time.monotonic() - started


async def eventually(check: Callable[[], bool], within: float, what: str) -> None:
    """Poll `check` until true; fail naming `what` after `within` seconds."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within:g} s: {what}")
        await asyncio.sleep(0.05)


def answers(emulator: TelegramEmulator, chats: list[int]) -> dict[int, int]:
    """How many bot messages each chat has received."""
    return {chat: len(emulator.bot_messages(chat)) for chat in chats}
