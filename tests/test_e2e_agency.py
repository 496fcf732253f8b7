"""The whole loop on Telegram: citizen files, agency asks, citizen answers, agency resolves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Config
from storage.models import TicketState
from tests.harness import AGENCY_USER, CITIZEN, Harness, running_bot
from tests.test_e2e_citizen import file_complaint, ticket_of


@pytest.fixture
async def bot(config: Config, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_bot(config, f"sqlite+aiosqlite:///{tmp_path / 'loop.db'}") as harness:
        yield harness


async def test_question_answer_and_resolution_reach_both_sides(bot: Harness) -> None:
    code = await file_complaint(bot)
    group = bot.agency_chat("xay-dung")
    card = await bot.emu.wait_for_bot_message(group, lambda m: code in m["text"])

    await bot.emu.press_button_labelled(group, card["message_id"], "❓ Hỏi người dân", AGENCY_USER)
    prompt = await bot.reply(group)
    assert prompt["reply_markup"].get("force_reply") is True
    await bot.emu.send_text(group, "Ổ gà cụ thể ở đoạn nào?", AGENCY_USER)
    question = await bot.emu.wait_for_bot_message(CITIZEN, lambda m: "đoạn nào" in m["text"])
    assert code in question["text"]
    assert (await ticket_of(bot, code)).state == TicketState.WAITING_CITIZEN

    bot.clock.advance(hours=2)
    await bot.emu.send_text(CITIZEN, "Đoạn trước số nhà 125, gần chợ Tân Hiệp ạ")
    thanks = await bot.reply(CITIZEN)
    relayed = await bot.emu.wait_for_bot_message(group, lambda m: "số nhà 125" in m["text"])
    ticket = await ticket_of(bot, code)
    assert code in thanks["text"]
    assert code in relayed["text"]
    assert ticket.state != TicketState.WAITING_CITIZEN

    await bot.emu.press_button_labelled(
        group, card["message_id"], "✔️ Trả lời, hoàn thành", AGENCY_USER
    )
    await bot.reply(group)  # asks for the answer
    await bot.emu.send_text(
        group, "Đã vá ổ gà ngày 25/11. Cảm ơn ông/bà đã phản ánh.", AGENCY_USER
    )
    answer = await bot.emu.wait_for_bot_message(CITIZEN, lambda m: "Đã vá ổ gà" in m["text"])
    resolved = await ticket_of(bot, code)
    assert "đã được giải quyết" in answer["text"]
    assert resolved.state == TicketState.RESOLVED
    assert resolved.answer.startswith("Đã vá ổ gà")
    detail = await bot.say(f"/theodoi {code}")
    assert "Đã giải quyết" in detail["text"]
    assert "Đã vá ổ gà" in detail["text"]
