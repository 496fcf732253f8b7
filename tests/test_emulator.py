"""End-to-end tests: the real PTB Application over AiohttpRequest against the Telegram emulator."""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
import zlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.channels.aiohttp_request import AiohttpRequest
from bot.channels.emulator import (
    TelegramEmulator,
    detect_entities,
    image_size,
    parse_html,
    parse_markdown_v2,
)

TOKEN = "7770001:AAF-emulator_test-token_xyz"
CITIZEN = 1001
OPERATOR = 1002
GROUP = -100555


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22 warns (an error here) when reading retry_after as int unless opted in.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def emulator() -> AsyncIterator[TelegramEmulator]:
    """A running emulator with a citizen, an operator and an operators' group."""
    async with TelegramEmulator(token=TOKEN) as emu:
        await emu.register_private_chat(CITIZEN, "Lan", username="lan_nguyen", last_name="Nguyễn")
        await emu.register_private_chat(OPERATOR, "Minh", username="minh_op")
        await emu.register_group(GROUP, "Tổ điều phối 1022", members=[OPERATOR])
        yield emu


def build_application(emu: TelegramEmulator) -> Application[Any, Any, Any, Any, Any, Any]:
    """Build the real Application pointed at the emulator, recording handler errors."""
    app = (
        ApplicationBuilder()
        .token(emu.token)
        .base_url(emu.base_url)
        .base_file_url(emu.base_file_url)
        .request(AiohttpRequest())
        .get_updates_request(AiohttpRequest(connection_pool_size=1))
        .build()
    )
    errors: list[BaseException] = []
    app.bot_data["errors"] = errors

    async def record_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert context.error is not None
        errors.append(context.error)

    app.add_error_handler(record_error)
    return app


@pytest.fixture
def app(emulator: TelegramEmulator) -> Application[Any, Any, Any, Any, Any, Any]:
    """A built (not started) Application talking to the emulator."""
    return build_application(emulator)


@contextlib.asynccontextmanager
async def polling(
    app: Application[Any, Any, Any, Any, Any, Any],
) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """Run the Application with long polling; fail if a handler raised."""
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=timedelta(seconds=1))
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()
    assert app.bot_data["errors"] == []


@contextlib.asynccontextmanager
async def bot_for(emu: TelegramEmulator, token: str = TOKEN) -> AsyncIterator[Bot]:
    """A bare initialized PTB Bot on AiohttpRequest, pointed at the emulator."""
    bot = Bot(
        token,
        base_url=emu.base_url,
        base_file_url=emu.base_file_url,
        request=AiohttpRequest(),
        get_updates_request=AiohttpRequest(connection_pool_size=1),
    )
    async with bot:
        yield bot


def png(width: int, height: int) -> bytes:
    """Return a valid RGB PNG image of the given size."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + b"\xc8\x10\x2e" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


# -- conversations through the real Application --------------------------------------------------


async def test_command_reaches_handler_and_reply_is_recorded(
    emulator: TelegramEmulator, app: Application[Any, Any, Any, Any, Any, Any]
) -> None:
    seen: list[str] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.effective_user is not None
        seen.append(update.effective_user.username or "")
        await update.message.reply_text(
            f"Xin chào <b>{update.effective_user.first_name}</b>!", parse_mode="HTML"
        )

    app.add_handler(CommandHandler("start", start))
    async with polling(app):
        sent = await emulator.send_text(CITIZEN, "/start")
        reply = await emulator.wait_for_bot_message(CITIZEN)

    assert sent["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert seen == ["lan_nguyen"]
    assert reply["text"] == "Xin chào Lan!"
    assert reply["source_text"] == "Xin chào <b>Lan</b>!"
    assert reply["entities"] == [{"type": "bold", "offset": 9, "length": 3}]
    history = emulator.history(CITIZEN)
    assert [(entry["from_bot"], entry["text"]) for entry in history] == [
        (False, "/start"),
        (True, "Xin chào Lan!"),
    ]


async def test_text_message_reaches_message_handler_in_vietnamese(
    emulator: TelegramEmulator, app: Application[Any, Any, Any, Any, Any, Any]
) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(f"Đã nhận: {update.message.text}", do_quote=True)

    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    async with polling(app):
        await emulator.send_text(CITIZEN, "Đèn đường hỏng ở phường Tam Hiệp 💡")
        reply = await emulator.wait_for_bot_message(CITIZEN)

    assert reply["text"] == "Đã nhận: Đèn đường hỏng ở phường Tam Hiệp 💡"
    assert reply["reply_to_message_id"] == 1


async def test_button_press_reaches_callback_handler_and_answer_is_recorded(
    emulator: TelegramEmulator, app: Application[Any, Any, Any, Any, Any, Any]
) -> None:
    async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        keyboard = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton("Xác nhận", callback_data="confirm:T-0042")],
                [InlineKeyboardButton("Hủy", callback_data="cancel:T-0042")],
            ]
        )
        await update.message.reply_text("Gửi phản ánh T-0042?", reply_markup=keyboard)

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("Đã gửi phản ánh", show_alert=True)
        await query.edit_message_text(f"Đã chọn: {query.data}")

    app.add_handler(CommandHandler("gui", ask))
    app.add_handler(CallbackQueryHandler(pressed))
    async with polling(app):
        await emulator.send_text(CITIZEN, "/gui")
        question = await emulator.wait_for_bot_message(CITIZEN)
        query = await emulator.press_button(CITIZEN, question["message_id"], "confirm:T-0042")
        answer = await emulator.wait_for_callback_answer(query["id"])
        edited = await emulator.wait_for_edit(CITIZEN, question["message_id"])

    assert answer["text"] == "Đã gửi phản ánh"
    assert answer["show_alert"] is True
    assert edited["text"] == "Đã chọn: confirm:T-0042"
    # editMessageText without reply_markup drops the keyboard, as Telegram does.
    assert edited["reply_markup"] is None
    assert edited["edits"] == 1


async def test_press_button_refuses_data_the_message_does_not_show(
    emulator: TelegramEmulator,
) -> None:
    async with bot_for(emulator) as bot:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Có", callback_data="yes")]])
        sent = await bot.send_message(CITIZEN, "Chọn", reply_markup=keyboard)
    with pytest.raises(ValueError, match="no button"):
        await emulator.press_button(CITIZEN, sent.message_id, "no")
    query = await emulator.press_button_labelled(CITIZEN, sent.message_id, "Có")
    assert query["data"] == "yes"


async def test_photo_from_user_is_downloadable_by_bot(
    emulator: TelegramEmulator, app: Application[Any, Any, Any, Any, Any, Any]
) -> None:
    image = png(400, 300)
    downloaded: list[bytes] = []

    async def on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        largest = update.message.photo[-1]
        file = await largest.get_file()
        downloaded.append(bytes(await file.download_as_bytearray()))
        await update.message.reply_text(f"Ảnh {largest.width}x{largest.height}")

    app.add_handler(MessageHandler(filters.PHOTO, on_photo))
    async with polling(app):
        sent = await emulator.send_photo(CITIZEN, image, caption="Ổ gà trên đường")
        reply = await emulator.wait_for_bot_message(CITIZEN)

    assert downloaded == [image]
    assert reply["text"] == "Ảnh 400x300"
    assert sent["caption"] == "Ổ gà trên đường"
    assert [(size["width"], size["height"]) for size in sent["photo"]] == [
        (90, 68),
        (320, 240),
        (400, 300),
    ]


async def test_document_from_user_is_downloadable_by_bot(
    emulator: TelegramEmulator, app: Application[Any, Any, Any, Any, Any, Any]
) -> None:
    content = b"%PDF-1.7\n" + bytes(range(256)) * 40
    received: list[tuple[str | None, str | None, bytes]] = []

    async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.document is not None
        document = update.message.document
        data = await (await document.get_file()).download_as_bytearray()
        received.append((document.file_name, document.mime_type, bytes(data)))

    app.add_handler(MessageHandler(filters.Document.ALL, on_document))
    async with polling(app):
        await emulator.send_document(CITIZEN, content, "Đơn kiến nghị.pdf")
        await emulator.wait_until(lambda: bool(received))

    assert received == [("Đơn kiến nghị.pdf", "application/pdf", content)]


async def test_contact_location_and_sticker_arrive(
    emulator: TelegramEmulator, app: Application[Any, Any, Any, Any, Any, Any]
) -> None:
    got: list[Any] = []

    async def on_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        assert message is not None
        if message.contact is not None:
            got.append(("contact", message.contact.phone_number, message.contact.user_id))
        elif message.location is not None:
            got.append(("location", message.location.latitude, message.location.longitude))
        elif message.sticker is not None:
            got.append(("sticker", message.sticker.emoji))

    app.add_handler(MessageHandler(filters.ALL, on_message))
    async with polling(app):
        await emulator.share_contact(CITIZEN, "+84912345678", "Lan")
        await emulator.share_location(CITIZEN, 10.9574, 106.8427)
        await emulator.send_sticker(CITIZEN)
        await emulator.wait_until(lambda: len(got) == 3)

    assert got == [
        ("contact", "+84912345678", CITIZEN),
        ("location", 10.9574, 106.8427),
        ("sticker", "👍"),
    ]


async def test_updates_are_delivered_once_with_offset_confirmation(
    emulator: TelegramEmulator, app: Application[Any, Any, Any, Any, Any, Any]
) -> None:
    handled: list[int] = []

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        handled.append(update.update_id)

    app.add_handler(MessageHandler(filters.TEXT, record))
    async with polling(app):
        for number in range(6):
            await emulator.send_text(CITIZEN, f"tin {number}")
            if number % 2:
                await asyncio.sleep(0.01)
        await emulator.wait_idle()

    assert len(handled) == 6
    assert sorted(handled) == list(range(handled[0], handled[0] + 6))
    delivered = emulator.delivered_update_ids()
    assert sorted(delivered) == sorted(set(delivered)) == sorted(handled)
    assert emulator.pending_update_count == 0


async def test_blocked_chat_sends_my_chat_member_and_refuses_messages(
    emulator: TelegramEmulator, app: Application[Any, Any, Any, Any, Any, Any]
) -> None:
    statuses: list[str] = []

    async def member(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.my_chat_member is not None
        statuses.append(update.my_chat_member.new_chat_member.status)

    app.add_handler(ChatMemberHandler(member, ChatMemberHandler.MY_CHAT_MEMBER))
    async with polling(app):
        await emulator.block_bot(CITIZEN)
        await emulator.wait_until(lambda: statuses == ["kicked"])
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await app.bot.send_message(CITIZEN, "Phiếu T-0042 đã được xử lý")
        await emulator.unblock_bot(CITIZEN)
        await emulator.wait_until(lambda: statuses == ["kicked", "member"])
        sent = await app.bot.send_message(CITIZEN, "Phiếu T-0042 đã được xử lý")

    assert sent.chat.id == CITIZEN


async def test_handler_sending_to_blocked_user_gets_forbidden(
    emulator: TelegramEmulator, app: Application[Any, Any, Any, Any, Any, Any]
) -> None:
    async def notify_operator(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await context.bot.send_message(GROUP, "Có phản ánh mới")

    app.add_handler(MessageHandler(filters.TEXT, notify_operator))
    await emulator.block_bot(GROUP)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=timedelta(seconds=1))
        await emulator.send_text(CITIZEN, "Rác chưa được thu gom")
        await emulator.wait_until(lambda: bool(app.bot_data["errors"]))
        await app.updater.stop()
        await app.stop()
    [error] = app.bot_data["errors"]
    assert isinstance(error, Forbidden)
    assert "kicked from the group chat" in error.message


# -- what the Bot API refuses --------------------------------------------------------------------


async def test_send_message_raises_retry_after_on_429(emulator: TelegramEmulator) -> None:
    async with bot_for(emulator) as bot:
        emulator.fail_next("sendMessage", 429, retry_after=7)
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(CITIZEN, "Xin chào")
        assert caught.value.retry_after == timedelta(seconds=7)
        assert (await bot.send_message(CITIZEN, "Xin chào")).text == "Xin chào"
    record = emulator.requests("sendMessage")[0]
    assert record.status == 429
    assert record.response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }


async def test_send_message_raises_network_error_on_server_errors(
    emulator: TelegramEmulator,
) -> None:
    async with bot_for(emulator) as bot:
        emulator.fail_next("sendMessage", 500)
        emulator.fail_next("*", 502, count=2)
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_message(CITIZEN, "a")
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(CITIZEN, "b")
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.get_me()
        assert (await bot.send_message(CITIZEN, "c")).text == "c"


async def test_send_message_raises_timed_out_when_answer_is_late(
    emulator: TelegramEmulator,
) -> None:
    async with bot_for(emulator) as bot:
        emulator.delay_next("sendMessage", 0.5)
        with pytest.raises(TimedOut):
            await bot.send_message(CITIZEN, "a", read_timeout=0.1)


async def test_send_message_raises_network_error_when_connection_drops(
    emulator: TelegramEmulator,
) -> None:
    async with bot_for(emulator) as bot:
        emulator.drop_next("sendMessage")
        with pytest.raises(NetworkError, match="ServerDisconnected"):
            await bot.send_message(CITIZEN, "a")
    assert emulator.bot_messages(CITIZEN) == []


async def test_send_message_limits_text_to_4096_characters(emulator: TelegramEmulator) -> None:
    async with bot_for(emulator) as bot:
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(CITIZEN, "ă" * 4097)
        sent = await bot.send_message(CITIZEN, "ă" * 4096)
        # The limit applies to the text after markup is parsed.
        await bot.send_message(CITIZEN, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
    assert len(sent.text or "") == 4096


async def test_send_message_rejects_empty_text(emulator: TelegramEmulator) -> None:
    async with bot_for(emulator) as bot:
        with pytest.raises(BadRequest, match="Message text is empty"):
            await bot.send_message(CITIZEN, "")
        with pytest.raises(BadRequest, match="Message text is empty"):
            await bot.send_message(CITIZEN, "<b> </b>", parse_mode="HTML")


@pytest.mark.parametrize(
    ("html", "reason"),
    # Offsets are in UTF-8 bytes, as Telegram reports them.
    [
        ("Giá <b>50.000đ", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<div>Thông báo</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("Nếu 3 < 5 thì", 'Unsupported start tag "" at byte offset 8'),
        ("<b>đậm</i>", 'Unmatched end tag at byte offset 9, expected "</b>", found "</i>"'),
        ("Hết</b>", "Unexpected end tag at byte offset 5"),
        ('<span class="x">x</span>', 'Tag "span" must have class "tg-spoiler"'),
        ("<br/>dòng", 'Unsupported start tag "br/"'),
    ],
)
async def test_send_message_rejects_malformed_html(
    emulator: TelegramEmulator, html: str, reason: str
) -> None:
    async with bot_for(emulator) as bot:
        with pytest.raises(BadRequest) as caught:
            await bot.send_message(CITIZEN, html, parse_mode="HTML")
    # PTB capitalizes Telegram's description ("Bad Request: " stripped), lowercasing the rest.
    assert caught.value.message.startswith("Can't parse entities: ")
    assert reason.lower() in caught.value.message.lower()


async def test_send_message_parses_supported_html(emulator: TelegramEmulator) -> None:
    html = (
        '<b>Phiếu</b> <i>T-1</i> <u>u</u> <s>s</s> <a href="https://dichvucong.gov.vn">link</a> '
        '<code>x&lt;y</code> <pre><code class="language-python">p</code></pre> '
        '<tg-spoiler>a</tg-spoiler> <span class="tg-spoiler">b</span> '
        "<blockquote>q</blockquote> &amp;&quot;&#272;&#x1ea1;"
    )
    async with bot_for(emulator) as bot:
        sent = await bot.send_message(CITIZEN, html, parse_mode="HTML")
    assert sent.text == 'Phiếu T-1 u s link x<y p a b q &"Đạ'
    kinds = [(entity.type, entity.offset, entity.length) for entity in sent.entities]
    assert kinds == [
        ("bold", 0, 5),
        ("italic", 6, 3),
        ("underline", 10, 1),
        ("strikethrough", 12, 1),
        ("text_link", 14, 4),
        ("code", 19, 3),
        ("pre", 23, 1),
        ("spoiler", 25, 1),
        ("spoiler", 27, 1),
        ("blockquote", 29, 1),
    ]
    assert sent.entities[4].url == "https://dichvucong.gov.vn"
    assert sent.entities[6].language == "python"


async def test_send_message_rejects_unescaped_markdown_v2(emulator: TelegramEmulator) -> None:
    async with bot_for(emulator) as bot:
        with pytest.raises(BadRequest, match="(?i)character '.' is reserved"):
            await bot.send_message(CITIZEN, "Hạn xử lý: 3 ngày.", parse_mode="MarkdownV2")
        sent = await bot.send_message(CITIZEN, r"*Hạn* 3 ngày\.", parse_mode="MarkdownV2")
    assert sent.text == "Hạn 3 ngày."
    assert sent.entities[0].type == "bold"


async def test_send_message_rejects_callback_data_over_64_bytes(
    emulator: TelegramEmulator,
) -> None:
    async with bot_for(emulator) as bot:
        too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="đ" * 33)]])
        with pytest.raises(BadRequest, match="Button_data_invalid"):
            await bot.send_message(CITIZEN, "Chọn", reply_markup=too_long)
        fits = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="đ" * 32)]])
        sent = await bot.send_message(CITIZEN, "Chọn", reply_markup=fits)
    assert sent.reply_markup == fits


async def test_send_message_rejects_unknown_chat(emulator: TelegramEmulator) -> None:
    async with bot_for(emulator) as bot:
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message(999, "Xin chào")


async def test_send_message_refuses_user_who_never_started_the_bot(
    emulator: TelegramEmulator,
) -> None:
    await emulator.register_private_chat(2001, "Hùng", started=False)
    async with bot_for(emulator) as bot:
        with pytest.raises(Forbidden, match="can't initiate conversation"):
            await bot.send_message(2001, "Xin chào")
        await emulator.send_text(2001, "/start")
        assert (await bot.send_message(2001, "Xin chào")).chat.id == 2001


async def test_edit_with_identical_content_is_not_modified(emulator: TelegramEmulator) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("OK", callback_data="ok")]])
    async with bot_for(emulator) as bot:
        sent = await bot.send_message(CITIZEN, "<b>Chờ</b>", parse_mode="HTML")
        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_text("<b>Chờ</b>", CITIZEN, sent.message_id, parse_mode="HTML")
        edited = await bot.edit_message_text(
            "<b>Chờ</b>", CITIZEN, sent.message_id, parse_mode="HTML", reply_markup=keyboard
        )
        assert not isinstance(edited, bool)
        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_reply_markup(CITIZEN, sent.message_id, reply_markup=keyboard)
        await bot.edit_message_reply_markup(CITIZEN, sent.message_id, reply_markup=None)
    entry = emulator.message(CITIZEN, sent.message_id)
    assert entry["edits"] == 2
    assert entry["reply_markup"] is None


async def test_edit_and_delete_refuse_unknown_or_foreign_messages(
    emulator: TelegramEmulator,
) -> None:
    user_message = await emulator.send_text(CITIZEN, "Xin chào")
    async with bot_for(emulator) as bot:
        with pytest.raises(BadRequest, match="Message to edit not found"):
            await bot.edit_message_text("x", CITIZEN, 99)
        with pytest.raises(BadRequest, match="Message can't be edited"):
            await bot.edit_message_text("x", CITIZEN, user_message["message_id"])
        sent = await bot.send_message(CITIZEN, "Tạm")
        assert await bot.delete_message(CITIZEN, sent.message_id) is True
        with pytest.raises(BadRequest, match="Message to delete not found"):
            await bot.delete_message(CITIZEN, sent.message_id)
    assert emulator.message(CITIZEN, sent.message_id)["deleted"] is True
    assert [e["text"] for e in emulator.history(CITIZEN, include_deleted=False)] == ["Xin chào"]


async def test_answer_callback_query_twice_is_refused(emulator: TelegramEmulator) -> None:
    async with bot_for(emulator) as bot:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("OK", callback_data="ok")]])
        sent = await bot.send_message(CITIZEN, "Chọn", reply_markup=keyboard)
        query = await emulator.press_button(CITIZEN, sent.message_id, "ok")
        assert await bot.answer_callback_query(query["id"], "Đã nhận") is True
        with pytest.raises(BadRequest, match="Query is too old"):
            await bot.answer_callback_query(query["id"], "Đã nhận")
    assert emulator.callback_answers(CITIZEN)[0]["text"] == "Đã nhận"


async def test_wrong_token_is_unauthorized(emulator: TelegramEmulator) -> None:
    bot = Bot(
        "7770001:wrong-token",
        base_url=emulator.base_url,
        base_file_url=emulator.base_file_url,
        request=AiohttpRequest(),
        get_updates_request=AiohttpRequest(),
    )
    with pytest.raises(InvalidToken, match="was rejected by the server"):
        async with bot:
            pass
    await bot.shutdown()


async def test_raw_http_accepts_get_json_and_form_and_refuses_unknown_methods(
    emulator: TelegramEmulator,
) -> None:
    url = f"{emulator.base_url}{TOKEN}"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{url}/getMe") as response:
            assert (await response.json())["result"]["username"] == "hotline_test_bot"
        async with session.get(f"{url}/sendMessage?chat_id={CITIZEN}&text=GET") as response:
            assert (await response.json())["result"]["text"] == "GET"
        payload = {"chat_id": CITIZEN, "text": "JSON", "reply_markup": {"remove_keyboard": True}}
        async with session.post(f"{url}/SENDMESSAGE", json=payload) as response:
            assert (await response.json())["result"]["text"] == "JSON"
        form = {"chat_id": str(CITIZEN), "text": "form"}
        async with session.post(f"{url}/sendMessage", data=form) as response:
            assert (await response.json())["result"]["text"] == "form"
        async with session.post(f"{url}/launchRockets") as response:
            assert response.status == 404
            assert await response.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found",
            }
        async with session.post(f"{emulator.base_url}notatoken/getMe") as response:
            assert response.status == 404
    assert [entry["text"] for entry in emulator.bot_messages(CITIZEN)] == ["GET", "JSON", "form"]


async def test_bot_photo_and_document_are_downloadable_via_get_file(
    emulator: TelegramEmulator,
) -> None:
    image = png(1280, 720)
    async with bot_for(emulator) as bot:
        photo_message = await bot.send_photo(
            CITIZEN, image, caption="<b>Bản đồ</b>", parse_mode="HTML"
        )
        document_message = await bot.send_document(
            CITIZEN, b"a,b\n1,2\n", filename="Báo cáo tháng 11.csv"
        )
        photo = await (await bot.get_file(photo_message.photo[-1].file_id)).download_as_bytearray()
        assert document_message.document is not None
        document_file = await bot.get_file(document_message.document.file_id)
        document = await document_file.download_as_bytearray()
        again = await bot.send_photo(GROUP, photo_message.photo[-1].file_id)
    assert bytes(photo) == image
    assert bytes(document) == b"a,b\n1,2\n"
    assert photo_message.caption == "Bản đồ"
    assert photo_message.photo[-1].width == 1280
    assert document_message.document.file_name == "Báo cáo tháng 11.csv"
    assert again.photo == photo_message.photo
    assert emulator.file_bytes(again.photo[-1].file_id) == image
    [upload] = emulator.requests("sendDocument")[0].files.values()
    assert upload.file_name == "Báo cáo tháng 11.csv"


async def test_send_photo_refuses_data_that_is_not_an_image(emulator: TelegramEmulator) -> None:
    async with bot_for(emulator) as bot:
        with pytest.raises(BadRequest, match="Image_process_failed"):
            await bot.send_photo(CITIZEN, b"not an image at all")
        with pytest.raises(BadRequest, match="Wrong file identifier"):
            await bot.send_photo(CITIZEN, "https://example.com/a.jpg")


async def test_get_file_refuses_files_over_20_megabytes(emulator: TelegramEmulator) -> None:
    big = await emulator.send_document(CITIZEN, b"\0" * (20 * 1024 * 1024 + 1), "video.bin")
    async with bot_for(emulator) as bot:
        with pytest.raises(BadRequest, match="File is too big"):
            await bot.get_file(big["document"]["file_id"])


# -- getUpdates semantics ------------------------------------------------------------------------


async def test_get_updates_long_poll_returns_when_an_update_arrives(
    emulator: TelegramEmulator,
) -> None:
    async with bot_for(emulator) as bot:
        started = time.monotonic()
        poll = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.05)
        await emulator.send_text(CITIZEN, "Có ai không?")
        updates = await poll
    assert time.monotonic() - started < 1.0
    assert [u.message.text for u in updates if u.message] == ["Có ai không?"]


async def test_get_updates_honours_offset_and_limit(emulator: TelegramEmulator) -> None:
    for number in range(5):
        await emulator.send_text(CITIZEN, f"tin {number}")
    async with bot_for(emulator) as bot:
        first = await bot.get_updates(limit=2)
        again = await bot.get_updates(limit=2)
        rest = await bot.get_updates(offset=first[-1].update_id + 1)
        last = await bot.get_updates(offset=-1)
        confirmed = await bot.get_updates(offset=last[0].update_id + 1)
    assert [u.update_id for u in again] == [u.update_id for u in first]
    assert [u.message.text for u in rest if u.message] == ["tin 2", "tin 3", "tin 4"]
    assert [u.message.text for u in last if u.message] == ["tin 4"]
    assert confirmed == ()
    assert emulator.pending_update_count == 0


async def test_get_updates_drops_types_not_allowed(emulator: TelegramEmulator) -> None:
    await emulator.send_text(CITIZEN, "văn bản")
    async with bot_for(emulator) as bot:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("OK", callback_data="ok")]])
        sent = await bot.send_message(CITIZEN, "Chọn", reply_markup=keyboard)
        await emulator.press_button(CITIZEN, sent.message_id, "ok")
        updates = await bot.get_updates(allowed_updates=["callback_query"])
        later = await bot.get_updates(offset=updates[-1].update_id + 1)
    assert [u.callback_query.data for u in updates if u.callback_query] == ["ok"]
    assert len(updates) == 1
    assert later == ()


async def test_get_updates_terminates_an_older_poll_with_conflict(
    emulator: TelegramEmulator,
) -> None:
    async with bot_for(emulator) as first, bot_for(emulator) as second:
        older = asyncio.create_task(first.get_updates(timeout=5))
        await asyncio.sleep(0.05)
        await second.get_updates(timeout=0)
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await older


async def test_get_updates_conflicts_while_webhook_is_set(emulator: TelegramEmulator) -> None:
    async with bot_for(emulator) as bot:
        assert await bot.set_webhook("https://hotline.example.gov.vn/telegram/webhook")
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        info = await bot.get_webhook_info()
        assert info.url == "https://hotline.example.gov.vn/telegram/webhook"
        with pytest.raises(BadRequest, match="(?i)https url must be provided"):
            await bot.set_webhook("http://hotline.example.gov.vn/hook")
        assert await bot.delete_webhook()
        assert await bot.get_updates() == ()


async def test_delete_webhook_drops_pending_updates(emulator: TelegramEmulator) -> None:
    await emulator.send_text(CITIZEN, "cũ")
    async with bot_for(emulator) as bot:
        await bot.delete_webhook(drop_pending_updates=True)
        assert await bot.get_updates() == ()


# -- webhooks ------------------------------------------------------------------------------------


async def test_webhook_receives_updates_with_secret_and_retries_failures(
    emulator: TelegramEmulator,
) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []
    failures = [500]

    async def hook(request: web.Request) -> web.Response:
        if failures:
            return web.Response(status=failures.pop())
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        received.append((secret, await request.json()))
        return web.json_response(
            {"method": "sendMessage", "chat_id": CITIZEN, "text": "Đã nhận qua webhook"}
        )

    receiver = web.Application()
    receiver.router.add_post("/telegram/webhook", hook)
    runner = web.AppRunner(receiver, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with bot_for(emulator) as bot:
            url = f"http://127.0.0.1:{port}/telegram/webhook"
            await bot.set_webhook(url, secret_token="s3cr3t_token")
            sent = await emulator.send_text(CITIZEN, "Nước sinh hoạt bị đục")
            await emulator.wait_until(lambda: len(received) == 1)
            reply = await emulator.wait_for_bot_message(CITIZEN)
            info = await bot.get_webhook_info()
            await emulator.redeliver(received[0][1]["update_id"])
            await emulator.wait_until(lambda: len(received) == 2)
            await bot.delete_webhook()
    finally:
        await runner.cleanup()
    assert received[0] == (
        "s3cr3t_token",
        {"update_id": received[0][1]["update_id"], "message": sent},
    )
    assert received[1] == received[0]
    assert reply["text"] == "Đã nhận qua webhook"
    assert info.pending_update_count == 0
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"


# -- small Bot API surfaces ----------------------------------------------------------------------


async def test_set_my_commands_round_trip_and_validation(emulator: TelegramEmulator) -> None:
    async with bot_for(emulator) as bot:
        commands = [BotCommand("start", "Bắt đầu"), BotCommand("tra_cuu", "Tra cứu hồ sơ")]
        assert await bot.set_my_commands(commands, language_code="vi")
        assert await bot.get_my_commands(language_code="vi") == tuple(commands)
        assert await bot.get_my_commands() == ()
        with pytest.raises(BadRequest, match="Bot_command_invalid"):
            await bot.set_my_commands([BotCommand("Tra-Cuu", "x")])
    assert emulator.commands(language_code="vi")[1]["command"] == "tra_cuu"


async def test_send_chat_action_and_location(emulator: TelegramEmulator) -> None:
    async with bot_for(emulator) as bot:
        assert await bot.send_chat_action(CITIZEN, "typing")
        with pytest.raises(BadRequest, match="Wrong parameter action"):
            await bot.send_chat_action(CITIZEN, "dancing")
        sent = await bot.send_location(CITIZEN, 10.9453, 106.8243)
    assert sent.location is not None and sent.location.latitude == 10.9453
    assert emulator.chats()[0]["last_action"] is None
    assert emulator.bot_messages(CITIZEN)[0]["location"] == {
        "latitude": 10.9453,
        "longitude": 106.8243,
    }


async def test_reply_keyboard_is_tracked_until_removed_or_used(
    emulator: TelegramEmulator,
) -> None:
    share = ReplyKeyboardMarkup(
        [[KeyboardButton("Gửi số điện thoại", request_contact=True)]], one_time_keyboard=True
    )
    async with bot_for(emulator) as bot:
        await bot.send_message(CITIZEN, "Cho xin số điện thoại", reply_markup=share)
        keyboard = emulator.reply_keyboard(CITIZEN)
        assert keyboard is not None
        assert keyboard["keyboard"][0][0]["request_contact"] is True
        await emulator.share_contact(CITIZEN, "+84912345678", "Lan")
        assert emulator.reply_keyboard(CITIZEN) is None


async def test_group_messages_come_from_members(emulator: TelegramEmulator) -> None:
    sent = await emulator.send_text(GROUP, "/nhan T-0042@hotline_test_bot")
    assert sent["chat"] == {"id": GROUP, "type": "group", "title": "Tổ điều phối 1022"}
    assert sent["from"]["id"] == OPERATOR
    assert sent["entities"][0] == {"type": "bot_command", "offset": 0, "length": 5}
    with pytest.raises(ValueError, match="not a member"):
        await emulator.send_text(GROUP, "xin chào", user_id=CITIZEN)


async def test_edit_message_caption_applies_to_media_only(emulator: TelegramEmulator) -> None:
    async with bot_for(emulator) as bot:
        photo = await bot.send_photo(CITIZEN, png(10, 10), caption="Trước")
        edited = await bot.edit_message_caption(
            CITIZEN, photo.message_id, caption="<i>Sau</i>", parse_mode="HTML"
        )
        text = await bot.send_message(CITIZEN, "Chữ")
        with pytest.raises(BadRequest, match="There is no caption in the message to edit"):
            await bot.edit_message_caption(CITIZEN, text.message_id, caption="x")
    assert not isinstance(edited, bool)
    assert edited.caption == "Sau"
    assert emulator.message(CITIZEN, photo.message_id)["source_text"] == "<i>Sau</i>"


async def test_send_long_text_splits_like_telegram_clients(emulator: TelegramEmulator) -> None:
    with pytest.raises(ValueError, match="send_long_text"):
        await emulator.send_text(CITIZEN, "a" * 4097)
    messages = await emulator.send_long_text(CITIZEN, "ư" * 9000)
    assert [len(message["text"]) for message in messages] == [4096, 4096, 808]


async def test_pending_long_poll_ends_in_conflict_when_webhook_is_set(
    emulator: TelegramEmulator,
) -> None:
    async with bot_for(emulator) as poller, bot_for(emulator) as other:
        poll = asyncio.create_task(poller.get_updates(timeout=5))
        await asyncio.sleep(0.05)
        await other.set_webhook("https://hotline.example.gov.vn/telegram/webhook")
        with pytest.raises(Conflict, match="webhook is active"):
            await poll
        await other.delete_webhook()


async def test_wait_idle_times_out_while_updates_are_unconfirmed(
    emulator: TelegramEmulator,
) -> None:
    await emulator.send_text(CITIZEN, "Không ai đọc")
    with pytest.raises(TimeoutError, match="1 update"):
        await emulator.wait_idle(timeout=0.05)


# -- waiting helpers -----------------------------------------------------------------------------


async def test_wait_for_bot_message_reads_replies_in_order(emulator: TelegramEmulator) -> None:
    async with bot_for(emulator) as bot:
        for text in ("một", "hai", "ba", "bốn"):
            await bot.send_message(CITIZEN, text)
    assert (await emulator.wait_for_bot_message(CITIZEN))["text"] == "một"
    third = await emulator.wait_for_bot_message(CITIZEN, lambda m: m["text"] == "ba")
    assert third["text"] == "ba"
    assert (await emulator.wait_for_bot_message(CITIZEN))["text"] == "bốn"
    assert emulator.new_bot_messages(CITIZEN) == []


async def test_wait_for_bot_message_times_out_with_recent_history(
    emulator: TelegramEmulator,
) -> None:
    await emulator.send_text(CITIZEN, "Còn ai trực không?")
    with pytest.raises(TimeoutError, match="Còn ai trực không"):
        await emulator.wait_for_bot_message(CITIZEN, timeout=0.05)


# -- the JSON injection API and mounting ---------------------------------------------------------


async def test_injection_http_api_drives_a_chat(emulator: TelegramEmulator) -> None:
    api = f"{emulator.server_url}/_emulator"
    async with aiohttp.ClientSession() as session, bot_for(emulator) as bot:
        async with session.post(
            f"{api}/chats", json={"type": "private", "user_id": 3001, "first_name": "Hoa"}
        ) as response:
            assert (await response.json())["first_name"] == "Hoa"
        async with session.get(f"{api}/state") as response:
            state = await response.json()
            assert 3001 in [chat["chat"]["id"] for chat in state["chats"]]
        async with session.get(f"{api}/chats/3001/history") as response:
            version = (await response.json())["version"]
        waiting = asyncio.create_task(
            session.get(f"{api}/chats/3001/history?since_version={version}&wait=5")
        )
        async with session.post(f"{api}/chats/3001/messages", json={"text": "/start"}) as response:
            assert (await response.json())["entities"][0]["type"] == "bot_command"
        async with await waiting as response:
            history = await response.json()
        assert [m["text"] for m in history["messages"]] == ["/start"]
        form = aiohttp.FormData()
        form.add_field("photo", png(8, 8), filename="anh.png", content_type="image/png")
        async with session.post(f"{api}/chats/3001/photo", data=form) as response:
            assert response.status == 200, await response.text()
        async with session.post(
            f"{api}/faults", json={"method": "sendMessage", "status": 429, "retry_after": 3}
        ) as response:
            assert response.status == 200
        with pytest.raises(RetryAfter):
            await bot.send_message(3001, "Chào Hoa")
        async with session.post(f"{api}/chats/9/messages", json={"text": "x"}) as response:
            assert response.status == 404
        async with session.post(f"{api}/chats/3001/messages", json={}) as response:
            assert response.status == 400
        async with session.get(f"{api}/requests?method=sendMessage") as response:
            assert [r["status"] for r in await response.json()] == [429]
    assert emulator.history(3001)[1]["kind"] == "photo"


async def test_attach_to_serves_bot_api_from_a_host_app(emulator: TelegramEmulator) -> None:
    guest = TelegramEmulator(token=TOKEN)
    host = web.Application()
    guest.attach_to(host, prefix="/tg")
    runner = web.AppRunner(host, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    guest.set_server_url(f"http://127.0.0.1:{port}")
    try:
        await guest.register_private_chat(CITIZEN, "Lan")
        assert guest.base_url == f"http://127.0.0.1:{port}/tg/bot"
        async with bot_for(guest) as bot:
            assert (await bot.get_me()).username == "hotline_test_bot"
            await bot.send_message(CITIZEN, "qua ứng dụng chủ")
    finally:
        await runner.cleanup()
    assert guest.bot_messages(CITIZEN)[0]["text"] == "qua ứng dụng chủ"


# -- parsers -------------------------------------------------------------------------------------


def test_parse_html_counts_offsets_in_utf16_units() -> None:
    text, entities = parse_html("😀 <b>Đà Nẵng</b> 👍🏽<i>x</i>")
    assert text == "😀 Đà Nẵng 👍🏽x"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 7},
        {"type": "italic", "offset": 15, "length": 1},
    ]


def test_parse_html_keeps_unknown_entities_literal() -> None:
    text, entities = parse_html("A &nbsp; B &#0; &amp;lt; &#x110;")
    assert text == "A &nbsp; B &#0; &lt; Đ"
    assert entities == []


def test_parse_markdown_v2_reports_unclosed_entities() -> None:
    with pytest.raises(ValueError, match="Can't find end of Bold entity at byte offset 6"):
        parse_markdown_v2(r"Hạn *ba ngày")
    text, entities = parse_markdown_v2(r"__gạch__ ||ẩn|| [web](https://a.vn/x\)y) `a\`b`")
    assert text == "gạch ẩn web a`b"
    assert [e["type"] for e in entities] == ["underline", "spoiler", "text_link", "code"]
    assert entities[2]["url"] == "https://a.vn/x)y"


def test_detect_entities_marks_commands_urls_mentions_and_hashtags() -> None:
    entities = detect_entities("/tra_cuu@hotline_bot xem https://dvc.gov.vn/a, @lan_nguyen #ngap")
    assert [(e["type"], e["offset"], e["length"]) for e in entities] == [
        ("bot_command", 0, 20),
        ("url", 25, 20),
        ("mention", 47, 11),
        ("hashtag", 59, 5),
    ]
    assert detect_entities("và/hoặc 1/2") == []


def test_image_size_reads_png_gif_and_jpeg_headers() -> None:
    assert image_size(png(3, 2)) == (3, 2)
    assert image_size(b"GIF89a" + struct.pack("<HH", 640, 480) + b"\0" * 10) == (640, 480)
    jpeg = (
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        + b"\xff\xc0\x00\x11\x08"
        + struct.pack(">HH", 720, 1280)
        + b"\x03" * 12
    )
    assert image_size(jpeg) == (1280, 720)
    assert image_size(b"plain text") is None


def test_emulator_rejects_malformed_tokens() -> None:
    with pytest.raises(ValueError, match="token"):
        TelegramEmulator(token="not-a-token")


async def test_request_log_keeps_json_parameters(emulator: TelegramEmulator) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Có", callback_data="yes")]])
    async with bot_for(emulator) as bot:
        await bot.send_message(CITIZEN, '{"a": 1}', reply_markup=keyboard)
    [record] = emulator.requests("sendmessage")
    # The bot's transport posts JSON: the values are logged with their JSON types.
    assert record.params["chat_id"] == CITIZEN
    assert record.params["text"] == '{"a": 1}'
    assert record.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Có", "callback_data": "yes"}]]
    }
    assert record.http_method == "POST" and record.ok


async def test_request_log_decodes_json_typed_form_fields(emulator: TelegramEmulator) -> None:
    markup = '{"inline_keyboard": [[{"text": "Có", "callback_data": "yes"}]]}'
    fields = {"chat_id": str(CITIZEN), "text": '{"a": 1}', "reply_markup": markup}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{emulator.base_url}{TOKEN}/sendMessage", data=fields) as response,
    ):
        assert response.status == 200
    [record] = emulator.requests("sendmessage")
    # Form fields arrive as strings; the JSON-typed ones are logged as objects, text stays text.
    assert record.params["chat_id"] == str(CITIZEN)
    assert record.params["text"] == '{"a": 1}'
    assert record.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Có", "callback_data": "yes"}]]
    }
