"""Tests of the working-hour calendar (SPEC §4)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.workdays import (
    WorkCalendar,
    add_working_hours,
    default_calendar,
    next_working_instant,
    parse_work_hours,
    vietnam_working_days,
    working_hours_between,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
CAL = default_calendar()


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """Return an aware Ho Chi Minh City datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=HCM)


# -- the national calendar, as holidays 0.109 has it ------------------------------------------


def test_is_working_day_tet_2026_whole_break_off() -> None:
    # Tết Bính Ngọ: holidays lists Mon 16/2 - Fri 20/2, so with the weekends the break runs
    # Sat 14/2 - Sun 22/2; Fri 13/2 and Mon 23/2 are working days.
    assert CAL.is_working_day(date(2026, 2, 13))
    assert not any(CAL.is_working_day(date(2026, 2, d)) for d in range(14, 23))
    assert CAL.is_working_day(date(2026, 2, 23))


def test_add_working_hours_spanning_tet_2026_skips_break() -> None:
    assert CAL.add_working_hours(at(2026, 2, 13, 15), 4) == at(2026, 2, 23, 9, 30)


def test_add_working_days_spanning_tet_2026_skips_break() -> None:
    # Mon 9/2 + 10 working days: 10-13/2 (4), 23-27/2 (9), Mon 2/3 (10).
    assert CAL.add_working_days(at(2026, 2, 9, 9), 10) == at(2026, 3, 2, 9)
    assert CAL.working_hours_between(at(2026, 2, 9, 9), at(2026, 3, 2, 9)) == 80


def test_add_working_hours_spanning_tet_2027_skips_break() -> None:
    # Tết Đinh Mùi as computed by holidays (an estimate until the government announces it):
    # Thu 4/2 (29 Tết) - Wed 10/2/2027, so Wed 3/2 16:00 + 2 h lands on Thu 11/2.
    assert not any(CAL.is_working_day(date(2027, 2, d)) for d in range(4, 11))
    assert CAL.add_working_hours(at(2027, 2, 3, 16), 2) == at(2027, 2, 11, 8, 30)
    assert CAL.working_hours_between(at(2027, 2, 3, 16), at(2027, 2, 11, 8, 30)) == 2


def test_is_working_day_vietnamese_culture_day_from_2026() -> None:
    # holidays 0.109 adds "Ngày Văn hóa Việt Nam" on 24/11 from 2026 (Resolution 80-NQ/TW);
    # 24/11/2025 stays an ordinary Monday.
    assert not CAL.is_working_day(date(2026, 11, 24))
    assert not CAL.is_working_day(date(2027, 11, 24))
    assert CAL.is_working_day(date(2025, 11, 24))
    assert CAL.add_working_hours(at(2026, 11, 23, 16), 2) == at(2026, 11, 25, 8, 30)


def test_is_working_day_swapped_days_2026() -> None:
    # holidays 0.109 lists Mon 31/8/2026 as a day off swapped with Sat 22/8/2026, and keeps
    # that Saturday in `weekend_workdays`, which its own is_working_day() honours.
    assert not CAL.is_working_day(date(2026, 8, 31))
    assert CAL.is_working_day(date(2026, 8, 22))
    assert not CAL.is_working_day(date(2026, 8, 29))  # an ordinary Saturday


def test_add_working_hours_make_up_saturday_2026_counts() -> None:
    assert CAL.add_working_hours(at(2026, 8, 21, 16), 2) == at(2026, 8, 22, 8, 30)


def test_add_working_hours_national_day_2026_skips_swapped_day() -> None:
    # Fri 28/8, then 31/8 (swapped), 1/9 and 2/9 (Quốc khánh) are off: Thu 3/9.
    assert CAL.add_working_hours(at(2026, 8, 28, 16), 2) == at(2026, 9, 3, 8, 30)


def test_vietnam_working_days_matches_holidays_package() -> None:
    public = holidays.country_holidays("VN", years=2026)
    table = vietnam_working_days(2026)
    day = date(2026, 1, 1)
    while day.year == 2026:
        assert (day.toordinal() in table) == public.is_working_day(day), day
        day += timedelta(days=1)


def test_vietnam_working_days_built_once_per_year(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = holidays.country_holidays

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(holidays, "country_holidays", counting)
    vietnam_working_days.cache_clear()
    calendar = WorkCalendar()
    for _ in range(50):
        calendar.add_working_hours(at(2026, 3, 2, 9), 80)
        calendar.is_working_day(date(2026, 5, 1))
    assert len(calls) == 1


# -- windows and lunch ------------------------------------------------------------------------


def test_add_working_hours_across_lunch_break() -> None:
    assert CAL.add_working_hours(at(2026, 1, 5, 11), 1) == at(2026, 1, 5, 13, 30)


def test_add_working_hours_end_of_window_stays() -> None:
    assert CAL.add_working_hours(at(2026, 1, 5, 16), 1) == at(2026, 1, 5, 17)
    assert CAL.add_working_hours(at(2026, 1, 5, 10, 30), 1) == at(2026, 1, 5, 11, 30)
    assert CAL.add_working_hours(at(2026, 1, 5, 7, 30), 8) == at(2026, 1, 5, 17)


def test_add_working_hours_full_days_keep_time_of_day() -> None:
    assert CAL.add_working_hours(at(2026, 1, 5, 9, 15), 8) == at(2026, 1, 6, 9, 15)
    assert CAL.add_working_hours(at(2026, 1, 9, 14), 8) == at(2026, 1, 12, 14)  # over a weekend


def test_add_working_hours_year_end_skips_new_year() -> None:
    # Thu 31/12/2026 16:00; Fri 1/1/2027 is Tết Dương lịch.
    assert CAL.add_working_hours(at(2026, 12, 31, 16), 2) == at(2027, 1, 4, 8, 30)


def test_hours_per_day_default_and_custom() -> None:
    assert CAL.hours_per_day == 8.0
    custom = WorkCalendar(windows=((time(8), time(12)), (time(13, 30), time(17, 15))))
    assert custom.hours_per_day == 7.75
    assert custom.add_working_days(at(2026, 1, 5, 9), 1) == at(2026, 1, 6, 9)


# -- starting outside working hours -----------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (at(2026, 1, 5, 6), at(2026, 1, 5, 8, 30)),  # before 07:30
        (at(2026, 1, 5, 12), at(2026, 1, 5, 14)),  # at lunch
        (at(2026, 1, 5, 11, 30), at(2026, 1, 5, 14)),  # the very end of the morning
        (at(2026, 1, 5, 17), at(2026, 1, 6, 8, 30)),  # the very end of the day
        (at(2026, 1, 5, 18), at(2026, 1, 6, 8, 30)),  # after 17:00
        (at(2026, 1, 10, 9), at(2026, 1, 12, 8, 30)),  # Saturday
        (at(2026, 1, 1, 9), at(2026, 1, 2, 8, 30)),  # Tết Dương lịch
        (at(2026, 4, 30, 23, 59), at(2026, 5, 4, 8, 30)),  # 30/4 and 1/5, then a weekend
    ],
)
def test_add_working_hours_start_outside_hours(start: datetime, expected: datetime) -> None:
    assert CAL.add_working_hours(start, 1) == expected


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (at(2026, 1, 5, 6), at(2026, 1, 5, 7, 30)),
        (at(2026, 1, 5, 11, 30), at(2026, 1, 5, 13)),
        (at(2026, 1, 5, 17), at(2026, 1, 6, 7, 30)),
        (at(2026, 1, 10, 9), at(2026, 1, 12, 7, 30)),
        (at(2026, 2, 14, 9), at(2026, 2, 23, 7, 30)),
    ],
)
def test_add_working_hours_zero_from_outside_is_next_working_instant(
    start: datetime, expected: datetime
) -> None:
    assert CAL.add_working_hours(start, 0) == expected
    assert CAL.next_working_instant(start) == expected


def test_next_working_instant_inside_window_is_itself() -> None:
    inside = datetime(2026, 1, 5, 9, 12, 34, 567, tzinfo=HCM)
    assert CAL.next_working_instant(inside) == inside
    assert CAL.next_working_instant(at(2026, 1, 5, 7, 30)) == at(2026, 1, 5, 7, 30)


def test_working_hours_between_outside_hours_counts_nothing() -> None:
    assert CAL.working_hours_between(at(2026, 1, 5, 17), at(2026, 1, 6, 7, 30)) == 0
    assert CAL.working_hours_between(at(2026, 1, 9, 18), at(2026, 1, 12, 6)) == 0
    assert CAL.working_hours_between(at(2026, 1, 5, 11), at(2026, 1, 5, 14)) == 1.5


def test_working_hours_between_reversed_is_negative() -> None:
    assert CAL.working_hours_between(at(2026, 1, 6, 9), at(2026, 1, 5, 9)) == -8


def test_add_working_hours_negative_goes_back_to_window_start() -> None:
    assert CAL.add_working_hours(at(2026, 1, 5, 14), -1) == at(2026, 1, 5, 13)
    assert CAL.add_working_hours(at(2026, 1, 6, 8, 30), -9) == at(2026, 1, 5, 7, 30)
    assert CAL.add_working_hours(at(2026, 2, 23, 8), -1) == at(2026, 2, 13, 16, 30)


@pytest.mark.parametrize("hours", [float("nan"), float("inf"), float("-inf")])
def test_add_working_hours_non_finite_rejected(hours: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        CAL.add_working_hours(at(2026, 1, 5, 9), hours)


# -- configuration overrides ------------------------------------------------------------------


def test_extra_days_off_skipped() -> None:
    calendar = WorkCalendar(extra_days_off=frozenset({date(2026, 1, 6)}))
    assert not calendar.is_working_day(date(2026, 1, 6))
    assert calendar.add_working_hours(at(2026, 1, 5, 16), 2) == at(2026, 1, 7, 8, 30)
    assert calendar.working_hours_between(at(2026, 1, 5, 9), at(2026, 1, 7, 9)) == 8


def test_extra_working_days_counted() -> None:
    calendar = WorkCalendar(extra_working_days=frozenset({date(2026, 1, 10)}))
    assert calendar.is_working_day(date(2026, 1, 10))
    assert calendar.add_working_hours(at(2026, 1, 9, 16), 2) == at(2026, 1, 10, 8, 30)
    # An extra working day may also override a public holiday.
    calendar = WorkCalendar(extra_working_days=frozenset({date(2026, 2, 20)}))
    assert calendar.add_working_hours(at(2026, 2, 13, 16), 2) == at(2026, 2, 20, 8, 30)


def test_extra_days_do_not_change_the_default_calendar() -> None:
    WorkCalendar(extra_days_off=frozenset({date(2026, 1, 6)})).is_working_day(date(2026, 1, 6))
    assert CAL.is_working_day(date(2026, 1, 6))


def test_work_calendar_day_both_off_and_working_rejected() -> None:
    day = date(2026, 1, 10)
    with pytest.raises(ValueError, match="2026-01-10"):
        WorkCalendar(extra_days_off=frozenset({day}), extra_working_days=frozenset({day}))


def test_from_settings_parses_config_strings() -> None:
    calendar = WorkCalendar.from_settings(
        work_hours=["08:00-12:00", "13:30-17:30"],
        extra_days_off=["2026-12-31"],
        extra_working_days=[date(2026, 12, 26)],
    )
    assert calendar.windows == ((time(8), time(12)), (time(13, 30), time(17, 30)))
    assert not calendar.is_working_day(date(2026, 12, 31))
    assert calendar.is_working_day(date(2026, 12, 26))
    assert calendar.add_working_hours(at(2026, 12, 30, 17), 1) == at(2027, 1, 4, 8, 30)


def test_work_calendar_bad_windows_rejected() -> None:
    with pytest.raises(ValueError, match="ends before it starts"):
        WorkCalendar(windows=((time(12), time(8)),))
    with pytest.raises(ValueError, match="at least one"):
        WorkCalendar(windows=())


# -- time zones -------------------------------------------------------------------------------


def test_add_working_hours_converts_utc_input() -> None:
    start = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội
    result = CAL.add_working_hours(start, 1)
    assert result == at(2026, 1, 5, 10)
    assert result.tzinfo is HCM
    assert result.utcoffset() == timedelta(hours=7)


def test_add_working_hours_converts_offset_input_across_midnight() -> None:
    # Sun 4/1 20:00 at UTC-5 is Mon 5/1 08:00 in Hà Nội.
    start = datetime(2026, 1, 4, 20, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert CAL.add_working_hours(start, 1) == at(2026, 1, 5, 9)
    assert CAL.is_working_day(start)


def test_working_hours_between_mixed_zones() -> None:
    a = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)  # 08:00 local
    b = at(2026, 1, 5, 14)
    assert CAL.working_hours_between(a, b) == 4.5


@pytest.mark.parametrize(
    "call",
    [
        lambda naive: CAL.add_working_hours(naive, 1),
        lambda naive: CAL.add_working_days(naive, 1),
        lambda naive: CAL.next_working_instant(naive),
        lambda naive: CAL.working_hours_between(naive, at(2026, 1, 5, 9)),
        lambda naive: CAL.working_hours_between(at(2026, 1, 5, 9), naive),
        lambda naive: CAL.is_working_day(naive),
        lambda naive: add_working_hours(naive, 1),
    ],
)
def test_naive_datetime_rejected(call: Callable[[datetime], object]) -> None:
    naive = datetime(2026, 1, 5, 9, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="naive datetime"):
        call(naive)


# -- parse_work_hours -------------------------------------------------------------------------


def test_parse_work_hours_list_and_string() -> None:
    expected = ((time(7, 30), time(11, 30)), (time(13), time(17)))
    assert parse_work_hours(["07:30-11:30", "13:00-17:00"]) == expected
    assert parse_work_hours("07:30-11:30, 13:00 – 17:00") == expected
    assert parse_work_hours("7:30-11:30") == ((time(7, 30), time(11, 30)),)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (["7h30-11h30"], "HH:MM-HH:MM"),
        (["07:30"], "HH:MM-HH:MM"),
        (["25:00-26:00"], "does not exist"),
        (["07:75-11:30"], "does not exist"),
        (["11:30-07:30"], "ends before it starts"),
        (["08:00-08:00"], "ends before it starts"),
        (["13:00-17:00", "07:30-11:30"], "overlaps or precedes"),
        (["07:30-12:00", "11:00-17:00"], "overlaps or precedes"),
        ([], "at least one"),
        ("", "HH:MM-HH:MM"),
    ],
)
def test_parse_work_hours_bad_input_rejected(spec: list[str] | str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_work_hours(spec)


# -- module-level helpers ---------------------------------------------------------------------


def test_module_helpers_use_default_or_given_calendar() -> None:
    assert add_working_hours(at(2026, 1, 5, 11), 1) == at(2026, 1, 5, 13, 30)
    assert working_hours_between(at(2026, 1, 5, 11), at(2026, 1, 5, 13, 30)) == 1
    assert next_working_instant(at(2026, 1, 5, 12)) == at(2026, 1, 5, 13)
    off = WorkCalendar(extra_days_off=frozenset({date(2026, 1, 5)}))
    assert add_working_hours(at(2026, 1, 5, 11), 1, off) == at(2026, 1, 6, 8, 30)
    assert working_hours_between(at(2026, 1, 5, 9), at(2026, 1, 6, 9), off) == 1.5


def test_default_calendar_is_shared() -> None:
    assert default_calendar() is default_calendar()
    assert default_calendar() == WorkCalendar()


# -- properties -------------------------------------------------------------------------------

ZONES = st.sampled_from(
    [HCM, UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=9, minutes=30))]
)
INSTANTS = st.datetimes(
    min_value=datetime(2024, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
    max_value=datetime(2029, 12, 31),  # noqa: DTZ001
    timezones=ZONES,
)
MINUTES = st.integers(min_value=-60 * 8 * 300, max_value=60 * 8 * 300)
HOURS = st.floats(min_value=-2000, max_value=2000, allow_nan=False, allow_infinity=False)
# Overrides and starts around Tết 2026, so that they interact.
OVERRIDES = st.frozensets(
    st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 2, 28)), max_size=20
)
NEAR_TET = st.datetimes(
    min_value=datetime(2026, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
    max_value=datetime(2026, 2, 28),  # noqa: DTZ001
    timezones=ZONES,
)
PROPERTY = settings(max_examples=300, deadline=None)


def minute_stepping(calendar: WorkCalendar, start: datetime, minutes: int) -> datetime:
    """Reference: walk minute by minute from a whole-minute start, counting working minutes."""
    now = start.astimezone(calendar.tz)
    left = minutes
    while left > 0:
        inside = any(s <= now.time() < e for s, e in calendar.windows)
        if inside and calendar.is_working_day(now.date()):
            left -= 1
        now += timedelta(minutes=1)
    return now


@PROPERTY
@given(INSTANTS, MINUTES)
def test_property_between_inverts_add_exactly_for_minutes(start: datetime, minutes: int) -> None:
    hours = minutes / 60
    assert CAL.working_hours_between(start, CAL.add_working_hours(start, hours)) == hours


@PROPERTY
@given(INSTANTS, HOURS)
def test_property_between_inverts_add_approximately(start: datetime, hours: float) -> None:
    result = CAL.working_hours_between(start, CAL.add_working_hours(start, hours))
    assert result == pytest.approx(hours, abs=1e-6)


@PROPERTY
@given(INSTANTS, MINUTES, MINUTES)
def test_property_add_monotonic_in_hours(start: datetime, m1: int, m2: int) -> None:
    h1, h2 = sorted((m1 / 60, m2 / 60))
    assert CAL.add_working_hours(start, h1) <= CAL.add_working_hours(start, h2)


@PROPERTY
@given(INSTANTS, INSTANTS, HOURS)
def test_property_add_monotonic_in_start(a1: datetime, a2: datetime, hours: float) -> None:
    a1, a2 = sorted((a1, a2))
    assert CAL.add_working_hours(a1, hours) <= CAL.add_working_hours(a2, hours)


@PROPERTY
@given(INSTANTS, INSTANTS)
def test_property_between_antisymmetric(a: datetime, b: datetime) -> None:
    forward = CAL.working_hours_between(a, b)
    assert forward == -CAL.working_hours_between(b, a)
    assert forward >= 0 if a <= b else forward <= 0


@PROPERTY
@given(INSTANTS, INSTANTS, INSTANTS)
def test_property_between_additive(a: datetime, b: datetime, c: datetime) -> None:
    ab = CAL.working_microseconds_between(a, b)
    bc = CAL.working_microseconds_between(b, c)
    assert ab + bc == CAL.working_microseconds_between(a, c)


@PROPERTY
@given(INSTANTS, st.integers(min_value=1, max_value=60 * 8 * 300))
def test_property_deadline_inside_or_closing_a_window(start: datetime, minutes: int) -> None:
    result = CAL.add_working_hours(start, minutes / 60)
    assert result.tzinfo is HCM
    assert CAL.is_working_day(result.date())
    assert any(s < result.time() <= e for s, e in CAL.windows)


@PROPERTY
@given(INSTANTS)
def test_property_next_working_instant_inside_a_window(start: datetime) -> None:
    result = CAL.next_working_instant(start)
    assert result >= start
    assert CAL.is_working_day(result.date())
    assert any(s <= result.time() < e for s, e in CAL.windows)
    assert CAL.working_hours_between(start, result) == 0


@settings(max_examples=60, deadline=None)
@given(NEAR_TET, st.integers(min_value=1, max_value=60 * 20), OVERRIDES, OVERRIDES)
def test_property_add_matches_minute_stepping(
    start: datetime, minutes: int, off: frozenset[date], work: frozenset[date]
) -> None:
    calendar = WorkCalendar(extra_days_off=off - work, extra_working_days=work)
    start = start.replace(second=0, microsecond=0)
    expected = minute_stepping(calendar, start, minutes)
    assert calendar.add_working_hours(start, minutes / 60) == expected
