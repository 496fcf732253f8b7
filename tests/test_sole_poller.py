"""One poller per channel: of several instances on one database one polls, the others stand by.

The lock is PostgreSQL's session advisory lock, or a file lock beside an SQLite database; the
running bots take turns through it, and take over when the poller stops or loses its session.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.app import HotlineApp
from bot.channels.emulator import TelegramEmulator
from bot.channels.zalo_emulator import ZaloEmulator
from bot.chat import Incoming
from bot.config import Config, WebConfig
from bot.sole_poller import SolePoller
from handlers.messages import t
from storage.db import Database
from storage.poller_lock import PollerLock, poller_lock_key
from tests.conftest import empty_postgres
from tests.harness import FakeClock, e2e_config
from tests.processes import answers, eventually, start_bot, stop_bot, write_config
from tests.test_multi_instance import free_port
from tests.test_zalo import CITIZEN as ZALO_CITIZEN
from tests.test_zalo import zalo_config

CHATS = list(range(960_001, 960_041))


async def test_one_instance_holds_a_channels_lock_until_it_lets_go(db: Database) -> None:
    first, second = PollerLock(db, "telegram"), PollerLock(db, "telegram")
    zalo = PollerLock(db, "zalo")
    try:
        assert await first.try_acquire()
        assert not await second.try_acquire()
        assert await zalo.try_acquire(), "each channel has a poller of its own"
        assert await first.still_held()
        await first.release()
        assert not first.held
        assert await second.try_acquire()
    finally:
        for lock in (first, second, zalo):
            await lock.release()


async def test_an_sqlite_lock_held_by_a_killed_process_is_free_again(sqlite_db: Database) -> None:
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import fcntl, os, sys, time\n"
        "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "print('held', flush=True)\n"
        "time.sleep(60)\n",
        f"{sqlite_db.sqlite_path}.telegram-poller.lock",
        stdout=asyncio.subprocess.PIPE,
    )
    lock = PollerLock(sqlite_db, "telegram")
    try:
        assert holder.stdout is not None
        assert await asyncio.wait_for(holder.stdout.readline(), timeout=10) == b"held\n"
        assert not await lock.try_acquire()
        holder.kill()  # kill -9: no chance to let go
        await holder.wait()
        assert await lock.try_acquire()
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()
        await lock.release()


@pytest.mark.postgres
async def test_a_lock_whose_session_ended_is_lost_and_taken_by_another(pg_url: str) -> None:
    holder_db, other_db = Database(pg_url), Database(pg_url)
    holder, other = PollerLock(holder_db, "telegram"), PollerLock(other_db, "telegram")
    try:
        assert await holder.try_acquire()
        assert not await other.try_acquire()
        await _end_lock_holders_session(other_db, "telegram")
        assert not await holder.still_held()
        assert not holder.held
        assert await other.try_acquire()
    finally:
        await holder.release()
        await other.release()
        await holder_db.dispose()
        await other_db.dispose()


async def _end_lock_holders_session(db: Database, channel: str) -> None:
    """What a restarted server or a cut connection does to the holder's session."""
    key = poller_lock_key(channel)
    async with db.transaction() as session:
        await session.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                " AND granted AND classid::bigint = :high AND objid::bigint = :low"
            ),
            # A bigint key is stored as two unsigned halves.
            {"high": (key >> 32) & 0xFFFF_FFFF, "low": key & 0xFFFF_FFFF},
        )


class FakeChannel:
    """A poll function that records which instance polls, and returns when told to."""

    def __init__(self) -> None:
        self.polling = asyncio.Event()
        self.ended = asyncio.Event()

    async def poll(self, until: asyncio.Event) -> None:
        self.polling.set()
        await until.wait()
        self.polling.clear()
        self.ended.set()


@contextlib.asynccontextmanager
async def running(poller: SolePoller) -> AsyncIterator[asyncio.Event]:
    stop = asyncio.Event()
    task = asyncio.create_task(poller.run(stop))
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=5)


async def test_a_standing_by_instance_takes_over_when_the_poller_stops(db: Database) -> None:
    first, second = FakeChannel(), FakeChannel()
    quick = {"standby_seconds": 0.05, "check_seconds": 0.05}
    polling_first = SolePoller(PollerLock(db, "telegram"), first.poll, **quick)
    standing_by = SolePoller(PollerLock(db, "telegram"), second.poll, **quick)
    async with running(polling_first) as stop_first:
        await asyncio.wait_for(first.polling.wait(), timeout=5)
        async with running(standing_by):
            await asyncio.sleep(0.3)
            assert polling_first.polling and not standing_by.polling
            assert not second.polling.is_set()
            stop_first.set()
            await asyncio.wait_for(second.polling.wait(), timeout=5)
            assert first.ended.is_set(), "the first poll returned before the second began"
            assert standing_by.polling and not polling_first.polling


@pytest.mark.postgres
async def test_a_poller_that_loses_its_session_stops_polling_and_stands_by(pg_url: str) -> None:
    channel, other_db = FakeChannel(), Database(pg_url)
    db = Database(pg_url)
    poller = SolePoller(
        PollerLock(db, "telegram"), channel.poll, standby_seconds=30, check_seconds=0.05
    )
    try:
        async with running(poller):
            await asyncio.wait_for(channel.polling.wait(), timeout=5)
            await _end_lock_holders_session(other_db, "telegram")
            await asyncio.wait_for(channel.ended.wait(), timeout=5)
            assert not poller.polling
            # Standing by, it holds nothing: another instance can take the channel.
            other = PollerLock(other_db, "telegram")
            assert await other.try_acquire()
            await other.release()
    finally:
        await db.dispose()
        await other_db.dispose()


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
async def test_two_polling_instances_answer_every_update_once_and_hand_over(
    backend: str, config: Config, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"
    else:
        url = request.getfixturevalue("pg_url")
        await empty_postgres(url)
    async with TelegramEmulator() as emulator:
        for chat in CHATS:
            await emulator.register_private_chat(chat, f"Dân {chat}")
        base = e2e_config(config, emulator, url)
        apps = [
            HotlineApp(
                dataclasses.replace(base, web=WebConfig("127.0.0.1", free_port())),
                clock=FakeClock(),
            )
            for _ in range(2)
        ]
        try:
            for app in apps:
                await app.start()
            await eventually(lambda: any(_polls(app) for app in apps), 10, "one instance polling")
            poller, standby = apps if _polls(apps[0]) else apps[::-1]
            for lang in ("en", "vi"):
                for chat in CHATS:
                    await emulator.send_text(chat, f"/lang {lang}", chat)
            await eventually(
                lambda: all(n >= 2 for n in answers(emulator, CHATS).values()),
                30,
                "two answers each",
            )
            assert not _polls(standby)
            assert (await _polling_gauge(poller), await _polling_gauge(standby)) == (1.0, 0.0)
            # The poller goes away: the one standing by takes over and answers the rest.
            await poller.stop()
            for chat in CHATS:
                await emulator.send_text(chat, "/lang en", chat)
            await eventually(
                lambda: all(n >= 3 for n in answers(emulator, CHATS).values()),
                30,
                "three answers each",
            )
            assert _polls(standby)
            await emulator.wait_idle(timeout=10, quiet=0.5)
        finally:
            for app in apps:
                await app.stop()
    expected = [t("lang.set", "en"), t("lang.set", "vi"), t("lang.set", "en")]
    for chat in CHATS:
        assert [m["text"] for m in emulator.bot_messages(chat)] == expected
    conflicts = [r for r in emulator.requests("getUpdates") if r.status == 409]
    assert conflicts == [], "only one instance ever called getUpdates at a time"


async def _polling_gauge(app: HotlineApp) -> float:
    """The instance's `hotline_polling` metric for Telegram, as its /metrics serves it."""
    url = f"http://127.0.0.1:{app.config.web.port}/metrics"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        body = await response.text()
    line = next(
        x for x in body.splitlines() if x.startswith('hotline_polling{channel="telegram"}')
    )
    return float(line.split()[-1])


def _polls(app: HotlineApp) -> bool:
    return app.telegram_poller is not None and app.telegram_poller.polling


async def test_one_zalo_instance_polls_and_the_other_takes_over(
    config: Config, tmp_path: Path
) -> None:
    async with ZaloEmulator() as emu:
        emu.register_private_chat(ZALO_CITIZEN, "Nguyễn Văn An")
        base = zalo_config(config, emu, f"sqlite+aiosqlite:///{tmp_path / 'zalo.db'}")
        apps = [HotlineApp(base, clock=FakeClock(), serve_web=False) for _ in range(2)]
        try:
            for app in apps:
                await app.start()
            await eventually(lambda: any(_polls_zalo(app) for app in apps), 10, "a zalo poller")
            poller, standby = apps if _polls_zalo(apps[0]) else apps[::-1]
            await emu.send_text(ZALO_CITIZEN, "/lang en")
            await emu.wait_for_bot_message(ZALO_CITIZEN)
            assert not _polls_zalo(standby)
            await poller.stop()
            await eventually(lambda: _polls_zalo(standby), 10, "the other instance polling")
            await emu.send_text(ZALO_CITIZEN, "/lang vi")
            await emu.wait_for_bot_message(ZALO_CITIZEN)
        finally:
            for app in apps:
                await app.stop()
    texts = [m["text"] for m in emu.bot_messages(ZALO_CITIZEN)]
    assert texts == [t("lang.set", "en"), t("lang.set", "vi")]


def _polls_zalo(app: HotlineApp) -> bool:
    return app.zalo is not None and _polls_zalo_channel(app.zalo)


@pytest.mark.postgres
async def test_kill_9_of_the_polling_process_hands_the_chats_to_the_other(
    tmp_path: Path, pg_url: str
) -> None:
    await empty_postgres(pg_url)
    chats = list(range(961_001, 961_301))
    async with TelegramEmulator() as emulator:
        for chat in chats:
            await emulator.register_private_chat(chat, f"Dân {chat}")
        config = write_config(tmp_path / "config.toml", emulator, pg_url, lease=1.0)
        logs = [tmp_path / "first.log", tmp_path / "second.log"]
        processes = [start_bot(config, log) for log in logs]
        try:
            await eventually(lambda: _polling_logs(logs) == 1, 30, "one process polling")
            await eventually(lambda: _standing_by_logs(logs) == 1, 30, "the other standing by")
            poller = processes[[POLLS in log.read_text() for log in logs].index(True)]
            for chat in chats:
                await emulator.send_text(chat, "/start", chat)
            await eventually(
                lambda: sum(answers(emulator, chats).values()) >= 60, 30, "first answers"
            )
            await stop_bot(poller, signal.SIGKILL)
            at_kill = sum(answers(emulator, chats).values())
            await eventually(
                lambda: all(n >= 1 for n in answers(emulator, chats).values()),
                60,
                "an answer in every chat from the other process",
            )
            await emulator.wait_idle(timeout=15, quiet=1.5)
        finally:
            statuses = [await stop_bot(process) for process in processes]
        twice = sum(max(n - 1, 0) for n in answers(emulator, chats).values())
        print(f"kill -9 of the poller after {at_kill} answers: 0 lost, {twice} sent twice")
        assert _polling_logs(logs) == 2, "the process standing by took over"
        survivor = statuses[1 - processes.index(poller)][0]
        assert survivor == 0
        assert twice <= SENDER_CONCURRENCY
        # The killed poller's long poll stays open at the server until the next one ends it
        # with a conflict, which only that dead connection hears; the living never get one.
        conflicts = [r for r in emulator.requests("getUpdates") if r.status == 409]
        assert len(conflicts) <= 1
        assert "Conflict" not in logs[1 - processes.index(poller)].read_text()


POLLS = "telegram: this instance polls"
STANDS_BY = "telegram: another instance polls; this one stands by"
SENDER_CONCURRENCY = 16


def _polling_logs(logs: list[Path]) -> int:
    return sum(log.read_text().count(POLLS) for log in logs if log.exists())


def _standing_by_logs(logs: list[Path]) -> int:
    return sum(log.read_text().count(STANDS_BY) for log in logs if log.exists())


async def test_stopping_zalo_polling_finishes_the_update_in_hand(
    config: Config, sqlite_db: Database
) -> None:
    from bot.channels.zalo import ZaloChannel

    handled: list[str] = []
    started = asyncio.Event()

    async def slow_handle(incoming: Incoming) -> None:
        started.set()
        await asyncio.sleep(0.5)  # a transaction in flight when the stop comes
        handled.append(incoming.text or "")

    async with ZaloEmulator() as emu:
        emu.register_private_chat(ZALO_CITIZEN, "Nguyễn Văn An")
        zalo = zalo_config(config, emu, "sqlite+aiosqlite://").zalo
        channel = ZaloChannel(zalo, db=sqlite_db, handle=slow_handle, clock=FakeClock())
        await channel.start()
        try:
            await emu.send_text(ZALO_CITIZEN, "/help")
            await asyncio.wait_for(started.wait(), timeout=10)
        finally:
            await asyncio.wait_for(channel.stop(), timeout=10)
    assert handled == ["/help"], "the update in hand was handled, not cancelled"


async def test_stopping_zalo_polling_hangs_up_the_long_poll(
    config: Config, sqlite_db: Database
) -> None:
    from bot.channels.zalo import STOP_SECONDS, ZaloChannel

    async def handle(incoming: Incoming) -> None:
        raise AssertionError(f"no update was sent, got {incoming}")

    async with ZaloEmulator() as emu:
        zalo = zalo_config(config, emu, "sqlite+aiosqlite://").zalo
        channel = ZaloChannel(zalo, db=sqlite_db, handle=handle, clock=FakeClock())
        await channel.start()
        await eventually(lambda: _polls_zalo_channel(channel), 10, "polling")
        await asyncio.sleep(0.3)  # the long poll is on the wire
        # The 30 s poll in flight is abandoned: stopping does not wait it out.
        await asyncio.wait_for(channel.stop(), timeout=STOP_SECONDS / 2)


def _polls_zalo_channel(channel: Any) -> bool:
    return channel.poller is not None and channel.poller.polling


async def test_an_sqlite_lock_file_that_cannot_be_made_leaves_the_channel_polled(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refused(*_args: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("storage.poller_lock.os.open", refused)
    lock = PollerLock(sqlite_db, "telegram")
    assert await lock.try_acquire(), "the only instance polls rather than nobody"
    assert await lock.still_held()
    assert "polling without a poller lock" in caplog.text


@pytest.mark.postgres
async def test_a_lock_whose_server_stopped_answering_is_given_up(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(pg_url)
    lock = PollerLock(db, "telegram")
    try:
        assert await lock.try_acquire()

        async def no_answer(*_args: object, **_kwargs: object) -> None:
            await asyncio.sleep(3600)  # a server cut off without a reset

        monkeypatch.setattr("storage.poller_lock.CHECK_TIMEOUT", 0.2)
        monkeypatch.setattr(AsyncConnection, "execute", no_answer)
        assert not await asyncio.wait_for(lock.still_held(), timeout=5)
        assert not lock.held
    finally:
        await lock.release()
        await db.dispose()
