"""Agencies' typed actions, the leaders' chat and the receipt of a queued complaint, end to end.

The real bot and PTB Application against the Telegram emulator: an agency's group types
`/tiepnhan`, `/tralai`, `/hoi`, `/giaiquyet` (and the English names) with a ticket's code; the
same checks as the buttons refuse another agency, a return after deemed acceptance, a chat the
hotline does not know and a citizen's private chat. The leaders' group gets `/thongke` and
`/quahan`.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Config
from handlers.messages import fmt_datetime, t
from storage.models import TicketState
from tests.harness import AGENCY_USER, CITIZEN, LEADERS, OPERATORS, STRANGERS, Harness, running_bot
from tests.test_e2e_citizen import code_in, file_complaint, ticket_of

UNSURE = "Tôi muốn hỏi một việc nhưng không biết hỏi ai cho đúng ạ"


def shown(key: str, lang: str = "vi", /, **values: Any) -> str:
    """Return a text as the chat shows it: `t()` without its HTML markup."""
    return html.unescape(re.sub(r"<[^>]+>", "", t(key, lang, **values)))


@pytest.fixture
async def bot(config: Config, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_bot(config, f"sqlite+aiosqlite:///{tmp_path / 'staff.db'}") as harness:
        yield harness


async def routed_complaint(bot: Harness) -> tuple[str, int]:
    """File the usual pothole complaint; return its code and the agency group it went to."""
    code = await file_complaint(bot)
    group = bot.agency_chat("xay-dung")
    await bot.emu.wait_for_bot_message(group, lambda m: code in m["text"])
    return code, group


async def staff_says(bot: Harness, chat: int, text: str) -> dict[str, Any]:
    """Send text as the agency's staff member; return the bot's next message in that chat."""
    await bot.emu.send_text(chat, text, AGENCY_USER)
    return await bot.reply(chat)


# --- the agency's typed actions --------------------------------------------------------------


async def test_accept_command_accepts_and_tells_the_citizen(bot: Harness) -> None:
    code, group = await routed_complaint(bot)
    confirmation = await staff_says(bot, group, f"/tiepnhan {code.lower()}")
    ticket = await ticket_of(bot, code)
    assert confirmation["text"] == shown(
        "agency.accepted", code=code, due=fmt_datetime(ticket.resolve_due_at)
    )
    assert ticket.state == TicketState.ACCEPTED
    told = await bot.emu.wait_for_bot_message(CITIZEN, lambda m: code in m["text"])
    assert told["text"] == shown(
        "notice.citizen.accepted",
        code=code,
        agency="Sở Xây dựng",
        due=fmt_datetime(ticket.resolve_due_at),
    )


async def test_english_ask_then_resolve_commands_reach_the_citizen(bot: Harness) -> None:
    code, group = await routed_complaint(bot)
    asked = await staff_says(bot, group, f"/ask {code} Ổ gà cụ thể ở đoạn nào?")
    assert asked["text"] == shown("agency.asked", code=code)
    question = await bot.emu.wait_for_bot_message(CITIZEN, lambda m: "đoạn nào" in m["text"])
    assert code in question["text"]
    assert (await ticket_of(bot, code)).state == TicketState.WAITING_CITIZEN

    resolved = await staff_says(bot, group, f"/resolve {code} Đã vá ổ gà ngày 25/11.")
    assert resolved["text"] == shown("agency.resolved", code=code)
    answer = await bot.emu.wait_for_bot_message(CITIZEN, lambda m: "Đã vá ổ gà" in m["text"])
    labels = [b["text"] for row in answer["reply_markup"]["inline_keyboard"] for b in row]
    assert t("rating.button.reopen", "vi") in labels
    ticket = await ticket_of(bot, code)
    assert ticket.state == TicketState.RESOLVED and ticket.answer == "Đã vá ổ gà ngày 25/11."


async def test_return_command_hands_the_ticket_back_to_the_operators(bot: Harness) -> None:
    code, group = await routed_complaint(bot)
    returned = await staff_says(bot, group, f"/tralai {code} Không thuộc thẩm quyền của Sở")
    assert returned["text"] == shown("agency.returned", code=code)
    ticket = await ticket_of(bot, code)
    assert ticket.state == TicketState.TRIAGE and ticket.agency_id is None
    told = await bot.emu.wait_for_bot_message(
        OPERATORS, lambda m: "Không thuộc thẩm quyền" in m["text"]
    )
    assert code in told["text"]


async def test_command_without_code_or_text_shows_its_usage(bot: Harness) -> None:
    code, group = await routed_complaint(bot)
    assert (await staff_says(bot, group, "/tralai"))["text"] == shown("agency.usage.return")
    assert (await staff_says(bot, group, f"/hoi {code}"))["text"] == shown("agency.usage.ask")
    assert (await staff_says(bot, group, "/giaiquyet xong rồi"))["text"] == shown(
        "agency.usage.resolve"
    )
    assert (await ticket_of(bot, code)).state == TicketState.ROUTED


async def test_command_with_an_unknown_code_is_refused(bot: Harness) -> None:
    _code, group = await routed_complaint(bot)
    refused = await staff_says(bot, group, "/tiepnhan PA-2026-999999")
    assert refused["text"] == shown("ticket.error.no_such_code", code="PA-2026-999999")


async def test_other_agency_command_is_refused_and_logged(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    code, _group = await routed_complaint(bot)
    other = bot.agency_chat("nn-mt")
    with caplog.at_level(logging.WARNING, logger="handlers.agency"):
        refused = await staff_says(bot, other, f"/accept {code}")
    state = t(f"state.{TicketState.ROUTED.value}", "vi")
    assert refused["text"] == shown("ticket.error.not_holder", code=code, state=state)
    assert any(
        "refused accept" in r.getMessage() and str(other) in r.getMessage() for r in caplog.records
    )
    assert (await ticket_of(bot, code)).state == TicketState.ROUTED


async def test_return_command_after_deemed_acceptance_is_refused(bot: Harness) -> None:
    code, group = await routed_complaint(bot)
    ticket = await ticket_of(bot, code)
    assert ticket.accept_due_at is not None
    bot.clock.now = ticket.accept_due_at
    await bot.app.sweeper.run_once()
    assert (await ticket_of(bot, code)).deemed_accepted
    deemed = shown(
        "notice.agency.deemed_accepted",
        code=code,
        due=fmt_datetime(ticket.accept_due_at),
        resolve_due=fmt_datetime(ticket.resolve_due_at),
    )
    await bot.emu.wait_for_bot_message(group, lambda m: m["text"] == deemed)
    answer = await staff_says(bot, group, f"/return {code} không phải việc của Sở")
    state = t(f"state.{TicketState.ACCEPTED.value}", "vi")
    assert answer["text"] == shown("ticket.error.deemed_accepted", code=code, state=state)
    assert (await ticket_of(bot, code)).agency_id == "xay-dung"


async def test_stranger_chat_command_is_refused_and_logged(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    code, _group = await routed_complaint(bot)
    with caplog.at_level(logging.WARNING, logger="handlers.router"):
        refused = await staff_says(bot, STRANGERS, f"/tiepnhan {code}")
    assert refused["text"] == shown("not_allowed")
    assert any(str(STRANGERS) in r.getMessage() for r in caplog.records)
    assert (await ticket_of(bot, code)).state == TicketState.ROUTED


async def test_citizen_chat_using_a_staff_command_is_refused(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    code, _group = await routed_complaint(bot)
    with caplog.at_level(logging.WARNING, logger="handlers.router"):
        refused = await bot.say(f"/tiepnhan {code}")
        overdue = await bot.say("/quahan")
    assert refused["text"] == shown("staff_only") == overdue["text"]
    assert any(f"private chat {CITIZEN}" in r.getMessage() for r in caplog.records)
    assert (await ticket_of(bot, code)).state == TicketState.ROUTED


async def test_each_staff_chat_gets_its_own_command_menu(bot: Harness) -> None:
    agency_menu = bot.emu.commands({"type": "chat", "chat_id": bot.agency_chat("xay-dung")})
    leaders_menu = bot.emu.commands({"type": "chat", "chat_id": LEADERS})
    assert {"tiepnhan", "tralai", "hoi", "giaiquyet", "danhsach"} <= {
        c["command"] for c in agency_menu
    }
    assert {"thongke", "quahan"} <= {c["command"] for c in leaders_menu}


# --- the leaders' chat -----------------------------------------------------------------------


async def test_leaders_chat_is_registered_with_its_help(bot: Harness) -> None:
    await bot.emu.send_text(LEADERS, "/help")
    reply = await bot.reply(LEADERS)
    assert reply["text"] == shown("leader.help")
    assert reply["text"] != shown("group_unknown")


async def test_leaders_stats_count_today_and_this_month_per_agency(bot: Harness) -> None:
    code, group = await routed_complaint(bot)
    await staff_says(bot, group, f"/tiepnhan {code}")
    await bot.reply(CITIZEN)  # the citizen is told it was accepted
    await file_complaint(bot, UNSURE)
    await bot.settle()
    await bot.emu.send_text(LEADERS, "/thongke")
    stats = (await bot.reply(LEADERS))["text"]
    today, month = shown("stats.today"), shown("stats.month", month="11/2026")
    province_today = shown(
        "stats.line", label=today, new=2, routed=1, accepted=1, resolved=0, overdue=0
    )
    agency_month = shown(
        "stats.line", label=month, new=1, routed=1, accepted=1, resolved=0, overdue=0
    )
    queue_month = shown(
        "stats.line", label=month, new=1, routed=0, accepted=0, resolved=0, overdue=0
    )
    assert province_today in stats
    assert shown("stats.waiting", count=1, overdue=0) in stats
    lines = stats.split("\n")
    building = lines.index("Sở Xây dựng")
    assert lines[building + 2] == agency_month
    unrouted = lines.index(shown("stats.unrouted"))
    assert lines[unrouted + 2] == queue_month


async def test_leaders_overdue_lists_overdue_tickets_by_agency(bot: Harness) -> None:
    code, _group = await routed_complaint(bot)
    ticket = await ticket_of(bot, code)
    assert ticket.resolve_due_at is not None
    bot.clock.now = ticket.resolve_due_at
    await bot.emu.send_text(LEADERS, "/overdue")
    listed = (await bot.reply(LEADERS))["text"]
    assert shown("worklist.overdue.group", agency="Sở Xây dựng", count=1).strip() in listed
    assert code in listed


# --- the receipt of a complaint waiting for the operators ------------------------------------


async def test_receipt_of_a_triage_ticket_says_when_it_is_routed_and_its_resolve_due(
    bot: Harness, config: Config
) -> None:
    proposal = await bot.say(UNSURE)
    await bot.press(proposal, "Gửi")
    await bot.reply()
    anonymous = await bot.reply()
    await bot.press(anonymous, "ẩn danh")
    created = (await bot.reply())["text"]
    ticket = await ticket_of(bot, code_in(created))
    assert ticket.state == TicketState.TRIAGE and ticket.triage_due_at is not None
    category = config.category(ticket.category_id)
    assert category is not None
    latest = config.work_calendar.add_working_hours(ticket.triage_due_at, category.sla_hours)
    assert created == shown(
        "complaint.created_triage",
        code=ticket.code,
        category=category.name,
        route_by=fmt_datetime(ticket.triage_due_at),
        hours=f"{category.sla_hours:g}",
        due=fmt_datetime(latest),
    )
    assert latest > ticket.triage_due_at
