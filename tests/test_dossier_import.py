"""Dossier imports (CSV, JSON Lines), subscriber notices, the watch instant, and demo data."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from bot.chat import Reply
from bot.config import Config
from bot.demo_data import DEMO_DOSSIERS, demo_rows, seed_demo
from bot.domain.dossiers import (
    DossierImportError,
    ImportReport,
    format_import_report,
    initial_watch_at,
    parse_when,
    watch_after,
    watch_milestones,
)
from bot.dossier_import import import_dossiers
from handlers.lookup import answer_lookup
from storage.db import Database
from storage.models import Dossier, DossierSubscription, Outbox

VN = ZoneInfo("Asia/Ho_Chi_Minh")
DATA = Path(__file__).with_name("data")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=VN)  # Wednesday; Tue 24/11/2026 is a holiday
HEADER = (
    "code,procedure,agency,applicant_name,applicant_id,phone,received_at,due_at,status,"
    "completed_at,new_due_at,apology_reason,officer"
)
LLTP = "38.98.H29-261116-0013"
LLTP_ROW = (
    "38.98.H29-261116-0013,Cấp phiếu lý lịch tư pháp,so tu phap,Võ Thị Hà,075195002468,"
    "0987654013,16/11/2026,30/11/2026,{status},,{new_due},{reason},Đỗ Văn Long"
)


async def dossiers(db: Database) -> dict[str, Dossier]:
    async with db.transaction() as session:
        return {d.code: d for d in (await session.exec(select(Dossier))).all()}


async def outbox(db: Database) -> list[Outbox]:
    async with db.transaction() as session:
        return list((await session.exec(select(Outbox).order_by(col(Outbox.id)))).all())


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def lltp_file(tmp_path: Path, name: str, status: int, new_due: str = "", reason: str = "") -> Path:
    row = LLTP_ROW.format(status=status, new_due=new_due, reason=reason)
    return write(tmp_path, name, f"{HEADER}\n{row}\n")


# --- good files ------------------------------------------------------------------------------


async def test_import_csv_good_rows(db: Database, config: Config) -> None:
    report = await import_dossiers(DATA / "dossiers-good.csv", db=db, config=config, now=NOW)
    assert (report.inserted, report.updated, report.unchanged, report.rejected) == (3, 0, 0, [])
    stored = await dossiers(db)
    land = stored["H23.22-261102-0001"]
    assert land.agency_id == "nn-mt"
    assert land.procedure == "Cấp giấy chứng nhận quyền sử dụng đất lần đầu"
    assert land.received_at == datetime(2026, 11, 2, 8, 15, tzinfo=VN)
    assert land.due_at == datetime(2026, 11, 19, 17, 0, tzinfo=VN)  # a bare due date: 17:00
    assert (land.status, land.officer, land.phone) == (4, "Trần Thị Mai", "0912 000 111")
    business = stored["000.00.12.H23-261110-0002"]
    assert business.agency_id == "tai-chinh"  # by the agency's name
    assert business.completed_at == datetime(2026, 11, 12, 15, 30, tzinfo=VN)
    assert business.status == 10
    record = stored[LLTP]
    assert record.agency_id == "tu-phap"  # by an alias typed without diacritics
    assert record.new_due_at == datetime(2026, 12, 4, 17, 0, tzinfo=VN)
    assert record.apology_reason.startswith("Chờ kết quả xác minh")
    assert record.updated_at == NOW


async def test_import_jsonl_good_rows(db: Database, config: Config) -> None:
    report = await import_dossiers(DATA / "dossiers-good.jsonl", db=db, config=config, now=NOW)
    assert (report.inserted, report.rejected) == (3, [])
    csv_db_view = await dossiers(db)
    assert csv_db_view["000.00.12.H23-261110-0002"].status == 10
    assert csv_db_view[LLTP].agency_id == "tu-phap"
    assert csv_db_view["H23.22-261102-0001"].officer == "Trần Thị Mai"


async def test_import_json_array_reports_lines(
    db: Database, config: Config, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "dossiers.json",
        '[\n  {"code": "H23.22-261102-0001", "procedure": "Đăng ký khai sinh",\n'
        '   "agency": "ubnd-xa", "received_at": "02/11/2026", "status": 2},\n'
        '  {"code": "H23.22-261102-0002", "procedure": "Đăng ký khai sinh",\n'
        '   "agency": "ubnd-xa", "received_at": "02/11/2026", "status": 0}\n]\n',
    )
    report = await import_dossiers(path, db=db, config=config, now=NOW)
    assert report.inserted == 1
    assert report.rejected == [(4, "bad status '0' (expected 1-10)")]


async def test_import_csv_crlf_and_multiline_field_keep_line_numbers(
    db: Database, config: Config, tmp_path: Path
) -> None:
    text = (
        f"{HEADER}\r\n"
        'H23.22-261102-0001,Đăng ký khai sinh,ubnd-xa,"An\r\nB",,,02/11/2026,,2,,,,\r\n'
        "H23.22-261102-0002,Đăng ký khai sinh,Sở Du lịch,,,,02/11/2026,,2,,,,\r\n"
    )
    path = tmp_path / "crlf.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    report = await import_dossiers(path, db=db, config=config, now=NOW)
    assert report.inserted == 1
    assert report.rejected == [(4, "unknown agency 'Sở Du lịch'")]


async def test_import_sniffs_format_without_extension(
    db: Database, config: Config, tmp_path: Path
) -> None:
    path = tmp_path / "export"
    path.write_bytes((DATA / "dossiers-good.jsonl").read_bytes())
    report = await import_dossiers(path, db=db, config=config, now=NOW)
    assert report.inserted == 3


# --- bad rows --------------------------------------------------------------------------------


async def test_import_bad_rows_listed_and_good_rows_kept(db: Database, config: Config) -> None:
    report = await import_dossiers(DATA / "dossiers-bad.csv", db=db, config=config, now=NOW)
    assert report.inserted == 2
    assert report.rejected == [
        (3, "unknown agency 'Sở Du lịch'"),
        (4, "bad date in received_at: '31/02/2026' (expected ISO 8601 or dd/mm/yyyy [HH:MM])"),
        (5, "missing code"),
        (6, "bad status '11' (expected 1-10)"),
        (7, "due_at before received_at"),
        (9, "code 'PA-2026-000001' is not a dossier code (e.g. H23.22-230825-0001)"),
        (10, "duplicate code H23.22-261103-0005 (first on line 2)"),
    ]
    stored = await dossiers(db)
    assert sorted(stored) == ["H23.22-261103-0005", "H23.22-261104-0010"]
    assert stored["H23.22-261104-0010"].agency_id == "ubnd-xa"  # alias "UBND phường"


async def test_import_row_with_several_problems_lists_them_all(
    db: Database, config: Config, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "bad.csv",
        f"{HEADER}\nH23.22-261102-0001,,nowhere,,,,02/11/2026,01/11/2026,x,,,,\n",
    )
    report = await import_dossiers(path, db=db, config=config, now=NOW)
    assert report.inserted == 0
    [(line, reason)] = report.rejected
    assert line == 2
    for part in ("missing procedure", "unknown agency 'nowhere'", "bad status 'x'", "due_at"):
        assert part in reason


async def test_import_jsonl_bad_lines(db: Database, config: Config, tmp_path: Path) -> None:
    good = (
        '{"code": "H23.22-261102-0001", "procedure": "Đăng ký khai sinh", "agency": "ubnd-xa",'
        ' "received_at": "2026-11-02", "status": 2}'
    )
    path = write(
        tmp_path,
        "x.jsonl",
        f'{good}\n{{"code": oops}}\n[1, 2]\n\n{{"procedure": "Đăng ký khai sinh"}}\n',
    )
    report = await import_dossiers(path, db=db, config=config, now=NOW)
    assert report.inserted == 1
    lines = [line for line, _ in report.rejected]
    assert lines == [2, 3, 5]
    assert report.rejected[0][1].startswith("not valid JSON")
    assert report.rejected[1][1] == "expected a JSON object, got list"
    assert "missing code" in report.rejected[2][1]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"code,procedure,received_at,status\n", r"lacks column\(s\) agency"),
        (b"", "empty"),
        ("code,procedure\nH23.22-261102-0001,Th\xe1".encode("latin-1"), "not UTF-8"),
    ],
)
async def test_import_unusable_file_fails_whole(
    sqlite_db: Database, config: Config, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "file.csv"
    path.write_bytes(content)
    with pytest.raises(DossierImportError, match=message):
        await import_dossiers(path, db=sqlite_db, config=config, now=NOW)


async def test_import_missing_file_fails(
    sqlite_db: Database, config: Config, tmp_path: Path
) -> None:
    with pytest.raises(DossierImportError, match="cannot read"):
        await import_dossiers(tmp_path / "nope.csv", db=sqlite_db, config=config, now=NOW)


def test_parse_when_accepts_documented_formats() -> None:
    end = time(17, 0)
    assert parse_when("02/11/2026", day_time=end) == datetime(2026, 11, 2, 17, 0, tzinfo=VN)
    assert parse_when("2/11/2026 8:05", day_time=end) == datetime(2026, 11, 2, 8, 5, tzinfo=VN)
    assert parse_when("2026-11-02", day_time=end) == datetime(2026, 11, 2, 17, 0, tzinfo=VN)
    assert parse_when("2026-11-02T01:00:00Z", day_time=end) == datetime(
        2026, 11, 2, 8, 0, tzinfo=VN
    )
    for bad in ("31/02/2026", "02/11/26", "2026-13-01", "hôm qua", "02/11/2026 25:00"):
        with pytest.raises(ValueError):  # noqa: PT011 - any parse failure is a ValueError
            parse_when(bad, day_time=end)


def test_format_import_report_lists_rejected_lines() -> None:
    report = ImportReport(
        inserted=2,
        updated=1,
        unchanged=4,
        rejected=[(3, "unknown agency 'X'"), (7, "missing code")],
        notices=2,
        ignored_columns=("note",),
    )
    lines = format_import_report(report).splitlines()
    assert lines[0].startswith("2 inserted, 1 updated, 4 unchanged, 2 rejected")
    assert "note" in lines[1]
    assert lines[2:] == ["line 3: unknown agency 'X'", "line 7: missing code"]


# --- updates and notices -----------------------------------------------------------------------


async def subscribe_directly(db: Database, *chats: tuple[str, str]) -> None:
    async with db.transaction() as session:
        for chat_id, language in chats:
            session.add(
                DossierSubscription(
                    dossier_code=LLTP,
                    channel="telegram",
                    chat_id=chat_id,
                    language=language,
                    created_at=NOW,
                )
            )


async def test_reimport_notifies_subscribers_exactly_once(
    db: Database, config: Config, tmp_path: Path
) -> None:
    await import_dossiers(DATA / "dossiers-good.csv", db=db, config=config, now=NOW)
    await subscribe_directly(db, ("7", "vi"), ("8", "en"))
    changed = lltp_file(tmp_path, "v2.csv", status=4, new_due="07/12/2026", reason="Chờ xác minh")

    first = await import_dossiers(changed, db=db, config=config, now=NOW + timedelta(hours=1))
    assert (first.inserted, first.updated, first.unchanged, first.notices) == (0, 1, 0, 4)
    messages = await outbox(db)
    assert len(messages) == 4
    by_chat = {
        (m.chat_id, "status" if "status" in (m.idempotency_key or "") else "due"): m
        for m in messages
    }
    assert (
        "đã chuyển trạng thái: Được tiếp nhận → <b>Đang xử lý</b>"
        in by_chat["7", "status"].payload["text"]
    )
    assert (
        "changed status: Received → <b>In progress</b>" in by_chat["8", "status"].payload["text"]
    )
    assert "ngày hẹn trả kết quả mới: <b>07/12/2026</b>" in by_chat["7", "due"].payload["text"]
    assert "Lý do: Chờ xác minh" in by_chat["7", "due"].payload["text"]
    assert "has a new due date: <b>07/12/2026</b>" in by_chat["8", "due"].payload["text"]
    assert by_chat["7", "due"].payload["buttons"] == [
        [{"text": "🔕 Bỏ theo dõi", "data": f"dunsub:{LLTP}"}]
    ]
    assert Reply.from_payload(by_chat["8", "due"].payload).buttons[0][0].data == f"dunsub:{LLTP}"

    again = await import_dossiers(changed, db=db, config=config, now=NOW + timedelta(hours=2))
    assert (again.updated, again.unchanged, again.notices) == (0, 1, 0)
    assert len(await outbox(db)) == 4


async def test_status_returning_to_an_earlier_value_is_announced(
    db: Database, config: Config, tmp_path: Path
) -> None:
    await import_dossiers(lltp_file(tmp_path, "a.csv", 4), db=db, config=config, now=NOW)
    await subscribe_directly(db, ("7", "vi"))
    later = NOW + timedelta(hours=1)
    five = await import_dossiers(lltp_file(tmp_path, "b.csv", 5), db=db, config=config, now=later)
    four = await import_dossiers(
        lltp_file(tmp_path, "c.csv", 4), db=db, config=config, now=later + timedelta(hours=1)
    )
    five_again = await import_dossiers(
        lltp_file(tmp_path, "d.csv", 5), db=db, config=config, now=later + timedelta(hours=2)
    )
    assert (five.notices, four.notices, five_again.notices) == (1, 1, 1)
    texts = [m.payload["text"] for m in await outbox(db)]
    assert "bổ sung giấy tờ" in texts[0]
    assert len(texts) == 3


async def test_change_without_subscribers_queues_nothing(
    db: Database, config: Config, tmp_path: Path
) -> None:
    await import_dossiers(lltp_file(tmp_path, "a.csv", 2), db=db, config=config, now=NOW)
    report = await import_dossiers(lltp_file(tmp_path, "b.csv", 9), db=db, config=config, now=NOW)
    assert (report.updated, report.notices) == (1, 0)
    assert await outbox(db) == []


async def test_absent_column_keeps_the_stored_value(
    db: Database, config: Config, tmp_path: Path
) -> None:
    await import_dossiers(DATA / "dossiers-good.csv", db=db, config=config, now=NOW)
    header = HEADER.removesuffix(",officer")
    row = LLTP_ROW.format(status=2, new_due="04/12/2026", reason="").removesuffix(",Đỗ Văn Long")
    report = await import_dossiers(
        write(tmp_path, "no-officer.csv", f"{header}\n{row}\n"), db=db, config=config, now=NOW
    )
    assert (report.updated, report.unchanged) == (1, 0)  # the reason was cleared
    stored = (await dossiers(db))[LLTP]
    assert stored.officer == "Đỗ Văn Long"
    assert stored.apology_reason == ""


# --- the watch instant ---------------------------------------------------------------------------


def test_watch_milestones_follow_the_dossier(config: Config) -> None:
    calendar = config.work_calendar
    due = datetime(2026, 11, 30, 17, 0, tzinfo=VN)  # Monday
    new_due = datetime(2026, 12, 4, 17, 0, tzinfo=VN)
    plain = watch_milestones(status=4, due_at=due, new_due_at=None, calendar=calendar)
    assert [kind for kind, _ in plain] == ["apology_due", "late"]
    assert calendar.working_hours_between(plain[0][1], due) == calendar.hours_per_day
    slipped = watch_milestones(status=4, due_at=due, new_due_at=new_due, calendar=calendar)
    assert slipped == [("late", due), ("late_new_due", new_due)]
    assert watch_milestones(status=10, due_at=due, new_due_at=None, calendar=calendar) == []
    assert watch_milestones(status=4, due_at=None, new_due_at=None, calendar=calendar) == []

    reminder = plain[0][1]
    assert (
        initial_watch_at(status=4, due_at=due, new_due_at=None, calendar=calendar, now=NOW)
        == reminder
    )
    # Between the reminder and the due date the reminder is still the current milestone.
    inside = reminder + timedelta(hours=1)
    assert (
        initial_watch_at(status=4, due_at=due, new_due_at=None, calendar=calendar, now=inside)
        == reminder
    )
    after_due = due + timedelta(days=3)
    assert (
        initial_watch_at(status=4, due_at=due, new_due_at=None, calendar=calendar, now=after_due)
        == due
    )
    assert (
        watch_after(status=4, due_at=due, new_due_at=None, calendar=calendar, after=reminder)
        == due
    )
    assert watch_after(status=4, due_at=due, new_due_at=None, calendar=calendar, after=due) is None


async def test_import_sets_and_keeps_watch_at(
    db: Database, config: Config, tmp_path: Path
) -> None:
    await import_dossiers(lltp_file(tmp_path, "a.csv", 2), db=db, config=config, now=NOW)
    stored = (await dossiers(db))[LLTP]
    due = datetime(2026, 11, 30, 17, 0, tzinfo=VN)
    assert stored.watch_at == config.work_calendar.add_working_days(due, -1)

    # The sweeper moved on; an identical or unrelated change must not undo its progress.
    async with db.transaction() as session:
        row = (await session.exec(select(Dossier).where(Dossier.code == LLTP))).one()
        row.watch_at = due
        session.add(row)
    await import_dossiers(lltp_file(tmp_path, "b.csv", 2), db=db, config=config, now=NOW)
    assert (await dossiers(db))[LLTP].watch_at == due

    # A new date replaces the apology reminder; a finished dossier is not watched.
    await import_dossiers(
        lltp_file(tmp_path, "c.csv", 4, new_due="04/12/2026"), db=db, config=config, now=NOW
    )
    assert (await dossiers(db))[LLTP].watch_at == due
    await import_dossiers(lltp_file(tmp_path, "d.csv", 10), db=db, config=config, now=NOW)
    assert (await dossiers(db))[LLTP].watch_at is None


# --- demo data ---------------------------------------------------------------------------------


async def demo_lookup(db: Database, config: Config, code: str, last4: str | None = None) -> str:
    async with db.transaction() as session:
        [reply] = await answer_lookup(
            session=session,
            config=config,
            channel="telegram",
            chat_id="1",
            user_id="1",
            code=code,
            last4=last4,
            now=NOW,
            lang="vi",
        )
    return reply.text


async def test_seed_demo_creates_the_four_situations(db: Database, config: Config) -> None:
    codes = await seed_demo(db=db, config=config, now=NOW)
    assert len(codes) == len(DEMO_DOSSIERS) == 4
    late, on_time, done, apology = codes
    assert late.startswith("000.00.21.H20-") and late.endswith("-0137")
    assert "Trễ hạn 3 ngày làm việc" in await demo_lookup(db, config, late)
    assert "Người nộp: Nguyễn Văn Hùng" in await demo_lookup(db, config, late, "4821")
    on_time_card = await demo_lookup(db, config, on_time, "7315")
    assert "Trễ hạn" not in on_time_card and "Đăng ký thành lập doanh nghiệp" in on_time_card
    done_card = await demo_lookup(db, config, done, "2468")
    assert "Đã trả kết quả" in done_card and "Hoàn thành đúng hạn" in done_card
    apology_card = await demo_lookup(db, config, apology, "9052")
    assert "Hẹn trả mới" in apology_card and "Lý do hẹn lại: Cần xác minh" in apology_card

    # Seeding again (a sandbox restart the same day) adds nothing.
    assert await seed_demo(db=db, config=config, now=NOW) == codes
    assert len(await dossiers(db)) == 4


def test_demo_rows_put_the_receipt_date_in_the_code(config: Config) -> None:
    for row in demo_rows(config=config, now=NOW):
        received = datetime.fromisoformat(row["received_at"]).astimezone(VN)
        assert f"-{received:%y%m%d}-" in row["code"]
