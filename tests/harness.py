"""End-to-end harness: the real HotlineApp and PTB Application against the Telegram emulator."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.app import HotlineApp
from bot.channels.emulator import TelegramEmulator
from bot.config import Config, StorageConfig

CITIZEN = 501
OTHER_CITIZEN = 502
OPERATORS = -1001
LEADERS = -1002
STRANGERS = -1999
OPERATOR_USER = 601
AGENCY_USER = 701
# Monday 23/11/2026 09:00 in Asia/Ho_Chi_Minh: inside working hours.
MONDAY_9AM = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def agency_chat_id(index: int) -> int:
    """Return the emulator group id of the index-th agency of the directory."""
    return -2000 - index


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = MONDAY_9AM) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def e2e_config(base: Config, emulator: TelegramEmulator, database_url: str) -> Config:
    """The default directory wired to the emulator's chats."""
    agencies = tuple(
        dataclasses.replace(agency, telegram_chat_id=agency_chat_id(index))
        for index, agency in enumerate(base.agencies)
    )
    telegram = dataclasses.replace(
        base.telegram,
        token=emulator.token,
        base_url=emulator.base_url,
        base_file_url=emulator.base_file_url,
        operators_chat_id=OPERATORS,
        leaders_chat_id=LEADERS,
    )
    return dataclasses.replace(
        base, storage=StorageConfig(url=database_url), telegram=telegram, agencies=agencies
    )


class Harness:
    """A running bot, its emulator, and helpers to talk like a citizen or a group."""

    def __init__(self, emulator: TelegramEmulator, app: HotlineApp, clock: FakeClock) -> None:
        self.emu = emulator
        self.app = app
        self.clock = clock
        self.config = app.config

    def agency_chat(self, agency_id: str) -> int:
        """Return the group chat id of an agency."""
        agency = self.config.agency(agency_id)
        assert agency is not None
        assert agency.telegram_chat_id is not None
        return agency.telegram_chat_id

    async def say(self, text: str, chat: int = CITIZEN) -> dict[str, Any]:
        """Send text as the chat's user and return the bot's next message there."""
        await self.emu.send_text(chat, text)
        return await self.reply(chat)

    async def reply(self, chat: int = CITIZEN, wait: float = 5.0) -> dict[str, Any]:
        """Return the bot's next message in the chat."""
        return await self.emu.wait_for_bot_message(chat, timeout=wait)

    async def press(self, message: dict[str, Any], label_part: str, chat: int = CITIZEN) -> None:
        """Press the button of `message` whose label contains `label_part`."""
        keyboard = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        for row in keyboard:
            for button in row:
                if label_part in button["text"]:
                    await self.emu.press_button(
                        chat, message["message_id"], button["callback_data"]
                    )
                    return
        raise AssertionError(f"no button containing {label_part!r} in {keyboard}")

    async def settle(self) -> None:
        """Wait until the bot has reacted to everything sent so far."""
        await self.emu.wait_idle(timeout=10, quiet=0.15)
        # The emulator falls quiet before the outbox has recorded how its last send went.
        if not self.app.outbox.idle.is_set():
            await asyncio.wait_for(self.app.outbox.idle.wait(), timeout=10)
            await self.emu.wait_idle(timeout=10, quiet=0.15)


@asynccontextmanager
async def running_bot(
    base: Config, database_url: str, clock: FakeClock | None = None
) -> AsyncIterator[Harness]:
    """Start the emulator and the whole bot; register a citizen, operators and agency groups."""
    clock = clock or FakeClock()
    async with TelegramEmulator() as emulator:
        await emulator.register_private_chat(CITIZEN, "An", last_name="Nguyễn Văn")
        await emulator.register_private_chat(OTHER_CITIZEN, "Bình", language_code="en")
        await emulator.register_private_chat(OPERATOR_USER, "Tổng đài viên")
        await emulator.register_private_chat(AGENCY_USER, "Cán bộ")
        await emulator.register_group(OPERATORS, "Tổng đài viên", members=[OPERATOR_USER])
        await emulator.register_group(LEADERS, "Lãnh đạo", members=[OPERATOR_USER])
        await emulator.register_group(STRANGERS, "Nhóm lạ", members=[AGENCY_USER])
        config = e2e_config(base, emulator, database_url)
        for index, agency in enumerate(config.agencies):
            await emulator.register_group(
                agency_chat_id(index), agency.name, members=[AGENCY_USER]
            )
        app = HotlineApp(config, clock=clock, serve_web=False)
        async with app:
            yield Harness(emulator, app, clock)
