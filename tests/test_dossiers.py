"""Dossier lookup: codes, cards, verification, lock-out, rate limit, lateness, subscriptions."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.chat import Reply
from bot.config import Config
from bot.domain import dossiers
from bot.domain.dossiers import (
    Outcome,
    find_dossier_codes,
    late_working_days,
    lock_state,
    parse_lookup_args,
    rate_limited_until,
    subscribe_callback,
    unsubscribe_callback,
)
from handlers.lookup import answer_lookup, subscribe, unsubscribe
from handlers.messages import t
from storage import dossiers as store
from storage.db import Database
from storage.dossiers import Attempt
from storage.models import Dossier, DossierSubscription, LookupAttempt

VN = ZoneInfo("Asia/Ho_Chi_Minh")
# Wednesday; Tuesday 24/11/2026 (Ngày Văn hóa Việt Nam) is a public holiday.
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=VN)
CODE = "H23.22-261102-0001"


def make_dossier(**fields: object) -> Dossier:
    values: dict[str, object] = {
        "code": CODE,
        "procedure": "Cấp giấy chứng nhận quyền sử dụng đất lần đầu",
        "agency_id": "nn-mt",
        "applicant_name": "Nguyễn Văn An",
        "applicant_id": "075088001234",
        "phone": "0912 000 567",
        "officer": "Trần Thị Mai",
        "received_at": datetime(2026, 11, 2, 8, 15, tzinfo=VN),
        "due_at": datetime(2026, 11, 30, 17, 0, tzinfo=VN),
        "status": 4,
    }
    values.update(fields)
    return Dossier(**values)  # type: ignore[arg-type]


async def add(db: Database, *dossiers: Dossier) -> None:
    async with db.transaction() as session:
        for dossier in dossiers:
            session.add(dossier)


async def lookup(
    db: Database,
    config: Config,
    code: str = CODE,
    last4: str | None = None,
    *,
    user: str = "7",
    now: datetime = NOW,
    lang: str = "vi",
) -> Reply:
    async with db.transaction() as session:
        return await lookup_in(session, config, code, last4, user=user, now=now, lang=lang)


async def lookup_in(
    session: AsyncSession,
    config: Config,
    code: str = CODE,
    last4: str | None = None,
    *,
    user: str = "7",
    now: datetime = NOW,
    lang: str = "vi",
) -> Reply:
    """One lookup inside a transaction the test holds (a batch of updates is one)."""
    replies = await answer_lookup(
        session=session,
        config=config,
        channel="telegram",
        chat_id=user,
        user_id=user,
        code=code,
        last4=last4,
        now=now,
        lang=lang,
    )
    assert len(replies) == 1
    return replies[0]


async def follow(
    db: Database, *, user: str = "7", now: datetime = NOW, code: str = CODE, lang: str = "vi"
) -> Reply:
    async with db.transaction() as session:
        replies = await subscribe(
            session=session,
            channel="telegram",
            chat_id=user,
            user_id=user,
            code=code,
            now=now,
            lang=lang,
        )
    return replies[0]


# --- codes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code", ["H23.22-230825-0001", "000.00.12.H23-230825-0001", "38.98.H29-210519-0013"]
)
def test_find_codes_accepts_portal_formats(code: str) -> None:
    assert find_dossier_codes(f"Cho tôi hỏi hồ sơ {code} đến đâu rồi?") == [code]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("h23.22-230825-0001", "H23.22-230825-0001"),
        ("  mã hs: 000.00.12.h23 - 230825 - 0001 ạ", "000.00.12.H23-230825-0001"),
        ("38.98.H29–210519–0013.", "38.98.H29-210519-0013"),
        ("(H23.22-230825-0001)", "H23.22-230825-0001"),
    ],
)
def test_find_codes_normalises_case_spaces_and_dashes(text: str, expected: str) -> None:
    assert find_dossier_codes(text) == [expected]


def test_find_codes_keeps_order_without_duplicates() -> None:
    text = "38.98.H29-210519-0013 và H23.22-230825-0001, lại 38.98.h29-210519-0013"
    assert find_dossier_codes(text) == ["38.98.H29-210519-0013", "H23.22-230825-0001"]


@pytest.mark.parametrize(
    "text",
    [
        "gọi cho tôi 0912345678",
        "số 0912-345-678 hoặc +84 912 345 678",
        "nộp ngày 23/08/2025, hẹn 2025-08-30",
        "phản ánh PA-2026-000001 chưa xử lý",
        "12.34-230825-0001",  # no agency letters: an amount or a date, not a code
        "H23.22-231325-0001",  # month 13
        "H23.22-230825-01",  # sequence too short
        "H23.22-230825-0001-2",  # longer identifier of something else
        "CCCD 075088001234",
        "",
    ],
)
def test_find_codes_ignores_phones_dates_and_tickets(text: str) -> None:
    assert find_dossier_codes(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("H23.22-230825-0001 1234", ("H23.22-230825-0001", "1234")),
        ("h23.22 - 230825 - 0001", ("H23.22-230825-0001", None)),
        ("1234 H23.22-230825-0001", ("H23.22-230825-0001", "1234")),
        ("H23.22-230825-0001 12345", ("H23.22-230825-0001", None)),
        ("không có mã", (None, None)),
    ],
)
def test_parse_lookup_args_splits_code_and_last4(
    text: str, expected: tuple[str | None, str | None]
) -> None:
    assert parse_lookup_args(text) == expected


def test_callback_data_fits_telegram_limit() -> None:
    longest = "000.00.12.AAAAAAAAAA.BBBBBBBBBB.CCCC-230825-000001"
    assert len(longest) == 50
    assert find_dossier_codes(longest) == [longest]
    assert find_dossier_codes(longest.replace("CCCC", "CCCCC")) == []
    assert len(unsubscribe_callback(longest).encode()) <= 64
    assert subscribe_callback(CODE) == f"dsub:{CODE}"


# --- cards -----------------------------------------------------------------------------------


async def test_lookup_public_card_hides_personal_fields(db: Database, config: Config) -> None:
    await add(db, make_dossier())
    reply = await lookup(db, config)
    assert f"Hồ sơ {CODE}" in reply.text
    assert "Cấp giấy chứng nhận quyền sử dụng đất lần đầu" in reply.text
    assert "Sở Nông nghiệp và Môi trường" in reply.text
    assert "Ngày tiếp nhận: 02/11/2026" in reply.text
    assert "Ngày hẹn trả: 30/11/2026" in reply.text
    assert "Trạng thái: <b>Đang xử lý</b>" in reply.text
    assert "Trễ hạn" not in reply.text
    assert "Nguyễn Văn An" not in reply.text
    assert "Trần Thị Mai" not in reply.text
    assert f"/hoso {CODE} 1234" in reply.text
    assert reply.buttons == ()


async def test_lookup_verified_card_shows_personal_fields(db: Database, config: Config) -> None:
    await add(db, make_dossier())
    reply = await lookup(db, config, last4="1234")
    assert "Người nộp: Nguyễn Văn An" in reply.text
    assert "Cán bộ xử lý: Trần Thị Mai" in reply.text
    assert "Đã xác minh" in reply.text
    [[button]] = reply.buttons
    assert button.text == "🔔 Theo dõi hồ sơ này"
    assert button.data == f"dsub:{CODE}"


async def test_lookup_verifies_with_phone_last4(db: Database, config: Config) -> None:
    await add(db, make_dossier())
    reply = await lookup(db, config, last4="0567")
    assert "Người nộp: Nguyễn Văn An" in reply.text


async def test_lookup_card_in_english(db: Database, config: Config) -> None:
    await add(db, make_dossier())
    reply = await lookup(db, config, lang="en")
    assert "Status: <b>In progress</b>" in reply.text
    assert f"/lookup {CODE} 1234" in reply.text


async def test_lookup_unknown_code_says_not_found(db: Database, config: Config) -> None:
    reply = await lookup(db, config, code="H23.22-230825-0099")
    assert "Không tìm thấy hồ sơ <b>H23.22-230825-0099</b>" in reply.text
    assert "Giấy tiếp nhận hồ sơ và hẹn trả kết quả" in reply.text
    assert "YYMMDD" in reply.text
    assert config.hotline.phone in reply.text


async def test_lookup_text_without_code_explains_format(db: Database, config: Config) -> None:
    reply = await lookup(db, config, code="<b>abc</b>")
    assert "không phải là mã hồ sơ" in reply.text
    assert "&lt;b&gt;abc&lt;/b&gt;" in reply.text


async def test_lookup_normalises_typed_code(db: Database, config: Config) -> None:
    await add(db, make_dossier())
    reply = await lookup(db, config, code=" h23.22 - 261102 - 0001 ")
    assert "Đang xử lý" in reply.text


async def test_lookup_escapes_html_in_dossier_fields(db: Database, config: Config) -> None:
    await add(
        db,
        make_dossier(
            procedure="Cấp phép <b>đặc biệt</b> & nhanh",
            applicant_name="<script>alert(1)</script>",
            officer='<a href="http://x">cán bộ</a>',
            new_due_at=datetime(2026, 12, 4, 17, 0, tzinfo=VN),
            apology_reason="Chờ <i>ý kiến</i>",
        ),
    )
    reply = await lookup(db, config, last4="1234")
    assert "Cấp phép &lt;b&gt;đặc biệt&lt;/b&gt; &amp; nhanh" in reply.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in reply.text
    assert '&lt;a href="http://x"&gt;cán bộ&lt;/a&gt;' in reply.text
    assert "Chờ &lt;i&gt;ý kiến&lt;/i&gt;" in reply.text
    assert "<script>" not in reply.text and "<a " not in reply.text


# --- verification and limits ----------------------------------------------------------------


async def test_lookup_wrong_last4_says_tries_left(db: Database, config: Config) -> None:
    await add(db, make_dossier())
    first = await lookup(db, config, last4="9999")
    second = await lookup(db, config, last4="8888")
    assert "4 số cuối chưa đúng. Bạn còn 2 lần thử." in first.text
    assert "Bạn còn 1 lần thử." in second.text
    assert "Nguyễn Văn An" not in first.text
    assert first.buttons == ()


async def test_lookup_bad_last4_format_is_not_a_wrong_try(db: Database, config: Config) -> None:
    await add(db, make_dossier())
    reply = await lookup(db, config, last4="12a4")
    assert "đúng 4 chữ số" in reply.text
    after = await lookup(db, config, last4="9999")
    assert "Bạn còn 2 lần thử." in after.text


async def test_lookup_locks_after_max_wrong_then_unlocks(db: Database, config: Config) -> None:
    await add(db, make_dossier())
    limit = config.lookup.max_wrong_last4
    lock = timedelta(minutes=config.lookup.lockout_minutes)
    replies = [
        await lookup(db, config, last4="9999", now=NOW + timedelta(seconds=i))
        for i in range(limit)
    ]
    last_wrong = NOW + timedelta(seconds=limit - 1)
    until = (last_wrong + lock).strftime("%H:%M %d/%m/%Y")
    assert f"tạm khóa đến {until}" in replies[-1].text

    # The right digits are refused while locked; the public card is still shown.
    locked = await lookup(db, config, last4="1234", now=last_wrong + lock - timedelta(seconds=1))
    assert f"tạm khóa đến {until}" in locked.text
    assert "Nguyễn Văn An" not in locked.text
    assert "Đang xử lý" in locked.text

    # After the lock-out the count starts again and the right digits verify.
    later = last_wrong + lock
    wrong_again = await lookup(db, config, last4="9999", now=later)
    assert f"Bạn còn {limit - 1} lần thử." in wrong_again.text
    verified = await lookup(db, config, last4="1234", now=later + timedelta(seconds=1))
    assert "Người nộp: Nguyễn Văn An" in verified.text


async def test_lookup_lock_is_per_user_and_code(db: Database, config: Config) -> None:
    other = "38.98.H29-261116-0013"
    await add(db, make_dossier(), make_dossier(code=other))
    for _ in range(config.lookup.max_wrong_last4):
        await lookup(db, config, last4="9999")
    assert "tạm khóa" in (await lookup(db, config, last4="1234")).text
    assert "Người nộp" in (await lookup(db, config, last4="1234", user="8")).text
    assert "Người nộp" in (await lookup(db, config, code=other, last4="1234")).text


async def test_lookup_verified_resets_wrong_count(db: Database, config: Config) -> None:
    await add(db, make_dossier())
    await lookup(db, config, last4="9999")
    await lookup(db, config, last4="8888")
    await lookup(db, config, last4="1234")
    reply = await lookup(db, config, last4="7777")
    assert f"Bạn còn {config.lookup.max_wrong_last4 - 1} lần thử." in reply.text


async def test_lookup_rate_limited_per_user(db: Database, config: Config) -> None:
    await add(db, make_dossier())
    limit = config.lookup.per_minute
    for i in range(limit):
        reply = await lookup(db, config, now=NOW + timedelta(seconds=i))
        assert "Đang xử lý" in reply.text
    limited = await lookup(db, config, now=NOW + timedelta(seconds=30))
    assert "Bạn tra cứu quá nhiều lần" in limited.text
    assert "30 giây" in limited.text  # the first try leaves the window at NOW + 60 s
    assert "Đang xử lý" not in limited.text
    assert (
        "Đang xử lý" in (await lookup(db, config, user="8", now=NOW + timedelta(seconds=30))).text
    )
    again = await lookup(db, config, now=NOW + timedelta(seconds=60))
    assert "Đang xử lý" in again.text
    async with db.transaction() as session:
        outcomes = (await session.exec(select(LookupAttempt.outcome))).all()
    assert outcomes.count("limited") == 1


async def test_tries_of_one_transaction_count_before_it_commits(
    db: Database, config: Config
) -> None:
    """A batch of updates is one transaction: its lookups see each other's tries."""
    await add(db, make_dossier())
    strict = dataclasses.replace(
        config, lookup=dataclasses.replace(config.lookup, max_wrong_last4=2)
    )
    async with db.transaction() as session:
        replies = [
            await lookup_in(session, strict, last4="9999", now=NOW + timedelta(seconds=second))
            for second in (0, 1)
        ]
    assert replies[0].text.endswith(t("dossier.wrong_last4", "vi", left=1))
    assert "tạm khóa" in replies[1].text
    async with db.transaction() as session:
        outcomes = (await session.exec(select(LookupAttempt.outcome))).all()
    assert sorted(outcomes) == ["wrong_last4", "wrong_last4"]


async def test_one_read_brings_the_tries_and_the_dossier_each_without_the_other(
    db: Database,
) -> None:
    await add(db, make_dossier())
    since = NOW - timedelta(hours=1)
    read = {"channel": "telegram", "user_id": "7", "since": since, "skipped": Outcome.LIMITED}
    async with db.transaction() as session:
        alone = await store.attempts_and_dossier(session=session, code=CODE, **read)
        for outcome, minutes in ((Outcome.NOT_FOUND, 5), (Outcome.LIMITED, 3), (Outcome.FOUND, 1)):
            await store.record_attempt(
                session=session,
                channel="telegram",
                user_id="7",
                code=CODE,
                outcome=outcome,
                at=NOW - timedelta(minutes=minutes),
            )
    async with db.transaction() as session:
        both = await store.attempts_and_dossier(session=session, code=CODE, **read)
        no_dossier = await store.attempts_and_dossier(session=session, code="", **read)
        other_user = await store.attempts_and_dossier(
            session=session, code=CODE, **{**read, "user_id": "8"}
        )
    assert alone[0] == [] and alone[1] is not None and alone[1].code == CODE
    expected = [
        Attempt(CODE, Outcome.NOT_FOUND, NOW - timedelta(minutes=5)),
        Attempt(CODE, Outcome.FOUND, NOW - timedelta(minutes=1)),
    ]
    assert both[0] == expected and both[1] is not None and both[1].code == CODE
    assert no_dossier == (expected, None)
    assert other_user[0] == [] and other_user[1] is not None


def test_rate_limit_counts_only_tries_within_the_last_minute() -> None:
    tries = [Attempt(CODE, Outcome.FOUND, NOW - timedelta(seconds=s)) for s in (90, 50, 20, 5)]
    assert rate_limited_until(tries, limit=4, now=NOW) is None
    # Three tries in the window: the limit lifts when the oldest of them (50 s ago) leaves it.
    assert rate_limited_until(tries, limit=3, now=NOW) == NOW + timedelta(seconds=10)


def test_lock_state_replays_the_lock_from_one_codes_wrong_tries() -> None:
    window = timedelta(minutes=15)
    wrong = [Attempt(CODE, Outcome.WRONG_LAST4, NOW - timedelta(minutes=m)) for m in (10, 8, 6)]
    other_code = [Attempt("H23.22-261102-0002", Outcome.WRONG_LAST4, NOW)]
    assert lock_state(wrong + other_code, code=CODE, window=window, limit=3, now=NOW) == (
        NOW - timedelta(minutes=6) + window,
        0,
    )
    # Two wrong tries, a verification, one more: one wrong try counts, no lock.
    verified = Attempt(CODE, Outcome.VERIFIED, NOW - timedelta(minutes=7))
    history = sorted([*wrong, verified], key=lambda attempt: attempt.at)
    assert lock_state(history, code=CODE, window=window, limit=3, now=NOW) == (None, 1)
    # A lock that ended long ago is replayed but no longer in force; nothing counts now.
    old = [Attempt(a.code, a.outcome, a.at - 2 * window) for a in wrong]
    assert lock_state(old, code=CODE, window=window, limit=3, now=NOW) == (None, 0)


# --- lateness and apology slips ----------------------------------------------------------------


async def test_lookup_late_by_working_days(db: Database, config: Config) -> None:
    # Due Thu 19/11 17:00; Fri, Mon and Wed morning are working time, Tue 24/11 a holiday.
    await add(db, make_dossier(due_at=datetime(2026, 11, 19, 17, 0, tzinfo=VN)))
    reply = await lookup(db, config)
    assert "Trễ hạn 3 ngày làm việc" in reply.text


@pytest.mark.parametrize(
    ("due", "now", "days"),
    [
        (datetime(2026, 11, 19, 17, 0, tzinfo=VN), datetime(2026, 11, 25, 10, 0, tzinfo=VN), 3),
        (
            datetime(2026, 11, 20, 17, 0, tzinfo=VN),
            datetime(2026, 11, 23, 7, 0, tzinfo=VN),
            0,
        ),  # weekend only
        (datetime(2026, 11, 20, 17, 0, tzinfo=VN), datetime(2026, 11, 23, 7, 31, tzinfo=VN), 1),
        (datetime(2026, 11, 20, 17, 0, tzinfo=VN), datetime(2026, 11, 23, 17, 0, tzinfo=VN), 1),
        (
            datetime(2026, 11, 20, 17, 0, tzinfo=VN),
            datetime(2026, 11, 24, 16, 0, tzinfo=VN),
            1,
        ),  # holiday
        (
            datetime(2026, 11, 30, 17, 0, tzinfo=VN),
            datetime(2026, 11, 25, 10, 0, tzinfo=VN),
            0,
        ),  # not due yet
    ],
)
def test_late_working_days_counts_working_time(
    config: Config, due: datetime, now: datetime, days: int
) -> None:
    dossier = make_dossier(due_at=due)
    assert late_working_days(dossier=dossier, calendar=config.work_calendar, now=now) == days


def test_late_working_days_of_done_dossier_uses_completion(config: Config) -> None:
    calendar = config.work_calendar
    due = datetime(2026, 11, 19, 17, 0, tzinfo=VN)
    late = make_dossier(
        status=10, due_at=due, completed_at=datetime(2026, 11, 23, 9, 0, tzinfo=VN)
    )
    on_time = make_dossier(status=9, due_at=due, completed_at=due)
    withdrawn = make_dossier(status=7, due_at=due)
    assert late_working_days(dossier=late, calendar=calendar, now=NOW) == 2
    assert late_working_days(dossier=on_time, calendar=calendar, now=NOW) == 0
    assert late_working_days(dossier=withdrawn, calendar=calendar, now=NOW) == 0


async def test_lookup_done_dossier_says_on_time_or_late(db: Database, config: Config) -> None:
    due = datetime(2026, 11, 19, 17, 0, tzinfo=VN)
    await add(
        db,
        make_dossier(status=10, due_at=due, completed_at=datetime(2026, 11, 18, 9, tzinfo=VN)),
        make_dossier(
            code="38.98.H29-261116-0013",
            status=9,
            due_at=due,
            completed_at=datetime(2026, 11, 23, 9, tzinfo=VN),
        ),
    )
    on_time = await lookup(db, config)
    late = await lookup(db, config, code="38.98.H29-261116-0013")
    assert "Đã trả kết quả" in on_time.text and "Hoàn thành đúng hạn" in on_time.text
    assert "Ngày hoàn thành: 18/11/2026" in on_time.text
    assert "Đã xử lý xong" in late.text and "Hoàn thành trễ hạn 2 ngày làm việc" in late.text


async def test_lookup_shows_apology_new_date(db: Database, config: Config) -> None:
    await add(
        db,
        make_dossier(
            due_at=datetime(2026, 11, 19, 17, 0, tzinfo=VN),
            new_due_at=datetime(2026, 12, 4, 17, 0, tzinfo=VN),
            apology_reason="Chờ ý kiến thẩm định của UBND phường",
        ),
    )
    public = await lookup(db, config)
    assert "Hẹn trả mới: <b>04/12/2026</b>" in public.text
    assert "Phiếu xin lỗi và hẹn lại ngày trả kết quả" in public.text
    assert "Trễ hạn 3 ngày làm việc" in public.text
    assert "Chờ ý kiến thẩm định" not in public.text
    verified = await lookup(db, config, last4="1234")
    assert "Lý do hẹn lại: Chờ ý kiến thẩm định của UBND phường" in verified.text


# --- subscriptions ------------------------------------------------------------------------------


async def test_subscribe_requires_verification(db: Database, config: Config) -> None:
    await add(db, make_dossier())
    await lookup(db, config)  # public card only
    await lookup(db, config, last4="9999")  # wrong digits
    reply = await follow(db)
    assert "vui lòng xác minh trước" in reply.text
    assert f"/hoso {CODE} 1234" in reply.text
    async with db.transaction() as session:
        assert (await session.exec(select(DossierSubscription))).all() == []


async def test_subscribe_verification_by_another_user_does_not_count(
    db: Database, config: Config
) -> None:
    await add(db, make_dossier())
    await lookup(db, config, last4="1234", user="8")
    assert "xác minh trước" in (await follow(db, user="7")).text


async def test_subscribe_after_verification_is_idempotent(db: Database, config: Config) -> None:
    await add(db, make_dossier())
    await lookup(db, config, last4="1234", lang="en")
    first = await follow(db, now=NOW + timedelta(minutes=1), lang="en")
    second = await follow(db, now=NOW + timedelta(minutes=2), lang="en")
    assert "You now follow dossier" in first.text
    assert "You already follow" in second.text
    assert first.buttons[0][0].data == f"dunsub:{CODE}"
    async with db.transaction() as session:
        rows = (await session.exec(select(DossierSubscription))).all()
    assert [(r.dossier_code, r.chat_id, r.language) for r in rows] == [(CODE, "7", "en")]


async def test_subscribe_needs_a_recent_verification(db: Database, config: Config) -> None:
    await add(db, make_dossier())
    await lookup(db, config, last4="1234")
    late = NOW + timedelta(minutes=config.lookup.lockout_minutes, seconds=1)
    assert "xác minh trước" in (await follow(db, now=late)).text


async def test_subscribe_unknown_dossier_says_not_found(db: Database, config: Config) -> None:
    assert "Không tìm thấy" in (await follow(db)).text


async def test_verified_card_offers_unsubscribe_once_subscribed(
    db: Database, config: Config
) -> None:
    await add(db, make_dossier())
    await lookup(db, config, last4="1234")
    await follow(db)
    reply = await lookup(db, config, last4="1234", now=NOW + timedelta(minutes=2))
    assert reply.buttons[0][0].data == f"dunsub:{CODE}"
    async with db.transaction() as session:
        removed = await unsubscribe(
            session=session, channel="telegram", chat_id="7", code=CODE, lang="vi"
        )
        again = await unsubscribe(
            session=session, channel="telegram", chat_id="7", code=CODE, lang="vi"
        )
    assert "Đã bỏ theo dõi" in removed[0].text
    assert "chưa theo dõi" in again[0].text


# -- a batch's lookups read ahead (issue 10) ------------------------------------------------


class _RolledBack(Exception):
    """Ends a transaction without committing it."""


def _counting(db: Database) -> list[str]:
    """Record every statement `db` sends from now on."""
    sent: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        sent.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    return sent


async def test_lookups_read_ahead_answer_as_their_own_statements_would_without_them(
    db: Database, config: Config
) -> None:
    """The same replies, rate limit and lock-out included, with no statement per lookup."""
    other = "H23.22-261103-0002"
    await add(db, make_dossier(), make_dossier(code=other, applicant_id="075088005678"))
    strict = dataclasses.replace(
        config, lookup=dataclasses.replace(config.lookup, max_wrong_last4=2, per_minute=3)
    )
    await lookup(db, strict, last4="9999", now=NOW - timedelta(minutes=5))  # committed before
    asked = [
        ("7", CODE, "8888"),  # the second wrong try: the lock-out
        ("8", other, None),
        ("8", "H23.22-261104-0999", None),  # no such dossier
        ("8", CODE, None),
        ("8", CODE, None),  # the fourth in a minute: rate-limited
        ("9", "H23.22-261104-0999", None),
    ]
    messages = [("telegram", user, f"/hoso {code}") for user, code, _ in asked]

    async def answers(session: AsyncSession) -> list[str]:
        return [
            (await lookup_in(session, strict, code, last4, user=user, now=NOW)).text
            for user, code, last4 in asked
        ]

    alone: list[str] = []

    async def answered_alone() -> None:
        async with db.transaction() as session:
            alone.extend(await answers(session))
            raise _RolledBack  # the same tries again below, read ahead

    with pytest.raises(_RolledBack):
        await answered_alone()
    sent = _counting(db)
    async with db.transaction() as session:
        named = await dossiers.read_ahead_lookups(
            session=session, config=strict, messages=messages, now=NOW
        )
        read = len(sent)
        ahead = await answers(session)
        assert sent[read:] == []  # every lookup answered from what was read ahead
    assert named == len(asked)
    assert ahead == alone
    assert "tạm khóa" in ahead[0]
    assert ahead[4] == t("dossier.rate_limited", "vi", seconds=60)
    async with db.transaction() as session:
        outcomes = (await session.exec(select(LookupAttempt.outcome))).all()
    assert sorted(outcomes).count("limited") == 1


async def test_a_lone_lookup_is_not_read_ahead(db: Database, config: Config) -> None:
    await add(db, make_dossier())
    sent = _counting(db)
    async with db.transaction() as session:
        named = await dossiers.read_ahead_lookups(
            session=session, config=config, messages=[("telegram", "7", CODE)], now=NOW
        )
        assert sent == []
        reply = await lookup_in(session, config)
    assert named == 1
    assert "Đang xử lý" in reply.text


async def test_a_batch_of_updates_reads_its_dossiers_in_one_statement(
    db: Database, config: Config
) -> None:
    from bot.chat import Incoming
    from bot.domain.triage import Classifier
    from bot.inbox import Inbox

    await add(db, make_dossier())
    inbox = Inbox(db=db, config=config, classifier=Classifier.from_config(config))
    (alone,) = await inbox.handle(
        Incoming(channel="telegram", chat_id="6", user_id="6", update_id="1", text=f"/hoso {CODE}")
    )
    sent = _counting(db)
    batch = [
        Incoming(
            channel="telegram", chat_id=user, user_id=user, update_id=user, text=f"/hoso {CODE}"
        )
        for user in ("10", "11", "12", "13", "14")
    ]
    results = await inbox.handle_batch(batch)
    assert [[reply.text for reply in replies] for replies in results] == [[alone.text]] * 5
    assert sum("FROM dossier" in statement for statement in sent) == 1
