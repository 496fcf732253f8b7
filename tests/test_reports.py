"""The monthly scorecard: a fixture month built through the real services, its figures checked
against hand-computed values, and every rendering (table, CSV, XLSX, PNG), on SQLite and
PostgreSQL."""

from __future__ import annotations

import csv
import io
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.__main__ import main
from bot.config import Config
from bot.domain import reports
from bot.domain import tickets as ticket_rules
from bot.domain.reports import AgencyFigures, Month, MonthError, Scorecard
from bot.sweeper import sweep_once
from handlers import reports as render
from handlers.messages import t
from storage.db import Database
from storage.models import Dossier, Ticket
from storage.reports import MonthCounts
from tests.test_sweeper import change
from tests.test_tickets import CITIZEN_CHAT, at, open_one, reload, wired

# The report is made on Tuesday 1/12/2026 at 09:00, the first working day after November.
REPORT_NOW = at(1, 9, month=12)
NOVEMBER = Month(2026, 11)


@pytest.fixture
def cfg(config: Config) -> Config:
    return wired(config)


@dataclass
class Fixture:
    """The tickets of the fixture month, by the role each plays."""

    by_name: dict[str, Ticket]


async def _do(
    db: Database, cfg: Config, ticket: Ticket, action: str, now: datetime, **kw: object
) -> None:
    """Apply a service that is not one of tests.test_sweeper.change's."""
    async with db.transaction() as session:
        locked = await ticket_rules.load_for_change(session=session, ticket_id=ticket.id or 0)
        assert locked is not None
        if action == "rate":
            await ticket_rules.rate_ticket(
                session=session,
                config=cfg,
                ticket=locked,
                channel="telegram",
                chat_id=CITIZEN_CHAT,
                stars=kw["stars"],
                now=now,
            )
        elif action == "reopen":
            await ticket_rules.reopen_ticket(
                session=session,
                config=cfg,
                ticket=locked,
                channel="telegram",
                chat_id=CITIZEN_CHAT,
                reason="Ổ gà vẫn còn",
                now=now,
            )
        elif action == "route":
            await ticket_rules.route_ticket(
                session=session,
                config=cfg,
                ticket=locked,
                agency_id=str(kw["agency"]),
                user_id="601",
                now=now,
            )


async def build_november(db: Database, cfg: Config) -> Fixture:
    """File and handle the fixture month's tickets, in time order, through the services.

    Sở Xây dựng (giao-thong, 24 working hours to resolve) gets six tickets:

    | ticket | routed      | accepted (h)        | resolved (h from routing) | on time | rating |
    |--------|-------------|---------------------|---------------------------|---------|--------|
    | t1     | Mon 2 08:00 | 10:00 (2)           | Tue 3 10:00 (10)          | yes     | 5      |
    | t2     | Mon 2 08:00 | 09:00 (1)           | Fri 6 16:00 (38.5)        | no      | 2      |
    | t3     | Tue 3 08:00 | 11:00 (3)           | Wed 4 10:00 (10), reopened once | yes | —   |
    | t4     | Wed 4 08:00 | 12:00 (3.5)         | open, overdue since Mon 9 08:00   |    |     |
    | t5     | Thu 5 08:00 | deemed Fri 6 08:00 (8) | Mon 9 10:00 (18)       | yes     | —      |
    | t6     | Thu 5 08:00, returned twice (passed around), routed for good 14:00 |
    |        |             | 15:00 (1)           | Mon 9 14:00 (16)          | yes     | —      |

    Medians: accept 1, 1, 2, 3, 3.5, 8 → 2.5 h; resolve 10, 10, 16, 18, 38.5 → 16 h; on time
    4 of 5 = 80 %; mean rating 3.5 of 2. Sở Y tế gets two tickets, both resolved on time (100 %,
    but under the minimum volume). One ticket of October and one of December stay out.
    """
    made: dict[str, Ticket] = {}

    async def open_(name: str, when: datetime, agency: str = "xay-dung") -> Ticket:
        category = "giao-thong" if agency == "xay-dung" else "y-te"
        made[name] = await open_one(db, cfg, category=category, agency=agency, now=when)
        return made[name]

    async def act(name: str, action: str, when: datetime, **kw: object) -> None:
        ticket = await reload(db, made[name])
        if action in ("accept", "resolve", "return"):
            if action == "resolve":
                kw.setdefault("answer", "Đã xử lý xong.")
            if action == "return":
                kw.setdefault("reason", "Không thuộc thẩm quyền")
            await change(db, ticket, action, when, config=cfg, **kw)
        else:
            await _do(db, cfg, ticket, action, when, **kw)

    await open_("october", at(30, 8, month=10))
    await act("october", "accept", at(30, 9, month=10))
    await act("october", "resolve", at(30, 10, month=10))

    await open_("t1", at(2, 8))
    await open_("t2", at(2, 8))
    await act("t2", "accept", at(2, 9))
    await act("t1", "accept", at(2, 10))
    await open_("y1", at(2, 8), agency="y-te")
    await act("y1", "accept", at(2, 9))
    await act("y1", "resolve", at(2, 10))
    await open_("t3", at(3, 8))
    await act("t1", "resolve", at(3, 10))
    await act("t1", "rate", at(3, 11), stars=5)
    await act("t3", "accept", at(3, 11))
    await open_("t4", at(4, 8))
    await act("t3", "resolve", at(4, 8))
    await act("t3", "reopen", at(4, 9))
    await act("t3", "resolve", at(4, 10))
    await act("t4", "accept", at(4, 12))
    await open_("t5", at(5, 8))
    await open_("t6", at(5, 8))
    await act("t6", "return", at(5, 9))
    await act("t6", "route", at(5, 10), agency="xay-dung")
    await act("t6", "return", at(5, 11))
    await act("t6", "route", at(5, 14), agency="xay-dung")
    await act("t6", "accept", at(5, 15))
    await open_("y2", at(5, 8), agency="y-te")
    await act("y2", "accept", at(5, 9))
    await act("y2", "resolve", at(5, 10))
    await sweep_once(db=db, config=cfg, now=at(6, 9))  # t5 is deemed accepted at 08:00
    await act("t2", "resolve", at(6, 16))
    await act("t2", "rate", at(6, 17), stars=2)
    await act("t5", "resolve", at(9, 10))
    await act("t6", "resolve", at(9, 14))
    await open_("december", at(1, 8, month=12))

    async with db.transaction() as session:
        for code, due, status, completed, new_due in (
            ("H23.22-101126-0001", at(10, 17), 10, at(12, 10), None),  # done two days late
            ("H23.22-101126-0002", at(11, 17), 4, None, at(20, 17)),  # apology slip, late now
            ("H23.22-101126-0003", at(12, 17), 10, at(12, 9), None),  # done on time
            ("H23.22-101126-0004", at(3, 17, month=12), 4, None, None),  # due next month
        ):
            session.add(
                Dossier(
                    code=code,
                    agency_id="xay-dung",
                    due_at=due,
                    status=status,
                    completed_at=completed,
                    new_due_at=new_due,
                )
            )
    return Fixture(made)


async def november_card(db: Database, cfg: Config) -> tuple[Fixture, Scorecard]:
    fixture = await build_november(db, cfg)
    card = await reports.compute_scorecard(db=db, config=cfg, month=NOVEMBER, now=REPORT_NOW)
    return fixture, card


def row_of(card: Scorecard, agency_id: str) -> AgencyFigures:
    return next(row for row in card.rows if row.agency_id == agency_id)


async def test_scorecard_counts_match_hand_computed_figures(db: Database, cfg: Config) -> None:
    fixture, card = await november_card(db, cfg)

    works = row_of(card, "xay-dung")
    assert works.received == 6
    assert works.resolved == 5
    assert works.resolved_on_time == 4
    assert works.on_time_share == pytest.approx(0.8)
    assert works.overdue_now == 1
    assert works.median_accept_hours == pytest.approx(2.5)
    assert works.median_resolve_hours == pytest.approx(16.0)
    assert works.returns == 2
    assert works.passed_around == 1
    assert works.deemed_accepted == 1
    assert works.rating_mean == pytest.approx(3.5)
    assert works.ratings == 2
    assert works.reopened == 1
    assert works.dossiers_late == 2
    assert works.apology_slips == 1
    assert [ticket.code for ticket in card.overdue] == [fixture.by_name["t4"].code]
    overdue = card.overdue[0]
    assert overdue.due_at == at(9, 8)
    assert overdue.working_days_late == reports.working_days_late(
        cfg.work_calendar, at(9, 8), REPORT_NOW
    )
    assert overdue.working_days_late > 10


async def test_scorecard_ranks_a_low_volume_agency_after_every_agency_with_enough(
    db: Database, cfg: Config
) -> None:
    _fixture, card = await november_card(db, cfg)

    health, works = row_of(card, "y-te"), row_of(card, "xay-dung")
    assert health.on_time_share == 1.0
    assert health.low_volume
    assert not works.low_volume
    assert works.rank == 1
    assert health.rank is not None and health.rank > works.rank
    assert health.median_resolve_hours == pytest.approx(2.0)


async def test_scorecard_totals_sum_the_rows(db: Database, cfg: Config) -> None:
    _fixture, card = await november_card(db, cfg)

    assert card.totals.received == 8
    assert card.totals.resolved == 7
    assert card.totals.resolved_on_time == 6
    # Province medians run over every span, not over the agencies' medians.
    assert card.totals.median_resolve_hours == pytest.approx(10.0)
    assert card.totals.rating_mean == pytest.approx(3.5)


def test_rank_orders_by_share_then_volume_and_keeps_low_volume_last() -> None:
    rows = [
        AgencyFigures("a", "A", received=4, resolved=4, resolved_on_time=4),
        AgencyFigures("b", "B", received=10, resolved=10, resolved_on_time=6),
        AgencyFigures("c", "C", received=10, resolved=8, resolved_on_time=8),
        AgencyFigures("d", "D", received=12, resolved=0),
        AgencyFigures("e", "E", received=5, resolved=5, resolved_on_time=3),
    ]
    ranked = reports.rank(rows)
    # b and e share 60 %: b resolved more, so it comes first.
    assert [row.agency_id for row in ranked] == ["c", "b", "e", "d", "a"]
    assert [row.rank for row in ranked] == [1, 2, 3, 4, 5]
    assert [row.low_volume for row in ranked] == [False, False, False, False, True]


async def test_render_csv_rows_add_up_to_the_totals_row(db: Database, cfg: Config) -> None:
    _fixture, card = await november_card(db, cfg)
    data = render.render_csv(card)

    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == render.headers("vi")
    assert rows[0][2] == t("report.col.received", "vi")
    body, totals = rows[1:-1], rows[-1]
    assert len(body) == len(cfg.agencies)
    assert totals[1] == t("report.totals", "vi")
    counted = [i for i, c in enumerate(render.COLUMNS, start=2) if c.kind == "count"]
    for index in counted:
        assert sum(int(row[index]) for row in body) == int(totals[index]), rows[0][index]
    on_time = 2 + [c.label_key for c in render.COLUMNS].index("report.col.on_time")
    assert totals[on_time] == "85.7"  # 6 of 7


async def test_render_xlsx_opens_with_number_percents_and_the_overdue_sheet(
    db: Database, cfg: Config
) -> None:
    from openpyxl import load_workbook

    fixture, card = await november_card(db, cfg)
    book = load_workbook(io.BytesIO(render.render_xlsx(card, "en")))

    scorecard, overdue = book.worksheets
    assert scorecard.title == t("report.sheet.scorecard", "en")
    header = [cell.value for cell in scorecard[1]]
    assert header == render.headers("en")
    on_time = header.index(t("report.col.on_time", "en")) + 1
    first = scorecard.cell(2, on_time)
    assert scorecard.cell(2, 2).value == "Sở Xây dựng"
    assert isinstance(first.value, float)
    assert first.value == pytest.approx(0.8)
    assert first.number_format.endswith("%")
    assert scorecard.cell(scorecard.max_row, 2).value == t("report.totals", "en")
    assert scorecard.column_dimensions["B"].width > 20
    rows = list(overdue.iter_rows(min_row=2, values_only=True))
    assert rows == [
        (
            fixture.by_name["t4"].code,
            "Sở Xây dựng",
            "Hạ tầng giao thông, vận tải",
            at(9, 8).replace(tzinfo=None),  # Excel has no time zones: local time
            card.overdue[0].working_days_late,
        )
    ]


def png_size(data: bytes) -> tuple[int, int]:
    """Read the width and height from a PNG's header (and check its signature)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def test_render_png_is_a_valid_image_of_the_expected_size(
    sqlite_db: Database, cfg: Config, tmp_path: Path
) -> None:
    _fixture, card = await november_card(sqlite_db, cfg)
    data = render.render_png(card)

    assert png_size(data) == render.chart_size(len(cfg.agencies))
    from matplotlib import image

    pixels = image.imread(io.BytesIO(data))
    assert pixels.shape[:2] == (render.chart_size(len(cfg.agencies))[1], render.CHART_WIDTH_PX)
    # Kept for a look (tests/artifacts is where the browser screenshots go too).
    artifacts = Path(__file__).parent / "artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "scorecard-2026-11.png").write_bytes(data)


def test_render_table_aligns_the_figures() -> None:
    counts = MonthCounts(received={"xay-dung": 12}, resolved={"xay-dung": 9})
    card = reports.build_scorecard(
        month=NOVEMBER,
        now=REPORT_NOW,
        agencies={"xay-dung": "Sở Xây dựng", "y-te": "Sở Y tế"},
        counts=counts,
    )
    lines = render.render_table(card).splitlines()
    header = next(line for line in lines if line.startswith(t("report.col.rank", "vi")))
    works = next(line for line in lines if "Sở Xây dựng" in line)
    received = t("report.col.received", "vi")
    # Right-aligned under its header: the figure ends where the header ends.
    end = header.index(received) + len(received)
    assert works[end - 2 : end] == "12"
    assert t("report.low_volume", "vi") in next(line for line in lines if "Sở Y tế" in line)


async def test_scorecard_of_an_empty_month_has_every_agency_at_zero(
    sqlite_db: Database, cfg: Config
) -> None:
    card = await reports.compute_scorecard(
        db=sqlite_db, config=cfg, month=NOVEMBER, now=REPORT_NOW
    )
    assert card.empty
    assert len(card.rows) == len(cfg.agencies)
    assert card.totals.received == 0
    assert card.totals.on_time_share is None
    assert card.totals.median_resolve_hours is None
    table = render.render_table(card)
    assert t("report.empty", "vi", month="11/2026") in table
    assert png_size(render.render_png(card)) == render.chart_size(len(cfg.agencies))


def test_month_parse_refuses_what_is_not_a_month() -> None:
    assert Month.parse("2026-11") == NOVEMBER
    for bad in ("2026-13", "2026-00", "11/2026", "2026-1", "abc", "1999-12"):
        with pytest.raises(MonthError):
            Month.parse(bad)


def test_month_bounds_are_local_midnights(cfg: Config) -> None:
    calendar = cfg.work_calendar
    assert NOVEMBER.start(calendar) == datetime(2026, 10, 31, 17, 0, tzinfo=UTC)
    assert NOVEMBER.end(calendar) == datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    assert Month(2026, 12).next() == Month(2027, 1)
    assert Month(2027, 1).previous() == Month(2026, 12)


def test_report_due_on_the_first_working_day_of_the_month_only(cfg: Config) -> None:
    calendar = cfg.work_calendar
    assert reports.report_due(at(1, 7, month=12), calendar) is None  # before 07:30
    assert reports.report_due(at(1, 7, 30, month=12), calendar) == NOVEMBER
    assert reports.report_due(at(1, 23, 59, month=12), calendar) == NOVEMBER
    assert reports.report_due(at(2, 8, month=12), calendar) is None
    assert reports.report_due(at(23, 9), calendar) is None
    # 1/1/2027 is New Year's Day, 2-3/1 a weekend: December's goes on Monday 4/1.
    assert reports.report_due(at(1, 10, month=1, year=2027), calendar) is None
    assert reports.report_due(at(4, 7, 30, month=1, year=2027), calendar) == Month(2026, 12)


# --- the command line ------------------------------------------------------------------------


def _config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[storage]\nurl = "sqlite+aiosqlite:///{tmp_path / "cli.db"}"\n')
    return path


def test_cli_report_of_an_empty_month_prints_an_empty_scorecard(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["report", "--month", "2026-11", "--config", str(_config_file(tmp_path))])
    out = capsys.readouterr().out
    assert status == 0
    assert t("report.empty", "vi", month="11/2026") in out
    assert t("report.col.received", "vi") in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--month", "2026-13"], "between 01 and 12"),
        (["--month", "November"], "YYYY-MM"),
        (["--month", "2999-01"], "has not begun"),
        (["--month", "2026-11", "--now", "2026-12-01T09:00"], "UTC offset"),
        (["--month", "2026-11", "--now", "yesterday"], "Invalid isoformat"),
    ],
)
def test_cli_report_refuses_a_bad_month_with_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    status = main(["report", *args, "--config", str(_config_file(tmp_path))])
    assert status == 2
    assert message in capsys.readouterr().err


def test_cli_report_writes_each_format_to_a_file(tmp_path: Path) -> None:
    config = str(_config_file(tmp_path))
    now = "2026-12-01T09:00+07:00"
    for fmt in ("csv", "xlsx", "png", "table"):
        out = tmp_path / f"card.{fmt}"
        args = ["report", "--month", "2026-11", "--format", fmt, "--out", str(out)]
        assert main([*args, "--now", now, "--lang", "en", "--config", config]) == 0
        assert out.stat().st_size > 0
    assert (tmp_path / "card.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert png_size((tmp_path / "card.png").read_bytes())[0] == render.CHART_WIDTH_PX
    assert t("report.col.received", "en") in (tmp_path / "card.table").read_text()


def test_cli_report_names_a_binary_file_when_no_out_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = str(_config_file(tmp_path))
    assert main(["report", "--month", "2026-11", "--format", "xlsx", "--config", config]) == 0
    assert (tmp_path / "bang-diem-2026-11.xlsx").is_file()


def test_cli_report_fails_with_status_1_when_the_file_cannot_be_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(_config_file(tmp_path))
    out = tmp_path / "missing" / "card.csv"
    args = ["report", "--month", "2026-11", "--format", "csv", "--out", str(out)]
    assert main([*args, "--config", config]) == 1
    assert "cannot write" in capsys.readouterr().err


@settings(max_examples=300, deadline=None)
@given(
    start=st.datetimes(  # naive bounds, as hypothesis wants; the test puts them in the zone
        min_value=at(1, 0, month=1).replace(tzinfo=None),
        max_value=at(31, 23, month=12, year=2027).replace(tzinfo=None),
    ),
    length=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60)),
)
def test_working_positions_match_the_calendar(start: datetime, length: timedelta) -> None:
    from bot.config import load_config

    calendar = load_config(None, environ={}).work_calendar
    a = start.replace(tzinfo=calendar.tz)
    b = a + length
    position = reports.WorkingPositions(calendar)
    assert position(b) - position(a) == calendar.working_microseconds_between(a, b)


@settings(max_examples=200, deadline=None)
@given(
    # Naive UTC bounds, as hypothesis wants: across Paris's clock changes of 29/03 and 25/10.
    start=st.datetimes(
        min_value=datetime(2026, 3, 20, tzinfo=UTC).replace(tzinfo=None),
        max_value=datetime(2026, 11, 5, tzinfo=UTC).replace(tzinfo=None),
    ),
    length=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=12)),
)
def test_working_positions_from_epoch_micros_follow_a_zone_that_changes_its_clock(
    start: datetime, length: timedelta
) -> None:
    """The scorecard's spans come as epoch microseconds: the offset cached by the hour must
    give the calendar's own answer in a zone with summer time too."""
    from bot.domain.workdays import WorkCalendar

    calendar = WorkCalendar.from_settings(tz="Europe/Paris")
    a = start.replace(tzinfo=UTC)
    b = a + length
    position = reports.WorkingPositions(calendar)
    micros = [(x - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) for x in (a, b)]
    assert position.of_micros(micros[1]) - position.of_micros(micros[0]) == (
        calendar.working_microseconds_between(a, b)
    )


async def test_epoch_micros_read_by_the_database_is_the_instant_exactly(db: Database) -> None:
    """What the scorecard's span queries compute in SQL (on SQLite from stored text, on
    PostgreSQL from the epoch) is the instant to the microsecond, whole seconds included."""
    from sqlalchemy import select as core_select
    from sqlmodel import col

    from storage.reports import epoch_micros

    instants = [
        datetime(2026, 11, 3, 8, 15, 42, 123456, tzinfo=UTC),
        datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC),
        datetime(1999, 12, 31, 17, 0, 0, 1, tzinfo=UTC),
    ]
    async with db.transaction() as session:
        for number, instant in enumerate(instants):
            session.add(
                Ticket(code=f"PA-2026-{900 + number:06d}", channel="telegram", chat_id="1",
                       category_id="khac", text="x", routed_at=instant)
            )  # fmt: skip
    async with db.transaction() as session:
        query = core_select(
            col(Ticket.code), epoch_micros(session, col(Ticket.routed_at))
        ).order_by(col(Ticket.code))
        found = [micros for _, micros in (await session.execute(query)).all()]
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert found == [(instant - epoch) // timedelta(microseconds=1) for instant in instants]


@settings(max_examples=100, deadline=None)
@given(
    micros=st.lists(
        st.integers(min_value=1_767_225_600_000_000, max_value=1_798_761_600_000_000),  # 2026
        min_size=1,
        max_size=40,
    ),
    zone=st.sampled_from(["Asia/Ho_Chi_Minh", "Europe/Paris"]),
)
def test_working_positions_of_an_array_are_those_of_each_instant(
    micros: list[int], zone: str
) -> None:
    """The scorecard measures its 200,000 spans on whole arrays: each element is what the
    instant-by-instant rule gives (positions count from an origin of their own: compared as
    the spans between them)."""
    import numpy

    from bot.domain.workdays import WorkCalendar

    calendar = WorkCalendar.from_settings(tz=zone)
    many = reports.WorkingPositions(calendar).of_many(numpy.array(micros, dtype=numpy.int64))
    one = reports.WorkingPositions(calendar)
    singly = [one.of_micros(value) for value in micros]
    assert [int(x - many[0]) for x in many] == [x - singly[0] for x in singly]
