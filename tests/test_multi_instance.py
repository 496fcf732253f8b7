"""Two `hotline run` instances on one PostgreSQL behind a round-robin balancer (webhook mode).

The balancer sends each update to the next instance and, when one does not answer 200, to the
other. Every update is answered once, each chat's answers come in the order of its messages,
and when one instance stops mid-load the other answers everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from bot.app import HotlineApp
from bot.channels.emulator import TelegramEmulator
from bot.config import Config, WebConfig
from handlers.messages import t
from storage.db import Database
from tests.conftest import _truncate_all, empty_postgres
from tests.harness import FakeClock, e2e_config
from tests.processes import answers, eventually

pytestmark = pytest.mark.postgres
CHATS = list(range(950_001, 950_081))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def balancer(backends: list[str]) -> AsyncIterator[str]:
    """Serve a round-robin balancer with retry on another backend; yield its webhook URL."""
    turn = itertools.cycle(range(len(backends)))
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:

        async def forward(request: web.Request) -> web.Response:
            body, first = await request.read(), next(turn)
            for step in range(len(backends)):
                target = backends[(first + step) % len(backends)]
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.post(
                        target, data=body, headers={"Content-Type": "application/json"}
                    ) as response:
                        if response.status == 200:
                            return web.Response(body=await response.read())
            return web.Response(status=502)

        app = web.Application()
        app.router.add_post("/telegram/webhook", forward)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            yield f"http://127.0.0.1:{port}/telegram/webhook"
        finally:
            await runner.cleanup()


def instance_config(base: Config, webhook: str) -> Config:
    port = free_port()
    telegram = dataclasses.replace(base.telegram, mode="webhook", webhook_url=webhook)
    return dataclasses.replace(base, telegram=telegram, web=WebConfig("127.0.0.1", port))


async def test_two_instances_answer_every_update_once_and_in_order(
    config: Config, pg_url: str
) -> None:
    await empty_postgres(pg_url)
    async with TelegramEmulator() as emulator:
        for chat in CHATS:
            await emulator.register_private_chat(chat, f"Dân {chat}")
        base = e2e_config(config, emulator, pg_url)
        ports = [free_port(), free_port()]
        hooks = [f"http://127.0.0.1:{port}/telegram/webhook" for port in ports]
        async with balancer(hooks) as webhook:
            configs = [
                dataclasses.replace(
                    instance_config(base, webhook), web=WebConfig("127.0.0.1", port)
                )
                for port in ports
            ]
            first, second = HotlineApp(configs[0], clock=FakeClock()), None
            await first.start()
            try:
                second = HotlineApp(configs[1], clock=FakeClock())
                await second.start()
                for lang in ("en", "vi", "en"):
                    for chat in CHATS:
                        await emulator.send_text(chat, f"/lang {lang}", chat)
                await eventually(
                    lambda: sum(answers(emulator, CHATS).values()) >= len(CHATS),
                    30,
                    "a first answer in every chat",
                )
                # One instance goes away mid-load: the balancer sends the rest to the other.
                await second.stop()
                await eventually(
                    lambda: all(n >= 3 for n in answers(emulator, CHATS).values()),
                    60,
                    "three answers in every chat",
                )
                await emulator.wait_idle(timeout=10, quiet=0.5)
            finally:
                if second is not None:
                    await second.stop()
                await first.stop()
    expected = [t("lang.set", "en"), t("lang.set", "vi"), t("lang.set", "en")]
    for chat in CHATS:
        assert [m["text"] for m in emulator.bot_messages(chat)] == expected


async def test_one_chat_waits_for_its_update_in_another_instance(
    config: Config, pg_url: str
) -> None:
    from bot.chat import Incoming
    from bot.domain.triage import Classifier
    from bot.inbox import Inbox
    from storage.dialogs import lock_chats

    elsewhere, here = Database(pg_url), Database(pg_url)
    await _truncate_all(here)
    inbox = Inbox(db=here, config=config, classifier=Classifier.from_config(config))
    try:
        async with elsewhere.transaction() as session:
            # Another instance is in the middle of this chat's previous update.
            await lock_chats(session=session, chats=[("telegram", "950500")])
            task = asyncio.create_task(
                inbox.handle(
                    Incoming(
                        channel="telegram",
                        chat_id="950500",
                        user_id="950500",
                        update_id="77",
                        text="/help",
                    )
                )
            )
            await asyncio.sleep(0.5)
            assert not task.done()
        replies = await asyncio.wait_for(task, timeout=5)
    finally:
        await elsewhere.dispose()
        await here.dispose()
    assert [reply.text for reply in replies] == [t("help", "vi", phone=config.hotline.phone)]


async def test_instances_starting_together_sync_the_directory_one_after_the_other(
    config: Config, pg_url: str
) -> None:
    from storage.directory import list_agencies, sync_directory

    first, second = Database(pg_url), Database(pg_url)
    await _truncate_all(first)

    async def sync(db: Database) -> None:
        async with db.transaction() as session:
            await sync_directory(session=session, config=config)

    try:
        async with first.transaction() as session:
            await sync_directory(session=session, config=config)
            # Another instance starting now would insert the same rows: it waits instead.
            waiting = asyncio.create_task(sync(second))
            await asyncio.sleep(0.5)
            assert not waiting.done()
        await asyncio.wait_for(waiting, timeout=5)
        async with first.transaction() as session:
            agencies = await list_agencies(session=session)
    finally:
        await first.dispose()
        await second.dispose()
    assert sorted(a.id for a in agencies) == sorted(a.id for a in config.agencies)
