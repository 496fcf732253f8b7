"""Agency and operator actions from their group chats: through the inbox (dialog state in the
database, both databases) and end to end through the Telegram emulator."""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from bot.chat import Attachment, Incoming, Reply
from bot.config import Config
from bot.domain.triage import Classifier
from bot.inbox import Inbox
from handlers import buttons, followup
from handlers.context import Context
from storage.db import Database
from storage.models import Ticket, TicketState
from tests.harness import AGENCY_USER, CITIZEN, Harness, running_bot
from tests.test_tickets import (
    CITIZEN_CHAT,
    MONDAY_9,
    agency_chat,
    at,
    event_kinds,
    open_one,
    reload,
    wired,
)

STAFF = "701"
OTHER_STAFF = "702"
OPERATOR = "601"
OPERATORS_CHAT = -1001  # the operators' group of `wired()`
_updates = itertools.count(1)


@pytest.fixture
def cfg(config: Config) -> Config:
    return wired(config)


class Chats:
    """Speak in the group chats through the real inbox, at a clock the test sets."""

    def __init__(self, db: Database, config: Config) -> None:
        self.db = db
        self.config = config
        self.now = MONDAY_9
        self.inbox = Inbox(
            db=db, config=config, classifier=Classifier.from_config(config), clock=self.clock
        )

    def clock(self) -> datetime:
        return self.now

    async def send(
        self,
        chat: str,
        *,
        user: str = STAFF,
        text: str = "",
        button: str | None = None,
        private: bool = False,
    ) -> list[Reply]:
        incoming = Incoming(
            channel="telegram",
            chat_id=chat,
            user_id=user,
            update_id=str(next(_updates)),
            text=text,
            callback_data=button,
            is_private=private,
            user_name="Cán bộ Lê Văn Bình",
        )
        return await self.inbox.handle(incoming)

    async def press(self, agency_id: str, ticket: Ticket, action: str, **kw: str) -> list[Reply]:
        return await self.send(
            agency_chat(self.config, agency_id), button=f"ag:{ticket.id}:{action}", **kw
        )

    async def route(self, ticket: Ticket, agency_id: str) -> list[Reply]:
        return await self.send(
            str(OPERATORS_CHAT), user=OPERATOR, button=f"op:{ticket.id}:route:{agency_id}"
        )


@pytest.fixture
def chats(db: Database, cfg: Config) -> Chats:
    return Chats(db, cfg)


def to(replies: list[Reply], chat: str | int) -> list[str]:
    """Texts of the replies addressed to `chat` (None: the chat that spoke)."""
    return [r.text for r in replies if r.chat_id == str(chat)]


def own(replies: list[Reply]) -> list[str]:
    """Texts of the replies to the chat that spoke."""
    return [r.text for r in replies if r.chat_id is None]


# --- accept ----------------------------------------------------------------------------------


async def test_accept_button_accepts_and_tells_the_citizen(
    chats: Chats, db: Database, cfg: Config
) -> None:
    ticket = await open_one(db, cfg)
    chats.now = at(23, 10)
    replies = await chats.press("xay-dung", ticket, "accept")
    assert "Đã tiếp nhận phản ánh" in own(replies)[0] and "09:00 27/11/2026" in own(replies)[0]
    assert "đã tiếp nhận phản ánh" in to(replies, CITIZEN_CHAT)[0]
    fresh = await reload(db, ticket)
    assert fresh.state == TicketState.ACCEPTED and fresh.accepted_at == at(23, 10)
    again = await chats.press("xay-dung", ticket, "accept")
    assert "đã được tiếp nhận trước đó" in own(again)[0]


async def test_another_agency_is_refused_and_logged(
    chats: Chats, db: Database, cfg: Config, caplog: pytest.LogCaptureFixture
) -> None:
    ticket = await open_one(db, cfg)
    with caplog.at_level(logging.WARNING, logger="handlers.agency"):
        replies = await chats.press("nn-mt", ticket, "accept")
    assert "không do cơ quan này xử lý" in own(replies)[0]
    assert any("refused accept" in r.getMessage() for r in caplog.records)
    assert (await reload(db, ticket)).state == TicketState.ROUTED
    # A staff button pressed in a citizen's private chat is refused by the router too.
    private = await chats.send(CITIZEN_CHAT, user=CITIZEN_CHAT, button=f"ag:{ticket.id}:accept")
    assert "không có quyền" in own(private)[0]


async def test_garbage_and_missing_tickets_get_a_sensible_answer(
    chats: Chats, db: Database, cfg: Config
) -> None:
    chat = agency_chat(cfg, "xay-dung")
    assert "thao tác cũ" in own(await chats.send(chat, button="ag:xyz"))[0]
    assert "thao tác cũ" in own(await chats.send(chat, button="ag:5:dance"))[0]
    assert "Không tìm thấy" in own(await chats.send(chat, button="ag:99999:accept"))[0]


# --- return with a reason --------------------------------------------------------------------


async def test_return_asks_for_a_reason_from_the_same_staff_member(
    chats: Chats, db: Database, cfg: Config
) -> None:
    ticket = await open_one(db, cfg)
    chat = agency_chat(cfg, "xay-dung")
    prompt = await chats.press("xay-dung", ticket, "return")
    assert "lý do trả lại" in own(prompt)[0] and ticket.code in own(prompt)[0]
    assert prompt[0].extra.get("force_reply") is True
    # Chatter of a colleague is not the reason.
    assert await chats.send(chat, user=OTHER_STAFF, text="Anh ơi họp lúc 2 giờ nhé") == []
    assert (await reload(db, ticket)).state == TicketState.ROUTED
    replies = await chats.send(chat, text="Tuyến đường này do UBND phường quản lý")
    assert "Đã trả lại phản ánh" in own(replies)[0]
    operators = to(replies, OPERATORS_CHAT)
    assert "trả lại phản ánh" in operators[0] and "do UBND phường quản lý" in operators[0]
    assert any("Cần phân loại" in text for text in operators)  # the card, to route it again
    card = next(r for r in replies if "Cần phân loại" in r.text)
    data = [b.data for row in card.buttons for b in row]
    assert f"op:{ticket.id}:pick" in data
    fresh = await reload(db, ticket)
    assert fresh.state == TicketState.TRIAGE and fresh.returns_count == 1
    assert fresh.agency_id is None
    # The dialog is over: the next message is chatter again.
    assert await chats.send(chat, text="cảm ơn") == []


async def test_cancel_leaves_the_pending_action(chats: Chats, db: Database, cfg: Config) -> None:
    ticket = await open_one(db, cfg)
    chat = agency_chat(cfg, "xay-dung")
    await chats.press("xay-dung", ticket, "resolve")
    cancelled = await chats.send(chat, text="/huy")
    assert "Đã hủy" in own(cancelled)[0]
    assert await chats.send(chat, text="Đã xử lý xong") == []
    assert (await reload(db, ticket)).state == TicketState.ROUTED


async def test_passed_around_goes_to_operators_and_supervisor_and_the_next_owner_is_final(
    chats: Chats, db: Database, cfg: Config
) -> None:
    ticket = await open_one(db, cfg)
    await chats.press("xay-dung", ticket, "return")
    await chats.send(agency_chat(cfg, "xay-dung"), text="Không thuộc thẩm quyền")
    routed = await chats.route(ticket, "nn-mt")
    assert "Đã chuyển phản ánh" in own(routed)[0]
    assert any(ticket.code in text for text in to(routed, agency_chat(cfg, "nn-mt")))
    assert "đã được chuyển tới" in to(routed, CITIZEN_CHAT)[0]
    await chats.press("nn-mt", ticket, "return", user="702")
    second = await chats.send(agency_chat(cfg, "nn-mt"), user="702", text="Việc của Sở Xây dựng")
    flagged_to_operators = [t for t in to(second, OPERATORS_CHAT) if "Đùn đẩy" in t]
    flagged_to_supervisor = [t for t in to(second, agency_chat(cfg, "vp-ubnd")) if "Đùn đẩy" in t]
    assert flagged_to_operators and flagged_to_supervisor
    assert (await reload(db, ticket)).passed_around is True
    final = await chats.route(ticket, "xay-dung")
    assert "không được trả lại" in own(final)[0]
    card = next(r for r in final if r.chat_id == agency_chat(cfg, "xay-dung") and r.buttons)
    labels = [b.text for row in card.buttons for b in row]
    assert not any("Trả lại" in label for label in labels)
    refused = await chats.press("xay-dung", ticket, "return")
    assert "không thể trả lại" in own(refused)[0]
    assert "passed_around" in await event_kinds(db, ticket)


# --- ask the citizen, and the answer ---------------------------------------------------------


async def test_ask_pauses_and_the_citizens_next_message_answers(
    chats: Chats, db: Database, cfg: Config
) -> None:
    ticket = await open_one(db, cfg)
    chats.now = at(25, 10)
    await chats.press("xay-dung", ticket, "ask")
    asked = await chats.send(agency_chat(cfg, "xay-dung"), text="Ổ gà ở trước số nhà nào?")
    assert "Đã gửi câu hỏi" in own(asked)[0]
    assert "Ổ gà ở trước số nhà nào?" in to(asked, CITIZEN_CHAT)[0]
    assert (await reload(db, ticket)).state == TicketState.WAITING_CITIZEN
    # The citizen's next ordinary message answers it (handlers/followup.py).
    async with db.transaction() as session:
        ctx = Context(
            session=session,
            config=cfg,
            classifier=chats.inbox.classifier,
            now=at(26, 10),
        )
        photo = Attachment("photo", "file-1")
        answer = Incoming(
            channel="telegram",
            chat_id=CITIZEN_CHAT,
            user_id=CITIZEN_CHAT,
            text="Trước số nhà 12, gần chợ",
            attachments=(photo,),
        )
        replies = await followup.answer_question(ctx, answer)
        assert await followup.answer_question(ctx, answer) is None  # nothing waits any more
    assert replies is not None
    assert "Đã chuyển câu trả lời" in own(replies)[0] and "09:00 30/11/2026" in own(replies)[0]
    agency_texts = to(replies, agency_chat(cfg, "xay-dung"))
    assert "Trước số nhà 12, gần chợ" in agency_texts[0]
    assert any(r.attachments == (photo,) for r in replies)
    fresh = await reload(db, ticket)
    assert fresh.state == TicketState.ACCEPTED and fresh.resolve_due_at == at(30, 9)


async def test_followup_leaves_commands_and_other_dialogs_alone(db: Database, cfg: Config) -> None:
    ticket = await open_one(db, cfg)
    async with db.transaction() as session:
        ctx = Context(session=session, config=cfg, classifier=None, now=at(25, 10))  # type: ignore[arg-type]
        command = Incoming(channel="telegram", chat_id=CITIZEN_CHAT, user_id="1", text="/start")
        assert await followup.answer_question(ctx, command) is None
        ctx.state = "complaint:text"
        text = Incoming(channel="telegram", chat_id=CITIZEN_CHAT, user_id="1", text="abc")
        assert await followup.answer_question(ctx, text) is None
    assert (await reload(db, ticket)).state == TicketState.ROUTED


# --- resolve ---------------------------------------------------------------------------------


async def test_resolve_sends_the_answer_to_the_citizen(
    chats: Chats, db: Database, cfg: Config
) -> None:
    ticket = await open_one(db, cfg, language="en")
    chats.now = at(25, 10)
    await chats.press("xay-dung", ticket, "resolve")
    replies = await chats.send(
        agency_chat(cfg, "xay-dung"), text="Đã vá xong <b>ổ gà</b> ngày 25/11."
    )
    assert "Đã gửi kết quả" in own(replies)[0]
    (citizen,) = to(replies, CITIZEN_CHAT)
    assert "has been resolved" in citizen
    assert "Đã vá xong &lt;b&gt;ổ gà&lt;/b&gt;" in citizen  # staff text is escaped too
    fresh = await reload(db, ticket)
    assert fresh.state == TicketState.RESOLVED
    assert fresh.answer == "Đã vá xong <b>ổ gà</b> ngày 25/11."


# --- operators -------------------------------------------------------------------------------


async def test_operator_picks_from_the_directory_and_routes(
    chats: Chats, db: Database, cfg: Config
) -> None:
    ticket = await open_one(db, cfg, category="khac", agency="triage")
    listing = await chats.send(str(OPERATORS_CHAT), user=OPERATOR, button=f"op:{ticket.id}:pick")
    data = [b.data for row in listing[0].buttons for b in row]
    assert len(data) == len(cfg.agencies)
    assert f"op:{ticket.id}:route:cong-an" in data
    unknown = await chats.route(ticket, "so-khong-co")
    assert "không có trong danh mục" in own(unknown)[0]
    chats.now = at(23, 10)
    routed = await chats.route(ticket, "cong-an")
    assert "Công an tỉnh" in own(routed)[0]
    fresh = await reload(db, ticket)
    assert fresh.state == TicketState.ROUTED and fresh.agency_id == "cong-an"
    assert fresh.accept_due_at == at(25, 10)
    assert fresh.next_check_at == at(25, 10)
    assert (await event_kinds(db, ticket))[-1] == "routed"


def test_card_buttons_follow_the_state() -> None:
    ticket = Ticket(
        id=42,
        code="PA-2026-000042",
        channel="telegram",
        chat_id="1",
        category_id="giao-thong",
        state=TicketState.ROUTED,
        agency_id="xay-dung",
        suggestions=[["giao-thong", "xay-dung", 0.7], ["khac", "triage", 0.2]],
    )
    data = [b.data for row in buttons.agency_card_buttons(ticket) for b in row]
    assert data == ["ag:42:accept", "ag:42:return", "ag:42:ask", "ag:42:resolve"]
    ticket.deemed_accepted = True
    assert "ag:42:return" not in [
        b.data for row in buttons.agency_card_buttons(ticket) for b in row
    ]
    ticket.state = TicketState.RESOLVED
    assert buttons.agency_card_buttons(ticket) == ()
    ticket.state = TicketState.TRIAGE
    ticket.agency_id = None
    op = [b.data for row in buttons.operator_card_buttons(ticket) for b in row]
    assert op == ["op:42:route:xay-dung", "op:42:pick"]  # "triage" is not an agency
    assert all(len(d.encode()) <= 64 for d in op)


# --- end to end through the Telegram emulator ------------------------------------------------


@pytest.fixture
async def bot(config: Config, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_bot(config, f"sqlite+aiosqlite:///{tmp_path / 'agency.db'}") as harness:
        yield harness


async def test_agency_accepts_and_returns_from_its_telegram_group(bot: Harness) -> None:
    from tests.test_e2e_citizen import file_complaint

    code = await file_complaint(bot)
    group = bot.agency_chat("xay-dung")
    card = await bot.emu.wait_for_bot_message(group, lambda m: code in m["text"])
    await bot.emu.press_button_labelled(group, card["message_id"], "✅ Tiếp nhận", AGENCY_USER)
    confirmation = await bot.reply(group)
    assert "Đã tiếp nhận phản ánh" in confirmation["text"]
    told = await bot.reply(CITIZEN)
    assert "đã tiếp nhận phản ánh" in told["text"] and code in told["text"]
    await bot.emu.press_button_labelled(group, card["message_id"], "↩️ Trả lại", AGENCY_USER)
    refused = await bot.reply(group)
    assert "đã được tiếp nhận nên không thể trả lại" in refused["text"]
    await bot.emu.press_button_labelled(group, card["message_id"], "❓ Hỏi người dân", AGENCY_USER)
    prompt = await bot.reply(group)
    assert "câu hỏi gửi người phản ánh" in prompt["text"]
    await bot.emu.send_text(group, "Ổ gà cụ thể ở đoạn nào?", AGENCY_USER)
    question = await bot.reply(CITIZEN)
    assert "Ổ gà cụ thể ở đoạn nào?" in question["text"]
    assert "Đã gửi câu hỏi" in (await bot.reply(group))["text"]


async def test_operator_reroutes_from_a_silent_agency(
    chats: Chats, db: Database, cfg: Config
) -> None:
    ticket = await open_one(db, cfg)
    await chats.press("xay-dung", ticket, "accept")
    chats.now = at(27, 10)
    moved = await chats.route(ticket, "nn-mt")
    assert "Sở Nông nghiệp và Môi trường" in own(moved)[0]
    (told,) = to(moved, agency_chat(cfg, "xay-dung"))
    assert "không cần xử lý tiếp" in told
    assert any(ticket.code in text for text in to(moved, agency_chat(cfg, "nn-mt")))
    fresh = await reload(db, ticket)
    assert fresh.agency_id == "nn-mt" and fresh.state == TicketState.ROUTED
    assert fresh.resolve_due_at == at(2, 10, month=12)
    assert (await event_kinds(db, ticket))[-1] == "rerouted"
    # The old agency's buttons no longer act on it.
    refused = await chats.press("xay-dung", ticket, "resolve")
    assert "không do cơ quan này xử lý" in own(refused)[0]
