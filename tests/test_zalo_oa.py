"""Zalo Official Account: the real HotlineApp on the OA emulator, a Telegram agency beside it."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import HotlineApp
from bot.channels import zalo_oa
from bot.channels.emulator import TelegramEmulator
from bot.channels.zalo import plain_text
from bot.channels.zalo_emulator import ZaloEmulator
from bot.chat import Attachment, Button, Reply
from bot.config import Config, ConfigError, WebConfig, ZaloOAConfig, load_config
from bot.evidence import EvidenceLinks
from bot.outbox import DeliveryError
from handlers.messages import t
from storage import outbox as outbox_store
from storage import tickets as ticket_store
from storage import zalo_oa as oa_store
from storage.channel_options import option_for
from storage.db import Database
from storage.models import Dossier, OutboxStatus, Ticket
from tests.harness import AGENCY_USER, OPERATORS, FakeClock, e2e_config
from tests.test_e2e_citizen import tiny_png

CITIZEN = "2468458835296197922"
COMPLAINT = "Đường Nguyễn Ái Quốc có nhiều ổ gà rất nguy hiểm, xe máy bị ngã liên tục mấy hôm nay"
DOSSIER = "H23.22-230825-0001"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def oa_config(emu: ZaloEmulator, **extra: Any) -> ZaloOAConfig:
    """The OA section pointed at the emulator, with a pair it issued."""
    return ZaloOAConfig(**{**emu.oa_settings(), **extra})


@dataclass
class Bot:
    """A running bot with the OA emulator (citizens) and the Telegram emulator (staff)."""

    oa: ZaloEmulator
    tg: TelegramEmulator
    app: HotlineApp
    clock: FakeClock

    def group(self, agency_id: str) -> int:
        agency = self.app.config.agency(agency_id)
        assert agency is not None and agency.telegram_chat_id is not None
        return agency.telegram_chat_id

    async def say(self, text: str) -> dict[str, Any]:
        await self.oa.oa_send_text(CITIZEN, text)
        return await self.oa.wait_for_bot_message(CITIZEN)

    async def ticket(self, code: str) -> Ticket:
        async with self.app.db.transaction() as session:
            ticket = await ticket_store.get_ticket_by_code(session=session, code=code)
        assert ticket is not None
        return ticket


@asynccontextmanager
async def oa_bot(
    base: Config, tmp_path: Path, clock: FakeClock | None = None, **oa_extra: Any
) -> AsyncIterator[Bot]:
    clock = clock or FakeClock()
    async with TelegramEmulator() as tg, ZaloEmulator() as oa:
        oa.register_follower(CITIZEN, "Nguyễn Văn An")
        await tg.register_private_chat(AGENCY_USER, "Cán bộ")
        await tg.register_group(OPERATORS, "Tổng đài viên", members=[AGENCY_USER])
        config = e2e_config(base, tg, f"sqlite+aiosqlite:///{tmp_path / 'oa.db'}")
        for agency in config.agencies:
            assert agency.telegram_chat_id is not None
            await tg.register_group(agency.telegram_chat_id, agency.name, members=[AGENCY_USER])
        port = free_port()
        config = dataclasses.replace(
            config,
            zalo_oa=oa_config(oa, **oa_extra),
            web=WebConfig(host="127.0.0.1", port=port),
        )
        oa.oa_webhook_url = f"http://127.0.0.1:{port}/zalo-oa/webhook"
        async with HotlineApp(config, clock=clock) as app:
            yield Bot(oa, tg, app, clock)


@pytest.fixture
async def bot(config: Config, tmp_path: Path) -> AsyncIterator[Bot]:
    async with oa_bot(config, tmp_path) as running:
        yield running


def options_of(message: dict[str, Any]) -> list[str]:
    return re.findall(r"^\d+\. (.+)$", message["text"], flags=re.MULTILINE)


def number_of(message: dict[str, Any], label_part: str) -> str:
    labels = options_of(message)
    return str(next(i for i, label in enumerate(labels, 1) if label_part in label))


async def file_complaint(bot: Bot, *, photo_url: str | None = None) -> tuple[str, dict[str, Any]]:
    """File a complaint as the OA citizen by numbers; return its code and the confirmation."""
    proposal = await bot.say(COMPLAINT)
    if photo_url is not None:
        await bot.oa.oa_send_image(CITIZEN, photo_url)
        await bot.oa.wait_for_bot_message(CITIZEN)  # the photo is added
    ask_contact = await bot.say(number_of(proposal, "Gửi"))
    assert plain_text(t("zalo.contact_prompt", "vi")) in ask_contact["text"]
    await bot.oa.wait_for_bot_message(CITIZEN)  # or anonymous
    await bot.say("Nguyễn Văn An 0912345678")
    privacy = await bot.oa.wait_for_bot_message(CITIZEN)
    created = await bot.say(number_of(privacy, "Cơ quan"))
    match = re.search(r"PA-\d{4}-\d{6}", created["text"])
    assert match, created["text"]
    return match.group(0), created


# --- pure rules ----------------------------------------------------------------------------


def test_event_signature_is_the_sha256_of_app_body_timestamp_and_key() -> None:
    body = b'{"event_name":"user_send_text","timestamp":"1700000000000"}'
    expected = hashlib.sha256(b"app1" + body + b"1700000000000" + b"key1").hexdigest()
    assert zalo_oa.event_signature("app1", body, "1700000000000", "key1") == expected


def test_signature_matches_refuses_tampering_and_a_missing_prefix() -> None:
    config = ZaloOAConfig(app_id="app1", secret_key="key1")
    body = b'{"event_name":"user_send_text","timestamp":"17"}'
    event = json.loads(body)
    good = zalo_oa.event_signature("app1", body, "17", "key1")
    assert zalo_oa.signature_matches(f"mac={good}", body=body, event=event, config=config)
    assert not zalo_oa.signature_matches(good, body=body, event=event, config=config)
    tampered = body.replace(b"text", b"txet")
    assert not zalo_oa.signature_matches(
        f"mac={good}", body=tampered, event=json.loads(tampered), config=config
    )


def test_incoming_from_event_reads_text_photo_file_location_sticker_and_follow() -> None:
    def event(name: str, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "event_name": name,
            "timestamp": "1",
            "sender": {"id": "u1"},
            "message": {"msg_id": f"m-{name}", **message},
        }

    text = zalo_oa.incoming_from_event(event("user_send_text", {"text": "xin chào"}))
    image = zalo_oa.incoming_from_event(
        event(
            "user_send_image",
            {"attachments": [{"type": "image", "payload": {"url": "https://z/a.jpg"}}]},
        )
    )
    file = zalo_oa.incoming_from_event(
        event(
            "user_send_file",
            {
                "attachments": [
                    {"type": "file", "payload": {"url": "https://z/b.pdf", "name": "b.pdf"}}
                ]
            },
        )
    )
    coordinates = {"latitude": "10.95", "longitude": "106.82"}
    place = zalo_oa.incoming_from_event(
        event(
            "user_send_location",
            {"attachments": [{"type": "location", "payload": {"coordinates": coordinates}}]},
        )
    )
    sticker = zalo_oa.incoming_from_event(
        event("user_send_sticker", {"attachments": [{"type": "sticker", "payload": {"id": "s1"}}]})
    )
    follow = zalo_oa.incoming_from_event(
        {"event_name": "follow", "timestamp": "9", "follower": {"id": "u2"}}
    )
    echo = zalo_oa.incoming_from_event(event("oa_send_text", {"text": "bot"}))
    assert text is not None and (text.chat_id, text.text, text.update_id) == (
        "u1",
        "xin chào",
        "m-user_send_text",
    )
    assert image is not None and image.attachments[0].kind == "photo"
    assert file is not None and (file.attachments[0].kind, file.attachments[0].file_name) == (
        "document",
        "b.pdf",
    )
    assert place is not None and place.location is not None
    assert place.location.latitude == pytest.approx(10.95)
    assert sticker is not None and sticker.attachments[0].kind == "sticker"
    assert follow is not None and (follow.chat_id, follow.text) == ("u2", "/start")
    assert echo is None


def test_within_window_allows_48_hours_and_8_replies() -> None:
    now = FakeClock().now
    assert zalo_oa.within_window(now - timedelta(hours=47), 0, 1, now)
    assert not zalo_oa.within_window(now - timedelta(hours=48), 0, 1, now)
    assert zalo_oa.within_window(now, 7, 1, now)
    assert not zalo_oa.within_window(now, 7, 2, now)
    assert not zalo_oa.within_window(None, 0, 1, now)


def test_delivery_errors_map_unfollow_window_rate_and_bad_parameters() -> None:
    assert zalo_oa.delivery_error(zalo_oa.OAApiError(-213, "unfollowed")).blocked
    assert zalo_oa.delivery_error(zalo_oa.OAApiError(-230, "no interaction")).held
    assert zalo_oa.delivery_error(zalo_oa.OAApiError(-32, "rate")).retry_after == 60.0
    assert zalo_oa.delivery_error(zalo_oa.OAApiError(-201, "bad")).permanent
    network = zalo_oa.delivery_error(zalo_oa.OANetworkError("down"))
    assert not (network.permanent or network.blocked or network.held)


def test_config_reads_the_oa_section_and_its_secrets_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[zalo_oa]\napp_id = "123"\nproactive = true\n', encoding="utf-8")
    env = {
        "HOTLINE_ZALO_OA_SECRET_KEY": "sk",
        "HOTLINE_ZALO_OA_APP_SECRET": "as",
        "HOTLINE_ZALO_OA_REFRESH_TOKEN": "rt",
    }
    config = load_config(path, environ=env)
    assert (config.zalo_oa.secret_key, config.zalo_oa.app_secret) == ("sk", "as")
    assert config.zalo_oa.proactive
    assert config.zalo_oa.api_base == "https://openapi.zalo.me"
    with pytest.raises(ConfigError) as missing:
        load_config(path, environ={})
    assert missing.value.key == "zalo_oa.secret_key"
    path.write_text('[zalo_oa]\napi_base = "ftp://x"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as bad:
        load_config(path, environ={})
    assert bad.value.key == "zalo_oa.api_base"


# --- end to end ------------------------------------------------------------------------------


async def test_oa_citizen_looks_up_files_with_photo_answers_gets_resolution_and_rates(
    bot: Bot,
) -> None:
    async with bot.app.db.transaction() as session:
        session.add(
            Dossier(
                code=DOSSIER,
                procedure="Cấp giấy chứng nhận quyền sử dụng đất lần đầu",
                agency_id="nn-mt",
                status=4,
                received_at=bot.clock.now - timedelta(days=20),
                due_at=bot.clock.now + timedelta(days=5),
            )
        )
    card = await bot.say(f"/hoso {DOSSIER}")
    assert DOSSIER in card["text"]
    assert "Cấp giấy chứng nhận" in card["text"]

    photo = tiny_png()
    url = bot.oa.host_file("o-ga.png", photo, "image/png")
    code, created = await file_complaint(bot, photo_url=url)
    assert plain_text(t("zalo_oa.follow_up_hint", "vi", code=code)).strip() in created["text"]

    group = bot.group("xay-dung")
    agency_card = await bot.tg.wait_for_bot_message(group, lambda m: code in m.get("text", ""))
    assert t("card.attachments", "vi", count=1).strip() in agency_card["text"]
    shown = await bot.tg.wait_for_bot_message(group, lambda m: bool(m.get("photo")))
    assert bot.tg.file_bytes(shown["photo"][-1]["file_id"]) == photo
    assert bot.oa.downloads == ["o-ga.png"]

    await bot.tg.press_button_labelled(
        group, agency_card["message_id"], "❓ Hỏi người dân", AGENCY_USER
    )
    await bot.tg.wait_for_bot_message(group)
    await bot.tg.send_text(group, "Ổ gà cụ thể ở đoạn nào?", AGENCY_USER)
    question = await bot.oa.wait_for_bot_message(CITIZEN, lambda m: "đoạn nào" in m["text"])
    assert code in question["text"]
    await bot.oa.oa_send_text(CITIZEN, "Đoạn trước số nhà 125, gần chợ Tân Hiệp ạ")
    await bot.tg.wait_for_bot_message(group, lambda m: "số nhà 125" in m.get("text", ""))

    await bot.tg.press_button_labelled(
        group, agency_card["message_id"], "✔️ Trả lời, hoàn thành", AGENCY_USER
    )
    await bot.tg.wait_for_bot_message(group)
    await bot.tg.send_text(group, "Đã vá ổ gà ngày 25/11. Cảm ơn ông/bà.", AGENCY_USER)
    answer = await bot.oa.wait_for_bot_message(CITIZEN, lambda m: "Đã vá ổ gà" in m["text"])
    assert "⭐5" in answer["text"]
    thanks = await bot.say(number_of(answer, "⭐5"))
    ticket = await bot.ticket(code)
    assert ticket.rating == 5
    assert code in thanks["text"]
    assert all(len(m["text"]) <= 2000 for m in bot.oa.bot_messages(CITIZEN))


async def test_bad_signature_is_refused_and_nothing_is_handled(bot: Bot) -> None:
    event = bot.oa._oa_event(CITIZEN, "user_send_text", {"text": "/start"})
    await bot.oa.oa_deliver(event, signature="mac=" + "0" * 64)
    await bot.oa.oa_deliver(event, signature="")
    assert [call.status for call in bot.oa.oa_webhook_calls] == [401, 401]
    await asyncio.sleep(0.3)
    assert bot.oa.bot_messages(CITIZEN) == []


async def test_oa_echo_is_ignored(bot: Bot) -> None:
    await bot.oa.oa_echo(CITIZEN, "Xin chào từ OA")
    await asyncio.sleep(0.3)
    assert bot.oa.oa_webhook_calls[-1].status == 200
    assert bot.oa.bot_messages(CITIZEN) == []


async def test_duplicated_event_is_answered_once(bot: Bot) -> None:
    event = await bot.oa.oa_send_text(CITIZEN, "/start")
    await bot.oa.wait_for_bot_message(CITIZEN)
    await bot.oa.oa_deliver(event)
    await bot.oa.oa_deliver(event)
    await asyncio.sleep(0.4)
    assert [call.status for call in bot.oa.oa_webhook_calls] == [200, 200, 200]
    assert len(bot.oa.bot_messages(CITIZEN)) == 1


async def test_webhook_answers_before_slow_work_and_the_reply_follows(bot: Bot) -> None:
    channel = bot.app.zalo_oa
    assert channel is not None
    handle = channel.handle

    async def slow(incoming: Any) -> Any:
        await asyncio.sleep(2.5)
        return await handle(incoming)

    channel.handle = slow
    await bot.oa.oa_send_text(CITIZEN, "/start")
    assert bot.oa.oa_webhook_calls[-1].status == 200
    assert bot.oa.oa_webhook_calls[-1].seconds < 2.0
    async with bot.app.db.transaction() as session:
        recorded = await oa_store.pending_inbound(session=session, received_before=bot.clock.now)
    assert [row.payload["message"]["text"] for row in recorded] == ["/start"]
    greeting = await bot.oa.wait_for_bot_message(CITIZEN, timeout=6)
    assert plain_text(t("zalo.options_prompt", "vi")) in greeting["text"]


async def test_unhandled_event_is_drained_after_a_failure(bot: Bot) -> None:
    channel = bot.app.zalo_oa
    assert channel is not None
    handle = channel.handle
    failures = [RuntimeError("database away")]

    async def flaky(incoming: Any) -> Any:
        if failures:
            raise failures.pop()
        return await handle(incoming)

    channel.handle = flaky
    await bot.oa.oa_send_text(CITIZEN, "/start")
    await asyncio.sleep(0.3)
    assert bot.oa.bot_messages(CITIZEN) == []
    bot.clock.advance(minutes=1)
    assert await channel.drain() == 1
    greeting = await bot.oa.wait_for_bot_message(CITIZEN)
    assert plain_text(t("zalo.options_prompt", "vi")) in greeting["text"]


async def test_notice_outside_the_window_is_held_marked_and_sent_when_the_citizen_writes(
    bot: Bot,
) -> None:
    code, _ = await file_complaint(bot)
    group = bot.group("xay-dung")
    card = await bot.tg.wait_for_bot_message(group, lambda m: code in m.get("text", ""))
    bot.clock.advance(hours=49)
    await bot.tg.press_button_labelled(group, card["message_id"], "✅ Tiếp nhận", AGENCY_USER)
    warned = await bot.tg.wait_for_bot_message(OPERATORS, lambda m: code in m.get("text", ""))
    assert "Zalo" in warned["text"]
    ticket = await bot.ticket(code)
    assert ticket.id is not None
    async with bot.app.db.transaction() as session:
        held = await outbox_store.list_outbox(session=session, status=OutboxStatus.OUTSIDE_WINDOW)
        events = await ticket_store.list_events(session=session, ticket_id=ticket.id)
    assert [row.chat_id for row in held] == [CITIZEN]
    note = [e.note for e in events if e.kind == "outside_reply_window"]
    assert note == [plain_text(t("zalo_oa.outside_window_event", "vi"))]
    before = len(bot.oa.bot_messages(CITIZEN))

    await bot.oa.oa_send_text(CITIZEN, f"/theodoi {code}")
    await bot.oa.wait_until(lambda: len(bot.oa.bot_messages(CITIZEN)) >= before + 2)
    texts = [m["text"] for m in bot.oa.bot_messages(CITIZEN)[before:]]
    assert any(code in text and "tiếp nhận" in text for text in texts)
    async with bot.app.db.transaction() as session:
        still = await outbox_store.list_outbox(session=session, status=OutboxStatus.OUTSIDE_WINDOW)
    assert still == []


async def test_proactive_switch_sends_outside_the_window_as_paid_messages(
    config: Config, tmp_path: Path
) -> None:
    async with oa_bot(config, tmp_path, proactive=True) as bot:
        code, created = await file_complaint(bot)
        assert (
            plain_text(t("zalo_oa.follow_up_hint", "vi", code=code)).strip() not in created["text"]
        )
        group = bot.group("xay-dung")
        card = await bot.tg.wait_for_bot_message(group, lambda m: code in m.get("text", ""))
        bot.clock.advance(hours=49)
        await bot.tg.press_button_labelled(group, card["message_id"], "✅ Tiếp nhận", AGENCY_USER)
        paid = await bot.oa.wait_for_bot_message(CITIZEN, lambda m: m.get("paid", False))
    assert code in paid["text"]
    assert [kind for kind, _, error in bot.oa.oa_calls if kind == "transaction"] == ["transaction"]


# --- the sender, tokens and refresh ----------------------------------------------------------


@asynccontextmanager
async def oa_sender(
    db: Database, **extra: Any
) -> AsyncIterator[tuple[ZaloEmulator, zalo_oa.ZaloOASender, FakeClock]]:
    clock = FakeClock()
    async with ZaloEmulator() as emu:
        emu.register_follower(CITIZEN, "An")
        config = oa_config(emu, **extra)
        client = zalo_oa.OAClient(config)
        tokens = zalo_oa.OATokens(db, config, client, clock)
        await tokens.seed()
        async with db.transaction() as session:
            await oa_store.open_window(session=session, user_id=CITIZEN, now=clock.now)
        try:
            yield emu, zalo_oa.ZaloOASender(client, tokens, db, clock), clock
        finally:
            await client.close()


async def stored_pair(db: Database, app_id: str) -> tuple[str, str]:
    async with db.transaction() as session:
        row = await oa_store.load_token(session=session, app_id=app_id)
    assert row is not None
    return row.access_token, row.refresh_token


async def test_long_reply_is_split_under_2000_and_options_are_stored(sqlite_db: Database) -> None:
    async with oa_sender(sqlite_db) as (emu, sender, _):
        text = "\n".join(f"Dòng {i}: " + "nội dung phản ánh " * 6 for i in range(45))
        assert len(text) > 5000
        reply = Reply(text, buttons=((Button("Đồng ý", "c:1:ok"), Button("Hủy", "c:1:no")),))
        await sender.deliver(CITIZEN, reply)
    sent = emu.bot_messages(CITIZEN)
    assert len(sent) >= 3
    assert all(len(m["text"]) <= 2000 for m in sent)
    assert options_of(sent[-1]) == ["Đồng ý", "Hủy"]
    async with sqlite_db.transaction() as session:
        second = await option_for(session=session, channel="zalo_oa", chat_id=CITIZEN, number=2)
        window = await oa_store.window_of(session=session, user_id=CITIZEN)
    assert second is not None and second[0] == "c:1:no"
    assert window is not None and window.replies_since == len(sent)


async def test_expired_token_is_refreshed_once_and_the_new_pair_is_stored_before_use(
    sqlite_db: Database,
) -> None:
    async with oa_sender(sqlite_db) as (emu, sender, _):
        emu.expire_access_tokens()
        await sender.deliver(CITIZEN, Reply("Thông báo"))
        access, refresh = await stored_pair(sqlite_db, emu.oa_app_id)
        tokens_used = [body for kind, body, error in emu.oa_calls]
        assert [error for _, _, error in emu.oa_calls] == [-216, 0]
        assert [ok for _, ok in emu.refresh_calls] == [True]
        assert emu.valid_refresh_tokens() == {refresh}
        assert emu.valid_access_tokens() == {access}
        assert len(tokens_used) == 2
        assert emu.bot_messages(CITIZEN)[-1]["text"] == "Thông báo"


async def test_crash_between_refresh_and_commit_uses_no_unsaved_token(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with oa_sender(sqlite_db) as (emu, sender, _):
        before = await stored_pair(sqlite_db, emu.oa_app_id)
        emu.expire_access_tokens()

        async def crash(**_: Any) -> None:
            raise RuntimeError("power cut before commit")

        monkeypatch.setattr(oa_store, "save_token", crash)
        with pytest.raises(RuntimeError):
            await sender.deliver(CITIZEN, Reply("Thông báo"))
        assert await stored_pair(sqlite_db, emu.oa_app_id) == before
        issued = emu.valid_access_tokens()
        assert len(issued) == 1  # Zalo issued a pair the bot never committed...
        assert [error for _, _, error in emu.oa_calls] == [-216]  # ...and never used it
        assert emu.bot_messages(CITIZEN) == []


async def test_crash_after_commit_lets_the_next_instance_use_the_stored_pair(
    sqlite_db: Database,
) -> None:
    async with oa_sender(sqlite_db) as (emu, sender, clock):
        emu.expire_access_tokens()
        # The send right after the refresh fails: the process "dies" before using the pair.
        emu.fail_next_oa("cs", -216, "Access token is invalid")
        with pytest.raises(DeliveryError):
            await sender.deliver(CITIZEN, Reply("Lần 1"))
        stored = await stored_pair(sqlite_db, emu.oa_app_id)
        assert emu.valid_refresh_tokens() == {stored[1]}
        config = dataclasses.replace(sender.tokens.config)
        client = zalo_oa.OAClient(config)
        fresh = zalo_oa.OATokens(sqlite_db, config, client, clock)
        await fresh.seed()  # the config's pair is older: the stored one stays
        restarted = zalo_oa.ZaloOASender(client, fresh, sqlite_db, clock)
        try:
            await restarted.deliver(CITIZEN, Reply("Lần 2"))
        finally:
            await client.close()
    assert [ok for _, ok in emu.refresh_calls] == [True]
    assert emu.bot_messages(CITIZEN)[-1]["text"] == "Lần 2"


async def test_two_instances_refreshing_at_once_leave_one_valid_pair(db: Database) -> None:
    async with oa_sender(db) as (emu, sender, clock):
        stale = (await stored_pair(db, emu.oa_app_id))[0]
        emu.expire_access_tokens()
        other_db = Database(db.url)
        client = zalo_oa.OAClient(sender.tokens.config)
        other = zalo_oa.OATokens(other_db, sender.tokens.config, client, clock)
        try:
            first, second = await asyncio.gather(
                sender.tokens.refresh(stale), other.refresh(stale)
            )
        finally:
            await client.close()
            await other_db.dispose()
        access, refresh = await stored_pair(db, emu.oa_app_id)
    assert first == second == access
    assert [ok for _, ok in emu.refresh_calls] == [True]
    assert emu.valid_refresh_tokens() == {refresh}


async def test_token_is_refreshed_an_hour_before_expiry(sqlite_db: Database) -> None:
    async with oa_sender(sqlite_db) as (emu, sender, clock):
        now = clock.now
        # A refresh gives a pair with a known expiry.
        await sender.tokens.refresh((await stored_pair(sqlite_db, emu.oa_app_id))[0])
        async with sqlite_db.transaction() as session:
            row = await oa_store.load_token(session=session, app_id=emu.oa_app_id)
            assert row is not None and row.expires_at is not None
            lifetime = row.expires_at - now
        clock.advance(seconds=lifetime.total_seconds() - 7200)
        kept = await sender.tokens.current()
        clock.advance(seconds=3600 + 60)
        renewed = await sender.tokens.current()
    assert [ok for _, ok in emu.refresh_calls] == [True, True]
    assert kept != renewed
    assert renewed in emu.valid_access_tokens()


async def test_new_pair_in_the_config_replaces_the_stored_one(sqlite_db: Database) -> None:
    async with oa_sender(sqlite_db) as (emu, sender, clock):
        await sender.tokens.refresh((await stored_pair(sqlite_db, emu.oa_app_id))[0])
        assert [ok for _, ok in emu.refresh_calls] == [True]
        access, refresh = emu.issue_tokens()
        config = dataclasses.replace(
            sender.tokens.config, access_token=access, refresh_token=refresh
        )
        client = zalo_oa.OAClient(config)
        await zalo_oa.OATokens(sqlite_db, config, client, clock).seed()
        await client.close()
        assert await stored_pair(sqlite_db, emu.oa_app_id) == (access, refresh)


async def test_sender_holds_a_reply_outside_the_window(sqlite_db: Database) -> None:
    async with oa_sender(sqlite_db) as (emu, sender, clock):
        clock.advance(hours=48)
        with pytest.raises(DeliveryError) as held:
            await sender.deliver(CITIZEN, Reply("Muộn"))
    assert held.value.held
    assert emu.oa_calls == []


async def test_zalo_refusing_the_window_holds_the_reply(sqlite_db: Database) -> None:
    async with oa_sender(sqlite_db) as (emu, sender, _):
        emu.close_window(CITIZEN)
        with pytest.raises(DeliveryError) as held:
            await sender.deliver(CITIZEN, Reply("Muộn"))
    assert held.value.held


async def test_webhook_refuses_a_body_that_is_not_json(bot: Bot) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(bot.oa.oa_webhook_url, data=b"not json") as response,
    ):
        assert response.status == 400


async def test_event_recorded_before_a_crash_is_handled_at_the_next_start(
    config: Config, tmp_path: Path
) -> None:
    async with oa_bot(config, tmp_path) as first:
        channel = first.app.zalo_oa
        assert channel is not None

        async def dies(incoming: Any) -> Any:
            raise RuntimeError("killed while handling")

        channel.handle = dies
        await first.oa.oa_send_text(CITIZEN, "/start")
        await asyncio.sleep(0.3)
        assert first.oa.bot_messages(CITIZEN) == []
    async with oa_bot(config, tmp_path) as second:
        greeting = await second.oa.wait_for_bot_message(CITIZEN)
    assert plain_text(t("zalo.options_prompt", "vi")) in greeting["text"]


async def test_english_speaking_follower_gets_the_zalo_prompts_in_english(bot: Bot) -> None:
    await bot.say("/lang en")
    menu = await bot.say("/start")
    assert plain_text(t("zalo.options_prompt", "en")) in menu["text"]
    assert plain_text(t("zalo.options_prompt", "vi")) not in menu["text"]


async def test_file_from_an_oa_citizen_reaches_the_telegram_agency_as_a_document(
    bot: Bot,
) -> None:
    content = b"%PDF-1.4 bien nhan ho so"
    url = bot.oa.host_file("bien-nhan.pdf", content, "application/pdf")
    proposal = await bot.say(COMPLAINT)
    await bot.oa.oa_send_file(CITIZEN, url, "biên nhận.pdf", size=len(content))
    await bot.oa.wait_for_bot_message(CITIZEN)
    await bot.say(number_of(proposal, "Gửi"))
    await bot.oa.wait_for_bot_message(CITIZEN)
    await bot.say("1")  # anonymous
    group = bot.group("xay-dung")
    document = await bot.tg.wait_for_bot_message(group, lambda m: bool(m.get("document")))
    assert document["document"]["file_name"] == "biên nhận.pdf"
    assert bot.tg.file_bytes(document["document"]["file_id"]) == content


async def test_photo_by_url_goes_as_a_media_attachment_and_a_telegram_file_as_a_link(
    sqlite_db: Database,
) -> None:
    async with oa_sender(sqlite_db) as (emu, sender, clock):
        sender.links = EvidenceLinks(b"k" * 32, "https://hotline.example.vn", timedelta(hours=1))
        photo = Attachment("photo", "https://photo.zalo.invalid/o-ga.jpg")
        await sender.deliver(CITIZEN, Reply("Ảnh hiện trường", attachments=(photo,)))
        telegram_file = Attachment("photo", "AgACAgIAAxkBAAIB")
        await sender.deliver(
            CITIZEN,
            Reply(
                "Ảnh của cơ quan", attachments=(telegram_file,), extra={"files_from": "telegram"}
            ),
        )
    shown, linked = emu.bot_messages(CITIZEN)
    assert (shown["kind"], shown["photo"], shown["text"]) == (
        "photo",
        photo.file_id,
        "Ảnh hiện trường",
    )
    url = re.search(r"https://hotline\.example\.vn/evidence/\S+", linked["text"])
    assert url is not None
    ref = sender.links.read(url.group(0).rsplit("/", 1)[1], clock.now)
    assert ref is not None and (ref.channel, ref.file_id) == ("telegram", telegram_file.file_id)


async def test_long_notice_pieces_after_the_first_carry_the_continued_label(
    sqlite_db: Database,
) -> None:
    label = t("notice.continued", "vi", code="PA-2026-000001", text="")
    async with oa_sender(sqlite_db) as (emu, sender, _):
        await sender.deliver(CITIZEN, Reply("Kết quả. " * 500, extra={"continued": label}))
    first, *rest = emu.bot_messages(CITIZEN)
    assert rest
    assert not first["text"].startswith(plain_text(label))
    assert all(m["text"].startswith(plain_text(label)) for m in rest)
    assert all(len(m["text"]) <= 2000 for m in [first, *rest])
