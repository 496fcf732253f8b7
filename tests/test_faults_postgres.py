"""PostgreSQL restarted mid-load: the bot reconnects and catches up, nothing lost.

The server is a throwaway one this test starts itself (`initdb`, `pg_ctl`, as the `postgres`
user, which they require when run by root) on a free port and a temporary directory, so the
shared server is left alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from bot.channels.emulator import TelegramEmulator
from tests.processes import answers, eventually, start_bot, stop_bot, write_config

pytestmark = pytest.mark.postgres
BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))


class ThrowawayPostgres:
    """A PostgreSQL server in a temporary directory, started and restarted on demand."""

    def __init__(self, bindir: Path, data: Path, port: int, as_postgres: list[str]) -> None:
        self.bindir, self.data, self.port, self.prefix = bindir, data, port, as_postgres

    def run(self, tool: str, *args: str) -> None:
        """Run one of the server's tools as the postgres user."""
        subprocess.run(
            [*self.prefix, str(self.bindir / tool), *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.data / "server.log")
        self.run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (fast: disconnect the clients, as a restart does)."""
        self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")


@pytest.fixture
def throwaway_pg() -> Iterator[ThrowawayPostgres]:
    if not BINARIES:
        pytest.skip("initdb/pg_ctl not found under /usr/lib/postgresql/*/bin")
    bindir = Path(BINARIES[-1]).parent
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    data = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
    if prefix:
        shutil.chown(data, "postgres", "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = ThrowawayPostgres(bindir, data, port, prefix)
    try:
        server.run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
        server.start()
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            server.stop("immediate")
        shutil.rmtree(data, ignore_errors=True)


async def test_postgres_restart_mid_load_catches_up_and_loses_nothing(
    throwaway_pg: ThrowawayPostgres, tmp_path: Path
) -> None:
    admin = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{throwaway_pg.port}/postgres")
    await admin.execute("CREATE DATABASE hotline")
    await admin.close()
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{throwaway_pg.port}/hotline"
    chats = list(range(943_001, 943_201))
    async with TelegramEmulator() as emulator:
        for chat in chats:
            await emulator.register_private_chat(chat, f"Dân {chat}")
        config = write_config(tmp_path / "config.toml", emulator, url, lease=2.0)
        process = start_bot(config, tmp_path / "bot.log")
        try:
            await eventually(lambda: bool(emulator.requests("getUpdates")), 60, "polling")
            for chat in chats:
                await emulator.send_text(chat, "/start", chat)
            await eventually(
                lambda: sum(answers(emulator, chats).values()) >= 40, 30, "first answers"
            )
            await asyncio.to_thread(throwaway_pg.stop)
            await asyncio.sleep(1.0)
            await asyncio.to_thread(throwaway_pg.start)
            await eventually(
                lambda: all(n >= 1 for n in answers(emulator, chats).values()),
                90,
                "an answer in every chat after the restart",
            )
            await emulator.wait_idle(timeout=20, quiet=3.0)
        finally:
            status, _ = await stop_bot(process, signal.SIGTERM)
    twice = sum(max(n - 1, 0) for n in answers(emulator, chats).values())
    print(f"PostgreSQL restarted mid-load: 0 lost, {twice} sent twice")
    assert status == 0
    assert twice <= 16
