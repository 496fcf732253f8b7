"""Every text the bot says, in Vietnamese and English, so wording is reviewed in one file.

Texts are HTML in Telegram's subset. Values passed to `t()` are escaped unless they are marked
safe with `Safe(...)`; so user text can never break the markup or inject a link.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

LANGUAGES = ("vi", "en")
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class Safe(str):
    """A value already in HTML, inserted into a text as it is."""

    __slots__ = ()


def escape(value: object) -> str:
    """Escape a value for Telegram's HTML parse mode."""
    return html.escape(str(value), quote=False)


def fmt_date(value: datetime | None) -> str:
    """Format as dd/mm/yyyy in the province's time zone."""
    return value.astimezone(LOCAL_TZ).strftime("%d/%m/%Y") if value else "—"


def fmt_datetime(value: datetime | None) -> str:
    """Format as HH:MM dd/mm/yyyy in the province's time zone."""
    return value.astimezone(LOCAL_TZ).strftime("%H:%M %d/%m/%Y") if value else "—"


def t(key: str, lang: str = "vi", /, **values: Any) -> str:
    """Return the text `key` in `lang` (Vietnamese if missing), with escaped values filled in."""
    entry = TEXTS[key]
    template = entry.get(lang) or entry["vi"]
    safe = {name: v if isinstance(v, Safe) else escape(v) for name, v in values.items()}
    return template.format(**safe)


def language_of(code: str | None) -> str:
    """Map a client language code to a supported language (default Vietnamese)."""
    return "en" if (code or "").lower().startswith("en") else "vi"


TEXTS: dict[str, dict[str, str]] = {
    # --- general -------------------------------------------------------------------------
    "start": {
        "vi": (
            "Xin chào! Đây là <b>{hotline}</b> của tỉnh {province}.\n"
            "Tôi có thể giúp bạn tra cứu hồ sơ thủ tục hành chính và tiếp nhận phản ánh, kiến "
            "nghị gửi tới cơ quan có thẩm quyền.\nBạn cần gì?"
        ),
        "en": (
            "Hello! This is the <b>{hotline}</b> of {province} province.\n"
            "I can look up your administrative dossier and take your complaints and "
            "suggestions to the agency in charge.\nWhat do you need?"
        ),
    },
    "menu.lookup": {"vi": "🔎 Tra cứu hồ sơ", "en": "🔎 Look up a dossier"},
    "menu.complain": {"vi": "📝 Gửi phản ánh", "en": "📝 File a complaint"},
    "menu.track": {"vi": "📋 Phản ánh của tôi", "en": "📋 My complaints"},
    "menu.help": {"vi": "❓ Hướng dẫn", "en": "❓ Help"},
    "help": {
        "vi": (
            "<b>Hướng dẫn sử dụng</b>\n"
            "/hoso MÃ_HỒ_SƠ [4 số cuối] — tra cứu hồ sơ (4 số cuối CCCD hoặc điện thoại của "
            "người nộp để xem thông tin cá nhân)\n"
            "/phananh [nội dung] — gửi phản ánh, kiến nghị\n"
            "/theodoi [MÃ_PHẢN_ÁNH] — theo dõi phản ánh của bạn\n"
            "/lang en — English\n"
            "/huy — thoát thao tác đang làm\n\n"
            "Bạn cũng có thể gõ thẳng mã hồ sơ hoặc nội dung phản ánh.\n"
            "Tổng đài: <b>{phone}</b>.\n"
            "⚠️ Bot không tiếp nhận tin báo khẩn cấp: gọi 113 (công an), 114 (cứu hỏa), "
            "115 (cấp cứu)."
        ),
        "en": (
            "<b>How to use this bot</b>\n"
            "/lookup DOSSIER_CODE [last 4 digits] — look up a dossier (the last 4 digits of the "
            "applicant's ID or phone unlock personal details)\n"
            "/complain [text] — file a complaint or suggestion\n"
            "/track [TICKET] — follow your complaints\n"
            "/lang vi — Tiếng Việt\n"
            "/cancel — leave the current step\n\n"
            "You can also just type a dossier code or your complaint.\n"
            "Hotline: <b>{phone}</b>.\n"
            "⚠️ This bot does not handle emergencies: call 113 (police), 114 (fire), "
            "115 (ambulance)."
        ),
    },
    "lang.set": {"vi": "Đã chuyển sang tiếng Việt.", "en": "The bot will now speak English."},
    "lang.usage": {"vi": "Dùng: /lang vi hoặc /lang en", "en": "Usage: /lang vi or /lang en"},
    "cancelled": {
        "vi": "Đã hủy. Bạn có thể bắt đầu lại bất cứ lúc nào: /start",
        "en": "Cancelled. You can start again at any time: /start",
    },
    "nothing_to_cancel": {
        "vi": "Không có thao tác nào đang làm dở.",
        "en": "There is nothing to cancel.",
    },
    "unknown_command": {
        "vi": "Tôi chưa hiểu lệnh này. Xem hướng dẫn dưới đây.",
        "en": "I don't know that command. Here is how to use the bot.",
    },
    "empty_message": {
        "vi": (
            "Tôi chỉ đọc được tin nhắn chữ, ảnh, tài liệu, vị trí và số điện thoại. Hãy gõ nội "
            "dung phản ánh hoặc mã hồ sơ, hoặc gõ /help."
        ),
        "en": (
            "I can read text, photos, documents, locations and phone numbers. Type your "
            "complaint or a dossier code, or /help."
        ),
    },
    "too_short": {
        "vi": (
            "Bạn muốn tra cứu hồ sơ hay gửi phản ánh? Hãy gõ mã hồ sơ, hoặc mô tả sự việc "
            "cụ thể hơn (vài câu), hoặc chọn bên dưới."
        ),
        "en": (
            "Do you want to look up a dossier or file a complaint? Type a dossier code, "
            "describe the matter in a few sentences, or choose below."
        ),
    },
    "stale_button": {
        "vi": "Nút này thuộc một thao tác cũ đã kết thúc. Gõ /start để bắt đầu lại.",
        "en": "That button belongs to a step that has ended. Type /start to begin again.",
    },
    "not_allowed": {
        "vi": "Nhóm này không có quyền thực hiện thao tác đó.",
        "en": "This chat is not allowed to do that.",
    },
    "dialog.press_button": {
        "vi": "Vui lòng chọn một nút ở tin nhắn trên, hoặc gõ /huy để thoát.",
        "en": "Please press one of the buttons above, or type /cancel to stop.",
    },
    "operator.help": {
        "vi": (
            "Đây là nhóm tổng đài viên. Phản ánh cần phân loại sẽ được gửi vào đây kèm gợi ý; "
            "phản ánh quá hạn, bị đùn đẩy, bị mở lại hoặc bị đánh giá thấp cũng được báo tại đây.\n"
            "/hangdoi — hàng đợi phân loại, hạn sớm nhất trước\n"
            "/quahan — mọi phản ánh quá hạn, theo cơ quan"
        ),
        "en": (
            "This is the operators' group. Complaints to triage arrive here with suggestions; "
            "overdue, passed-around, reopened and poorly rated complaints are reported here too.\n"
            "/queue — the triage queue, earliest deadline first\n"
            "/overdue — every overdue complaint, by agency"
        ),
    },
    "agency.help": {
        "vi": (
            "Đây là nhóm của cơ quan xử lý. Phản ánh được giao sẽ được gửi vào đây kèm hạn giải "
            "quyết; nhắc hạn, quá hạn và phản ánh bị người dân mở lại cũng được báo tại đây.\n"
            "/danhsach — phản ánh đang mở của cơ quan, quá hạn trước\n"
            "/quahan — chỉ các phản ánh quá hạn"
        ),
        "en": (
            "This is the agency's group. Complaints assigned to the agency arrive here with "
            "their deadlines; reminders, overdue notices and reopened complaints too.\n"
            "/list — the agency's open complaints, overdue first\n"
            "/overdue — only the overdue ones"
        ),
    },
    "group_unknown": {
        "vi": "Nhóm này chưa được khai báo với tổng đài. Liên hệ quản trị viên.",
        "en": "This group is not registered with the hotline. Contact the administrator.",
    },
    # --- dossiers (bot/domain/dossiers.py, handlers/citizen.py) ----------------------------------
    # DOSSIER TEXTS START
    "dossier.ask_code": {
        "vi": (
            "Vui lòng gõ mã hồ sơ, ví dụ <code>/hoso H23.22-230825-0001</code>. Mã hồ sơ in ở "
            "đầu Giấy tiếp nhận hồ sơ và hẹn trả kết quả. Thêm 4 số cuối CCCD hoặc số điện "
            "thoại của người nộp để xem thông tin cá nhân và nhận thông báo: "
            "<code>/hoso H23.22-230825-0001 1234</code>."
        ),
        "en": (
            "Please type the dossier code, e.g. <code>/lookup H23.22-230825-0001</code>. The "
            "code is printed at the top of the dossier receipt (Giấy tiếp nhận hồ sơ và hẹn trả "
            "kết quả). Add the last 4 digits of the applicant's ID number or phone to see "
            "personal details and get updates: <code>/lookup H23.22-230825-0001 1234</code>."
        ),
    },
    "dossier.card": {
        "vi": (
            "📁 <b>Hồ sơ {code}</b>\n"
            "Thủ tục: {procedure}\n"
            "Cơ quan giải quyết: {agency}\n"
            "Ngày tiếp nhận: {received}\n"
            "Ngày hẹn trả: {due}\n"
            "Trạng thái: <b>{status}</b>"
        ),
        "en": (
            "📁 <b>Dossier {code}</b>\n"
            "Procedure: {procedure}\n"
            "Handled by: {agency}\n"
            "Received: {received}\n"
            "Due: {due}\n"
            "Status: <b>{status}</b>"
        ),
    },
    "dossier.card.late": {
        "vi": "⚠️ <b>Trễ hạn {days} ngày làm việc</b>",
        "en": "⚠️ <b>Late by {days} working day(s)</b>",
    },
    "dossier.card.completed": {"vi": "Ngày hoàn thành: {date}", "en": "Completed: {date}"},
    "dossier.card.completed_late": {
        "vi": "⚠️ Hoàn thành trễ hạn {days} ngày làm việc",
        "en": "⚠️ Completed {days} working day(s) late",
    },
    "dossier.card.on_time": {"vi": "✅ Hoàn thành đúng hạn", "en": "✅ Completed on time"},
    "dossier.card.new_due": {
        "vi": "📅 Hẹn trả mới: <b>{date}</b> (đã có Phiếu xin lỗi và hẹn lại ngày trả kết quả)",
        "en": "📅 New due date: <b>{date}</b> (an apology slip with a new date was issued)",
    },
    "dossier.card.applicant": {"vi": "👤 Người nộp: {name}", "en": "👤 Applicant: {name}"},
    "dossier.card.apology_reason": {
        "vi": "Lý do hẹn lại: {reason}",
        "en": "Reason for the new date: {reason}",
    },
    "dossier.card.officer": {
        "vi": "Cán bộ xử lý: {officer}",
        "en": "Officer in charge: {officer}",
    },
    "dossier.card.verified": {
        "vi": "✅ Đã xác minh người nộp hồ sơ.",
        "en": "✅ Verified as the applicant.",
    },
    "dossier.verify_hint": {
        "vi": (
            "🔒 Để xem thông tin người nộp và nhận thông báo khi hồ sơ thay đổi, gõ "
            "<code>/hoso {code} 1234</code> (thay 1234 bằng 4 số cuối CCCD hoặc số điện thoại "
            "của người nộp)."
        ),
        "en": (
            "🔒 To see the applicant's details and get notified of changes, type "
            "<code>/lookup {code} 1234</code> (1234 being the last 4 digits of the applicant's "
            "ID number or phone)."
        ),
    },
    "dossier.status.1": {"vi": "Mới đăng ký", "en": "Newly registered"},
    "dossier.status.2": {"vi": "Được tiếp nhận", "en": "Received"},
    "dossier.status.3": {"vi": "Không được tiếp nhận", "en": "Not accepted"},
    "dossier.status.4": {"vi": "Đang xử lý", "en": "In progress"},
    "dossier.status.5": {"vi": "Yêu cầu bổ sung", "en": "Additional documents requested"},
    "dossier.status.6": {
        "vi": "Yêu cầu thực hiện nghĩa vụ tài chính",
        "en": "Fees or taxes to be paid",
    },
    "dossier.status.7": {
        "vi": "Công dân yêu cầu rút hồ sơ",
        "en": "Withdrawn at the applicant's request",
    },
    "dossier.status.8": {"vi": "Dừng xử lý", "en": "Processing stopped"},
    "dossier.status.9": {"vi": "Đã xử lý xong", "en": "Processed"},
    "dossier.status.10": {"vi": "Đã trả kết quả", "en": "Result returned"},
    "dossier.not_found": {
        "vi": (
            "❓ Không tìm thấy hồ sơ <b>{code}</b>.\n"
            "Vui lòng kiểm tra lại mã: mã hồ sơ in ở đầu Giấy tiếp nhận hồ sơ và hẹn trả kết "
            "quả, gồm mã cơ quan – ngày tiếp nhận (năm, tháng, ngày: YYMMDD) – số thứ tự, ví dụ "
            "<code>H23.22-230825-0001</code> hoặc <code>000.00.12.H23-230825-0001</code>. "
            "Hồ sơ vừa nộp có thể chưa kịp cập nhật. Cần hỗ trợ, vui lòng gọi {phone}."
        ),
        "en": (
            "❓ No dossier <b>{code}</b> was found.\n"
            "Please check the code: it is printed at the top of the dossier receipt and reads "
            "agency code – date received (YYMMDD) – sequence number, e.g. "
            "<code>H23.22-230825-0001</code> or <code>000.00.12.H23-230825-0001</code>. "
            "A dossier filed today may not be listed yet. For help, call {phone}."
        ),
    },
    "dossier.bad_code": {
        "vi": (
            "“{text}” không phải là mã hồ sơ. Mã hồ sơ in ở đầu Giấy tiếp nhận hồ sơ và hẹn "
            "trả kết quả, dạng <code>H23.22-230825-0001</code> hoặc "
            "<code>000.00.12.H23-230825-0001</code>."
        ),
        "en": (
            "“{text}” is not a dossier code. The code is printed at the top of the dossier "
            "receipt and looks like <code>H23.22-230825-0001</code> or "
            "<code>000.00.12.H23-230825-0001</code>."
        ),
    },
    "dossier.bad_last4": {
        "vi": (
            "Mã xác minh phải gồm đúng 4 chữ số (4 số cuối CCCD hoặc số điện thoại của người "
            "nộp), ví dụ <code>/hoso {code} 1234</code>."
        ),
        "en": (
            "The verification code is exactly 4 digits (the last 4 of the applicant's ID "
            "number or phone), e.g. <code>/lookup {code} 1234</code>."
        ),
    },
    "dossier.wrong_last4": {
        "vi": "❌ 4 số cuối chưa đúng. Bạn còn {left} lần thử.",
        "en": "❌ Those 4 digits do not match. {left} tries left.",
    },
    "dossier.locked": {
        "vi": "🔒 Bạn đã nhập sai quá nhiều lần. Việc xác minh hồ sơ này tạm khóa đến {until}.",
        "en": "🔒 Too many wrong tries. Verification for this dossier is locked until {until}.",
    },
    "dossier.no_verify_data": {
        "vi": (
            "Hồ sơ này chưa có thông tin để xác minh qua tổng đài. Vui lòng liên hệ bộ phận "
            "một cửa nơi bạn nộp hồ sơ."
        ),
        "en": (
            "This dossier has no details to verify you with. Please contact the one-stop desk "
            "where you filed it."
        ),
    },
    "dossier.rate_limited": {
        "vi": "⏳ Bạn tra cứu quá nhiều lần. Vui lòng thử lại sau {seconds} giây.",
        "en": "⏳ Too many lookups. Please try again in {seconds} seconds.",
    },
    "dossier.button.subscribe": {"vi": "🔔 Theo dõi hồ sơ này", "en": "🔔 Follow this dossier"},
    "dossier.button.unsubscribe": {"vi": "🔕 Bỏ theo dõi", "en": "🔕 Stop following"},
    "dossier.subscribed": {
        "vi": (
            "🔔 Đã đăng ký theo dõi hồ sơ <b>{code}</b>. Bạn sẽ được báo khi hồ sơ chuyển "
            "trạng thái, có ngày hẹn trả mới hoặc bị trễ hạn."
        ),
        "en": (
            "🔔 You now follow dossier <b>{code}</b>. You will be told when its status "
            "changes, when it gets a new due date, or when it runs late."
        ),
    },
    "dossier.already_subscribed": {
        "vi": "Bạn đang theo dõi hồ sơ <b>{code}</b>.",
        "en": "You already follow dossier <b>{code}</b>.",
    },
    "dossier.unsubscribed": {
        "vi": "🔕 Đã bỏ theo dõi hồ sơ <b>{code}</b>.",
        "en": "🔕 You no longer follow dossier <b>{code}</b>.",
    },
    "dossier.not_subscribed": {
        "vi": "Bạn chưa theo dõi hồ sơ <b>{code}</b>.",
        "en": "You do not follow dossier <b>{code}</b>.",
    },
    "dossier.subscribe_needs_verify": {
        "vi": (
            "Để theo dõi hồ sơ <b>{code}</b>, vui lòng xác minh trước: gõ "
            "<code>/hoso {code} 1234</code> (4 số cuối CCCD hoặc số điện thoại của người nộp), "
            "rồi bấm nút 🔔 Theo dõi hồ sơ này."
        ),
        "en": (
            "To follow dossier <b>{code}</b>, please verify first: type "
            "<code>/lookup {code} 1234</code> (the last 4 digits of the applicant's ID number "
            "or phone), then press 🔔 Follow this dossier."
        ),
    },
    "dossier.notice.new_due": {
        "vi": "🔔 Hồ sơ <b>{code}</b> ({procedure}) có ngày hẹn trả kết quả mới: <b>{date}</b>.",
        "en": "🔔 Dossier <b>{code}</b> ({procedure}) has a new due date: <b>{date}</b>.",
    },
    "dossier.notice.reason": {"vi": "Lý do: {reason}", "en": "Reason: {reason}"},
    "dossier.notice.status": {
        "vi": "🔔 Hồ sơ <b>{code}</b> ({procedure}) đã chuyển trạng thái: {old} → <b>{new}</b>.",
        "en": "🔔 Dossier <b>{code}</b> ({procedure}) changed status: {old} → <b>{new}</b>.",
    },
    "dossier.notice.hint.3": {
        "vi": "Hồ sơ không được tiếp nhận; vui lòng liên hệ bộ phận một cửa để biết lý do.",
        "en": "The dossier was not accepted; please ask the one-stop desk for the reason.",
    },
    "dossier.notice.hint.5": {
        "vi": "Vui lòng bổ sung giấy tờ theo yêu cầu của cơ quan giải quyết.",
        "en": "Please provide the additional documents the agency asked for.",
    },
    "dossier.notice.hint.6": {
        "vi": "Vui lòng nộp phí, lệ phí hoặc thuế theo thông báo của cơ quan giải quyết.",
        "en": "Please pay the fees or taxes the agency notified you of.",
    },
    "dossier.notice.hint.9": {
        "vi": "Hồ sơ đã giải quyết xong; bạn có thể đến nhận kết quả theo giấy hẹn.",
        "en": "The dossier is processed; you may collect the result as the receipt says.",
    },
    "dossier.notice.more": {
        "vi": "Xem chi tiết: <code>/hoso {code}</code>",
        "en": "Details: <code>/lookup {code}</code>",
    },
    # DOSSIER TEXTS END
    # --- complaints ----------------------------------------------------------------------
    # COMPLAINT TEXTS START
    "complaint.ask_text": {
        "vi": (
            "Vui lòng mô tả sự việc bạn muốn phản ánh: ở đâu, khi nào, cơ quan hay cán bộ nào, "
            "mã hồ sơ nếu có. Bạn có thể gửi kèm ảnh, tài liệu và vị trí. Gõ /huy để thoát."
        ),
        "en": (
            "Please describe what you want to report: where, when, which agency or official, "
            "the dossier code if any. You may attach photos, documents and a location. "
            "Type /cancel to stop."
        ),
    },
    "complaint.proposal": {
        "vi": (
            "<b>Phản ánh của bạn</b>\n"
            "Lĩnh vực: <b>{category}</b>\n"
            "Cơ quan xử lý: <b>{agency}</b>\n"
            "Hạn giải quyết dự kiến: <b>{due}</b>\n"
            "{evidence}{extras}\n"
            "Bạn có thể gửi thêm ảnh, tài liệu hoặc vị trí trước khi bấm <b>Gửi</b>."
        ),
        "en": (
            "<b>Your complaint</b>\n"
            "Category: <b>{category}</b>\n"
            "Handled by: <b>{agency}</b>\n"
            "Expected resolution by: <b>{due}</b>\n"
            "{evidence}{extras}\n"
            "You may add photos, documents or a location before pressing <b>Send</b>."
        ),
    },
    "complaint.evidence": {
        "vi": "Căn cứ: <i>{phrases}</i>\n",
        "en": "Matched: <i>{phrases}</i>\n",
    },
    "complaint.extras": {
        "vi": "Đính kèm: {files} tệp{location}\n",
        "en": "Attached: {files} file(s){location}\n",
    },
    "complaint.extras_location": {"vi": ", có vị trí", "en": ", with a location"},
    "complaint.triage_agency": {
        "vi": "Tổng đài viên sẽ chuyển đến cơ quan phù hợp",
        "en": "An operator will pick the right agency",
    },
    "complaint.ward_agency": {"vi": "UBND {ward}", "en": "People's Committee of {ward}"},
    "complaint.button.send": {"vi": "✅ Gửi", "en": "✅ Send"},
    "complaint.button.change": {"vi": "🔄 Chọn lĩnh vực khác", "en": "🔄 Other category"},
    "complaint.button.cancel": {"vi": "❌ Hủy", "en": "❌ Cancel"},
    "complaint.choose_category": {
        "vi": "Chọn lĩnh vực phù hợp nhất với phản ánh của bạn:",
        "en": "Choose the category that fits your complaint best:",
    },
    "complaint.attached": {
        "vi": "Đã nhận {what}. Bấm <b>Gửi</b> ở tin nhắn trên khi đã xong.",
        "en": "Got the {what}. Press <b>Send</b> on the message above when you are done.",
    },
    "complaint.attached.photo": {"vi": "ảnh", "en": "photo"},
    "complaint.attached.document": {"vi": "tài liệu", "en": "document"},
    "complaint.attached.location": {"vi": "vị trí", "en": "location"},
    "complaint.attached.text": {"vi": "nội dung bổ sung", "en": "additional text"},
    "complaint.similar": {
        "vi": (
            "Đã có một phản ánh tương tự đang được xử lý: <b>{code}</b> ({category}, gửi ngày "
            "{date}).\n<i>{excerpt}</i>\nBạn muốn theo dõi phản ánh đó hay vẫn gửi phản ánh mới?"
        ),
        "en": (
            "A similar complaint is already being handled: <b>{code}</b> ({category}, filed on "
            "{date}).\n<i>{excerpt}</i>\nFollow that one, or send yours anyway?"
        ),
    },
    "complaint.button.follow_similar": {
        "vi": "👀 Theo dõi phản ánh đó",
        "en": "👀 Follow that one",
    },
    "complaint.button.send_anyway": {"vi": "📨 Vẫn gửi phản ánh mới", "en": "📨 Send mine anyway"},
    "complaint.following_similar": {
        "vi": "Bạn sẽ được báo khi phản ánh {code} có kết quả. Phản ánh của bạn không gửi lại.",
        "en": "You will be told when {code} is resolved. Your complaint was not sent again.",
    },
    "complaint.ask_contact": {
        "vi": (
            "Để cơ quan có thể liên hệ và phản hồi, hãy bấm <b>Chia sẻ số điện thoại</b> bên "
            "dưới, hoặc gõ họ tên và số điện thoại (ví dụ: Nguyễn Văn A 0912345678)."
        ),
        "en": (
            "So that the agency can reach you, press <b>Share my phone number</b> below, or "
            "type your name and phone number (e.g. Nguyen Van A 0912345678)."
        ),
    },
    "complaint.share_phone": {"vi": "📱 Chia sẻ số điện thoại", "en": "📱 Share my phone number"},
    "complaint.or_anonymous": {
        "vi": "Không muốn để lại thông tin? Bạn vẫn có thể gửi ẩn danh.",
        "en": "Rather not leave your details? You can still send anonymously.",
    },
    "complaint.button.anonymous": {"vi": "🕶 Gửi ẩn danh", "en": "🕶 Send anonymously"},
    "complaint.bad_contact": {
        "vi": (
            "Tôi chưa thấy số điện thoại hợp lệ. Gõ họ tên và số điện thoại (ví dụ: Nguyễn Văn A "
            "0912345678), bấm nút chia sẻ số điện thoại, hoặc chọn gửi ẩn danh."
        ),
        "en": (
            "I could not find a valid phone number. Type your name and phone number (e.g. "
            "Nguyen Van A 0912345678), press the share button, or choose to send anonymously."
        ),
    },
    "complaint.ask_privacy": {
        "vi": "Đã ghi nhận liên hệ: {name} {phone}.\nAi được biết danh tính của bạn?",
        "en": "Contact noted: {name} {phone}.\nWho may see your identity?",
    },
    "complaint.privacy.agency": {"vi": "🏛 Cơ quan xử lý", "en": "🏛 The handling agency"},
    "complaint.privacy.operators": {"vi": "🎧 Chỉ tổng đài viên", "en": "🎧 Operators only"},
    "complaint.privacy.anonymous": {"vi": "🕶 Không ai (ẩn danh)", "en": "🕶 Nobody (anonymous)"},
    "complaint.privacy.recommended": {"vi": " (khuyến nghị)", "en": " (recommended)"},
    "complaint.created": {
        "vi": (
            "✅ Đã tiếp nhận phản ánh <b>{code}</b>.\n"
            "Lĩnh vực: {category}\nCơ quan xử lý: {agency}\nHạn giải quyết: <b>{due}</b>\n"
            "Bạn sẽ nhận thông báo khi có tiến triển. Xem lại: /theodoi {code}"
        ),
        "en": (
            "✅ Complaint <b>{code}</b> received.\n"
            "Category: {category}\nHandled by: {agency}\nDue by: <b>{due}</b>\n"
            "You will be told of every step. Check it: /track {code}"
        ),
    },
    "complaint.keyboard_closed": {"vi": "Cảm ơn bạn!", "en": "Thank you!"},
    "card.header": {
        "vi": "📥 <b>Phản ánh {code}</b>\nLĩnh vực: {category}\nHạn giải quyết: <b>{due}</b>\n",
        "en": "📥 <b>Complaint {code}</b>\nCategory: {category}\nDue by: <b>{due}</b>\n",
    },
    "card.triage_header": {
        "vi": (
            "🧭 <b>Cần phân loại: {code}</b>\nMáy đề xuất: {category}\n"
            "Hạn phân loại: <b>{due}</b>\nGợi ý: {suggestions}\n"
        ),
        "en": (
            "🧭 <b>To triage: {code}</b>\nMachine's guess: {category}\n"
            "Triage by: <b>{due}</b>\nSuggestions: {suggestions}\n"
        ),
    },
    "card.ward": {"vi": "Địa bàn: {ward}\n", "en": "Commune/ward: {ward}\n"},
    "card.dossier": {"vi": "Hồ sơ liên quan: {dossier}\n", "en": "Related dossier: {dossier}\n"},
    "card.subject": {
        "vi": "Cơ quan bị phản ánh: {subject}\n",
        "en": "Agency complained about: {subject}\n",
    },
    "card.reporter": {
        "vi": "Người phản ánh: {name} — {phone}\n",
        "en": "Reporter: {name} — {phone}\n",
    },
    "card.reporter_hidden": {
        "vi": "Người phản ánh: <i>được bảo mật ({who})</i>\n",
        "en": "Reporter: <i>withheld ({who})</i>\n",
    },
    "card.hidden.operators": {"vi": "chỉ tổng đài viên biết", "en": "known to operators only"},
    "card.hidden.anonymous": {"vi": "ẩn danh", "en": "anonymous"},
    "card.attachments": {
        "vi": "Đính kèm: {count} tệp (gửi ngay sau)\n",
        "en": "Attachments: {count} file(s) (follow)\n",
    },
    "card.location": {"vi": "Vị trí: {lat}, {lon}\n", "en": "Location: {lat}, {lon}\n"},
    "card.body": {"vi": "\n<b>Nội dung:</b>\n{text}", "en": "\n<b>Text:</b>\n{text}"},
    "card.continued": {
        "vi": "<i>(tiếp theo, {code})</i>\n{text}",
        "en": "<i>(continued, {code})</i>\n{text}",
    },
    "track.none": {
        "vi": "Bạn chưa gửi phản ánh nào. Gửi phản ánh: /phananh",
        "en": "You have not filed any complaint yet. File one: /complain",
    },
    "track.list_header": {"vi": "<b>Phản ánh của bạn</b>", "en": "<b>Your complaints</b>"},
    "track.item": {
        "vi": "• <b>{code}</b> — {state} — {category}, hạn {due}",
        "en": "• <b>{code}</b> — {state} — {category}, due {due}",
    },
    "track.detail": {
        "vi": (
            "<b>{code}</b>\nTrạng thái: <b>{state}</b>\nLĩnh vực: {category}\n"
            "Cơ quan xử lý: {agency}\nNgày gửi: {created}\nHạn giải quyết: {due}\n"
            "<b>Nội dung:</b> {excerpt}{answer}"
        ),
        "en": (
            "<b>{code}</b>\nStatus: <b>{state}</b>\nCategory: {category}\n"
            "Handled by: {agency}\nFiled: {created}\nDue by: {due}\n"
            "<b>Text:</b> {excerpt}{answer}"
        ),
    },
    "track.answer": {"vi": "\n<b>Trả lời:</b> {answer}", "en": "\n<b>Answer:</b> {answer}"},
    "track.not_found": {
        "vi": "Không tìm thấy phản ánh {code} của bạn. Xem danh sách: /theodoi",
        "en": "No complaint {code} of yours was found. See the list: /track",
    },
    "state.triage": {"vi": "Đang phân loại", "en": "Being triaged"},
    "state.routed": {"vi": "Đã chuyển cơ quan xử lý", "en": "Sent to the agency"},
    "state.accepted": {"vi": "Đang xử lý", "en": "In progress"},
    "state.waiting_citizen": {"vi": "Chờ bạn bổ sung thông tin", "en": "Waiting for your reply"},
    "state.resolved": {"vi": "Đã giải quyết", "en": "Resolved"},
    "state.closed": {"vi": "Đã đóng", "en": "Closed"},
    "state.spam": {"vi": "Không hợp lệ", "en": "Rejected"},
    "state.merged": {"vi": "Đã gộp với phản ánh khác", "en": "Merged with another"},
    # COMPLAINT TEXTS END
    # --- rating, reopening and work lists (handlers/rating.py, handlers/worklists.py) ------
    # RATING TEXTS START
    # Under the citizen's "resolved" notice.
    "rating.invite": {
        "vi": (
            "\n\n⭐ Bạn hài lòng với kết quả giải quyết đến đâu? Chấm từ ⭐1 (không hài lòng) đến "
            "⭐5 (rất hài lòng). Nếu vấn đề chưa được giải quyết xong, bạn có thể mở lại phản ánh "
            "trong {days} ngày."
        ),
        "en": (
            "\n\n⭐ How satisfied are you with the result? Rate it from ⭐1 (not satisfied) to ⭐5 "
            "(very satisfied). If the matter is not solved yet, you may reopen the complaint "
            "within {days} days."
        ),
    },
    "rating.button.star": {"vi": "⭐{stars}", "en": "⭐{stars}"},
    "rating.button.reopen": {
        "vi": "🔄 Chưa giải quyết xong → mở lại",
        "en": "🔄 Not solved yet → reopen",
    },
    "rating.stars": {"vi": "{stars}/5 sao", "en": "{stars}/5 stars"},
    "rating.thanks": {
        "vi": "🙏 Cảm ơn bạn đã đánh giá <b>{stars}</b> cho kết quả giải quyết phản ánh <b>{code}</b>.",
        "en": "🙏 Thank you for rating the handling of complaint <b>{code}</b> <b>{stars}</b>.",
    },
    "rating.changed": {
        "vi": "🙏 Đã cập nhật đánh giá phản ánh <b>{code}</b>: {old} → <b>{stars}</b>. Cảm ơn bạn!",
        "en": "🙏 Your rating of complaint <b>{code}</b> is now <b>{stars}</b> (was {old}). Thank you!",
    },
    "rating.sorry": {
        "vi": (
            "\nChúng tôi rất tiếc vì kết quả chưa làm bạn hài lòng; tổng đài viên đã được báo để "
            "xem lại. Nếu vấn đề chưa được giải quyết xong, bạn có thể mở lại phản ánh đến "
            "<b>{until}</b>."
        ),
        "en": (
            "\nWe are sorry the result did not satisfy you; the operators have been told and will "
            "look into it. If the matter is not solved yet, you may reopen the complaint until "
            "<b>{until}</b>."
        ),
    },
    "rating.unchanged": {
        "vi": (
            "Đánh giá <b>{stars}</b> của bạn cho phản ánh <b>{code}</b> đã được ghi nhận. Bạn có "
            "thể đổi đánh giá đến {until}."
        ),
        "en": (
            "Your rating <b>{stars}</b> for complaint <b>{code}</b> is recorded. You may change "
            "it until {until}."
        ),
    },
    "rating.recorded_final": {
        "vi": (
            "Đánh giá <b>{stars}</b> của bạn cho phản ánh <b>{code}</b> đã được ghi nhận; thời "
            "gian đánh giá đã kết thúc. Cảm ơn bạn!"
        ),
        "en": (
            "Your rating <b>{stars}</b> for complaint <b>{code}</b> is recorded; the rating "
            "period has ended. Thank you!"
        ),
    },
    "rating.error.feedback_closed": {
        "vi": "Thời gian đánh giá phản ánh <b>{code}</b> đã kết thúc ({until}). Cảm ơn bạn!",
        "en": "The rating period of complaint <b>{code}</b> has ended ({until}). Thank you!",
    },
    "rating.error.not_resolved": {
        "vi": (
            "Phản ánh <b>{code}</b> đang ở trạng thái “{state}”. Bạn có thể đánh giá khi cơ quan "
            "gửi kết quả giải quyết."
        ),
        "en": (
            "Complaint <b>{code}</b> is “{state}”. You can rate it once the agency sends its "
            "answer."
        ),
    },
    "rating.error.not_reporter": {
        "vi": "Chỉ người đã gửi phản ánh này mới có thể đánh giá hoặc mở lại phản ánh.",
        "en": "Only the person who filed this complaint can rate or reopen it.",
    },
    "reopen.prompt": {
        "vi": (
            "🔄 Vui lòng cho biết <b>vì sao phản ánh {code} chưa được giải quyết xong</b> trong tin "
            "nhắn tiếp theo (có thể kèm ảnh). Phản ánh sẽ được chuyển lại <b>{agency}</b> với hạn "
            "giải quyết mới. Gõ /huy để thôi."
        ),
        "en": (
            "🔄 Please tell us <b>why complaint {code} is not solved yet</b> in your next message "
            "(photos are welcome). It will go back to <b>{agency}</b> with a new deadline. Type "
            "/cancel to stop."
        ),
    },
    "reopen.need_text": {
        "vi": (
            "Vui lòng viết vài dòng cho biết vì sao phản ánh {code} chưa được giải quyết xong, "
            "hoặc gõ /huy để thôi."
        ),
        "en": "Please write a few words on why complaint {code} is not solved, or /cancel to stop.",
    },
    "reopen.done": {
        "vi": (
            "🔄 Đã mở lại phản ánh <b>{code}</b> và chuyển lại <b>{agency}</b> kèm lý do của bạn.\n"
            "Hạn giải quyết mới: <b>{due}</b>. Bạn sẽ được báo khi có kết quả."
        ),
        "en": (
            "🔄 Complaint <b>{code}</b> is reopened and sent back to <b>{agency}</b> with your "
            "reason.\nNew due date: <b>{due}</b>. You will be told when there is an answer."
        ),
    },
    "reopen.expired": {
        "vi": (
            "⏳ Phản ánh <b>{code}</b> đã được giải quyết ngày {resolved}; thời hạn mở lại "
            "({days} ngày) đã hết vào {until}.\n"
            "Nếu vấn đề vẫn chưa được giải quyết, vui lòng gửi phản ánh mới bằng lệnh /phananh "
            "(ghi rõ mã {code} để cơ quan đối chiếu), hoặc gọi tổng đài <b>{phone}</b>."
        ),
        "en": (
            "⏳ Complaint <b>{code}</b> was resolved on {resolved}; the time to reopen it "
            "({days} days) ended on {until}.\n"
            "If the matter is still not solved, please file a new complaint with /complain "
            "(mention {code} so the agency can look it up), or call the hotline <b>{phone}</b>."
        ),
    },
    "reopen.error.not_resolved": {
        "vi": "Phản ánh <b>{code}</b> đang ở trạng thái “{state}”, không cần mở lại.",
        "en": "Complaint <b>{code}</b> is “{state}”; there is nothing to reopen.",
    },
    "reopen.cancelled": {
        "vi": "Đã thôi mở lại phản ánh {code}.",
        "en": "Complaint {code} was not reopened.",
    },
    # To the agency and the operators.
    "notice.agency.reopened": {
        "vi": (
            "🔄 <b>Phản ánh {code} được người dân mở lại</b> (lần {count}): người dân cho biết vấn "
            "đề chưa được giải quyết xong.\n"
            "Lý do: <i>{reason}</i>\n"
            "Trả lời trước đó: <i>{answer}</i>\n"
            "Hạn giải quyết mới: <b>{due}</b>. Phiếu phản ánh ở tin nhắn dưới."
        ),
        "en": (
            "🔄 <b>Complaint {code} was reopened by the citizen</b> (time {count}): they say the "
            "matter is not solved.\n"
            "Reason: <i>{reason}</i>\n"
            "Previous answer: <i>{answer}</i>\n"
            "New due date: <b>{due}</b>. The complaint's card follows."
        ),
    },
    "notice.operators.reopened": {
        "vi": (
            "🔄 Phản ánh <b>{code}</b> (<b>{agency}</b>) được người dân mở lại (lần {count}).\n"
            "Lý do: <i>{reason}</i>\nHạn giải quyết mới: <b>{due}</b>."
        ),
        "en": (
            "🔄 Complaint <b>{code}</b> (<b>{agency}</b>) was reopened by the citizen (time "
            "{count}).\nReason: <i>{reason}</i>\nNew due date: <b>{due}</b>."
        ),
    },
    "notice.operators.low_rating": {
        "vi": (
            "👎 Phản ánh <b>{code}</b> (<b>{agency}</b>) bị người dân đánh giá <b>{stars}/5</b>.\n"
            "Trả lời của cơ quan: <i>{answer}</i>"
        ),
        "en": (
            "👎 The citizen rated complaint <b>{code}</b> (<b>{agency}</b>) <b>{stars}/5</b>.\n"
            "The agency's answer: <i>{answer}</i>"
        ),
    },
    # Work lists in the agency and operators' groups (handlers/worklists.py).
    "worklist.state.triage": {"vi": "chờ phân loại", "en": "to triage"},
    "worklist.state.routed": {"vi": "chờ tiếp nhận", "en": "not yet accepted"},
    "worklist.state.accepted": {"vi": "đang xử lý", "en": "in progress"},
    "worklist.state.waiting_citizen": {
        "vi": "chờ người dân trả lời",
        "en": "waiting for the citizen",
    },
    "worklist.overdue_mark": {"vi": "⚠️ quá hạn · ", "en": "⚠️ overdue · "},
    "worklist.paused": {"vi": " (tạm dừng)", "en": " (paused)"},
    "worklist.late_hours": {
        "vi": ", trễ {hours} giờ làm việc",
        "en": ", {hours} working hours late",
    },
    "worklist.late_days": {"vi": ", trễ {days} ngày làm việc", "en": ", {days} working days late"},
    "worklist.more": {
        "vi": "… và {count} phản ánh khác.",
        "en": "… and {count} more.",
    },
    "worklist.agency.header": {
        "vi": "📋 <b>Phản ánh đang mở của {agency}</b> ({total}, quá hạn trước, rồi theo hạn giải quyết):",
        "en": "📋 <b>Open complaints of {agency}</b> ({total}, overdue first, then by due date):",
    },
    "worklist.agency.empty": {
        "vi": "✅ {agency} không có phản ánh nào đang mở.",
        "en": "✅ {agency} has no open complaints.",
    },
    "worklist.agency.overdue_header": {
        "vi": "⚠️ <b>Phản ánh quá hạn của {agency}</b> ({total}):",
        "en": "⚠️ <b>Overdue complaints of {agency}</b> ({total}):",
    },
    "worklist.agency.no_overdue": {
        "vi": "✅ {agency} không có phản ánh nào quá hạn.",
        "en": "✅ {agency} has no overdue complaints.",
    },
    "worklist.agency.line": {
        "vi": "{mark}<b>{code}</b> — {category} — hạn {due} — {state}",
        "en": "{mark}<b>{code}</b> — {category} — due {due} — {state}",
    },
    "worklist.queue.header": {
        "vi": "🧭 <b>Hàng đợi phân loại</b> ({total}, hạn phân loại sớm nhất trước):",
        "en": "🧭 <b>Triage queue</b> ({total}, earliest triage deadline first):",
    },
    "worklist.queue.empty": {
        "vi": "✅ Không có phản ánh nào chờ phân loại.",
        "en": "✅ Nothing waits for triage.",
    },
    "worklist.queue.line": {
        "vi": "{mark}<b>{code}</b> — máy đoán: {guess} — hạn {due}",
        "en": "{mark}<b>{code}</b> — machine's guess: {guess} — due {due}",
    },
    "worklist.queue.hint": {
        "vi": "Bấm mã phản ánh bên dưới để mở phiếu và chọn cơ quan xử lý.",
        "en": "Press a complaint's code below to open its card and pick the agency.",
    },
    "worklist.guess": {
        "vi": "{category} → {agency} ({confidence})",
        "en": "{category} → {agency} ({confidence})",
    },
    "worklist.guess_unsure": {
        "vi": "{category} ({confidence})",
        "en": "{category} ({confidence})",
    },
    "worklist.button.open": {"vi": "🧭 {code}", "en": "🧭 {code}"},
    "worklist.overdue.header": {
        "vi": "⚠️ <b>Phản ánh quá hạn</b> ({total}), theo cơ quan:",
        "en": "⚠️ <b>Overdue complaints</b> ({total}), by agency:",
    },
    "worklist.overdue.none": {
        "vi": "✅ Không có phản ánh nào quá hạn.",
        "en": "✅ No complaint is overdue.",
    },
    "worklist.overdue.group": {
        "vi": "\n<b>{agency}</b> — {count} quá hạn",
        "en": "\n<b>{agency}</b> — {count} overdue",
    },
    "worklist.overdue.triage_group": {
        "vi": "Chờ phân loại (tổng đài viên)",
        "en": "Waiting for triage (operators)",
    },
    "worklist.overdue.line": {
        "vi": "• <b>{code}</b> — {category} — hạn {due}{late} — {state}",
        "en": "• <b>{code}</b> — {category} — due {due}{late} — {state}",
    },
    "worklist.not_in_queue": {
        "vi": "Phản ánh <b>{code}</b> không còn chờ phân loại ({state}, {agency}).",
        "en": "Complaint <b>{code}</b> no longer waits for triage ({state}, {agency}).",
    },
    # RATING TEXTS END
    # --- deadlines and notices (bot/sweeper.py) ------------------------------------------
    # NOTICE TEXTS START
    "notice.name.operators": {"vi": "tổng đài viên", "en": "the operators"},
    "notice.name.supervisor": {"vi": "lãnh đạo phụ trách", "en": "the supervising leader"},
    "notice.excerpt": {
        "vi": "\n<b>Nội dung:</b> <i>{text}</i>",
        "en": "\n<b>Text:</b> <i>{text}</i>",
    },
    "notice.continued": {
        "vi": "<i>(tiếp theo, {code})</i>\n{text}",
        "en": "<i>(continued, {code})</i>\n{text}",
    },
    "notice.attachment_of": {
        "vi": "<i>Tệp đính kèm của người phản ánh, {code}</i>",
        "en": "<i>File sent by the reporter, {code}</i>",
    },
    # To the citizen, in their language.
    "notice.citizen.routed": {
        "vi": (
            "📨 Phản ánh <b>{code}</b> đã được chuyển tới <b>{agency}</b>.\n"
            "Hạn giải quyết: <b>{due}</b>. Bạn sẽ được báo khi cơ quan tiếp nhận và khi có kết quả."
        ),
        "en": (
            "📨 Complaint <b>{code}</b> has been sent to <b>{agency}</b>.\n"
            "Due by: <b>{due}</b>. You will be told when the agency takes it up and when it is "
            "resolved."
        ),
    },
    "notice.citizen.accepted": {
        "vi": (
            "📌 <b>{agency}</b> đã tiếp nhận phản ánh <b>{code}</b>.\n"
            "Hạn giải quyết: <b>{due}</b>. Bạn sẽ được báo khi có kết quả."
        ),
        "en": (
            "📌 <b>{agency}</b> has taken up complaint <b>{code}</b>.\n"
            "Due by: <b>{due}</b>. You will be told when it is resolved."
        ),
    },
    "notice.citizen.question": {
        "vi": (
            "❓ <b>{agency}</b> cần bạn bổ sung thông tin cho phản ánh <b>{code}</b>:\n"
            "<i>{question}</i>\n\n"
            "Hãy trả lời bằng tin nhắn tiếp theo (có thể kèm ảnh, tài liệu). Thời hạn giải quyết "
            "tạm dừng cho đến khi bạn trả lời."
        ),
        "en": (
            "❓ <b>{agency}</b> needs more information about complaint <b>{code}</b>:\n"
            "<i>{question}</i>\n\n"
            "Please answer in your next message (photos and documents are welcome). The deadline "
            "is paused until you answer."
        ),
    },
    "notice.citizen.resolved": {
        "vi": (
            "✅ Phản ánh <b>{code}</b> đã được giải quyết.\n<b>Trả lời của {agency}:</b>\n{answer}"
        ),
        "en": "✅ Complaint <b>{code}</b> has been resolved.\n<b>Answer from {agency}:</b>\n{answer}",
    },
    "notice.citizen.overdue": {
        "vi": (
            "🙏 Chúng tôi thành thật xin lỗi: phản ánh <b>{code}</b> của bạn chưa được giải quyết "
            "đúng hạn ({due}).\nTổng đài đã đôn đốc <b>{agency}</b> trả lời trước <b>{expected}</b>; "
            "quá thời điểm đó, phản ánh sẽ được báo cáo lên {supervisor}. Bạn sẽ được báo ngay khi "
            "có kết quả."
        ),
        "en": (
            "🙏 We apologise: your complaint <b>{code}</b> was not resolved by its deadline "
            "({due}).\nThe hotline has urged <b>{agency}</b> to answer by <b>{expected}</b>; after "
            "that it will be reported to {supervisor}. You will be told as soon as there is an "
            "answer."
        ),
    },
    "notice.citizen.escalated": {
        "vi": (
            "🔺 Phản ánh <b>{code}</b> đã quá hạn giải quyết ({due}) nên đã được báo cáo lên "
            "<b>{supervisor}</b> để chỉ đạo giải quyết. Chúng tôi xin lỗi vì sự chậm trễ và sẽ báo "
            "bạn khi có kết quả."
        ),
        "en": (
            "🔺 Complaint <b>{code}</b> is past its deadline ({due}) and has been reported to "
            "<b>{supervisor}</b> for action. We apologise for the delay and will tell you when "
            "there is an answer."
        ),
    },
    "followup.answer_sent": {
        "vi": (
            "Đã chuyển câu trả lời của bạn tới <b>{agency}</b> (phản ánh <b>{code}</b>). "
            "Thời hạn giải quyết tiếp tục; hạn mới: <b>{due}</b>."
        ),
        "en": (
            "Your answer has been passed to <b>{agency}</b> (complaint <b>{code}</b>). The "
            "deadline runs again; new due date: <b>{due}</b>."
        ),
    },
    # To the agency's group.
    "notice.agency.reminder": {
        "vi": (
            "⏰ <b>Nhắc hạn:</b> phản ánh <b>{code}</b> cần được giải quyết trước <b>{due}</b> "
            "(còn khoảng {left} giờ làm việc). Quá hạn, tổng đài viên và người phản ánh sẽ được "
            "thông báo."
        ),
        "en": (
            "⏰ <b>Reminder:</b> complaint <b>{code}</b> must be resolved by <b>{due}</b> (about "
            "{left} working hours left). Once overdue, the operators and the reporter are told."
        ),
    },
    "notice.agency.overdue": {
        "vi": (
            "⚠️ <b>Quá hạn:</b> phản ánh <b>{code}</b> đã quá hạn giải quyết ({due}). Đề nghị trả "
            "lời người dân ngay; nếu đến <b>{escalate}</b> chưa giải quyết, phản ánh sẽ được báo "
            "cáo lên {supervisor}."
        ),
        "en": (
            "⚠️ <b>Overdue:</b> complaint <b>{code}</b> is past its deadline ({due}). Please answer "
            "the citizen now; if it is not resolved by <b>{escalate}</b> it will be reported to "
            "{supervisor}."
        ),
    },
    "notice.agency.deemed_accepted": {
        "vi": (
            "📌 Phản ánh <b>{code}</b> không được tiếp nhận hay trả lại trước {due} nên được coi "
            "là cơ quan đã tiếp nhận; cơ quan không thể trả lại phản ánh này nữa.\n"
            "Hạn giải quyết: <b>{resolve_due}</b>."
        ),
        "en": (
            "📌 Complaint <b>{code}</b> was neither accepted nor returned by {due}, so the agency "
            "is deemed to have accepted it and can no longer return it.\n"
            "Due by: <b>{resolve_due}</b>."
        ),
    },
    "notice.agency.rerouted": {
        "vi": (
            "➡️ Tổng đài đã chuyển phản ánh <b>{code}</b> sang <b>{agency}</b>; cơ quan không "
            "cần xử lý tiếp phản ánh này."
        ),
        "en": (
            "➡️ The operators moved complaint <b>{code}</b> to <b>{agency}</b>; this agency no "
            "longer needs to handle it."
        ),
    },
    "notice.agency.citizen_answer": {
        "vi": (
            "💬 Người phản ánh đã trả lời câu hỏi về phản ánh <b>{code}</b>:\n<i>{answer}</i>\n"
            "Tệp kèm theo: {files}. Thời hạn giải quyết tiếp tục; hạn mới: <b>{due}</b>."
        ),
        "en": (
            "💬 The reporter answered the question about complaint <b>{code}</b>:\n"
            "<i>{answer}</i>\nFiles: {files}. The deadline runs again; new due date: "
            "<b>{due}</b>."
        ),
    },
    # To the operators' group.
    "notice.operators.overdue": {
        "vi": (
            "⚠️ Phản ánh <b>{code}</b> giao <b>{agency}</b> đã quá hạn giải quyết ({due}). Nếu đến "
            "{escalate} chưa giải quyết, phản ánh sẽ được báo cáo lên {supervisor}."
        ),
        "en": (
            "⚠️ Complaint <b>{code}</b> held by <b>{agency}</b> is past its deadline ({due}). If "
            "not resolved by {escalate} it will be reported to {supervisor}."
        ),
    },
    "notice.operators.triage_overdue": {
        "vi": (
            "🧭 Phản ánh <b>{code}</b> chờ phân loại đã quá hạn ({due}). Vui lòng chọn cơ quan xử "
            "lý; nếu đến {escalate} chưa phân loại, phản ánh sẽ được báo cáo lên {supervisor}."
        ),
        "en": (
            "🧭 Complaint <b>{code}</b> is past its triage deadline ({due}). Please pick the "
            "agency; if it is not routed by {escalate} it will be reported to {supervisor}."
        ),
    },
    "notice.operators.returned": {
        "vi": (
            "↩️ <b>{agency}</b> trả lại phản ánh <b>{code}</b> (lần trả lại thứ {count}).\n"
            "Lý do: <i>{reason}</i>\nVui lòng chuyển cơ quan xử lý trước <b>{due}</b>."
        ),
        "en": (
            "↩️ <b>{agency}</b> returned complaint <b>{code}</b> (return number {count}).\n"
            "Reason: <i>{reason}</i>\nPlease route it again by <b>{due}</b>."
        ),
    },
    "notice.passed_around": {
        "vi": (
            "🔁 <b>Đùn đẩy:</b> phản ánh <b>{code}</b> đã bị trả lại {count} lần ({agencies}). "
            "Đề nghị chỉ định cơ quan chịu trách nhiệm; cơ quan được chỉ định lần này không được "
            "trả lại."
        ),
        "en": (
            "🔁 <b>Passed around:</b> complaint <b>{code}</b> has been returned {count} times "
            "({agencies}). Please name the agency responsible; the agency named this time may not "
            "return it."
        ),
    },
    # To the supervisor's chat.
    "notice.supervisor.escalated": {
        "vi": (
            "🔺 <b>Báo cáo quá hạn:</b> phản ánh <b>{code}</b> giao <b>{agency}</b> đã quá hạn "
            "{late} giờ làm việc (hạn {due}).\nLĩnh vực: {category}\nNội dung: <i>{excerpt}</i>\n"
            "Đề nghị chỉ đạo giải quyết."
        ),
        "en": (
            "🔺 <b>Overdue report:</b> complaint <b>{code}</b> held by <b>{agency}</b> is {late} "
            "working hours past its deadline ({due}).\nCategory: {category}\nText: "
            "<i>{excerpt}</i>\nPlease direct its resolution."
        ),
    },
    "notice.supervisor.triage_escalated": {
        "vi": (
            "🔺 Phản ánh <b>{code}</b> chờ tổng đài phân loại đã quá hạn (hạn {due}) mà chưa được "
            "chuyển cơ quan xử lý.\nLĩnh vực (máy đề xuất): {category}\nNội dung: <i>{excerpt}</i>"
        ),
        "en": (
            "🔺 Complaint <b>{code}</b> is past its triage deadline ({due}) and has not been "
            "routed to an agency.\nCategory (machine's guess): {category}\nText: <i>{excerpt}</i>"
        ),
    },
    # Dossier watch.
    "notice.dossier.apology_due": {
        "vi": (
            "📄 Hồ sơ <b>{code}</b> ({procedure}) hẹn trả kết quả lúc <b>{due}</b> nhưng chưa "
            "hoàn thành. Nếu không kịp hạn, cơ quan phải gửi <b>Phiếu xin lỗi và hẹn lại ngày trả "
            "kết quả</b> cho người nộp trước thời hạn (Nghị định 118/2025/NĐ-CP) và cập nhật ngày "
            "hẹn mới vào hệ thống một cửa."
        ),
        "en": (
            "📄 Dossier <b>{code}</b> ({procedure}) is due at <b>{due}</b> and is not done yet. If "
            "it cannot be done in time, the agency must send the applicant an apology slip with a "
            "new date (Phiếu xin lỗi và hẹn lại ngày trả kết quả, Decree 118/2025/NĐ-CP) before "
            "the due date and record the new date in the one-stop system."
        ),
    },
    "notice.dossier.late": {
        "vi": (
            "⏳ Hồ sơ <b>{code}</b> ({procedure}) đã quá hạn trả kết quả ({due}) mà chưa hoàn "
            "thành. Chúng tôi xin lỗi vì sự chậm trễ; bạn sẽ được báo khi hồ sơ có ngày hẹn mới "
            "hoặc có kết quả. Muốn phản ánh việc trễ hạn: /phananh"
        ),
        "en": (
            "⏳ Dossier <b>{code}</b> ({procedure}) is past its due date ({due}) and not done "
            "yet. We apologise for the delay; you will be told when it gets a new date or a "
            "result. To complain about the delay: /complain"
        ),
    },
    "notice.dossier.late_new_due": {
        "vi": (
            "⏳ Hồ sơ <b>{code}</b> ({procedure}) đã quá cả ngày hẹn mới ({due}) mà chưa hoàn "
            "thành. Chúng tôi xin lỗi; bạn sẽ được báo khi có kết quả. Muốn phản ánh việc trễ hạn: "
            "/phananh"
        ),
        "en": (
            "⏳ Dossier <b>{code}</b> ({procedure}) is past its new date ({due}) too and not done "
            "yet. We apologise; you will be told when there is a result. To complain about the "
            "delay: /complain"
        ),
    },
    # Agency group dialogs (handlers/agency.py).
    "button.accept": {"vi": "✅ Tiếp nhận", "en": "✅ Accept"},
    "button.return": {"vi": "↩️ Trả lại", "en": "↩️ Return"},
    "button.ask": {"vi": "❓ Hỏi người dân", "en": "❓ Ask the citizen"},
    "button.resolve": {"vi": "✔️ Trả lời, hoàn thành", "en": "✔️ Answer and resolve"},
    "agency.accepted": {
        "vi": "✅ Đã tiếp nhận phản ánh <b>{code}</b>. Hạn giải quyết: <b>{due}</b>.",
        "en": "✅ Complaint <b>{code}</b> accepted. Due by: <b>{due}</b>.",
    },
    "agency.prompt.return": {
        "vi": (
            "↩️ {name}, vui lòng nhập <b>lý do trả lại</b> phản ánh <b>{code}</b> trong tin nhắn "
            "tiếp theo (gõ /huy để thôi)."
        ),
        "en": (
            "↩️ {name}, please type the <b>reason for returning</b> complaint <b>{code}</b> in "
            "your next message (/cancel to stop)."
        ),
    },
    "agency.prompt.ask": {
        "vi": (
            "❓ {name}, vui lòng nhập <b>câu hỏi gửi người phản ánh</b> về phản ánh <b>{code}</b> "
            "trong tin nhắn tiếp theo. Thời hạn giải quyết sẽ tạm dừng cho đến khi người dân trả "
            "lời (gõ /huy để thôi)."
        ),
        "en": (
            "❓ {name}, please type the <b>question for the reporter</b> of complaint "
            "<b>{code}</b> in your next message. The deadline pauses until they answer "
            "(/cancel to stop)."
        ),
    },
    "agency.prompt.resolve": {
        "vi": (
            "✔️ {name}, vui lòng nhập <b>nội dung trả lời người dân</b> về phản ánh <b>{code}</b> "
            "trong tin nhắn tiếp theo; phản ánh sẽ được đánh dấu đã giải quyết (gõ /huy để thôi)."
        ),
        "en": (
            "✔️ {name}, please type the <b>answer to the citizen</b> for complaint <b>{code}</b> "
            "in your next message; the complaint will be marked resolved (/cancel to stop)."
        ),
    },
    "agency.need_text": {
        "vi": "Vui lòng nhập nội dung bằng chữ cho phản ánh {code}, hoặc gõ /huy để thôi.",
        "en": "Please type the text for complaint {code}, or /cancel to stop.",
    },
    "agency.cancelled": {
        "vi": "Đã hủy thao tác với phản ánh {code}.",
        "en": "Cancelled the action on complaint {code}.",
    },
    "agency.returned": {
        "vi": "↩️ Đã trả lại phản ánh <b>{code}</b> cho tổng đài viên kèm lý do.",
        "en": "↩️ Complaint <b>{code}</b> returned to the operators with your reason.",
    },
    "agency.asked": {
        "vi": (
            "❓ Đã gửi câu hỏi tới người phản ánh <b>{code}</b>. Thời hạn giải quyết tạm dừng; "
            "câu trả lời sẽ được chuyển vào nhóm này."
        ),
        "en": (
            "❓ The question was sent to the reporter of <b>{code}</b>. The deadline is paused; "
            "their answer will be posted in this group."
        ),
    },
    "agency.asked_unreachable": {
        "vi": (
            "❓ Đã ghi nhận câu hỏi về phản ánh <b>{code}</b>, nhưng người phản ánh đã chặn bot "
            "nên không nhận được tin nhắn. Vui lòng liên hệ qua điện thoại nếu có."
        ),
        "en": (
            "❓ The question about <b>{code}</b> was recorded, but the reporter has blocked the "
            "bot and will not receive it. Please call them if a phone number is available."
        ),
    },
    "agency.resolved": {
        "vi": "✔️ Đã gửi kết quả giải quyết phản ánh <b>{code}</b> tới người dân. Cảm ơn!",
        "en": "✔️ The answer to complaint <b>{code}</b> was sent to the citizen. Thank you!",
    },
    "ticket.error.not_found": {
        "vi": "Không tìm thấy phản ánh này.",
        "en": "That complaint was not found.",
    },
    "ticket.error.not_holder": {
        "vi": "Phản ánh {code} không do cơ quan này xử lý nên không thể thao tác.",
        "en": "Complaint {code} is not held by this agency, so it cannot act on it.",
    },
    "ticket.error.already_accepted": {
        "vi": "Phản ánh {code} đã được tiếp nhận trước đó.",
        "en": "Complaint {code} was already accepted.",
    },
    "ticket.error.deemed_accepted": {
        "vi": (
            "Phản ánh {code} đã quá thời hạn tiếp nhận nên được coi là cơ quan đã tiếp nhận; "
            "không thể trả lại."
        ),
        "en": (
            "Complaint {code} is past its acceptance deadline, so the agency is deemed to have "
            "accepted it; it can no longer be returned."
        ),
    },
    "ticket.error.final_owner": {
        "vi": (
            "Phản ánh {code} đã bị đùn đẩy nhiều lần và được tổng đài chỉ định cơ quan xử lý; "
            "không thể trả lại."
        ),
        "en": (
            "Complaint {code} was passed around and the operators named this agency to handle "
            "it; it can no longer be returned."
        ),
    },
    "ticket.error.accepted_no_return": {
        "vi": "Phản ánh {code} đã được tiếp nhận nên không thể trả lại.",
        "en": "Complaint {code} has been accepted, so it can no longer be returned.",
    },
    "ticket.error.wrong_state": {
        "vi": "Phản ánh {code} đang ở trạng thái “{state}”, không thể thực hiện thao tác này.",
        "en": "Complaint {code} is “{state}”; that action is not possible now.",
    },
    "ticket.error.not_waiting": {
        "vi": "Phản ánh {code} không chờ người dân trả lời.",
        "en": "Complaint {code} is not waiting for the citizen.",
    },
    "ticket.error.unknown_agency": {
        "vi": "Cơ quan này không có trong danh mục; không thể chuyển phản ánh {code}.",
        "en": "That agency is not in the directory; complaint {code} was not routed.",
    },
    "ticket.error.same_agency": {
        "vi": "Phản ánh {code} đang do chính cơ quan này xử lý.",
        "en": "Complaint {code} is already with that agency.",
    },
    # --- routing and lookup-or-complaint (issue 7) ---
    "ticket.error.subject_agency": {
        "vi": (
            "Phản ánh {code} là phản ánh về chính cán bộ của cơ quan này nên không thể chuyển cho "
            "cơ quan đó; hãy chọn cơ quan có thẩm quyền giám sát."
        ),
        "en": (
            "Complaint {code} is about that agency's own staff, so it cannot go to that agency; "
            "choose the body that oversees it."
        ),
    },
    "lookup.or_complain": {
        "vi": "Nếu anh/chị muốn phản ánh về hồ sơ này (trễ hẹn, bị gây khó dễ…), bấm nút dưới đây.",
        "en": "If you want to complain about this dossier (late, made difficult…), press below.",
    },
    "lookup.button.complain": {"vi": "📝 Gửi phản ánh về hồ sơ này", "en": "📝 Complain about it"},
    "complaint.button.lookup": {"vi": "🔎 Tra cứu hồ sơ {code}", "en": "🔎 Look up {code}"},
    # --- Open311 (issue 9) ---
    "open311.notice.routed": {
        "vi": "Đã tiếp nhận phản ánh {code} và chuyển tới cơ quan có thẩm quyền.",
        "en": "Complaint {code} was received and sent to the agency responsible.",
    },
    "open311.notice.triage": {
        "vi": "Đã tiếp nhận phản ánh {code}; tổng đài sẽ chuyển tới cơ quan có thẩm quyền.",
        "en": "Complaint {code} was received; the hotline will send it to the agency responsible.",
    },
    "open311.address_label": {"vi": "Địa chỉ", "en": "Address"},
    # Operators' group (handlers/operator.py).
    "button.route_to": {"vi": "➡️ {agency}", "en": "➡️ {agency}"},
    "button.route_other": {"vi": "🏛 Chọn cơ quan khác…", "en": "🏛 Another agency…"},
    "operator.pick_agency": {
        "vi": "Chọn cơ quan xử lý phản ánh <b>{code}</b>:",
        "en": "Choose the agency for complaint <b>{code}</b>:",
    },
    "operator.routed": {
        "vi": "➡️ Đã chuyển phản ánh <b>{code}</b> tới <b>{agency}</b>. Hạn giải quyết: <b>{due}</b>.",
        "en": "➡️ Complaint <b>{code}</b> sent to <b>{agency}</b>. Due by: <b>{due}</b>.",
    },
    "operator.routed_final": {
        "vi": "\nPhản ánh đã bị đùn đẩy: cơ quan được chỉ định lần này không được trả lại.",
        "en": "\nThis complaint was passed around: the agency named now may not return it.",
    },
    # --- Zalo: Bot Platform and Official Account (issue 11) ---------------------------------
    "zalo.options_prompt": {
        "vi": "Trả lời bằng số để chọn.",
        "en": "Reply with a number to choose.",
    },
    "zalo.contact_prompt": {
        "vi": "✍️ Trên Zalo, hãy gõ họ tên và số điện thoại (ví dụ: Nguyễn Văn A 0912345678).",
        "en": "✍️ On Zalo, please type your full name and phone number (e.g. Nguyen Van A 0912345678).",
    },
    "zalo.photo_link": {
        "vi": "📷 Ảnh đính kèm: {url}\n(liên kết dùng được đến {until})",
        "en": "📷 Attached photo: {url}\n(the link works until {until})",
    },
    "zalo.file_link": {
        "vi": "📎 Tệp đính kèm: {url}\n(liên kết dùng được đến {until})",
        "en": "📎 Attached file: {url}\n(the link works until {until})",
    },
    "zalo.file_elsewhere": {
        "vi": "📎 Có tệp đính kèm nhưng không gửi được qua Zalo; vui lòng liên hệ tổng đài.",
        "en": "📎 A file is attached but cannot be sent on Zalo; please contact the hotline.",
    },
    "zalo.file_too_large": {
        "vi": "📎 Tệp đính kèm quá lớn để chuyển tiếp; xem tại: {url}",
        "en": "📎 The attached file is too large to forward; see it at: {url}",
    },
    "zalo.file_unavailable": {
        "vi": "📎 Không tải được tệp đính kèm từ Zalo; địa chỉ gốc: {url}",
        "en": "📎 The attached file could not be fetched from Zalo; its address: {url}",
    },
    "zalo_oa.follow_up_hint": {
        "vi": (
            "\n\nℹ️ Theo quy định của Zalo, tổng đài chỉ nhắn tin được cho bạn trong 48 giờ kể "
            "từ tin nhắn gần nhất của bạn. Để xem tiến độ sau thời gian đó, hãy gõ "
            "/theodoi {code}: mọi thông báo còn chờ sẽ được gửi ngay."
        ),
        "en": (
            "\n\nℹ️ Zalo lets the hotline message you only within 48 hours of your last "
            "message. To follow the complaint after that, type /track {code}: every notice "
            "waiting for you is sent at once."
        ),
    },
    "zalo_oa.outside_window": {
        "vi": (
            "⏸ Phản ánh <b>{code}</b>: chưa gửi được thông báo cho người dân vì đã ngoài thời "
            "hạn 48 giờ trả lời của Zalo. Thông báo được giữ lại và sẽ gửi khi người dân nhắn "
            "tin lại; nếu cần, hãy gọi điện cho họ."
        ),
        "en": (
            "⏸ Complaint <b>{code}</b>: not delivered: outside Zalo's reply window (48 hours "
            "after the citizen's last message). The notice is kept and goes out when the "
            "citizen writes again; call them if it is urgent."
        ),
    },
    "zalo_oa.outside_window_event": {
        "vi": "Chưa gửi được: ngoài thời hạn trả lời 48 giờ của Zalo",
        "en": "Not delivered: outside Zalo's reply window",
    },
    "zalo_oa.transaction_title": {
        "vi": "Tổng đài phản ánh, kiến nghị",
        "en": "Citizen feedback hotline",
    },
    # NOTICE TEXTS END
}


# --- reports (issue 9): scorecard labels (handlers/reports.py) and the public page ----------
TEXTS.update(
    {
        "report.title": {
            "vi": "Bảng điểm giải quyết phản ánh, kiến nghị của các cơ quan tháng {month}",
            "en": "Agency scorecard for complaints and petitions, {month}",
        },
        "report.as_of": {
            "vi": "Số liệu tính đến {at}",
            "en": "Figures as of {at}",
        },
        "report.empty": {
            "vi": "Không có phản ánh nào trong tháng {month}.",
            "en": "No complaints in {month}.",
        },
        "report.low_volume_note": {
            "vi": "* Dưới {min} phản ánh trong tháng: chưa đủ để xếp hạng cùng các cơ quan khác.",
            "en": "* Fewer than {min} complaints in the month: ranked after the other agencies.",
        },
        "report.low_volume": {"vi": "ít phản ánh", "en": "low volume"},
        "report.totals": {"vi": "Toàn tỉnh", "en": "Province total"},
        "report.col.rank": {"vi": "Hạng", "en": "Rank"},
        "report.col.agency": {"vi": "Cơ quan", "en": "Agency"},
        "report.col.received": {"vi": "Tiếp nhận", "en": "Received"},
        "report.col.resolved": {"vi": "Đã giải quyết", "en": "Resolved"},
        "report.col.on_time": {"vi": "Đúng hạn (%)", "en": "On time (%)"},
        "report.col.overdue": {"vi": "Đang quá hạn", "en": "Overdue now"},
        "report.col.median_accept": {
            "vi": "Trung vị giờ tiếp nhận",
            "en": "Median hours to accept",
        },
        "report.col.median_resolve": {
            "vi": "Trung vị giờ giải quyết",
            "en": "Median hours to resolve",
        },
        "report.col.returns": {"vi": "Trả lại", "en": "Returned"},
        "report.col.passed_around": {"vi": "Đùn đẩy", "en": "Passed around"},
        "report.col.deemed": {"vi": "Coi như tiếp nhận", "en": "Deemed accepted"},
        "report.col.rating": {"vi": "Điểm hài lòng TB", "en": "Mean rating"},
        "report.col.ratings": {"vi": "Lượt đánh giá", "en": "Ratings"},
        "report.col.reopened": {"vi": "Mở lại", "en": "Reopened"},
        "report.col.dossiers_late": {"vi": "Hồ sơ trễ hạn", "en": "Late dossiers"},
        "report.col.apology": {"vi": "Phiếu xin lỗi", "en": "Apology slips"},
        "report.col.note": {"vi": "Ghi chú", "en": "Note"},
        "report.sheet.scorecard": {"vi": "Bảng điểm", "en": "Scorecard"},
        "report.sheet.overdue": {"vi": "Phản ánh quá hạn", "en": "Overdue tickets"},
        "report.col.code": {"vi": "Mã phản ánh", "en": "Ticket"},
        "report.col.category": {"vi": "Lĩnh vực", "en": "Category"},
        "report.col.due": {"vi": "Hạn xử lý", "en": "Due"},
        "report.col.days_late": {"vi": "Số ngày làm việc trễ", "en": "Working days late"},
        "report.triage_queue": {"vi": "Tổng đài (chờ phân loại)", "en": "Operators (triage)"},
        "report.chart.title": {
            "vi": "Tỷ lệ giải quyết đúng hạn tháng {month}",
            "en": "Share resolved on time, {month}",
        },
        "report.chart.axis": {
            "vi": "Đúng hạn / đã giải quyết (%)",
            "en": "On time / resolved (%)",
        },
        "report.chart.none_resolved": {"vi": "chưa giải quyết", "en": "none resolved"},
        "report.leaders.caption": {
            "vi": (
                "📊 <b>Bảng điểm tháng {month}</b>\n"
                "Tiếp nhận {received} · đã giải quyết {resolved} · đúng hạn {on_time} · "
                "đang quá hạn {overdue}.\nBảng chi tiết trong tệp Excel kèm theo."
            ),
            "en": (
                "📊 <b>Scorecard for {month}</b>\n"
                "Received {received} · resolved {resolved} · on time {on_time} · "
                "overdue now {overdue}.\nThe details are in the attached Excel file."
            ),
        },
        "report.leaders.document": {
            "vi": "Bảng điểm tháng {month} (Excel), kèm danh sách phản ánh quá hạn.",
            "en": "Scorecard for {month} (Excel), with the list of overdue tickets.",
        },
        # The public accountability page (bot/web/public.py).
        "public.title": {
            "vi": "Kết quả giải quyết phản ánh, kiến nghị của các cơ quan",
            "en": "How agencies answer complaints and petitions",
        },
        "public.intro": {
            "vi": (
                "Số liệu công khai của {hotline}: số phản ánh mỗi cơ quan tiếp nhận, đã giải "
                "quyết, tỷ lệ đúng hạn và số đang quá hạn. Không có thông tin cá nhân hay nội "
                "dung phản ánh."
            ),
            "en": (
                "Public figures of {hotline}: how many complaints each agency received and "
                "resolved, the share resolved on time and how many are overdue now. No personal "
                "data and no complaint text."
            ),
        },
        "public.month": {"vi": "Tháng {month}", "en": "{month}"},
        "public.month_current": {
            "vi": "Tháng {month} (đến nay)",
            "en": "{month} (so far)",
        },
        "public.updated": {
            "vi": "Cập nhật lúc {at}; số liệu làm mới mỗi phút.",
            "en": "Updated {at}; refreshed every minute.",
        },
        "public.json_link": {"vi": "Dữ liệu dạng JSON", "en": "The same figures as JSON"},
        "public.link": {
            "vi": "📊 Thống kê công khai",
            "en": "📊 Public statistics",
        },
    }
)


# --- ops (issue 8): receipt of a triage ticket, agencies' commands, leaders' chat -----------
TEXTS.update(
    {
        "complaint.created_triage": {
            "vi": (
                "✅ Đã tiếp nhận phản ánh <b>{code}</b>.\n"
                "Lĩnh vực: {category}\n"
                "Tổng đài viên sẽ chuyển phản ánh đến cơ quan có thẩm quyền trước "
                "<b>{route_by}</b>.\n"
                "Hạn giải quyết của cơ quan: {hours} giờ làm việc kể từ khi nhận phản ánh, "
                "chậm nhất <b>{due}</b>.\n"
                "Bạn sẽ nhận thông báo khi có tiến triển. Xem lại: /theodoi {code}"
            ),
            "en": (
                "✅ Complaint <b>{code}</b> received.\n"
                "Category: {category}\n"
                "An operator will send it to the responsible agency by <b>{route_by}</b>.\n"
                "The agency then has {hours} working hours to resolve it, "
                "at the latest by <b>{due}</b>.\n"
                "You will be told of every step. Check it: /track {code}"
            ),
        },
        # Replaces the agency group's help of the citizens' loop: the typed commands too.
        "agency.help": {
            "vi": (
                "Đây là nhóm của cơ quan xử lý. Phản ánh được giao sẽ được gửi vào đây kèm hạn giải "
                "quyết; nhắc hạn, quá hạn và phản ánh bị người dân mở lại cũng được báo tại đây.\n"
                "/danhsach — phản ánh đang mở của cơ quan, quá hạn trước\n"
                "/quahan — chỉ các phản ánh quá hạn\n"
                "/tiepnhan MÃ — tiếp nhận phản ánh\n"
                "/tralai MÃ LÝ_DO — trả lại tổng đài (trước khi tiếp nhận)\n"
                "/hoi MÃ CÂU_HỎI — hỏi thêm người dân (tạm dừng tính hạn)\n"
                "/giaiquyet MÃ KẾT_QUẢ — trả lời người dân và kết thúc xử lý\n"
                "Các nút dưới mỗi phản ánh làm đúng những việc này."
            ),
            "en": (
                "This is the agency's group. Complaints assigned to the agency arrive here with "
                "their deadlines; reminders, overdue notices and reopened complaints too.\n"
                "/list — the agency's open complaints, overdue first\n"
                "/overdue — only the overdue ones\n"
                "/accept CODE — take the complaint up\n"
                "/return CODE REASON — hand it back to the operators (before accepting)\n"
                "/ask CODE QUESTION — ask the citizen (the deadline pauses)\n"
                "/resolve CODE ANSWER — answer the citizen and close the agency's work\n"
                "The buttons under each complaint do the same."
            ),
        },
        "agency.usage.accept": {
            "vi": "Cú pháp: <code>/tiepnhan PA-2026-000123</code>",
            "en": "Usage: <code>/accept PA-2026-000123</code>",
        },
        "agency.usage.return": {
            "vi": "Cú pháp: <code>/tralai PA-2026-000123 lý do trả lại</code>",
            "en": "Usage: <code>/return PA-2026-000123 the reason</code>",
        },
        "agency.usage.ask": {
            "vi": "Cú pháp: <code>/hoi PA-2026-000123 câu hỏi cho người dân</code>",
            "en": "Usage: <code>/ask PA-2026-000123 your question to the citizen</code>",
        },
        "agency.usage.resolve": {
            "vi": "Cú pháp: <code>/giaiquyet PA-2026-000123 kết quả trả lời người dân</code>",
            "en": "Usage: <code>/resolve PA-2026-000123 the answer to the citizen</code>",
        },
        "ticket.error.no_such_code": {
            "vi": "Không tìm thấy phản ánh <b>{code}</b>. Kiểm tra lại mã (dạng PA-2026-000123).",
            "en": "No complaint <b>{code}</b>. Check the code (like PA-2026-000123).",
        },
        "staff_only": {
            "vi": (
                "Lệnh này chỉ dùng trong nhóm của cơ quan xử lý hoặc tổng đài. "
                "Gõ /help để xem những việc bạn có thể làm."
            ),
            "en": (
                "This command is for the agencies' and operators' groups only. "
                "Type /help to see what you can do."
            ),
        },
        "leader.help": {
            "vi": (
                "Đây là nhóm lãnh đạo. Bảng điểm hằng tháng của các cơ quan được gửi vào đây.\n"
                "/thongke — số liệu hôm nay và tháng này, theo cơ quan\n"
                "/quahan — phản ánh quá hạn, theo cơ quan"
            ),
            "en": (
                "This is the leaders' group. The agencies' monthly scorecard arrives here.\n"
                "/stats — today's and this month's figures, by agency\n"
                "/overdue — overdue complaints, by agency"
            ),
        },
        "stats.header": {
            "vi": "📊 <b>Thống kê phản ánh toàn tỉnh</b> (đến {now})",
            "en": "📊 <b>Province complaint figures</b> (as of {now})",
        },
        "stats.today": {"vi": "Hôm nay", "en": "Today"},
        "stats.month": {"vi": "Tháng {month}", "en": "Month {month}"},
        "stats.line": {
            "vi": (
                "{label}: mới {new} · đã chuyển {routed} · đã tiếp nhận {accepted} · "
                "đã giải quyết {resolved} · trễ hạn {overdue}"
            ),
            "en": (
                "{label}: new {new} · routed {routed} · accepted {accepted} · "
                "resolved {resolved} · missed deadlines {overdue}"
            ),
        },
        "stats.waiting": {
            "vi": "Đang chờ tổng đài phân loại: {count} · Đang quá hạn: {overdue}",
            "en": "Waiting for the operators: {count} · Overdue now: {overdue}",
        },
        "stats.by_agency": {
            "vi": "\n<b>Theo cơ quan</b> (đang giữ phản ánh):",
            "en": "\n<b>By agency</b> (holding the complaint):",
        },
        "stats.agency": {"vi": "\n<b>{agency}</b>", "en": "\n<b>{agency}</b>"},
        "stats.unrouted": {
            "vi": "Chưa chuyển cơ quan (tổng đài)",
            "en": "Not yet routed (operators)",
        },
        "stats.none": {
            "vi": "Chưa có phản ánh nào trong tháng này.",
            "en": "No complaints this month yet.",
        },
    }
)


# --- console (issue 8): operators' chat commands, their notices, the web console ----------------
TEXTS.update(
    {
        # Operators' chat: usage lines, refusals, confirmations.
        "op.commands": {
            "vi": (
                "\n/phieu MÃ — xem phiếu: nội dung, tệp, toàn bộ lịch sử, ghi chú\n"
                "/chuyen MÃ MÃ_CƠ_QUAN — chuyển phiếu cho cơ quan (không ghi cơ quan: chọn từ danh sách)\n"
                "/ghichu MÃ nội dung — ghi chú nội bộ (người dân và cơ quan không thấy)\n"
                "/traloi MÃ nội dung — nhắn người phản ánh\n"
                "/gop MÃ_GIỮ MÃ_TRÙNG — gộp phiếu trùng vào phiếu giữ lại\n"
                "/dong MÃ spam|trung|ngoai_tham_quyen — đóng phiếu\n"
                "/molai MÃ — mở lại phiếu đã đóng\n"
                "/thongke — số liệu hôm nay và tháng này"
            ),
            "en": (
                "\n/ticket CODE — the ticket: text, files, the whole trail, notes\n"
                "/assign CODE AGENCY_ID — send it to an agency (no agency: pick from a list)\n"
                "/note CODE text — internal note (never shown to the citizen or the agency)\n"
                "/reply CODE text — message the reporter\n"
                "/merge KEEP DUP — merge the duplicate into the kept ticket\n"
                "/close CODE spam|duplicate|out_of_scope — close the ticket\n"
                "/reopen CODE — reopen a closed ticket\n"
                "/stats — today's and this month's numbers"
            ),
        },
        "op.usage.ticket": {
            "vi": "Cách dùng: /phieu PA-2026-000123",
            "en": "Usage: /ticket PA-2026-000123",
        },
        "op.usage.assign": {
            "vi": "Cách dùng: /chuyen PA-2026-000123 MÃ_CƠ_QUAN (ví dụ: xay-dung)",
            "en": "Usage: /assign PA-2026-000123 AGENCY_ID (for example: xay-dung)",
        },
        "op.usage.note": {
            "vi": "Cách dùng: /ghichu PA-2026-000123 nội dung ghi chú",
            "en": "Usage: /note PA-2026-000123 the note",
        },
        "op.usage.reply": {
            "vi": "Cách dùng: /traloi PA-2026-000123 nội dung gửi người dân",
            "en": "Usage: /reply PA-2026-000123 the message",
        },
        "op.usage.merge": {
            "vi": "Cách dùng: /gop MÃ_GIỮ MÃ_TRÙNG (phiếu trùng được gộp vào phiếu giữ lại)",
            "en": "Usage: /merge KEEP DUP (the duplicate is merged into the kept ticket)",
        },
        "op.usage.close": {
            "vi": "Cách dùng: /dong PA-2026-000123 LÝ_DO, với lý do là spam, trung (trùng) hoặc ngoai_tham_quyen (ngoài thẩm quyền)",
            "en": "Usage: /close PA-2026-000123 REASON, where the reason is spam, duplicate or out_of_scope",
        },
        "op.usage.reopen": {
            "vi": "Cách dùng: /molai PA-2026-000123",
            "en": "Usage: /reopen PA-2026-000123",
        },
        "op.error.not_found": {
            "vi": "Không tìm thấy phiếu {code}.",
            "en": "No ticket {code} was found.",
        },
        "op.error.empty_note": {
            "vi": "Ghi chú trống: hãy viết nội dung sau mã phiếu.",
            "en": "The note is empty: write it after the code.",
        },
        "op.error.empty_reply": {
            "vi": "Tin nhắn trống: hãy viết nội dung sau mã phiếu.",
            "en": "The message is empty: write it after the code.",
        },
        "op.error.no_reporter": {
            "vi": "Không thể nhắn người phản ánh phiếu {code}: họ đã chặn bot.",
            "en": "The reporter of {code} cannot be messaged: they blocked the bot.",
        },
        "op.error.merge_self": {
            "vi": "Không thể gộp phiếu {code} vào chính nó.",
            "en": "{code} cannot be merged into itself.",
        },
        "op.error.merge_closed": {
            "vi": "Phiếu {code} đã kết thúc ({state}), không gộp được.",
            "en": "{code} is already finished ({state}) and cannot be merged.",
        },
        "op.error.merge_target_closed": {
            "vi": "Phiếu giữ lại {code} đã kết thúc ({state}); hãy giữ lại một phiếu đang xử lý.",
            "en": "The kept ticket {code} is finished ({state}); keep a ticket still open.",
        },
        "op.error.not_open": {
            "vi": "Phiếu {code} đã kết thúc ({state}), không cần đóng.",
            "en": "{code} is already finished ({state}).",
        },
        "op.error.not_closed": {
            "vi": "Phiếu {code} đang xử lý ({state}), không cần mở lại.",
            "en": "{code} is still open ({state}); there is nothing to reopen.",
        },
        "op.error.bad_reason": {
            "vi": "Lý do «{reason}» không hợp lệ. Chọn một trong: spam, trung (trùng), ngoai_tham_quyen (ngoài thẩm quyền).",
            "en": "«{reason}» is not a reason. Choose one of: spam, duplicate, out_of_scope.",
        },
        "op.done.note": {
            "vi": "📝 Đã ghi chú nội bộ vào phiếu {code}. Người dân và cơ quan không nhìn thấy ghi chú này.",
            "en": "📝 Internal note added to {code}. The citizen and the agency never see it.",
        },
        "op.done.reply": {
            "vi": "✉️ Đã gửi tin nhắn tới người phản ánh phiếu {code}.",
            "en": "✉️ Message sent to the reporter of {code}.",
        },
        "op.done.merged": {
            "vi": "🔗 Đã gộp phiếu {dup} vào phiếu {keep}; {count} người phản ánh được báo tin và sẽ theo dõi phiếu {keep}.",
            "en": "🔗 {dup} merged into {keep}; {count} reporter(s) told, who now follow {keep}.",
        },
        "op.done.closed": {
            "vi": "✅ Đã đóng phiếu {code}: {reason}.",
            "en": "✅ {code} closed: {reason}.",
        },
        "op.done.reopened": {
            "vi": "↩️ Đã mở lại phiếu {code}; phiếu trở lại hàng đợi phân loại, hạn {due}.",
            "en": "↩️ {code} reopened; it is back in the triage queue, due {due}.",
        },
        "op.reason.spam": {
            "vi": "spam (đóng không báo người gửi)",
            "en": "spam (closed without telling the sender)",
        },
        "op.reason.duplicate": {
            "vi": "trùng với phản ánh khác",
            "en": "a duplicate of another complaint",
        },
        "op.reason.out_of_scope": {
            "vi": "ngoài thẩm quyền của tổng đài",
            "en": "outside the hotline's remit",
        },
        "op.stats": {
            "vi": (
                "📊 <b>Số liệu tổng đài</b>\n"
                "<b>Hôm nay {day}</b>: mới {t_new} · đã chuyển {t_routed} · đã tiếp nhận {t_accepted} · đã giải quyết {t_resolved}\n"
                "<b>Tháng {month}</b>: mới {m_new} · đã chuyển {m_routed} · đã tiếp nhận {m_accepted} · đã giải quyết {m_resolved}\n"
                "Đang quá hạn: <b>{overdue}</b> · Chờ phân loại: <b>{waiting}</b>"
            ),
            "en": (
                "📊 <b>Hotline numbers</b>\n"
                "<b>Today {day}</b>: new {t_new} · routed {t_routed} · accepted {t_accepted} · resolved {t_resolved}\n"
                "<b>Month {month}</b>: new {m_new} · routed {m_routed} · accepted {m_accepted} · resolved {m_resolved}\n"
                "Overdue now: <b>{overdue}</b> · Waiting in the queue: <b>{waiting}</b>"
            ),
        },
        # The ticket as an operator sees it in the chat (/phieu).
        "op.view.head": {
            "vi": (
                "🎫 <b>{code}</b> · {state}\n"
                "Lĩnh vực: {category} · Cơ quan: {agency}\n"
                "Kênh: {channel} · Gửi lúc {created}\n"
                "Hạn phân loại: {triage_due} · Hạn giải quyết: {resolve_due}\n"
                "Người phản ánh: {reporter}\n"
                "Căn cứ phân loại: {evidence}\n\n"
                "{text}"
            ),
            "en": (
                "🎫 <b>{code}</b> · {state}\n"
                "Category: {category} · Agency: {agency}\n"
                "Channel: {channel} · Filed {created}\n"
                "Triage due: {triage_due} · Resolution due: {resolve_due}\n"
                "Reporter: {reporter}\n"
                "Evidence: {evidence}\n\n"
                "{text}"
            ),
        },
        "op.view.merged_into": {"vi": "\nĐã gộp vào phiếu {code}.", "en": "\nMerged into {code}."},
        "op.view.duplicates": {
            "vi": "\nPhiếu trùng đã gộp vào đây: {codes}",
            "en": "\nDuplicates merged here: {codes}",
        },
        "op.view.files": {"vi": "\n📎 {count} tệp đính kèm", "en": "\n📎 {count} attachment(s)"},
        "op.view.trail": {"vi": "<b>Lịch sử phiếu {code}</b>", "en": "<b>Trail of {code}</b>"},
        "op.view.notes": {"vi": "<b>Ghi chú nội bộ</b>", "en": "<b>Internal notes</b>"},
        "op.view.no_notes": {"vi": "Chưa có ghi chú nội bộ.", "en": "No internal notes yet."},
        "op.view.line": {"vi": "{at} · {actor} · {event}", "en": "{at} · {actor} · {event}"},
        "op.view.line_note": {"vi": "{note}", "en": "{note}"},
        "op.view.file": {"vi": "Tệp của phiếu {code}: {name}", "en": "File of {code}: {name}"},
        "op.view.anonymous": {"vi": "ẩn danh", "en": "anonymous"},
        # Trail events, by kind.
        "event.created": {"vi": "người dân gửi phản ánh", "en": "the citizen filed it"},
        "event.queued": {"vi": "vào hàng đợi phân loại", "en": "queued for triage"},
        "event.routed": {"vi": "chuyển cơ quan", "en": "routed"},
        "event.rerouted": {"vi": "chuyển lại cơ quan khác", "en": "rerouted"},
        "event.accepted": {"vi": "cơ quan tiếp nhận", "en": "accepted"},
        "event.returned": {"vi": "cơ quan trả lại", "en": "returned"},
        "event.passed_around": {"vi": "bị đùn đẩy", "en": "passed around"},
        "event.asked_citizen": {
            "vi": "cơ quan hỏi người dân",
            "en": "the agency asked the citizen",
        },
        "event.citizen_answered": {"vi": "người dân trả lời", "en": "the citizen answered"},
        "event.resolved": {"vi": "đã giải quyết", "en": "resolved"},
        "event.rated": {"vi": "người dân đánh giá", "en": "rated"},
        "event.reopened": {"vi": "người dân mở lại", "en": "reopened by the citizen"},
        "event.reopened_by_operator": {
            "vi": "tổng đài viên mở lại",
            "en": "reopened by an operator",
        },
        "event.closed": {"vi": "đã đóng", "en": "closed"},
        "event.merged": {"vi": "gộp vào phiếu khác", "en": "merged into another"},
        "event.merged_from": {"vi": "nhận phiếu trùng", "en": "took in a duplicate"},
        "event.note": {"vi": "ghi chú nội bộ", "en": "internal note"},
        "event.operator_reply": {
            "vi": "tổng đài nhắn người dân",
            "en": "the hotline messaged the citizen",
        },
        "event.deemed_accepted": {"vi": "coi như đã tiếp nhận", "en": "deemed accepted"},
        "event.reminder": {"vi": "nhắc hạn", "en": "reminder"},
        "event.overdue": {"vi": "quá hạn", "en": "overdue"},
        "event.escalated": {"vi": "báo cấp trên", "en": "escalated"},
        "event.triage_overdue": {"vi": "quá hạn phân loại", "en": "triage overdue"},
        "event.triage_escalated": {
            "vi": "quá hạn phân loại, báo cấp trên",
            "en": "triage escalated",
        },
        "event.reporter_unreachable": {
            "vi": "không nhắn được người dân",
            "en": "reporter unreachable",
        },
        # Notices of the operators' actions.
        "opnotice.reply": {
            "vi": "💬 Tổng đài trả lời về phản ánh <b>{code}</b>:\n{text}",
            "en": "💬 The hotline about your complaint <b>{code}</b>:\n{text}",
        },
        "opnotice.merged": {
            "vi": "🔗 Phản ánh <b>{code}</b> của bạn trùng nội dung với phản ánh <b>{kept}</b> đang được xử lý, nên đã được gộp vào đó. Bạn sẽ nhận thông báo về phản ánh {kept}; gõ /theodoi {kept} để xem.",
            "en": "🔗 Your complaint <b>{code}</b> is about the same matter as <b>{kept}</b>, already being handled, and was merged into it. You will hear about {kept}; type /track {kept} to see it.",
        },
        "opnotice.merged_agency": {
            "vi": "🔗 Phiếu {code} đã được gộp vào phiếu {kept}; không cần xử lý riêng phiếu {code}.",
            "en": "🔗 {code} was merged into {kept}; it needs no separate handling.",
        },
        "opnotice.closed_agency": {
            "vi": "Phiếu {code} đã được tổng đài đóng; cơ quan không cần xử lý tiếp.",
            "en": "The hotline closed {code}; the agency need not work on it.",
        },
        "opnotice.closed_duplicate": {
            "vi": "Phản ánh <b>{code}</b> đã được đóng vì trùng với một phản ánh khác đang được xử lý. Cảm ơn bạn đã phản ánh.",
            "en": "Your complaint <b>{code}</b> was closed: it duplicates another complaint already being handled. Thank you.",
        },
        "opnotice.closed_out_of_scope": {
            "vi": "Phản ánh <b>{code}</b> đã được đóng vì nội dung không thuộc phạm vi tiếp nhận của tổng đài (ví dụ: vụ việc đang được tòa án giải quyết hoặc tranh chấp dân sự giữa các bên). Bạn có thể gọi tổng đài để được hướng dẫn nơi gửi.",
            "en": "Your complaint <b>{code}</b> was closed: it is outside what the hotline takes (for example a matter before a court, or a private dispute). Call the hotline to learn where to take it.",
        },
        "opnotice.reopened": {
            "vi": "↩️ Phản ánh <b>{code}</b> đã được mở lại; tổng đài viên sẽ xem xét và chuyển cơ quan xử lý.",
            "en": "↩️ Your complaint <b>{code}</b> was reopened; an operator will look at it and route it.",
        },
    }
)

# --- console (issue 8): the web console's pages ------------------------------------------------
TEXTS.update(
    {
        "console.brand": {"vi": "Bảng điều khiển tổng đài", "en": "Hotline console"},
        "console.title": {"vi": "Bảng điều khiển", "en": "Console"},
        "console.role.operator": {"vi": "tổng đài viên", "en": "operator"},
        "console.role.leader": {"vi": "lãnh đạo", "en": "leader"},
        "console.role.agency": {"vi": "cán bộ cơ quan", "en": "agency staff"},
        "console.nav": {"vi": "Điều hướng", "en": "Navigation"},
        "console.nav.queue": {"vi": "Danh sách phiếu", "en": "Tickets"},
        "console.nav.dashboard": {"vi": "Tổng quan", "en": "Dashboard"},
        "console.switch_language": {"vi": "English", "en": "Tiếng Việt"},
        "console.signout": {"vi": "Đăng xuất", "en": "Sign out"},
        "console.back_home": {"vi": "Về trang đầu", "en": "Back to the start"},
        "console.signin.title": {"vi": "Đăng nhập", "en": "Sign in"},
        "console.signin.name": {"vi": "Tên đăng nhập", "en": "User name"},
        "console.signin.password": {"vi": "Mật khẩu", "en": "Password"},
        "console.signin.submit": {"vi": "Đăng nhập", "en": "Sign in"},
        "console.error.csrf": {
            "vi": "Biểu mẫu đã hết hạn hoặc không hợp lệ. Hãy tải lại trang rồi gửi lại.",
            "en": "The form has expired or is not valid. Reload the page and send it again.",
        },
        "console.error.bad_login": {
            "vi": "Sai tên đăng nhập hoặc mật khẩu.",
            "en": "Wrong user name or password.",
        },
        "console.error.locked": {
            "vi": "Tài khoản tạm khóa do nhập sai mật khẩu nhiều lần. Hãy thử lại sau {minutes} phút.",
            "en": "The account is locked after too many wrong passwords. Try again in {minutes} minute(s).",
        },
        "console.error.not_found": {
            "vi": "Không tìm thấy trang hoặc phiếu này.",
            "en": "This page or ticket was not found.",
        },
        "console.error.forbidden": {
            "vi": "Bạn không có quyền xem hoặc xử lý phiếu này.",
            "en": "You may not see or act on this ticket.",
        },
        "console.error.file_unavailable": {
            "vi": "Không lấy được tệp này từ kênh đã nhận nó.",
            "en": "This file cannot be fetched from the channel it came on.",
        },
        "console.error.refused": {
            "vi": "Thao tác không thực hiện được.",
            "en": "That could not be done.",
        },
        "op.error.merge_unknown": {
            "vi": "Không tìm thấy phiếu để gộp vào; hãy kiểm tra mã phiếu.",
            "en": "The ticket to merge into was not found; check its code.",
        },
        "op.error.empty_text": {
            "vi": "Hãy nhập nội dung trước khi gửi.",
            "en": "Write something before sending.",
        },
        "console.queue.title": {"vi": "Danh sách phiếu", "en": "Tickets"},
        "console.queue.total": {"vi": "{count} phiếu", "en": "{count} tickets"},
        "console.queue.empty": {
            "vi": "Không có phiếu nào khớp bộ lọc.",
            "en": "No ticket matches the filters.",
        },
        "console.filter.state": {"vi": "Trạng thái", "en": "State"},
        "console.filter.any": {"vi": "Tất cả", "en": "Any"},
        "console.filter.state_open": {"vi": "Đang mở (chưa xong)", "en": "Open (not finished)"},
        "console.filter.agency": {"vi": "Cơ quan", "en": "Agency"},
        "console.filter.triage": {
            "vi": "Chờ phân loại (chưa có cơ quan)",
            "en": "Triage (no agency yet)",
        },
        "console.filter.category": {"vi": "Lĩnh vực", "en": "Category"},
        "console.filter.channel": {"vi": "Kênh", "en": "Channel"},
        "console.filter.overdue": {"vi": "Chỉ phiếu quá hạn", "en": "Overdue only"},
        "console.filter.text": {"vi": "Tìm", "en": "Search"},
        "console.filter.text_hint": {
            "vi": "mã phiếu, nội dung, tên người gửi",
            "en": "code, text, reporter's name",
        },
        "console.filter.submit": {"vi": "Lọc", "en": "Filter"},
        "console.col.code": {"vi": "Mã phiếu", "en": "Code"},
        "console.col.state": {"vi": "Trạng thái", "en": "State"},
        "console.col.category": {"vi": "Lĩnh vực", "en": "Category"},
        "console.col.agency": {"vi": "Cơ quan", "en": "Agency"},
        "console.col.channel": {"vi": "Kênh", "en": "Channel"},
        "console.col.due": {"vi": "Hạn", "en": "Due"},
        "console.col.text": {"vi": "Nội dung", "en": "Text"},
        "console.col.when": {"vi": "Thời điểm", "en": "When"},
        "console.col.who": {"vi": "Người thực hiện", "en": "Who"},
        "console.col.what": {"vi": "Việc", "en": "What"},
        "console.col.note": {"vi": "Ghi chú", "en": "Note"},
        "console.overdue": {"vi": "quá hạn", "en": "overdue"},
        "console.pager": {"vi": "Phân trang", "en": "Pages"},
        "console.pager.prev": {"vi": "Trang trước", "en": "Previous"},
        "console.pager.next": {"vi": "Trang sau", "en": "Next"},
        "console.pager.page": {"vi": "Trang {page}/{pages}", "en": "Page {page} of {pages}"},
        "console.dashboard.title": {"vi": "Tổng quan", "en": "Dashboard"},
        "console.dashboard.today": {"vi": "Hôm nay {day}", "en": "Today {day}"},
        "console.dashboard.month": {"vi": "Tháng {month}", "en": "Month {month}"},
        "console.dashboard.now": {"vi": "Hiện tại", "en": "Right now"},
        "console.dashboard.on_time": {
            "vi": "Tỷ lệ giải quyết đúng hạn theo cơ quan, tháng {month}",
            "en": "On-time share by agency, {month}",
        },
        "console.dashboard.no_resolved": {
            "vi": "Tháng này chưa có phiếu nào được giải quyết.",
            "en": "No ticket resolved this month yet.",
        },
        "console.dashboard.overdue": {
            "vi": "Phiếu quá hạn ({count})",
            "en": "Overdue tickets ({count})",
        },
        "console.dashboard.no_overdue": {
            "vi": "Không có phiếu quá hạn.",
            "en": "Nothing is overdue.",
        },
        "console.n.new": {"vi": "Mới", "en": "New"},
        "console.n.routed": {"vi": "Đã chuyển", "en": "Routed"},
        "console.n.accepted": {"vi": "Đã tiếp nhận", "en": "Accepted"},
        "console.n.resolved": {"vi": "Đã giải quyết", "en": "Resolved"},
        "console.n.overdue": {"vi": "Đang quá hạn", "en": "Overdue"},
        "console.n.waiting": {"vi": "Chờ phân loại", "en": "Waiting in the queue"},
        "console.n.on_time": {"vi": "Đúng hạn", "en": "On time"},
        "console.n.share": {"vi": "Tỷ lệ", "en": "Share"},
        "console.ticket.created": {"vi": "Gửi lúc", "en": "Filed"},
        "console.ticket.triage_due": {"vi": "Hạn phân loại", "en": "Triage due"},
        "console.ticket.resolve_due": {"vi": "Hạn giải quyết", "en": "Resolution due"},
        "console.ticket.reporter": {"vi": "Người phản ánh", "en": "Reporter"},
        "console.ticket.ward": {"vi": "Xã, phường", "en": "Commune"},
        "console.ticket.location": {"vi": "Vị trí", "en": "Location"},
        "console.ticket.dossier": {"vi": "Hồ sơ liên quan", "en": "Dossier"},
        "console.ticket.evidence": {"vi": "Căn cứ phân loại", "en": "Evidence"},
        "console.ticket.merged_into": {"vi": "Đã gộp vào", "en": "Merged into"},
        "console.ticket.duplicates": {"vi": "Phiếu trùng đã gộp", "en": "Duplicates merged"},
        "console.ticket.text": {"vi": "Nội dung phản ánh", "en": "Complaint"},
        "console.ticket.answer": {"vi": "Trả lời của cơ quan", "en": "The agency's answer"},
        "console.ticket.files": {"vi": "Tệp đính kèm", "en": "Attachments"},
        "console.ticket.notes": {"vi": "Ghi chú nội bộ", "en": "Internal notes"},
        "console.ticket.trail": {"vi": "Lịch sử xử lý", "en": "Trail"},
        "console.file.photo": {"vi": "Ảnh", "en": "Photo"},
        "console.file.document": {"vi": "Tài liệu", "en": "Document"},
        "console.actions": {"vi": "Xử lý", "en": "Actions"},
        "console.action.assign": {"vi": "Chuyển cho cơ quan", "en": "Send to agency"},
        "console.action.assign_submit": {"vi": "Chuyển", "en": "Send"},
        "console.action.note": {
            "vi": "Ghi chú nội bộ (người dân và cơ quan không thấy)",
            "en": "Internal note (never shown to the citizen or the agency)",
        },
        "console.action.note_submit": {"vi": "Lưu ghi chú", "en": "Save note"},
        "console.action.reply": {"vi": "Nhắn người phản ánh", "en": "Message the reporter"},
        "console.action.reply_submit": {"vi": "Gửi tin nhắn", "en": "Send message"},
        "console.action.merge": {
            "vi": "Phiếu này trùng, gộp vào phiếu",
            "en": "This is a duplicate of",
        },
        "console.action.merge_submit": {"vi": "Gộp", "en": "Merge"},
        "console.action.close": {"vi": "Đóng phiếu vì", "en": "Close because"},
        "console.action.close_submit": {"vi": "Đóng phiếu", "en": "Close"},
        "console.action.reopen_submit": {"vi": "Mở lại phiếu", "en": "Reopen"},
        "console.action.accept_submit": {"vi": "Tiếp nhận", "en": "Accept"},
        "console.action.return": {
            "vi": "Trả lại tổng đài, lý do",
            "en": "Return to the hotline, because",
        },
        "console.action.return_submit": {"vi": "Trả lại", "en": "Return"},
        "console.action.ask": {
            "vi": "Hỏi thêm người dân (tạm dừng hạn)",
            "en": "Ask the citizen (pauses the clock)",
        },
        "console.action.ask_submit": {"vi": "Gửi câu hỏi", "en": "Ask"},
        "console.action.resolve": {"vi": "Trả lời và kết thúc", "en": "Answer and resolve"},
        "console.action.resolve_submit": {"vi": "Đã giải quyết", "en": "Resolve"},
        "console.done.assign": {
            "vi": "Đã chuyển phiếu {code} cho {agency}.",
            "en": "{code} sent to {agency}.",
        },
        "console.done.note": {"vi": "Đã lưu ghi chú nội bộ.", "en": "Internal note saved."},
        "console.done.reply": {
            "vi": "Đã gửi tin nhắn tới người phản ánh.",
            "en": "Message sent to the reporter.",
        },
        "console.done.merge": {
            "vi": "Đã gộp phiếu {code}; người phản ánh đã được báo tin.",
            "en": "{code} merged; its reporters were told.",
        },
        "console.done.close": {
            "vi": "Đã đóng phiếu {code} ({state}).",
            "en": "{code} closed ({state}).",
        },
        "console.done.reopen": {
            "vi": "Đã mở lại phiếu {code}; phiếu trở lại hàng đợi phân loại.",
            "en": "{code} reopened; it is back in the triage queue.",
        },
        "console.done.accept": {"vi": "Đã tiếp nhận phiếu {code}.", "en": "{code} accepted."},
        "console.done.return": {
            "vi": "Đã trả lại phiếu {code} cho tổng đài.",
            "en": "{code} returned to the hotline.",
        },
        "console.done.ask": {
            "vi": "Đã gửi câu hỏi; hạn giải quyết tạm dừng đến khi người dân trả lời.",
            "en": "Question sent; the clock is paused until the citizen answers.",
        },
        "console.done.resolve": {
            "vi": "Đã gửi trả lời và kết thúc phiếu {code}.",
            "en": "Answer sent; {code} resolved.",
        },
    }
)
