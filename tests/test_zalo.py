"""The Zalo channel end to end: the real HotlineApp on the Zalo emulator, polling and webhook."""

from __future__ import annotations

import dataclasses
import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import HotlineApp
from bot.channels.emulator import TelegramEmulator
from bot.channels.zalo import (
    CHANNEL,
    ZaloApiError,
    ZaloClient,
    ZaloNetworkError,
    ZaloSender,
    chosen_number,
    delivery_error,
    incoming_from_update,
    plain_text,
    render,
    split_text,
)
from bot.channels.zalo_emulator import MAX_TEXT_LENGTH, ZaloEmulator
from bot.chat import Button, Reply
from bot.config import Config, StorageConfig, TelegramConfig, WebConfig, ZaloConfig
from storage import tickets as ticket_store
from storage.channel_options import option_for
from storage.db import Database
from storage.models import Ticket
from tests.harness import FakeClock, agency_chat_id, e2e_config

CITIZEN = "c1a2b3"
AGENCY_GROUP = "g-xay-dung"
OPERATORS = "g-operators"
STAFF = "s9"
SECRET = "zalo-s3cret-token"
COMPLAINT = "Đường Nguyễn Ái Quốc có nhiều ổ gà rất nguy hiểm, xe máy bị ngã liên tục mấy hôm nay"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def zalo_config(base: Config, emu: ZaloEmulator, database_url: str, **zalo: Any) -> Config:
    """Telegram off, Zalo on the emulator, the construction agency's group on Zalo."""
    agencies = tuple(
        dataclasses.replace(
            agency,
            telegram_chat_id=None,
            zalo_chat_id=AGENCY_GROUP if agency.id == "xay-dung" else None,
        )
        for agency in base.agencies
    )
    return dataclasses.replace(
        base,
        storage=StorageConfig(url=database_url),
        telegram=TelegramConfig(),
        zalo=ZaloConfig(
            token=emu.token, base_url=emu.base_url, operators_chat_id=OPERATORS, **zalo
        ),
        agencies=agencies,
    )


@asynccontextmanager
async def zalo_bot(
    base: Config, tmp_path: Path, *, webhook: bool = False
) -> AsyncIterator[tuple[ZaloEmulator, HotlineApp]]:
    async with ZaloEmulator() as emu:
        emu.register_private_chat(CITIZEN, "Nguyễn Văn An")
        emu.register_user(STAFF, "Cán bộ")
        emu.register_group(AGENCY_GROUP, "Sở Xây dựng", members=[STAFF])
        emu.register_group(OPERATORS, "Tổng đài", members=[STAFF])
        database = f"sqlite+aiosqlite:///{tmp_path / 'zalo.db'}"
        if webhook:
            port = free_port()
            config = zalo_config(
                base,
                emu,
                database,
                mode="webhook",
                webhook_url=f"http://127.0.0.1:{port}/zalo/webhook",
                secret_token=SECRET,
            )
            config = dataclasses.replace(config, web=WebConfig(host="127.0.0.1", port=port))
            app = HotlineApp(config, clock=FakeClock())
        else:
            app = HotlineApp(zalo_config(base, emu, database), clock=FakeClock(), serve_web=False)
        async with app:
            yield emu, app


@pytest.fixture
async def polling(
    config: Config, tmp_path: Path
) -> AsyncIterator[tuple[ZaloEmulator, HotlineApp]]:
    async with zalo_bot(config, tmp_path) as running:
        yield running


@pytest.fixture
async def hooked(config: Config, tmp_path: Path) -> AsyncIterator[tuple[ZaloEmulator, HotlineApp]]:
    async with zalo_bot(config, tmp_path, webhook=True) as running:
        yield running


async def say(emu: ZaloEmulator, text: str, chat: str = CITIZEN) -> dict[str, Any]:
    await emu.send_text(chat, text)
    return await emu.wait_for_bot_message(chat)


def options_of(message: dict[str, Any]) -> list[str]:
    return re.findall(r"^\d+\. (.+)$", message["text"], flags=re.MULTILINE)


async def file_complaint(emu: ZaloEmulator, text: str = COMPLAINT) -> str:
    """Go through the whole intake by numbers and a typed contact; return the ticket code."""
    proposal = await say(emu, text)
    send = next(i for i, label in enumerate(options_of(proposal), 1) if "Gửi" in label)
    ask_contact = await say(emu, str(send))
    assert "họ tên và số điện thoại" in ask_contact["text"]
    await emu.wait_for_bot_message(CITIZEN)  # or anonymous, as option 1
    await say(emu, "Nguyễn Văn An 0912345678")  # thanks
    privacy = await emu.wait_for_bot_message(CITIZEN)
    agency = next(i for i, label in enumerate(options_of(privacy), 1) if "Cơ quan" in label)
    created = await say(emu, f" {agency} ")
    match = re.search(r"PA-\d{4}-\d{6}", created["text"])
    assert match, created["text"]
    return match.group(0)


# --- the adapter's pure parts ------------------------------------------------------------------


def test_render_numbers_buttons_and_strips_markup() -> None:
    reply = Reply(
        "<b>Xác nhận</b> &amp; gửi?\nDòng 2",
        buttons=(
            (Button("✅ Gửi", "c:1:send"), Button("🔄 Chọn lĩnh vực khác", "c:1:change")),
            (Button("❌ Hủy", "c:1:cancel"),),
        ),
    )
    text, options = render(reply)
    assert text == (
        "Xác nhận & gửi?\nDòng 2\n\n1. ✅ Gửi\n2. 🔄 Chọn lĩnh vực khác\n3. ❌ Hủy\n"
        "Trả lời bằng số để chọn."
    )
    assert options == ["c:1:send", "c:1:change", "c:1:cancel"]


def test_plain_text_keeps_link_addresses_and_user_text() -> None:
    markup = '<a href="https://dichvucong.gov.vn">Cổng DVC</a> &lt;script&gt; <i>x</i>'
    assert plain_text(markup) == "Cổng DVC (https://dichvucong.gov.vn) <script> x"


def test_split_text_stays_under_the_limit_at_line_breaks() -> None:
    text = "\n".join(f"Dòng số {n} " + "x" * 50 for n in range(100))
    pieces = split_text(text)
    assert len(pieces) > 1
    assert all(len(piece) <= MAX_TEXT_LENGTH for piece in pieces)
    assert "\n".join(pieces) == text


def test_chosen_number_reads_only_bare_numbers() -> None:
    assert [chosen_number(t) for t in ("1", " 2 ", "3.", "12a", "số 1", "")] == [
        1,
        2,
        3,
        None,
        None,
        None,
    ]


def test_incoming_from_update_reads_image_group_and_id() -> None:
    update = {
        "event_name": "message.image.received",
        "message": {
            "message_id": "abc",
            "from": {"id": "u1", "display_name": "Lan"},
            "chat": {"id": "g1", "chat_type": "GROUP"},
            "photo_url": "https://example.invalid/p.jpg",
            "caption": "ổ gà",
        },
    }
    incoming = incoming_from_update(update)
    assert incoming is not None
    assert (incoming.channel, incoming.update_id, incoming.is_private) == (CHANNEL, "abc", False)
    assert incoming.text == "ổ gà"
    assert incoming.attachments[0].file_id == "https://example.invalid/p.jpg"


def test_delivery_errors_map_to_retry_blocked_permanent() -> None:
    limited = delivery_error(ZaloApiError(429, 429, "Too many requests, retry after 7 s"))
    blocked = delivery_error(ZaloApiError(403, 403, "Forbidden: user blocked the bot"))
    bad = delivery_error(ZaloApiError(400, 400, "Bad Request: text too long"))
    down = delivery_error(ZaloApiError(502, 502, "Bad Gateway"))
    network = delivery_error(ZaloNetworkError("connection refused"))
    assert limited.retry_after == 7.0
    assert blocked.blocked and not blocked.permanent
    assert bad.permanent and not bad.blocked
    assert not (down.permanent or down.blocked or network.permanent or network.blocked)


# --- end to end: polling -----------------------------------------------------------------------


async def test_start_shows_menu_as_numbered_options(
    polling: tuple[ZaloEmulator, HotlineApp],
) -> None:
    emu, _ = polling
    menu = await say(emu, "/start")
    labels = options_of(menu)
    assert "Xin chào" in menu["text"]
    assert "<b>" not in menu["text"]
    assert any("Tra cứu hồ sơ" in label for label in labels)
    assert menu["text"].rstrip().endswith("Trả lời bằng số để chọn.")


async def test_number_presses_the_matching_button(
    polling: tuple[ZaloEmulator, HotlineApp],
) -> None:
    emu, _ = polling
    menu = await say(emu, "/start")
    second = options_of(menu)[1]
    assert "Gửi phản ánh" in second
    answer = await say(emu, "2")
    assert "phản ánh" in answer["text"].lower()
    assert "chưa hiểu" not in answer["text"]


async def test_complaint_filed_by_numbers_reaches_the_agency_zalo_group(
    polling: tuple[ZaloEmulator, HotlineApp],
) -> None:
    emu, app = polling
    code = await file_complaint(emu)
    card = await emu.wait_for_bot_message(AGENCY_GROUP, lambda m: code in m["text"])
    assert "Trả lời bằng số để chọn." in card["text"]
    assert "<b>" not in card["text"]
    async with app.db.transaction() as session:
        ticket = await ticket_store.get_ticket_by_code(session=session, code=code)
    assert isinstance(ticket, Ticket)
    assert (ticket.channel, ticket.chat_id, ticket.reporter_phone) == (
        "zalo",
        CITIZEN,
        "0912345678",
    )


async def test_rate_limited_send_is_retried(polling: tuple[ZaloEmulator, HotlineApp]) -> None:
    emu, _ = polling
    emu.fail_next("sendMessage", error_code=429, description="Too many requests, retry after 0 s")
    await emu.send_text(CITIZEN, "/start")
    reply = await emu.wait_for_bot_message(CITIZEN, timeout=10)
    failed = [r for r in emu.requests if r[0] == "sendMessage" and r[2] == 429]
    assert "Xin chào" in reply["text"]
    assert len(failed) == 1


async def test_html_typed_by_a_user_arrives_as_plain_text(
    polling: tuple[ZaloEmulator, HotlineApp],
) -> None:
    emu, _ = polling
    code = await file_complaint(emu, COMPLAINT + " <b>gấp</b> & nguy hiểm")
    card = await emu.wait_for_bot_message(AGENCY_GROUP, lambda m: code in m["text"])
    assert "<b>gấp</b> & nguy hiểm" in card["text"]
    assert "&amp;" not in card["text"] and "&lt;" not in card["text"]


async def test_redelivered_update_is_processed_once(
    polling: tuple[ZaloEmulator, HotlineApp],
) -> None:
    emu, _ = polling
    update = await emu.send_text(CITIZEN, "/start")
    await emu.wait_for_bot_message(CITIZEN)
    await emu.redeliver(update)
    await emu.send_text(CITIZEN, "/help")
    after = await emu.wait_for_bot_message(CITIZEN)
    assert "Xin chào" not in after["text"]
    assert len([m for m in emu.bot_messages(CITIZEN) if "Xin chào" in m["text"]]) == 1


# --- end to end: webhook -----------------------------------------------------------------------


async def test_webhook_update_is_answered_with_numbered_menu(
    hooked: tuple[ZaloEmulator, HotlineApp],
) -> None:
    emu, app = hooked
    assert emu.webhook_url == app.config.zalo.webhook_url
    assert emu.webhook_secret == SECRET
    menu = await say(emu, "/start")
    answer = await say(emu, "2")
    assert any("Gửi phản ánh" in label for label in options_of(menu))
    assert "phản ánh" in answer["text"].lower()
    assert {call.status for call in emu.webhook_calls} == {200}


async def test_webhook_complaint_gets_its_code(hooked: tuple[ZaloEmulator, HotlineApp]) -> None:
    emu, _ = hooked
    code = await file_complaint(emu)
    card = await emu.wait_for_bot_message(AGENCY_GROUP, lambda m: code in m["text"])
    assert code in card["text"]


async def test_webhook_refuses_a_wrong_secret(hooked: tuple[ZaloEmulator, HotlineApp]) -> None:
    emu, app = hooked
    update = {
        "event_name": "message.text.received",
        "message": {
            "message_id": "forged-1",
            "from": {"id": CITIZEN, "display_name": "X"},
            "chat": {"id": CITIZEN, "chat_type": "PRIVATE"},
            "text": "/start",
        },
    }
    async with aiohttp.ClientSession() as http:
        async with http.post(
            app.config.zalo.webhook_url,
            json=update,
            headers={"X-Bot-Api-Secret-Token": "wrong-secret"},
        ) as response:
            status = response.status
        async with http.post(app.config.zalo.webhook_url, json=update) as response:
            missing = response.status
    assert (status, missing) == (403, 403)
    assert emu.bot_messages(CITIZEN) == []


async def test_webhook_redelivery_is_processed_once(
    hooked: tuple[ZaloEmulator, HotlineApp],
) -> None:
    emu, _ = hooked
    update = await emu.send_text(CITIZEN, "/start")
    await emu.wait_for_bot_message(CITIZEN)
    await emu.redeliver(update)
    await emu.wait_until(lambda: len(emu.webhook_calls) == 2)
    await emu.send_text(CITIZEN, "/help")
    after = await emu.wait_for_bot_message(CITIZEN)
    assert "Xin chào" not in after["text"]
    assert [call.status for call in emu.webhook_calls] == [200, 200, 200]
    assert len([m for m in emu.bot_messages(CITIZEN) if "Xin chào" in m["text"]]) == 1


# --- sender, storage and emulator details ------------------------------------------------------


async def test_long_reply_is_split_under_the_limit_and_options_are_stored(db: Database) -> None:
    lines = "\n".join(f"Dòng {n}: " + "ổ gà " * 20 for n in range(60))
    async with ZaloEmulator() as emu:
        emu.register_private_chat(CITIZEN, "An")
        client = ZaloClient(emu.token, emu.base_url)
        sender = ZaloSender(client, db, FakeClock())
        try:
            last = await sender.deliver(
                CITIZEN, Reply(lines, buttons=((Button("A", "x:a"), Button("B", "x:b")),))
            )
        finally:
            await client.close()
        sent = emu.bot_messages(CITIZEN)
    async with db.transaction() as session:
        stored = await option_for(session=session, channel=CHANNEL, chat_id=CITIZEN, number=2)
        beyond = await option_for(session=session, channel=CHANNEL, chat_id=CITIZEN, number=3)
    assert len(sent) > 1
    assert all(len(m["text"]) <= MAX_TEXT_LENGTH for m in sent)
    assert sent[-1]["text"].endswith("Trả lời bằng số để chọn.")
    assert stored == ("x:b", last)
    assert beyond is None


async def test_emulator_refuses_text_over_the_limit() -> None:
    async with ZaloEmulator() as emu:
        emu.register_private_chat(CITIZEN, "An")
        client, stranger = ZaloClient(emu.token, emu.base_url), ZaloClient("0:x", emu.base_url)
        try:
            with pytest.raises(ZaloApiError) as refused:
                await client.send_message(CITIZEN, "x" * (MAX_TEXT_LENGTH + 1))
            with pytest.raises(ZaloApiError) as unknown:
                await stranger.get_me()
        finally:
            await client.close()
            await stranger.close()
    assert refused.value.error_code == 400
    assert delivery_error(refused.value).permanent
    assert unknown.value.error_code == 401
    assert emu.bot_messages(CITIZEN) == []


async def test_photo_from_zalo_reaches_the_agency_group_as_a_photo(
    polling: tuple[ZaloEmulator, HotlineApp],
) -> None:
    emu, _ = polling
    photo = "https://photo.zalo.invalid/o-ga.jpg"
    proposal = await say(emu, COMPLAINT)
    attached = await emu.send_image(CITIZEN, photo)
    await emu.wait_for_bot_message(CITIZEN)  # the photo is added to the complaint
    send = next(i for i, label in enumerate(options_of(proposal), 1) if "Gửi" in label)
    await say(emu, str(send))
    await emu.wait_for_bot_message(CITIZEN)
    created = await say(emu, "1")  # anonymous: the only option shown
    code = re.search(r"PA-\d{4}-\d{6}", created["text"])
    assert code is not None
    shown = await emu.wait_for_bot_message(AGENCY_GROUP, lambda m: m["kind"] == "photo")
    assert shown["photo"] == photo
    assert attached["event_name"] == "message.image.received"


async def test_zalo_complaint_card_goes_to_a_telegram_only_agency(
    config: Config, tmp_path: Path
) -> None:
    async with TelegramEmulator() as telegram, ZaloEmulator() as emu:
        emu.register_private_chat(CITIZEN, "An")
        base = e2e_config(config, telegram, f"sqlite+aiosqlite:///{tmp_path / 'both.db'}")
        index = next(i for i, a in enumerate(base.agencies) if a.id == "xay-dung")
        await telegram.register_private_chat(701, "Cán bộ")
        await telegram.register_group(agency_chat_id(index), "Sở Xây dựng", members=[701])
        wired = dataclasses.replace(base, zalo=ZaloConfig(token=emu.token, base_url=emu.base_url))
        async with HotlineApp(wired, clock=FakeClock(), serve_web=False):
            code = await file_complaint(emu)
            card = await telegram.wait_for_bot_message(
                agency_chat_id(index), lambda m: code in m["text"]
            )
    assert card["reply_markup"]["inline_keyboard"]


async def test_blocked_chat_is_not_retried(polling: tuple[ZaloEmulator, HotlineApp]) -> None:
    emu, _ = polling
    emu.fail_next("sendMessage", error_code=403, description="Forbidden: user blocked the bot")
    await emu.send_text(CITIZEN, "/start")
    await emu.wait_until(lambda: any(r[2] == 403 for r in emu.requests))
    later = await say(emu, "/help")
    refused = [r for r in emu.requests if r[0] == "sendMessage" and r[2] == 403]
    assert len(refused) == 1
    assert "Xin chào" not in later["text"]
    assert not any("Xin chào" in m["text"] for m in emu.bot_messages(CITIZEN))


async def test_sticker_is_answered_without_crashing(
    polling: tuple[ZaloEmulator, HotlineApp],
) -> None:
    emu, _ = polling
    await emu.send_sticker(CITIZEN, "0e078a2fb66a5f34067b")
    answer = await emu.wait_for_bot_message(CITIZEN)
    assert answer["text"]
    assert "<" not in answer["text"]
