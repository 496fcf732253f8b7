"""Rating and reopening after resolution: the rules, the services on both databases, the
handlers through the inbox, closing by the sweeper, and end to end through the emulator."""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot import sweeper
from bot.channels.telegram import split_html
from bot.chat import Attachment, Incoming, Reply
from bot.config import Config
from bot.domain import tickets
from bot.domain.outcomes import TicketOutcome
from bot.domain.tickets import TransitionError
from bot.domain.triage import Classifier
from bot.inbox import Inbox
from handlers import buttons
from handlers.messages import fmt_datetime
from storage import tickets as ticket_store
from storage.db import Database
from storage.models import Ticket, TicketState
from tests.harness import AGENCY_USER, CITIZEN, OTHER_CITIZEN, Harness, running_bot
from tests.test_e2e_citizen import file_complaint, ticket_of
from tests.test_tickets import (
    CITIZEN_CHAT,
    OPERATORS,
    agency_chat,
    at,
    event_kinds,
    open_one,
    reload,
    routed_ticket,
    said,
    wired,
)

RESOLVED_AT = at(25, 10)  # Wednesday; Tuesday 24/11/2026 is a day off
WINDOW_END = at(2, 10, month=12)  # 7 calendar days later
STRANGER_CHAT = "502"
_updates = itertools.count(1)


@pytest.fixture
def cfg(config: Config) -> Config:
    return wired(config)


def resolved_ticket(cfg: Config) -> Ticket:
    """An in-memory ticket of Sở Xây dựng, resolved at RESOLVED_AT."""
    ticket = routed_ticket(cfg)
    tickets.accept(ticket, now=at(23, 10))
    tickets.resolve(ticket, answer="Đã vá ổ gà.", now=RESOLVED_AT)
    return ticket


async def resolve_one(db: Database, cfg: Config, *, language: str = "vi") -> Ticket:
    """File a ticket and have Sở Xây dựng resolve it at RESOLVED_AT; return it fresh."""
    ticket = await open_one(db, cfg, language=language)
    async with db.transaction() as session:
        locked = await tickets.load_for_change(session=session, ticket_id=ticket.id or 0)
        assert locked is not None
        await tickets.resolve_ticket(
            session=session,
            config=cfg,
            ticket=locked,
            agency_id="xay-dung",
            user_id="701",
            answer="Đã vá ổ gà ngày 25/11.",
            now=RESOLVED_AT,
        )
    return await reload(db, ticket)


# --- rules -----------------------------------------------------------------------------------


def test_feedback_window_is_open_until_its_last_instant(cfg: Config) -> None:
    ticket = resolved_ticket(cfg)
    assert tickets.feedback_deadline(ticket, cfg) == WINDOW_END
    tickets.check_feedback(ticket, config=cfg, now=WINDOW_END)
    with pytest.raises(TransitionError) as caught:
        tickets.check_feedback(ticket, config=cfg, now=WINDOW_END + timedelta(seconds=1))
    assert caught.value.reason == "feedback_closed"


def test_feedback_window_follows_the_configured_days(cfg: Config) -> None:
    three = dataclasses.replace(cfg, deadlines=dataclasses.replace(cfg.deadlines, reopen_days=3))
    ticket = resolved_ticket(three)
    assert tickets.feedback_deadline(ticket, three) == at(28, 10)
    with pytest.raises(TransitionError):
        tickets.reopen(ticket, config=three, now=at(28, 10, 1))


def test_rate_accepts_one_to_five_and_returns_the_previous(cfg: Config) -> None:
    ticket = resolved_ticket(cfg)
    assert tickets.rate(ticket, config=cfg, stars=1, now=at(25, 11)) is None
    assert ticket.rating == 1
    assert tickets.rate(ticket, config=cfg, stars=5, now=WINDOW_END) == 1
    assert ticket.rating == 5


@pytest.mark.parametrize("stars", [0, 6, -1])
def test_rate_refuses_out_of_range_stars(cfg: Config, stars: int) -> None:
    ticket = resolved_ticket(cfg)
    with pytest.raises(TransitionError) as caught:
        tickets.rate(ticket, config=cfg, stars=stars, now=at(25, 11))
    assert caught.value.reason == "bad_rating"
    assert ticket.rating is None


def test_rate_refuses_after_the_window_and_before_resolution(cfg: Config) -> None:
    ticket = resolved_ticket(cfg)
    with pytest.raises(TransitionError) as late:
        tickets.rate(ticket, config=cfg, stars=4, now=WINDOW_END + timedelta(minutes=1))
    assert late.value.reason == "feedback_closed"
    open_ticket = routed_ticket(cfg)
    with pytest.raises(TransitionError) as early:
        tickets.rate(open_ticket, config=cfg, stars=4, now=at(25, 11))
    assert early.value.reason == "not_resolved"


def test_check_reporter_refuses_another_chat_or_channel(cfg: Config) -> None:
    ticket = resolved_ticket(cfg)
    tickets.check_reporter(ticket, channel="telegram", chat_id=CITIZEN_CHAT)
    for channel, chat in (("telegram", STRANGER_CHAT), ("zalo", CITIZEN_CHAT)):
        with pytest.raises(TransitionError) as caught:
            tickets.check_reporter(ticket, channel=channel, chat_id=chat)
        assert caught.value.reason == "not_reporter"


def test_reopen_gives_the_agency_a_fresh_resolve_clock(cfg: Config) -> None:
    ticket = resolved_ticket(cfg)
    ticket.rating = 2
    tickets.reopen(ticket, config=cfg, now=at(26, 9))
    assert ticket.state == TicketState.ACCEPTED
    assert ticket.agency_id == "xay-dung"
    # 24 working hours (the category's SLA) from Thursday 09:00, over the weekend.
    assert ticket.resolve_due_at == at(1, 9, month=12)
    assert ticket.resolve_due_at == cfg.work_calendar.add_working_hours(at(26, 9), 24)
    assert ticket.resolved_at is None and ticket.rating is None and ticket.answer == ""
    ladder = [m.rung for m in tickets.milestones(ticket, cfg)]
    assert ladder == [tickets.Rung.REMINDER, tickets.Rung.OVERDUE, tickets.Rung.ESCALATED]
    with pytest.raises(TransitionError) as again:
        tickets.reopen(ticket, config=cfg, now=at(26, 10))
    assert again.value.reason == "not_resolved"


def test_reopen_judges_the_window_at_the_press(cfg: Config) -> None:
    ticket = resolved_ticket(cfg)
    after = WINDOW_END + timedelta(minutes=10)
    tickets.reopen(ticket, config=cfg, now=after, requested_at=WINDOW_END)
    assert ticket.state == TicketState.ACCEPTED
    assert ticket.resolve_due_at == cfg.work_calendar.add_working_hours(after, 24)


def test_reopen_without_a_known_agency_goes_to_the_operators(cfg: Config) -> None:
    ticket = resolved_ticket(cfg)
    ticket.agency_id = "so-da-giai-the"  # removed from the directory since
    tickets.reopen(ticket, config=cfg, now=at(26, 9))
    assert ticket.state == TicketState.TRIAGE
    assert ticket.agency_id is None and ticket.resolve_due_at is None
    assert ticket.triage_due_at == at(26, 14, 30)  # 4 working hours across the lunch break


def test_close_resolved_only_after_the_window(cfg: Config) -> None:
    ticket = resolved_ticket(cfg)
    assert tickets.close_resolved(ticket, config=cfg, now=WINDOW_END) is False
    assert ticket.state == TicketState.RESOLVED
    assert tickets.close_resolved(ticket, config=cfg, now=WINDOW_END + timedelta(hours=1))
    assert ticket.state == TicketState.CLOSED and ticket.closed_at == WINDOW_END
    with pytest.raises(TransitionError) as caught:
        tickets.rate(ticket, config=cfg, stars=5, now=WINDOW_END + timedelta(hours=2))
    assert caught.value.reason == "feedback_closed"


def test_rating_buttons_fit_telegram_callback_data(cfg: Config) -> None:
    ticket = resolved_ticket(cfg)
    ticket.id = 2_147_483_647
    stars, reopen_row = buttons.rating_buttons(ticket)
    assert [b.text for b in stars] == ["⭐1", "⭐2", "⭐3", "⭐4", "⭐5"]
    assert [b.data for b in stars][0] == "rate:2147483647:1"
    assert reopen_row[0].data == "reopen:2147483647"
    assert "mở lại" in reopen_row[0].text
    assert all(len(b.data.encode()) <= 64 for b in (*stars, *reopen_row))


# --- services --------------------------------------------------------------------------------


async def test_resolved_notice_carries_stars_and_reopen(db: Database, cfg: Config) -> None:
    ticket = await open_one(db, cfg)
    async with db.transaction() as session:
        locked = await tickets.load_for_change(session=session, ticket_id=ticket.id or 0)
        assert locked is not None
        notices = said(
            cfg,
            await tickets.resolve_ticket(
                session=session,
                config=cfg,
                ticket=locked,
                agency_id="xay-dung",
                user_id="701",
                answer="Đã vá ổ gà.",
                now=RESOLVED_AT,
            ),
        )
    (notice,) = notices
    assert notice.chat_id == CITIZEN_CHAT
    assert "đã được giải quyết" in notice.text and "7 ngày" in notice.text
    data = [b.data for row in notice.buttons for b in row]
    assert data == [f"rate:{ticket.id}:{n}" for n in range(1, 6)] + [f"reopen:{ticket.id}"]


async def test_long_resolved_answer_keeps_the_buttons_on_its_last_message(
    db: Database, cfg: Config
) -> None:
    ticket = await open_one(db, cfg)
    async with db.transaction() as session:
        locked = await tickets.load_for_change(session=session, ticket_id=ticket.id or 0)
        assert locked is not None
        notices = said(
            cfg,
            await tickets.resolve_ticket(
                session=session,
                config=cfg,
                ticket=locked,
                agency_id="xay-dung",
                user_id="701",
                answer="Sở đã kiểm tra và vá toàn bộ ổ gà. " * 300,
                now=RESOLVED_AT,
            ),
        )
    (notice,) = notices
    # The sender splits the long answer; its buttons go under the last part.
    parts = split_html(notice.text)
    assert len(parts) > 1 and all(len(part) <= 4096 for part in parts)
    assert notice.buttons and "7 ngày" in parts[-1]


async def test_rate_ticket_records_changes_and_reports_low_ratings(
    db: Database, cfg: Config
) -> None:
    ticket = await resolve_one(db, cfg)

    async def press(stars: int, now: datetime) -> TicketOutcome:
        async with db.transaction() as session:
            locked = await tickets.load_for_change(session=session, ticket_id=ticket.id or 0)
            assert locked is not None
            return await tickets.rate_ticket(
                session=session,
                config=cfg,
                ticket=locked,
                channel="telegram",
                chat_id=CITIZEN_CHAT,
                stars=stars,
                now=now,
            )

    first = await press(2, at(25, 11))
    assert first.previous is None and first.changed
    (low,) = said(cfg, first)
    assert low.chat_id == str(OPERATORS) and "2/5" in low.text and "Đã vá ổ gà" in low.text
    same = await press(2, at(25, 12))
    assert not same.changed and same.notices == []
    better = await press(4, at(26, 9))
    assert better.previous == 2 and better.changed and better.notices == []
    assert (await reload(db, ticket)).rating == 4
    assert (await event_kinds(db, ticket)).count("rated") == 2


async def test_reopen_ticket_sends_the_card_back_to_the_agency(db: Database, cfg: Config) -> None:
    ticket = await resolve_one(db, cfg)
    photo = Attachment("photo", "file-1")
    async with db.transaction() as session:
        locked = await tickets.load_for_change(session=session, ticket_id=ticket.id or 0)
        assert locked is not None
        notices = said(
            cfg,
            await tickets.reopen_ticket(
                session=session,
                config=cfg,
                ticket=locked,
                channel="telegram",
                chat_id=CITIZEN_CHAT,
                reason="Ổ gà vẫn còn ở đoạn trước số nhà 125",
                now=at(26, 9),
                attachments=(photo,),
            ),
        )
    group = agency_chat(cfg, "xay-dung")
    to_agency = [n for n in notices if n.chat_id == group]
    assert "mở lại" in to_agency[0].text and "số nhà 125" in to_agency[0].text
    assert "Đã vá ổ gà" in to_agency[0].text  # the previous answer, for reference
    card = to_agency[1]
    assert "09:00 01/12/2026" in card.text
    assert [b.data for row in card.buttons for b in row] == [
        f"ag:{ticket.id}:ask",
        f"ag:{ticket.id}:resolve",
    ]
    assert any(n.attachments == (photo,) for n in to_agency)
    (to_operators,) = [n.text for n in notices if n.chat_id == str(OPERATORS)]
    assert "Sở Xây dựng" in to_operators and "lần 1" in to_operators
    fresh = await reload(db, ticket)
    assert fresh.state == TicketState.ACCEPTED
    assert fresh.next_check_at == at(30, 11)  # the 75 % reminder of the new clock
    assert (await event_kinds(db, ticket))[-1] == "reopened"
    async with db.transaction() as session:
        files = await ticket_store.list_attachments(session=session, ticket_id=ticket.id or 0)
    assert [f.file_id for f in files] == ["file-1"]


# --- handlers through the inbox --------------------------------------------------------------


class Citizen:
    """Speak through the real inbox as a chat, at a clock the test sets."""

    def __init__(self, db: Database, config: Config) -> None:
        self.now = RESOLVED_AT
        self.inbox = Inbox(
            db=db, config=config, classifier=Classifier.from_config(config), clock=lambda: self.now
        )

    async def send(
        self,
        *,
        chat: str = CITIZEN_CHAT,
        text: str = "",
        button: str | None = None,
        private: bool = True,
        attachments: tuple[Attachment, ...] = (),
    ) -> list[Reply]:
        return await self.inbox.handle(
            Incoming(
                channel="telegram",
                chat_id=chat,
                user_id=chat,
                update_id=str(next(_updates)),
                text=text,
                callback_data=button,
                is_private=private,
                attachments=attachments,
            )
        )


@pytest.fixture
def citizen(db: Database, cfg: Config) -> Citizen:
    return Citizen(db, cfg)


def own(replies: list[Reply]) -> list[Reply]:
    return [r for r in replies if r.chat_id is None]


async def test_rate_button_thanks_and_changes(citizen: Citizen, db: Database, cfg: Config) -> None:
    ticket = await resolve_one(db, cfg)
    citizen.now = at(25, 11)
    (thanks,) = await citizen.send(button=f"rate:{ticket.id}:5")
    assert "Cảm ơn bạn đã đánh giá" in thanks.text and "5/5 sao" in thanks.text
    assert thanks.buttons == ()
    (again,) = await citizen.send(button=f"rate:{ticket.id}:5")
    assert "đã được ghi nhận" in again.text and "10:00 02/12/2026" in again.text
    replies = await citizen.send(button=f"rate:{ticket.id}:1")
    changed = own(replies)[0]
    assert "5/5 sao → <b>1/5 sao</b>" in changed.text
    assert "rất tiếc" in changed.text
    assert [b.data for row in changed.buttons for b in row] == [f"reopen:{ticket.id}"]
    assert [r.chat_id for r in replies if r.chat_id] == [str(OPERATORS)]
    assert (await reload(db, ticket)).rating == 1


async def test_rate_button_after_the_window(citizen: Citizen, db: Database, cfg: Config) -> None:
    ticket = await resolve_one(db, cfg, language="en")
    await citizen.send(text="/lang en")
    citizen.now = WINDOW_END + timedelta(minutes=1)
    (closed,) = await citizen.send(button=f"rate:{ticket.id}:4")
    assert "has ended" in closed.text
    assert (await reload(db, ticket)).rating is None
    citizen.now = at(25, 11)
    await citizen.send(button=f"rate:{ticket.id}:3")
    citizen.now = WINDOW_END + timedelta(days=1)
    (recorded,) = await citizen.send(button=f"rate:{ticket.id}:5")
    assert "3/5 stars" in recorded.text and "has ended" in recorded.text
    assert (await reload(db, ticket)).rating == 3


async def test_rate_button_from_another_chat_is_refused_and_logged(
    citizen: Citizen, db: Database, cfg: Config, caplog: pytest.LogCaptureFixture
) -> None:
    ticket = await resolve_one(db, cfg)
    citizen.now = at(25, 11)
    with caplog.at_level(logging.WARNING, logger="handlers.rating"):
        (refused,) = await citizen.send(chat=STRANGER_CHAT, button=f"rate:{ticket.id}:1")
        (no_reopen,) = await citizen.send(chat=STRANGER_CHAT, button=f"reopen:{ticket.id}")
    assert "Chỉ người đã gửi phản ánh" in refused.text
    assert "Chỉ người đã gửi phản ánh" in no_reopen.text
    assert sum("refused" in r.message and STRANGER_CHAT in r.message for r in caplog.records) == 2
    fresh = await reload(db, ticket)
    assert fresh.rating is None and fresh.state == TicketState.RESOLVED
    assert "rated" not in await event_kinds(db, ticket)


async def test_rate_button_in_a_staff_group_is_refused_and_logged(
    citizen: Citizen, db: Database, cfg: Config, caplog: pytest.LogCaptureFixture
) -> None:
    ticket = await resolve_one(db, cfg)
    group = agency_chat(cfg, "xay-dung")
    with caplog.at_level(logging.WARNING, logger="handlers.router"):
        (refused,) = await citizen.send(chat=group, button=f"rate:{ticket.id}:5", private=False)
    assert "không có quyền" in refused.text
    assert any(group in r.message for r in caplog.records)
    assert (await reload(db, ticket)).rating is None


async def test_reopen_asks_the_reason_then_reopens(
    citizen: Citizen, db: Database, cfg: Config
) -> None:
    ticket = await resolve_one(db, cfg)
    citizen.now = at(26, 9)
    (prompt,) = await citizen.send(button=f"reopen:{ticket.id}")
    assert "vì sao phản ánh" in prompt.text and "Sở Xây dựng" in prompt.text
    assert (await reload(db, ticket)).state == TicketState.RESOLVED
    photo = Attachment("photo", "photo-9")
    (need_text,) = await citizen.send(attachments=(photo,))
    assert "vì sao" in need_text.text
    replies = await citizen.send(text="Ổ gà vẫn còn, chỉ mới rải đá chưa trải nhựa")
    done = own(replies)[0]
    assert "Đã mở lại" in done.text and "09:00 01/12/2026" in done.text
    group = agency_chat(cfg, "xay-dung")
    assert any("chưa trải nhựa" in r.text for r in replies if r.chat_id == group)
    assert any(r.attachments == (photo,) for r in replies if r.chat_id == group)
    assert any("mở lại" in r.text for r in replies if r.chat_id == str(OPERATORS))
    fresh = await reload(db, ticket)
    assert fresh.state == TicketState.ACCEPTED
    assert fresh.resolve_due_at == at(1, 9, month=12)
    # The dialog is over: the next text is an ordinary message again, not another reason.
    after = await citizen.send(text="cảm ơn")
    assert (await event_kinds(db, ticket)).count("reopened") == 1
    assert all("Đã mở lại" not in r.text for r in after)


async def test_reopen_can_be_cancelled(citizen: Citizen, db: Database, cfg: Config) -> None:
    ticket = await resolve_one(db, cfg)
    citizen.now = at(26, 9)
    await citizen.send(button=f"reopen:{ticket.id}")
    (cancelled,) = await citizen.send(text="/huy")
    assert "Đã hủy" in cancelled.text
    assert (await reload(db, ticket)).state == TicketState.RESOLVED


async def test_reopen_after_the_window_gives_the_hotline_and_a_new_complaint(
    citizen: Citizen, db: Database, cfg: Config
) -> None:
    ticket = await resolve_one(db, cfg)
    citizen.now = WINDOW_END + timedelta(seconds=1)
    (expired,) = await citizen.send(button=f"reopen:{ticket.id}")
    assert "1022" in expired.text and "/phananh" in expired.text and ticket.code in expired.text
    assert "25/11/2026" in expired.text and "10:00 02/12/2026" in expired.text
    assert (await reload(db, ticket)).state == TicketState.RESOLVED


async def test_reopen_reason_soon_after_the_press_counts_at_the_press(
    citizen: Citizen, db: Database, cfg: Config
) -> None:
    ticket = await resolve_one(db, cfg)
    citizen.now = WINDOW_END - timedelta(minutes=1)
    await citizen.send(button=f"reopen:{ticket.id}")
    citizen.now = WINDOW_END + timedelta(minutes=20)
    replies = await citizen.send(text="Vẫn chưa sửa xong đâu ạ")
    assert "Đã mở lại" in own(replies)[0].text
    assert (await reload(db, ticket)).state == TicketState.ACCEPTED


async def test_reopen_reason_long_after_a_late_press_is_refused(
    citizen: Citizen, db: Database, cfg: Config
) -> None:
    ticket = await resolve_one(db, cfg)
    citizen.now = WINDOW_END - timedelta(minutes=1)
    await citizen.send(button=f"reopen:{ticket.id}")
    citizen.now = WINDOW_END + timedelta(hours=3)
    (expired,) = await citizen.send(text="Vẫn chưa sửa xong đâu ạ")
    assert "1022" in expired.text
    assert (await reload(db, ticket)).state == TicketState.RESOLVED


async def test_reopen_of_an_open_ticket_says_there_is_nothing_to_reopen(
    citizen: Citizen, db: Database, cfg: Config
) -> None:
    ticket = await open_one(db, cfg)
    (answer,) = await citizen.send(button=f"reopen:{ticket.id}")
    assert "không cần mở lại" in answer.text
    (rate_early,) = await citizen.send(button=f"rate:{ticket.id}:5")
    assert "khi cơ quan gửi kết quả" in rate_early.text


# --- the sweeper closes after the window -----------------------------------------------------


async def test_sweeper_closes_resolved_tickets_once_after_the_window(
    db: Database, cfg: Config
) -> None:
    ticket = await resolve_one(db, cfg)
    still_open = await sweeper.sweep_once(db=db, config=cfg, now=WINDOW_END)
    assert still_open.milestones["closed"] == 0
    assert (await reload(db, ticket)).state == TicketState.RESOLVED
    later = WINDOW_END + timedelta(minutes=5)
    first = await sweeper.sweep_once(db=db, config=cfg, now=later)
    assert first.milestones["closed"] == 1
    fresh = await reload(db, ticket)
    assert fresh.state == TicketState.CLOSED and fresh.closed_at == WINDOW_END
    again = await sweeper.sweep_once(db=db, config=cfg, now=later + timedelta(days=1))
    assert again.milestones["closed"] == 0
    assert (await event_kinds(db, ticket)).count("closed") == 1


async def test_sweeper_closes_in_batches(db: Database, cfg: Config) -> None:
    resolved = [await resolve_one(db, cfg) for _ in range(5)]
    result = await sweeper.sweep_once(db=db, config=cfg, now=WINDOW_END + timedelta(1), batch=2)
    assert result.milestones["closed"] == 5
    for ticket in resolved:
        assert (await reload(db, ticket)).state == TicketState.CLOSED


# --- end to end through the Telegram emulator ------------------------------------------------


@pytest.fixture
async def bot(config: Config, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_bot(config, f"sqlite+aiosqlite:///{tmp_path / 'rating.db'}") as harness:
        yield harness


async def resolve_through_the_group(bot: Harness, code: str, answer: str) -> dict[str, object]:
    """Have Sở Xây dựng resolve the ticket from its group; return the citizen's notice."""
    group = bot.agency_chat("xay-dung")
    card = await bot.emu.wait_for_bot_message(group, lambda m: code in m["text"])
    await bot.emu.press_button_labelled(
        group, card["message_id"], "✔️ Trả lời, hoàn thành", AGENCY_USER
    )
    await bot.reply(group)  # asks for the answer
    await bot.emu.send_text(group, answer, AGENCY_USER)
    await bot.reply(group)  # "sent to the citizen"
    return await bot.emu.wait_for_bot_message(CITIZEN, lambda m: "đã được giải quyết" in m["text"])


async def test_resolve_then_rate_five_end_to_end(bot: Harness) -> None:
    code = await file_complaint(bot)
    notice = await resolve_through_the_group(bot, code, "Đã vá ổ gà ngày 25/11.")
    await bot.press(notice, "⭐5")
    thanks = await bot.reply()
    assert "Cảm ơn bạn đã đánh giá" in thanks["text"] and "5/5 sao" in thanks["text"]
    assert (await ticket_of(bot, code)).rating == 5
    # Another citizen cannot rate it, even with the right button data.
    ticket = await ticket_of(bot, code)
    await bot.emu.send_text(OTHER_CITIZEN, "/start")
    await bot.reply(OTHER_CITIZEN)
    menu = bot.emu.bot_messages(OTHER_CITIZEN)[-1]
    await bot.emu.press_button(
        OTHER_CITIZEN, menu["message_id"], f"rate:{ticket.id}:1", strict=False
    )
    refused = await bot.reply(OTHER_CITIZEN)
    assert "Only the person who filed" in refused["text"]
    assert (await ticket_of(bot, code)).rating == 5


async def test_resolve_then_reopen_reaches_the_agency_with_a_new_due_date(bot: Harness) -> None:
    code = await file_complaint(bot)
    old_due = (await ticket_of(bot, code)).resolve_due_at
    notice = await resolve_through_the_group(bot, code, "Đã vá ổ gà.")
    bot.clock.advance(days=2)
    await bot.press(notice, "mở lại")
    prompt = await bot.reply()
    assert "vì sao phản ánh" in prompt["text"]
    await bot.emu.send_text(CITIZEN, "Ổ gà vẫn còn nguyên, chưa ai đến sửa")
    done = await bot.reply()
    ticket = await ticket_of(bot, code)
    new_due = fmt_datetime(ticket.resolve_due_at)
    assert ticket.state == TicketState.ACCEPTED and ticket.resolve_due_at != old_due
    assert "Đã mở lại" in done["text"] and new_due in done["text"]
    group = bot.agency_chat("xay-dung")
    reopened = await bot.emu.wait_for_bot_message(group, lambda m: "mở lại" in m["text"])
    assert code in reopened["text"] and "chưa ai đến sửa" in reopened["text"]
    card = await bot.emu.wait_for_bot_message(
        group, lambda m: code in m["text"] and bool(m.get("reply_markup"))
    )
    assert new_due in card["text"]
    labels = [b["text"] for row in card["reply_markup"]["inline_keyboard"] for b in row]
    assert "✔️ Trả lời, hoàn thành" in labels
    # The agency can answer again from the new card.
    await bot.emu.press_button_labelled(
        group, card["message_id"], "✔️ Trả lời, hoàn thành", AGENCY_USER
    )
    await bot.reply(group)
    await bot.emu.send_text(group, "Đã trải nhựa lại toàn bộ đoạn đường.", AGENCY_USER)
    again = await bot.emu.wait_for_bot_message(CITIZEN, lambda m: "trải nhựa" in m["text"])
    assert "⭐" in again["text"]
    assert (await ticket_of(bot, code)).state == TicketState.RESOLVED
