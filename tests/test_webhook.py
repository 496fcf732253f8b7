"""Telegram in webhook mode: the emulator posts updates to /telegram/webhook."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.app import WEBHOOK_MAX_CONNECTIONS, HotlineApp
from bot.channels.emulator import TelegramEmulator
from bot.config import Config, WebConfig
from tests.harness import CITIZEN, FakeClock, e2e_config

SECRET = "s3cret-Token_42"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def webhook_bot(
    config: Config, tmp_path: Path
) -> AsyncIterator[tuple[TelegramEmulator, HotlineApp]]:
    port = free_port()
    async with TelegramEmulator() as emulator:
        await emulator.register_private_chat(CITIZEN, "An")
        base = e2e_config(config, emulator, f"sqlite+aiosqlite:///{tmp_path / 'hook.db'}")
        telegram = dataclasses.replace(
            base.telegram,
            mode="webhook",
            webhook_url=f"http://127.0.0.1:{port}/telegram/webhook",
            secret_token=SECRET,
        )
        wired = dataclasses.replace(
            base, telegram=telegram, web=WebConfig(host="127.0.0.1", port=port)
        )
        async with HotlineApp(wired, clock=FakeClock()) as app:
            yield emulator, app


async def test_webhook_update_is_answered(
    webhook_bot: tuple[TelegramEmulator, HotlineApp],
) -> None:
    emulator, _ = webhook_bot
    await emulator.send_text(CITIZEN, "/start")
    reply = await emulator.wait_for_bot_message(CITIZEN)
    assert "Xin chào" in reply["text"]


async def test_webhook_redelivery_is_processed_once(
    webhook_bot: tuple[TelegramEmulator, HotlineApp],
) -> None:
    emulator, _ = webhook_bot
    await emulator.send_text(CITIZEN, "/help")
    await emulator.wait_for_bot_message(CITIZEN)
    await emulator.redeliver(emulator.delivered_update_ids()[-1])
    await emulator.wait_idle(timeout=10, quiet=0.3)
    assert len(emulator.bot_messages(CITIZEN)) == 1


async def test_webhook_refuses_a_wrong_secret(
    webhook_bot: tuple[TelegramEmulator, HotlineApp],
) -> None:
    _, app = webhook_bot
    url = app.config.telegram.webhook_url
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": CITIZEN, "type": "private"},
            "text": "/start",
        },
    }
    async with aiohttp.ClientSession() as session:
        async with session.post(
            url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
        ) as wrong:
            assert wrong.status == 403
        async with session.post(
            url, data=b"not json", headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        ) as garbage:
            assert garbage.status == 400


async def test_healthz_reports_ok(webhook_bot: tuple[TelegramEmulator, HotlineApp]) -> None:
    _, app = webhook_bot
    url = f"http://127.0.0.1:{app.config.web.port}/healthz"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        body = await response.json()
    assert response.status == 200
    assert body == {"status": "ok"}


async def test_webhook_asks_for_telegrams_most_connections(
    webhook_bot: tuple[TelegramEmulator, HotlineApp],
) -> None:
    # The updates in flight at once are what one intake transaction takes together.
    _, app = webhook_bot
    assert app.telegram is not None
    info = await app.telegram.bot.get_webhook_info()
    assert info.max_connections == WEBHOOK_MAX_CONNECTIONS == 100
