"""The operators' commands end to end: the real bot, the Telegram emulator, a real database."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.config import Config
from bot.domain import tickets
from bot.domain.tickets import Reporter
from handlers.messages import fmt_datetime, t
from storage import console as console_store
from storage import tickets as ticket_store
from storage.models import Ticket, TicketState
from tests.harness import (
    AGENCY_USER,
    CITIZEN,
    OPERATOR_USER,
    OPERATORS,
    OTHER_CITIZEN,
    Harness,
    running_bot,
)
from tests.test_tickets import decision


def said(key: str, lang: str = "vi", **values: Any) -> str:
    """A text as a Telegram client shows it: markup gone, entities read."""
    return html.unescape(re.sub(r"<[^>]+>", "", t(key, lang, **values)))


QUEUE_TEXT = "Có việc này không biết hỏi ai, nhờ tổng đài xem giúp"


@pytest.fixture
async def bot(config: Config, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_bot(config, f"sqlite+aiosqlite:///{tmp_path / 'ops.db'}") as harness:
        yield harness


async def seed(
    bot: Harness,
    *,
    chat: int = CITIZEN,
    text: str = QUEUE_TEXT,
    category: str = "khac",
    subject: str | None = None,
    lang: str = "vi",
) -> Ticket:
    """File a ticket straight into the triage queue (no chat dialog needed)."""
    choice = replace(decision(category, "triage"), subject_agency=subject)
    async with bot.app.db.transaction() as session:
        return await tickets.open_ticket(
            session=session,
            config=bot.config,
            reporter=Reporter(
                "telegram", str(chat), str(chat), lang, "Nguyễn Văn An", "0912345678"
            ),
            text=text,
            decision=choice,
            category_id=category,
            now=bot.clock(),
        )


async def reload(bot: Harness, code: str) -> Ticket:
    async with bot.app.db.transaction() as session:
        ticket = await ticket_store.get_ticket_by_code(session=session, code=code)
    assert ticket is not None
    return ticket


async def operators(bot: Harness, text: str) -> dict[str, Any]:
    """Type a command in the operators' group; return the bot's first answer there."""
    await bot.emu.send_text(OPERATORS, text, OPERATOR_USER)
    return await bot.reply(OPERATORS)


def texts(bot: Harness, chat: int) -> list[str]:
    return [m["text"] for m in bot.emu.bot_messages(chat)]


async def test_ticket_shows_card_trail_and_notes(bot: Harness) -> None:
    ticket = await seed(bot)
    await operators(bot, f"/ghichu {ticket.code} Gọi lại cho người dân lúc 14h")
    card = await operators(bot, f"/phieu {ticket.code}")
    trail = await bot.reply(OPERATORS)
    notes = await bot.reply(OPERATORS)
    assert ticket.code in card["text"] and "Nguyễn Văn An" in card["text"]
    assert t("state.triage", "vi") in card["text"]
    assert t("event.created", "vi") in trail["text"]
    assert t("event.queued", "vi") in trail["text"]
    assert "Gọi lại cho người dân lúc 14h" in notes["text"]
    assert "Gọi lại" not in trail["text"]


async def test_ticket_english_alias_and_unknown_code(bot: Harness) -> None:
    missing = await operators(bot, "/ticket PA-2026-999999")
    usage = await operators(bot, "/ticket")
    assert missing["text"] == said("op.error.not_found", "vi", code="PA-2026-999999")
    assert usage["text"] == said("op.usage.ticket", "vi")


async def test_assign_routes_and_tells_agency_and_citizen(bot: Harness) -> None:
    ticket = await seed(bot)
    done = await operators(bot, f"/chuyen {ticket.code} xay-dung")
    assert ticket.code in done["text"]
    stored = await reload(bot, ticket.code)
    assert stored.state == TicketState.ROUTED and stored.agency_id == "xay-dung"
    await bot.emu.wait_for_bot_message(
        bot.agency_chat("xay-dung"), lambda m: ticket.code in m["text"]
    )
    await bot.emu.wait_for_bot_message(CITIZEN, lambda m: ticket.code in m["text"])


async def test_assign_without_agency_shows_the_picker(bot: Harness) -> None:
    ticket = await seed(bot)
    picker = await operators(bot, f"/assign {ticket.code}")
    await bot.press(picker, "Xây dựng", OPERATORS)
    await bot.emu.wait_for_bot_message(OPERATORS, lambda m: "Đã chuyển" in m["text"])
    assert (await reload(bot, ticket.code)).agency_id == "xay-dung"


async def test_assign_refuses_the_agency_a_conduct_ticket_accuses(bot: Harness) -> None:
    ticket = await seed(bot, category="nhung-nhieu", subject="xay-dung")
    refused = await operators(bot, f"/assign {ticket.code} xay-dung")
    assert refused["text"] == said("ticket.error.subject_agency", "vi", code=ticket.code)
    assert (await reload(bot, ticket.code)).state == TicketState.TRIAGE


async def test_assign_refuses_an_unknown_agency(bot: Harness) -> None:
    ticket = await seed(bot)
    refused = await operators(bot, f"/assign {ticket.code} khong-co")
    assert refused["text"] == said("ticket.error.unknown_agency", "vi", code=ticket.code)


async def test_note_is_never_sent_to_the_citizen_or_the_agency(bot: Harness) -> None:
    ticket = await seed(bot)
    done = await operators(bot, f"/note {ticket.code} Người này gọi 3 lần, nghi spam")
    await operators(bot, f"/assign {ticket.code} xay-dung")
    await bot.emu.wait_for_bot_message(CITIZEN, lambda m: ticket.code in m["text"])
    await bot.settle()
    assert done["text"] == said("op.done.note", "vi", code=ticket.code)
    assert not any("nghi spam" in text for text in texts(bot, CITIZEN))
    assert not any("nghi spam" in text for text in texts(bot, bot.agency_chat("xay-dung")))


async def test_note_without_text_is_refused(bot: Harness) -> None:
    ticket = await seed(bot)
    usage = await operators(bot, f"/ghichu {ticket.code}")
    assert usage["text"] == said("op.usage.note", "vi")


async def test_reply_reaches_the_citizen(bot: Harness) -> None:
    ticket = await seed(bot)
    done = await operators(bot, f"/traloi {ticket.code} Xin cho biết địa chỉ cụ thể")
    told = await bot.emu.wait_for_bot_message(CITIZEN, lambda m: ticket.code in m["text"])
    assert done["text"] == said("op.done.reply", "vi", code=ticket.code)
    assert "Xin cho biết địa chỉ cụ thể" in told["text"]


async def test_merge_moves_reporters_and_tells_them(bot: Harness) -> None:
    keep = await seed(bot)
    duplicate = await seed(bot, chat=OTHER_CITIZEN, lang="en")
    done = await operators(bot, f"/gop {keep.code} {duplicate.code}")
    told = await bot.emu.wait_for_bot_message(OTHER_CITIZEN, lambda m: keep.code in m["text"])
    assert done["text"] == said(
        "op.done.merged", "vi", dup=duplicate.code, keep=keep.code, count=1
    )
    assert told["text"] == said("opnotice.merged", "en", code=duplicate.code, kept=keep.code)
    merged = await reload(bot, duplicate.code)
    assert merged.state == TicketState.MERGED and merged.merged_into_id == keep.id
    # The duplicate's reporter now hears what the operators tell the kept ticket's reporters.
    await operators(bot, f"/reply {keep.code} Đã chuyển đoàn kiểm tra")
    both = await bot.emu.wait_for_bot_message(
        OTHER_CITIZEN, lambda m: "đoàn kiểm tra" in m["text"]
    )
    assert keep.code in both["text"]
    async with bot.app.db.transaction() as session:
        followers = await console_store.list_followers(session=session, ticket_id=keep.id or 0)
    assert [(f.chat_id, f.language) for f in followers] == [(str(OTHER_CITIZEN), "en")]


async def test_a_merged_reporter_hears_routing_acceptance_and_the_answer(bot: Harness) -> None:
    keep = await seed(bot, category="giao-thong")
    duplicate = await seed(bot, chat=OTHER_CITIZEN, lang="en", category="giao-thong")
    await operators(bot, f"/gop {keep.code} {duplicate.code}")
    await operators(bot, f"/chuyen {keep.code} xay-dung")
    routed = await reload(bot, keep.code)
    due = fmt_datetime(routed.resolve_due_at)
    heard = await bot.emu.wait_for_bot_message(
        OTHER_CITIZEN,
        lambda m: m["text"].startswith(
            said("notice.citizen.routed", "en", code=keep.code, agency="Sở Xây dựng", due=due)[:20]
        ),
    )
    assert heard["text"] == said(
        "notice.citizen.routed", "en", code=keep.code, agency="Sở Xây dựng", due=due
    )
    group = bot.agency_chat("xay-dung")
    for command in (
        f"/tiepnhan {keep.code}",
        f"/hoi {keep.code} Ổ gà ở đoạn nào?",
        f"/giaiquyet {keep.code} Đã vá ổ gà ngày 25/11.",
    ):
        await bot.emu.send_text(group, command, AGENCY_USER)
        await bot.reply(group)
    reporter = await bot.emu.wait_for_bot_message(CITIZEN, lambda m: "Đã vá ổ gà" in m["text"])
    follower = await bot.emu.wait_for_bot_message(
        OTHER_CITIZEN, lambda m: "Đã vá ổ gà" in m["text"]
    )
    await bot.settle()
    accepted = await reload(bot, keep.code)
    assert said(
        "notice.citizen.accepted",
        "en",
        code=keep.code,
        agency="Sở Xây dựng",
        due=fmt_datetime(accepted.resolve_due_at),
    ) in texts(bot, OTHER_CITIZEN)
    # the question is the reporter's to answer; rating and reopening are the reporter's too
    assert any("đoạn nào" in text for text in texts(bot, CITIZEN))
    assert not any("đoạn nào" in text for text in texts(bot, OTHER_CITIZEN))
    assert reporter["reply_markup"] is not None
    assert follower["reply_markup"] is None
    assert follower["text"].startswith(
        said("notice.citizen.resolved", "en", code=keep.code, agency="Sở Xây dựng", answer="")
    )


async def test_merge_refuses_itself_a_closed_ticket_and_bad_usage(bot: Harness) -> None:
    keep = await seed(bot)
    other = await seed(bot)
    itself = await operators(bot, f"/merge {keep.code} {keep.code}")
    await operators(bot, f"/close {other.code} spam")
    closed = await operators(bot, f"/merge {keep.code} {other.code}")
    usage = await operators(bot, f"/merge {keep.code}")
    unknown = await operators(bot, f"/merge {keep.code} PA-2026-999999")
    assert itself["text"] == said("op.error.merge_self", "vi", code=keep.code)
    assert closed["text"] == said(
        "op.error.merge_closed", "vi", code=other.code, state=t("state.spam", "vi")
    )
    assert usage["text"] == said("op.usage.merge", "vi")
    assert unknown["text"] == said("op.error.not_found", "vi", code="PA-2026-999999")


async def test_close_spam_is_silent(bot: Harness) -> None:
    ticket = await seed(bot)
    done = await operators(bot, f"/dong {ticket.code} spam")
    await bot.settle()
    assert done["text"] == said(
        "op.done.closed", "vi", code=ticket.code, reason=t("op.reason.spam", "vi")
    )
    assert (await reload(bot, ticket.code)).state == TicketState.SPAM
    assert not any(ticket.code in text for text in texts(bot, CITIZEN))


async def test_close_out_of_scope_tells_the_citizen_why(bot: Harness) -> None:
    ticket = await seed(bot)
    await operators(bot, f"/close {ticket.code} ngoai_tham_quyen")
    told = await bot.emu.wait_for_bot_message(CITIZEN, lambda m: ticket.code in m["text"])
    assert told["text"] == said("opnotice.closed_out_of_scope", "vi", code=ticket.code)
    assert (await reload(bot, ticket.code)).state == TicketState.CLOSED


async def test_close_duplicate_tells_the_citizen(bot: Harness) -> None:
    ticket = await seed(bot)
    await operators(bot, f"/close {ticket.code} trung")
    told = await bot.emu.wait_for_bot_message(CITIZEN, lambda m: ticket.code in m["text"])
    assert told["text"] == said("opnotice.closed_duplicate", "vi", code=ticket.code)


async def test_close_with_a_bad_reason_is_refused(bot: Harness) -> None:
    ticket = await seed(bot)
    refused = await operators(bot, f"/close {ticket.code} chan")
    missing = await operators(bot, f"/close {ticket.code}")
    assert refused["text"] == said("op.error.bad_reason", "vi", reason="chan")
    assert missing["text"] == said("op.usage.close", "vi")
    assert (await reload(bot, ticket.code)).state == TicketState.TRIAGE


async def test_close_twice_is_refused(bot: Harness) -> None:
    ticket = await seed(bot)
    await operators(bot, f"/close {ticket.code} spam")
    again = await operators(bot, f"/close {ticket.code} spam")
    assert again["text"] == said(
        "op.error.not_open", "vi", code=ticket.code, state=t("state.spam", "vi")
    )


async def test_reopen_puts_a_closed_ticket_back_in_the_queue(bot: Harness) -> None:
    ticket = await seed(bot)
    await operators(bot, f"/close {ticket.code} duplicate")
    await bot.emu.wait_for_bot_message(CITIZEN, lambda m: ticket.code in m["text"])
    done = await operators(bot, f"/molai {ticket.code}")
    told = await bot.emu.wait_for_bot_message(CITIZEN, lambda m: ticket.code in m["text"])
    stored = await reload(bot, ticket.code)
    assert stored.state == TicketState.TRIAGE and stored.triage_due_at is not None
    assert ticket.code in done["text"]
    assert told["text"] == said("opnotice.reopened", "vi", code=ticket.code)


async def test_reopen_of_an_open_ticket_is_refused(bot: Harness) -> None:
    ticket = await seed(bot)
    refused = await operators(bot, f"/reopen {ticket.code}")
    assert refused["text"] == said(
        "op.error.not_closed", "vi", code=ticket.code, state=t("state.triage", "vi")
    )


async def test_stats_counts_today_and_the_queue(bot: Harness) -> None:
    first = await seed(bot)
    await seed(bot)
    await operators(bot, f"/assign {first.code} xay-dung")
    numbers = await operators(bot, "/thongke")
    english = await operators(bot, "/stats")
    assert "mới 2 · đã chuyển 1" in numbers["text"]
    assert "Chờ phân loại: 1" in numbers["text"]
    assert english["text"] == numbers["text"]


async def test_citizen_using_a_staff_command_is_refused(bot: Harness) -> None:
    ticket = await seed(bot)
    for command in (f"/ghichu {ticket.code} x", f"/merge {ticket.code} {ticket.code}", "/stats"):
        refused = await bot.say(command)
        assert refused["text"] == said("staff_only", "vi")
    view = await reload(bot, ticket.code)
    assert view.state == TicketState.TRIAGE


async def test_stranger_group_is_refused_staff_commands(bot: Harness) -> None:
    from tests.harness import STRANGERS

    ticket = await seed(bot)
    refused = await bot.say(f"/close {ticket.code} spam", STRANGERS)
    assert refused["text"] == said("not_allowed")
    assert (await reload(bot, ticket.code)).state == TicketState.TRIAGE


async def test_operators_help_lists_the_commands(bot: Harness) -> None:
    help_ = await operators(bot, "/help")
    assert "/phieu" in help_["text"] and "/gop" in help_["text"]


async def test_reply_to_a_reporter_who_blocked_the_bot_is_refused(bot: Harness) -> None:
    ticket = await seed(bot)
    async with bot.app.db.transaction() as session:
        stored = await ticket_store.get_ticket_by_code(session=session, code=ticket.code)
        assert stored is not None
        stored.citizen_blocked = True
        session.add(stored)
    refused = await operators(bot, f"/reply {ticket.code} Xin chào")
    assert refused["text"] == said("op.error.no_reporter", code=ticket.code)
