"""A citizen on Telegram, end to end: real PTB Application, emulator over HTTP, real database."""

from __future__ import annotations

import dataclasses
import struct
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.chat import Incoming
from bot.config import AgencyConfig, Config
from storage.models import Dossier, Privacy, Ticket, TicketState
from storage.tickets import get_ticket_by_code, list_attachments
from tests.harness import CITIZEN, OPERATORS, OTHER_CITIZEN, STRANGERS, Harness, running_bot

COMPLAINT = "Đường Nguyễn Ái Quốc có nhiều ổ gà rất nguy hiểm, xe máy bị ngã liên tục mấy hôm nay"


def tiny_png() -> bytes:
    """A valid 1×1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


@pytest.fixture
async def bot(config: Config, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_bot(config, f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}") as harness:
        yield harness


async def ticket_of(bot: Harness, code: str) -> Ticket:
    async with bot.app.db.transaction() as session:
        ticket = await get_ticket_by_code(session=session, code=code)
    assert ticket is not None, f"ticket {code} not in the database"
    return ticket


def code_in(text: str) -> str:
    import re

    match = re.search(r"PA-\d{4}-\d{6}", text)
    assert match, f"no ticket code in {text!r}"
    return match.group(0)


async def file_complaint(
    bot: Harness, text: str = COMPLAINT, privacy: str = "Cơ quan xử lý", chat: int = CITIZEN
) -> str:
    """Go through the whole intake with a typed contact; return the ticket code."""
    proposal = await bot.say(text, chat)
    await bot.press(proposal, "Gửi", chat)
    await bot.reply(chat)  # ask for contact (reply keyboard)
    await bot.reply(chat)  # or anonymous
    await bot.say("Nguyễn Văn An 0912345678", chat)  # closes the keyboard
    privacy_question = await bot.reply(chat)
    await bot.press(privacy_question, privacy, chat)
    created = await bot.reply(chat)
    return code_in(created["text"])


# --- menu, help, language -------------------------------------------------------------------


async def test_start_shows_main_menu(bot: Harness) -> None:
    reply = await bot.say("/start")
    labels = [b["text"] for row in reply["reply_markup"]["inline_keyboard"] for b in row]
    assert "Xin chào" in reply["text"]
    assert any("Tra cứu hồ sơ" in label for label in labels)
    assert any("Gửi phản ánh" in label for label in labels)


async def test_unknown_command_gets_help(bot: Harness) -> None:
    first = await bot.say("/xyz")
    second = await bot.reply()
    assert "chưa hiểu" in first["text"]
    assert "/hoso" in second["text"]
    assert "113" in second["text"]


async def test_lang_switches_to_english(bot: Harness) -> None:
    reply = await bot.say("/lang en")
    again = await bot.say("/start")
    assert "English" in reply["text"]
    assert "Hello" in again["text"]


async def test_english_client_is_answered_in_english(bot: Harness) -> None:
    reply = await bot.say("/start", chat=OTHER_CITIZEN)
    assert "Hello" in reply["text"]


# --- complaint intake -----------------------------------------------------------------------


async def test_complaint_reaches_agency_group_with_code(bot: Harness) -> None:
    code = await file_complaint(bot)
    card = await bot.reply(bot.agency_chat("xay-dung"))
    ticket = await ticket_of(bot, code)
    assert code in card["text"]
    assert "ổ gà" in card["text"]
    assert "Nguyễn Văn An" in card["text"]
    assert ticket.agency_id == "xay-dung"
    assert ticket.state == TicketState.ROUTED
    assert ticket.category_id == "giao-thong"
    assert ticket.reporter_phone == "0912345678"
    assert ticket.resolve_due_at is not None


async def test_proposal_shows_category_agency_due_and_evidence(bot: Harness) -> None:
    proposal = await bot.say(COMPLAINT)
    assert "Hạ tầng giao thông" in proposal["text"]
    assert "Sở Xây dựng" in proposal["text"]
    assert "Hạn giải quyết dự kiến" in proposal["text"]
    assert "Căn cứ" in proposal["text"]


async def test_complaint_code_format_and_confirmation(bot: Harness) -> None:
    code = await file_complaint(bot)
    assert code == "PA-2026-000001"
    second = await file_complaint(bot, "Khu phố 3 mất nước sinh hoạt ba ngày nay chưa có nước")
    assert second == "PA-2026-000002"


async def test_complaint_with_photo_and_location_forwards_them(bot: Harness) -> None:
    await bot.emu.send_text(CITIZEN, "/phananh")
    await bot.reply()
    await bot.emu.send_photo(CITIZEN, tiny_png())
    await bot.reply()  # asks for the text
    await bot.emu.share_location(CITIZEN, 10.95, 106.82)
    await bot.reply()
    proposal = await bot.say(COMPLAINT)
    assert "Đính kèm: 1 tệp, có vị trí" in proposal["text"]
    await bot.press(proposal, "Gửi")
    await bot.reply()
    anonymous = await bot.reply()
    await bot.press(anonymous, "ẩn danh")
    created = await bot.reply()
    code = code_in(created["text"])
    group = bot.agency_chat("xay-dung")
    card = await bot.reply(group)
    photo = await bot.reply(group)
    location = await bot.reply(group)
    ticket = await ticket_of(bot, code)
    assert ticket.id is not None
    async with bot.app.db.transaction() as session:
        files = await list_attachments(session=session, ticket_id=ticket.id)
    assert code in card["text"]
    assert photo.get("photo")
    assert location.get("location", {}).get("latitude") == pytest.approx(10.95)
    assert [f.kind for f in files] == ["photo"]
    assert ticket.latitude == pytest.approx(10.95)


async def test_document_sent_during_confirmation_is_attached(bot: Harness) -> None:
    proposal = await bot.say(COMPLAINT)
    await bot.emu.send_document(CITIZEN, b"%PDF-1.4 demo", "bien-nhan.pdf", "application/pdf")
    ack = await bot.reply()
    assert "tài liệu" in ack["text"]
    await bot.press(proposal, "Gửi")
    await bot.reply()
    anonymous = await bot.reply()
    await bot.press(anonymous, "ẩn danh")
    code = code_in((await bot.reply())["text"])
    ticket = await ticket_of(bot, code)
    assert ticket.id is not None
    async with bot.app.db.transaction() as session:
        files = await list_attachments(session=session, ticket_id=ticket.id)
    assert [(f.kind, f.file_name) for f in files] == [("document", "bien-nhan.pdf")]


async def test_shared_contact_is_recorded(bot: Harness) -> None:
    proposal = await bot.say(COMPLAINT)
    await bot.press(proposal, "Gửi")
    ask = await bot.reply()
    keyboard = ask["reply_markup"]["keyboard"]
    assert keyboard[0][0].get("request_contact") is True
    await bot.reply()
    await bot.emu.share_contact(CITIZEN, "+84912000111", "An")
    await bot.reply()  # keyboard closed
    privacy = await bot.reply()
    await bot.press(privacy, "Cơ quan xử lý")
    code = code_in((await bot.reply())["text"])
    ticket = await ticket_of(bot, code)
    assert ticket.reporter_phone == "+84912000111"
    assert ticket.privacy == Privacy.AGENCY


async def test_privacy_operators_only_hides_identity_from_agency(bot: Harness) -> None:
    code = await file_complaint(bot, privacy="Chỉ tổng đài viên")
    card = await bot.reply(bot.agency_chat("xay-dung"))
    ticket = await ticket_of(bot, code)
    assert ticket.privacy == Privacy.OPERATORS
    assert ticket.reporter_phone == "0912345678"
    assert "0912345678" not in card["text"]
    assert "chỉ tổng đài viên biết" in card["text"]


async def test_privacy_anonymous_keeps_no_identity(bot: Harness) -> None:
    code = await file_complaint(bot, privacy="Không ai")
    card = await bot.reply(bot.agency_chat("xay-dung"))
    ticket = await ticket_of(bot, code)
    assert ticket.privacy == Privacy.ANONYMOUS
    assert (ticket.reporter_name, ticket.reporter_phone) == ("", "")
    assert "0912345678" not in card["text"]
    assert ticket.chat_id == str(CITIZEN)  # kept only to send updates


async def test_denunciation_recommends_operators_only(bot: Harness) -> None:
    text = "Cán bộ địa chính xã đòi phong bì 5 triệu mới ký hồ sơ cho tôi, vòi tiền trắng trợn"
    proposal = await bot.say(text)
    await bot.press(proposal, "Gửi")
    await bot.reply()
    await bot.reply()
    await bot.say("Trần Thị Bình 0987654321")
    privacy = await bot.reply()
    labels = [b["text"] for row in privacy["reply_markup"]["inline_keyboard"] for b in row]
    assert any("Chỉ tổng đài viên" in label and "khuyến nghị" in label for label in labels)


async def test_cancel_midway_creates_nothing(bot: Harness) -> None:
    proposal = await bot.say(COMPLAINT)
    await bot.press(proposal, "Hủy")
    cancelled = await bot.reply()
    tracked = await bot.say("/theodoi")
    assert "Đã hủy" in cancelled["text"]
    assert "chưa gửi phản ánh nào" in tracked["text"]


async def test_huy_command_leaves_the_dialog(bot: Harness) -> None:
    await bot.say("/phananh")
    cancelled = await bot.say("/huy")
    after = await bot.say("xin chào")
    assert "Đã hủy" in cancelled["text"]
    assert "tra cứu hồ sơ hay gửi phản ánh" in after["text"]


async def test_change_category_routes_to_the_chosen_one(bot: Harness) -> None:
    proposal = await bot.say(COMPLAINT)
    await bot.press(proposal, "Chọn lĩnh vực khác")
    choices = await bot.reply()
    await bot.press(choices, "Cấp nước")
    new_proposal = await bot.reply()
    assert "Cấp nước sinh hoạt" in new_proposal["text"]
    await bot.press(new_proposal, "Gửi")
    await bot.reply()
    anonymous = await bot.reply()
    await bot.press(anonymous, "ẩn danh")
    code = code_in((await bot.reply())["text"])
    ticket = await ticket_of(bot, code)
    assert ticket.category_id == "cap-nuoc"


async def test_unsure_complaint_goes_to_operators_with_suggestions(bot: Harness) -> None:
    code = await file_complaint(bot, "Tôi muốn hỏi một việc nhưng không biết hỏi ai cho đúng ạ")
    card = await bot.reply(OPERATORS)
    ticket = await ticket_of(bot, code)
    assert ticket.state == TicketState.TRIAGE
    assert ticket.agency_id is None
    assert "Cần phân loại" in card["text"]
    assert "0912345678" in card["text"]  # operators may see the identity


async def test_similar_open_ticket_is_offered_first(bot: Harness) -> None:
    first = await file_complaint(bot)
    proposal = await bot.say(COMPLAINT, OTHER_CITIZEN)
    await bot.press(proposal, "Send", OTHER_CITIZEN)
    offer = await bot.reply(OTHER_CITIZEN)
    assert first in offer["text"]
    await bot.press(offer, "Follow that one", OTHER_CITIZEN)
    following = await bot.reply(OTHER_CITIZEN)
    assert first in following["text"]


# --- /theodoi -------------------------------------------------------------------------------


async def test_track_lists_and_details_my_tickets(bot: Harness) -> None:
    code = await file_complaint(bot)
    listing = await bot.say("/theodoi")
    detail = await bot.say(f"/theodoi {code}")
    others = await bot.say(f"/track {code}", OTHER_CITIZEN)
    assert code in listing["text"]
    assert "Đã chuyển cơ quan xử lý" in listing["text"]
    assert "ổ gà" in detail["text"]
    assert "Sở Xây dựng" in detail["text"]
    assert "No complaint" in others["text"]


# --- dossier lookup -------------------------------------------------------------------------


async def add_dossier(bot: Harness, **fields: object) -> None:
    values: dict[str, object] = {
        "code": "H23.22-230825-0001",
        "procedure": "Cấp giấy chứng nhận quyền sử dụng đất lần đầu",
        "agency_id": "nn-mt",
        "applicant_name": "Nguyễn Văn An",
        "applicant_id": "075123456789",
        "phone": "0912345678",
        "received_at": datetime(2026, 11, 2, 2, 0, tzinfo=UTC),
        "due_at": datetime(2026, 11, 16, 10, 0, tzinfo=UTC),
        "status": 4,
    }
    values.update(fields)
    async with bot.app.db.transaction() as session:
        session.add(Dossier(**values))  # type: ignore[arg-type]


async def test_lookup_found_shows_public_card(bot: Harness) -> None:
    await add_dossier(bot)
    card = await bot.say("/hoso H23.22-230825-0001")
    assert "H23.22-230825-0001" in card["text"]
    assert "Cấp giấy chứng nhận quyền sử dụng đất" in card["text"]
    assert "Đang xử lý" in card["text"]
    assert "trễ hạn 5 ngày làm việc" in card["text"].lower()
    assert "Nguyễn Văn An" not in card["text"]


async def test_lookup_not_found_explains(bot: Harness) -> None:
    card = await bot.say("/hoso H23.22-230825-9999")
    assert "Không tìm thấy" in card["text"] or "không tìm thấy" in card["text"]


async def test_free_text_code_is_a_lookup(bot: Harness) -> None:
    await add_dossier(bot)
    card = await bot.say("h23.22-230825-0001")
    assert "Cấp giấy chứng nhận quyền sử dụng đất" in card["text"]


async def test_lookup_verified_shows_personal_fields(bot: Harness) -> None:
    await add_dossier(bot)
    card = await bot.say("/hoso H23.22-230825-0001 6789")
    assert "Nguyễn Văn An" in card["text"]
    assert card["reply_markup"]["inline_keyboard"][0][0]["callback_data"].startswith("dsub:")


async def test_wrong_last4_then_lockout(bot: Harness) -> None:
    await add_dossier(bot)
    replies = [await bot.say("/hoso H23.22-230825-0001 0000") for _ in range(4)]
    right_after = await bot.say("/hoso H23.22-230825-0001 6789")
    assert "Nguyễn Văn An" not in right_after["text"]
    assert any("khóa" in r["text"] or "tạm khóa" in r["text"] for r in replies[2:] + [right_after])


# --- bad input ------------------------------------------------------------------------------


async def test_longest_message_is_stored_whole(bot: Harness) -> None:
    text = ("Phản ánh đường hư hỏng nặng, ổ gà khắp nơi. " * 100)[:4096]
    proposal = await bot.say(text)
    await bot.press(proposal, "Gửi")
    await bot.reply()
    anonymous = await bot.reply()
    await bot.press(anonymous, "ẩn danh")
    code = code_in((await bot.reply())["text"])
    ticket = await ticket_of(bot, code)
    group = bot.agency_chat("xay-dung")
    first = await bot.reply(group)
    second = await bot.reply(group)
    assert ticket.text == text
    assert len(first["text"]) <= 4096
    assert code in second["text"]


async def test_sticker_gets_a_hint(bot: Harness) -> None:
    await bot.emu.send_sticker(CITIZEN)
    reply = await bot.reply()
    assert "tin nhắn chữ" in reply["text"]


async def test_old_button_is_answered_sensibly(bot: Harness) -> None:
    old = await bot.say(COMPLAINT)
    await bot.say("/huy")
    await bot.press(old, "Gửi")
    reply = await bot.reply()
    assert "thao tác cũ" in reply["text"]


async def test_html_in_user_text_is_escaped_everywhere(bot: Harness) -> None:
    text = "Đường <b>ổ gà</b> & <script>alert(1)</script> hư hỏng nặng nguy hiểm lắm"
    code = await file_complaint(bot, text)
    card = await bot.reply(bot.agency_chat("xay-dung"))
    detail = await bot.say(f"/theodoi {code}")
    assert "<script>alert(1)</script>" in card["text"]  # shown as text, not markup
    assert "<b>ổ gà</b>" in detail["text"]
    assert not any(
        e.get("type") == "bold" and e.get("length") == 5 for e in card.get("entities", [])
    )


async def test_group_that_is_not_registered_is_refused(bot: Harness) -> None:
    reply = await bot.say("/start", STRANGERS)
    assert "chưa được khai báo" in reply["text"]


async def test_redelivered_update_is_processed_once(bot: Harness) -> None:
    update = Incoming(
        channel="telegram",
        chat_id=str(CITIZEN),
        user_id=str(CITIZEN),
        update_id="777",
        text="/start",
    )
    first = await bot.app.inbox.handle(update)
    again = await bot.app.inbox.handle(update)
    await bot.reply()
    await bot.settle()
    assert len(first) == 1
    assert again == []
    assert len(bot.emu.bot_messages(CITIZEN)) == 1


async def test_command_menus_are_published_per_chat_kind(bot: Harness) -> None:
    private = [c["command"] for c in bot.emu.commands({"type": "all_private_chats"})]
    groups = [c["command"] for c in bot.emu.commands({"type": "all_group_chats"})]
    assert {"start", "hoso", "phananh", "theodoi", "lang", "huy", "help"} <= set(private)
    assert {"danhsach", "quahan", "hangdoi"} <= set(groups)
    assert "phananh" not in groups


async def test_commune_matter_goes_to_the_wards_own_committee(
    config: Config, tmp_path: Path
) -> None:
    ward_committee = AgencyConfig(
        id="ubnd-tam-hiep",
        name="UBND phường Tam Hiệp",
        wards=("Phường Tam Hiệp",),
        supervisor="vp-ubnd",
    )
    with_ward = dataclasses.replace(config, agencies=(*config.agencies, ward_committee))
    url = f"sqlite+aiosqlite:///{tmp_path / 'ward.db'}"
    async with running_bot(with_ward, url) as ward_bot:
        text = "Nhà hàng xóm ở phường Tam Hiệp hát karaoke tới 12 giờ đêm mỗi ngày, rất ồn ào"
        proposal = await ward_bot.say(text)
        assert "UBND phường Tam Hiệp" in proposal["text"]
        code = await finish_anonymously(ward_bot, proposal)
        card = await ward_bot.reply(ward_bot.agency_chat("ubnd-tam-hiep"))
        ticket = await ticket_of(ward_bot, code)
    assert ticket.agency_id == "ubnd-tam-hiep"
    assert ticket.ward == "Phường Tam Hiệp"
    assert code in card["text"]


async def finish_anonymously(bot: Harness, proposal: dict[str, Any]) -> str:
    """Press Send, then choose to stay anonymous; return the ticket code."""
    await bot.press(proposal, "Gửi")
    await bot.reply()
    anonymous = await bot.reply()
    await bot.press(anonymous, "ẩn danh")
    return code_in((await bot.reply())["text"])


async def test_photo_with_a_caption_keeps_the_photo(bot: Harness) -> None:
    await bot.emu.send_photo(CITIZEN, tiny_png(), caption=COMPLAINT)
    proposal = await bot.reply()
    assert "Đính kèm: 1 tệp" in proposal["text"]
    code = await finish_anonymously(bot, proposal)
    ticket = await ticket_of(bot, code)
    assert ticket.id is not None
    async with bot.app.db.transaction() as session:
        files = await list_attachments(session=session, ticket_id=ticket.id)
    assert ticket.text == COMPLAINT
    assert [f.kind for f in files] == ["photo"]
