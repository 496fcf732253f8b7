"""Working-hour calendar: deadlines counted in working hours, skipping Vietnamese public holidays.

Time is counted on a "working clock" W(t): the number of working microseconds from a fixed
origin to the instant t. Every operation is integer arithmetic on that clock, so
``working_hours_between(a, add_working_hours(a, h)) == h`` holds exactly whenever ``h`` is a
whole number of microseconds that a float can carry (every multiple of a minute, for instance).

Windows are half-open, ``[start, end)``: 17:00 is outside hours, so the next working instant after
17:00 is the next working morning, yet a deadline that uses up a window exactly ends at 17:00.
Wall-clock time of ``tz`` is used; Asia/Ho_Chi_Minh has had no DST since 1975.
"""

from __future__ import annotations

import logging
import math
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cache
from zoneinfo import ZoneInfo

__all__ = [
    "DEFAULT_TZ",
    "DEFAULT_WINDOWS",
    "WorkCalendar",
    "add_working_hours",
    "default_calendar",
    "next_working_instant",
    "parse_work_hours",
    "vietnam_working_days",
    "working_hours_between",
]

logger = logging.getLogger(__name__)

DEFAULT_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DEFAULT_WINDOWS: tuple[tuple[time, time], ...] = (
    (time(7, 30), time(11, 30)),
    (time(13, 0), time(17, 0)),
)

_US_PER_SECOND = 1_000_000
_US_PER_MINUTE = 60 * _US_PER_SECOND
_US_PER_HOUR = 60 * _US_PER_MINUTE
_WINDOW_RE = re.compile(r"\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*")


@cache
def vietnam_working_days(year: int) -> frozenset[int]:
    """Return the ordinals of the days of ``year`` that are working days in Vietnam."""
    # holidays' own is_working_day() folds in weekends, public holidays, swapped days off
    # (e.g. Mon 31/8/2026) and the make-up working Saturdays it keeps in `weekend_workdays`
    # (e.g. Sat 22/8/2026). Built once per year: the sweeper calls us in hot loops.
    # Imported here: `hotline classify` loads the config but never counts working days.
    import holidays

    public = holidays.country_holidays("VN", years=year)
    first = date(year, 1, 1).toordinal()
    last = date(year, 12, 31).toordinal()
    days = frozenset(
        o for o in range(first, last + 1) if public.is_working_day(date.fromordinal(o))
    )
    logger.debug("built the Vietnamese working-day table of %s: %s working days", year, len(days))
    return days


def _time_to_us(value: time) -> int:
    """Return microseconds since midnight for a wall-clock time."""
    return (
        (value.hour * 60 + value.minute) * 60 + value.second
    ) * _US_PER_SECOND + value.microsecond


def _check_windows(windows: tuple[tuple[time, time], ...]) -> None:
    """Raise ValueError unless windows are non-empty, naive, non-empty each, sorted, disjoint."""
    if not windows:
        raise ValueError("at least one working window is needed")
    previous_end: time | None = None
    for start, end in windows:
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError("working windows are wall-clock times and must not carry a tzinfo")
        if end <= start:
            raise ValueError(f"working window {start:%H:%M}-{end:%H:%M} ends before it starts")
        if previous_end is not None and start < previous_end:
            raise ValueError(
                f"working window {start:%H:%M}-{end:%H:%M} overlaps or precedes the window "
                "before it; list windows in order, without overlap"
            )
        previous_end = end


def parse_work_hours(spec: list[str] | tuple[str, ...] | str) -> tuple[tuple[time, time], ...]:
    """Parse "07:30-11:30" window strings (a list, or one string with commas) into windows."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    windows: list[tuple[time, time]] = []
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"working window {item!r} is not a string like '07:30-11:30'")
        match = _WINDOW_RE.fullmatch(item)
        if match is None:
            raise ValueError(f"working window {item!r} is not HH:MM-HH:MM, e.g. '07:30-11:30'")
        h1, m1, h2, m2 = (int(group) for group in match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise ValueError(f"working window {item!r} holds a time that does not exist")
        windows.append((time(h1, m1), time(h2, m2)))
    result = tuple(windows)
    _check_windows(result)
    return result


def _as_date(value: date | str) -> date:
    """Return a date from a date or an ISO "YYYY-MM-DD" string."""
    if isinstance(value, datetime):
        raise ValueError(f"{value!r} is a datetime; a calendar day is expected")
    if isinstance(value, date):
        return value
    return date.fromisoformat(value.strip())


@dataclass(frozen=True, slots=True)
class _Window:
    """One working window in microseconds since midnight, with the work done before it."""

    start: int
    end: int
    before: int  # working microseconds in the earlier windows of the day
    after: int  # working microseconds once this window is over


@dataclass(frozen=True)
class WorkCalendar:
    """Working windows on working days, in one time zone, with the province's overrides."""

    windows: tuple[tuple[time, time], ...] = DEFAULT_WINDOWS
    extra_days_off: frozenset[date] = frozenset()
    extra_working_days: frozenset[date] = frozenset()
    tz: ZoneInfo = DEFAULT_TZ
    _spans: tuple[_Window, ...] = field(init=False, repr=False, compare=False)
    _day_us: int = field(init=False, repr=False, compare=False)
    _years: dict[int, tuple[list[int], frozenset[int]]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        windows = tuple((start, end) for start, end in self.windows)
        _check_windows(windows)
        off = frozenset(_as_date(day) for day in self.extra_days_off)
        work = frozenset(_as_date(day) for day in self.extra_working_days)
        if both := sorted(off & work):
            listed = ", ".join(day.isoformat() for day in both)
            raise ValueError(
                f"days listed both as extra days off and extra working days: {listed}"
            )
        spans: list[_Window] = []
        done = 0
        for start, end in windows:
            start_us, end_us = _time_to_us(start), _time_to_us(end)
            spans.append(_Window(start_us, end_us, done, done + end_us - start_us))
            done += end_us - start_us
        # Frozen dataclass: normalised values and derived tables are set once, here.
        object.__setattr__(self, "windows", windows)
        object.__setattr__(self, "extra_days_off", off)
        object.__setattr__(self, "extra_working_days", work)
        object.__setattr__(self, "_spans", tuple(spans))
        object.__setattr__(self, "_day_us", done)

    @classmethod
    def from_settings(
        cls,
        work_hours: list[str] | tuple[str, ...] | str | None = None,
        extra_days_off: Iterable[date | str] = (),
        extra_working_days: Iterable[date | str] = (),
        tz: ZoneInfo | str = DEFAULT_TZ,
    ) -> WorkCalendar:
        """Build a calendar from raw config values: "07:30-11:30" strings and ISO dates."""
        windows = DEFAULT_WINDOWS if work_hours is None else parse_work_hours(work_hours)
        return cls(
            windows=windows,
            extra_days_off=frozenset(_as_date(day) for day in extra_days_off),
            extra_working_days=frozenset(_as_date(day) for day in extra_working_days),
            tz=ZoneInfo(tz) if isinstance(tz, str) else tz,
        )

    @property
    def hours_per_day(self) -> float:
        """Return the working hours of one working day (8.0 by default)."""
        return self._day_us / _US_PER_HOUR

    # -- days ---------------------------------------------------------------------------------

    def _year(self, year: int) -> tuple[list[int], frozenset[int]]:
        """Return the sorted working-day ordinals of a year and the same as a set (cached)."""
        table = self._years.get(year)
        if table is None:
            base = vietnam_working_days(year)
            off = {day.toordinal() for day in self.extra_days_off if day.year == year}
            work = {day.toordinal() for day in self.extra_working_days if day.year == year}
            days = (base - off) | work
            table = (sorted(days), frozenset(days))
            self._years[year] = table
        return table

    def is_working_day(self, day: date) -> bool:
        """Tell whether a calendar day (or an aware datetime's local day) is a working day."""
        if isinstance(day, datetime):
            day = self._localize(day).date()
        return day.toordinal() in self._year(day.year)[1]

    def _shift_days(self, day: date, count: int) -> date:
        """Return the count-th working day after day (before it if count < 0); count != 0."""
        year = day.year
        days = self._year(year)[0]
        ordinal = day.toordinal()
        if count > 0:
            index = bisect_right(days, ordinal) + count - 1
            while index >= len(days):
                index -= len(days)
                year += 1
                days = self._year(year)[0]
        else:
            index = bisect_left(days, ordinal) + count
            while index < 0:
                year -= 1
                days = self._year(year)[0]
                index += len(days)
        return date.fromordinal(days[index])

    def _working_days_before(self, first: date, last: date) -> int:
        """Count working days in [first, last); negative when last < first."""
        if last < first:
            return -self._working_days_before(last, first)
        count = -bisect_left(self._year(first.year)[0], first.toordinal())
        for year in range(first.year, last.year):
            count += len(self._year(year)[0])
        return count + bisect_left(self._year(last.year)[0], last.toordinal())

    # -- instants -----------------------------------------------------------------------------

    def _localize(self, value: datetime) -> datetime:
        """Convert an aware datetime to the calendar's zone; refuse naive ones."""
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"naive datetime {value.isoformat()} refused: pass an aware datetime "
                f"(e.g. with tzinfo=ZoneInfo({self.tz.key!r}))"
            )
        return value.astimezone(self.tz)

    def _split(self, value: datetime) -> tuple[date, int]:
        """Return the local day and the local microseconds since midnight."""
        local = self._localize(value)
        micros = (
            (local.hour * 60 + local.minute) * 60 + local.second
        ) * _US_PER_SECOND + local.microsecond
        return local.date(), micros

    def _done_on(self, day: date, micros: int) -> int:
        """Return the working microseconds of day done before the local time micros."""
        if day.toordinal() not in self._year(day.year)[1]:
            return 0
        for span in self._spans:
            if micros < span.end:
                return span.before + max(micros - span.start, 0)
        return self._day_us

    def _earliest(self, day: date, done: int) -> datetime:
        """Return the first instant of a working day with done (0 < done <= a day) worked."""
        for span in self._spans:
            if done <= span.after:
                return self._at(day, span.start + done - span.before)
        raise AssertionError("done exceeds one working day")  # unreachable by construction

    def _latest(self, day: date, done: int) -> datetime:
        """Return the last instant of a working day with done (0 <= done < a day) worked."""
        for span in self._spans:
            if done < span.after:
                return self._at(day, span.start + done - span.before)
        raise AssertionError("done reaches the end of the working day")  # unreachable

    def _at(self, day: date, micros: int) -> datetime:
        """Return the aware local datetime of day at micros since midnight."""
        seconds, micro = divmod(micros, _US_PER_SECOND)
        minutes, second = divmod(seconds, 60)
        hour, minute = divmod(minutes, 60)
        return datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=self.tz)

    def _add_micros(self, start: datetime, amount: int) -> datetime:
        """Move start by amount working microseconds on the working clock."""
        day, micros = self._split(start)
        working = day.toordinal() in self._year(day.year)[1]
        capacity = self._day_us if working else 0
        target = self._done_on(day, micros) + amount  # relative to the start of day's work
        if amount > 0:
            # Earliest instant with that much work done: a deadline may end a window (17:00).
            if target <= capacity:
                return self._earliest(day, target)
            full, rest = divmod(target - capacity, self._day_us)
            if rest == 0:
                return self._earliest(self._shift_days(day, full), self._day_us)
            return self._earliest(self._shift_days(day, full + 1), rest)
        # Zero or backwards: the latest such instant, i.e. at a window start, never at its end.
        if 0 <= target < capacity:
            return self._latest(day, target)
        if target >= capacity:
            return self._latest(self._shift_days(day, 1), 0)
        full, rest = divmod(-target, self._day_us)
        if rest == 0:
            return self._latest(self._shift_days(day, -full), 0)
        return self._latest(self._shift_days(day, -(full + 1)), self._day_us - rest)

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """Return the instant hours working hours after start (before it if negative)."""
        if not math.isfinite(hours):
            raise ValueError(f"working hours must be finite, got {hours!r}")
        return self._add_micros(start, round(hours * _US_PER_HOUR))

    def add_working_days(self, start: datetime, days: float) -> datetime:
        """Return the instant days working days (of hours_per_day each) after start."""
        if not math.isfinite(days):
            raise ValueError(f"working days must be finite, got {days!r}")
        return self._add_micros(start, round(days * self._day_us))

    def next_working_instant(self, at: datetime) -> datetime:
        """Return at itself (in the calendar's zone) if inside a window, else the next start."""
        return self._add_micros(at, 0)

    def working_microseconds_between(self, a: datetime, b: datetime) -> int:
        """Return the working microseconds from a to b; negative if b is before a."""
        day_a, micros_a = self._split(a)
        day_b, micros_b = self._split(b)
        return (
            self._working_days_before(day_a, day_b) * self._day_us
            + self._done_on(day_b, micros_b)
            - self._done_on(day_a, micros_a)
        )

    def working_hours_between(self, a: datetime, b: datetime) -> float:
        """Return the working hours from a to b; negative if b is before a."""
        # One correctly rounded int/int division keeps the result exact for whole minutes.
        return self.working_microseconds_between(a, b) / _US_PER_HOUR


@cache
def default_calendar() -> WorkCalendar:
    """Return the shared calendar with the default windows and no overrides."""
    return WorkCalendar()


def add_working_hours(
    start: datetime, hours: float, calendar: WorkCalendar | None = None
) -> datetime:
    """Return the instant hours working hours after start on calendar (default one if None)."""
    return (default_calendar() if calendar is None else calendar).add_working_hours(start, hours)


def working_hours_between(a: datetime, b: datetime, calendar: WorkCalendar | None = None) -> float:
    """Return the working hours from a to b on calendar (default one if None)."""
    return (default_calendar() if calendar is None else calendar).working_hours_between(a, b)


def next_working_instant(at: datetime, calendar: WorkCalendar | None = None) -> datetime:
    """Return at if inside working hours, else the next working instant, on calendar."""
    return (default_calendar() if calendar is None else calendar).next_working_instant(at)
