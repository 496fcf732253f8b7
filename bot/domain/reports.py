"""Monthly scorecards per agency, and the public accountability numbers.

The database counts (storage/reports.py, grouped in SQL); this module turns the counts into a
`Scorecard`: shares, medians of working hours (the calendar lives here, not in SQL), the
minimum-volume rule and the ranking. It decides and never speaks: labels and file formats are
made in `handlers/reports.py`.

What each figure means, for an agency and a month (local time, Asia/Ho_Chi_Minh):

* received: tickets sent to the agency in the month (each routing or rerouting to it counts
  the ticket once);
* resolved: tickets it resolved in the month and that stay resolved (a reopened ticket counts
  when it is resolved again); on time: resolved no later than the resolve due time;
* overdue now: open tickets it holds whose clock has run out, as of the report's instant;
* median working hours to accept: from being sent to the agency to its acceptance (deemed
  acceptances count the accept clock's full length), over tickets accepted in the month;
  to resolve: from being sent to the agency to the resolution, over the month's resolved;
* returns, reopened: the month's events; passed around: tickets the agency returned in the
  month that ended flagged as passed around; deemed acceptances: tickets accepted in the
  month by silence;
* ratings: the mean and the number of ratings of the month's resolved tickets;
* dossiers held by the agency whose due date falls in the month: late (by the same rule as the
  dossier card, as of the report's instant), and apology slips issued (a new date was set).

Agencies with fewer than `MIN_VOLUME` received tickets are marked and ranked after every
agency with enough: a share over three tickets says little.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Config
from bot.domain.dossiers import DONE_STATUSES, OPEN_STATUSES
from bot.domain.workdays import WorkCalendar
from storage import reports as report_store
from storage.db import Database

if TYPE_CHECKING:
    import numpy

MIN_VOLUME = 5
_MONTH = re.compile(r"(\d{4})-(\d{2})")


class MonthError(ValueError):
    """A month given as text that is not a valid YYYY-MM."""


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month of the province."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """Parse `YYYY-MM`; raise MonthError saying what is wrong."""
        found = _MONTH.fullmatch(text.strip())
        if found is None:
            raise MonthError(f"{text!r} is not a month: write it as YYYY-MM, e.g. 2026-11")
        year, month = int(found[1]), int(found[2])
        if not 1 <= month <= 12:
            raise MonthError(f"{text!r}: the month must be between 01 and 12")
        if not 2000 <= year <= 2999:
            raise MonthError(f"{text!r}: the year must be between 2000 and 2999")
        return cls(year, month)

    @classmethod
    def of(cls, instant: datetime, calendar: WorkCalendar) -> Month:
        """Return the month an instant falls in, in the calendar's time zone."""
        local = instant.astimezone(calendar.tz)
        return cls(local.year, local.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        """Return the month's first day."""
        return date(self.year, self.month, 1)

    def next(self) -> Month:
        """Return the month after this one."""
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def previous(self) -> Month:
        """Return the month before this one."""
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def start(self, calendar: WorkCalendar) -> datetime:
        """Return the month's first instant (local midnight of its first day)."""
        return datetime(self.year, self.month, 1, tzinfo=calendar.tz)

    def end(self, calendar: WorkCalendar) -> datetime:
        """Return the instant the month ends (the next month's start, excluded)."""
        return self.next().start(calendar)


@dataclass(frozen=True)
class AgencyFigures:
    """One agency's counts and measures for a month (or the province's sums)."""

    agency_id: str
    name: str
    received: int = 0
    resolved: int = 0
    resolved_on_time: int = 0
    overdue_now: int = 0
    median_accept_hours: float | None = None
    median_resolve_hours: float | None = None
    returns: int = 0
    passed_around: int = 0
    deemed_accepted: int = 0
    rating_mean: float | None = None
    ratings: int = 0
    reopened: int = 0
    dossiers_late: int = 0
    apology_slips: int = 0
    low_volume: bool = False
    rank: int | None = None  # 1 is best; None on the totals row

    @property
    def on_time_share(self) -> float | None:
        """Return the share of the resolved that were on time, in [0, 1] (None: none resolved)."""
        return self.resolved_on_time / self.resolved if self.resolved else None


@dataclass(frozen=True)
class OverdueTicket:
    """An open ticket past its due time, for the workbook's second sheet."""

    code: str
    agency_id: str | None
    agency_name: str
    category_id: str
    category_name: str
    due_at: datetime
    working_days_late: int


@dataclass(frozen=True)
class Scorecard:
    """A month's scorecard: ranked agencies, the province's totals, and every overdue ticket."""

    month: Month
    as_of: datetime
    rows: tuple[AgencyFigures, ...]
    totals: AgencyFigures
    overdue: tuple[OverdueTicket, ...] = ()
    min_volume: int = MIN_VOLUME

    @property
    def empty(self) -> bool:
        """Tell whether nothing at all happened in the month (and nothing is overdue)."""
        return not self.totals.received and not self.totals.resolved and not self.overdue


# --- pure rules ------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float | None:
    """Return the median, or None for no values."""
    return statistics.median(values) if values else None


def working_days_late(calendar: WorkCalendar, due: datetime, reference: datetime) -> int:
    """Return the working days (rounded up) from `due` to `reference`; 0 if not late."""
    late = calendar.working_microseconds_between(due, reference)
    if late <= 0:
        return 0
    day = round(calendar.hours_per_day * 3_600_000_000)
    return -(-late // day)


def rank(rows: Iterable[AgencyFigures], min_volume: int = MIN_VOLUME) -> list[AgencyFigures]:
    """Order agencies best first and number them; low-volume agencies come after the others.

    Within each group: the higher on-time share first (none resolved: last), then more resolved,
    then fewer overdue, then the name.
    """

    def key(row: AgencyFigures) -> tuple[bool, bool, float, int, int, str]:
        share = row.on_time_share
        return (
            row.received < min_volume,
            share is None,
            -(share or 0.0),
            -row.resolved,
            row.overdue_now,
            row.name,
        )

    ordered = sorted(rows, key=key)
    return [
        replace(row, low_volume=row.received < min_volume, rank=index)
        for index, row in enumerate(ordered, start=1)
    ]


@dataclass(frozen=True)
class Durations:
    """Per agency, the working hours each of the month's acceptances and resolutions took."""

    accept: Mapping[str, Sequence[float]] = field(default_factory=dict)
    resolve: Mapping[str, Sequence[float]] = field(default_factory=dict)


class WorkingPositions:
    """Working microseconds from a fixed origin to an instant: `pos(b) - pos(a)` is the calendar's
    `working_microseconds_between(a, b)`.

    A day's start is measured once with the calendar; within the day only the working windows
    count. A month's 200,000 instants fall on some forty days, so this costs a fraction of a
    full calendar computation per pair. Instants may come as microseconds since the Unix epoch
    (`of_micros`, what the scorecard's queries return): plain integer arithmetic, no datetime.
    """

    def __init__(self, calendar: WorkCalendar) -> None:
        self.calendar = calendar
        self.windows = [
            (_micros_of_day(start), _micros_of_day(end)) for start, end in calendar.windows
        ]
        self._days: dict[int, tuple[int, bool]] = {}
        self._offsets: dict[int, int] = {}  # UTC hour → the zone's offset then, in micros
        self._origin: datetime | None = None

    def _day(self, number: int) -> tuple[int, bool]:
        day = _EPOCH_DAY + timedelta(days=number)
        midnight = datetime(day.year, day.month, day.day, tzinfo=self.calendar.tz)
        if self._origin is None:
            self._origin = midnight
        base = self.calendar.working_microseconds_between(self._origin, midnight)
        entry = (base, self.calendar.is_working_day(day))
        self._days[number] = entry
        return entry

    def _offset(self, micros: int) -> int:
        """The zone's UTC offset at that instant, in microseconds (cached by the hour)."""
        hour = micros // _HOUR
        known = self._offsets.get(hour)
        if known is not None:
            return known
        first, last = (
            _offset_at(self.calendar.tz, at) for at in (hour * _HOUR, hour * _HOUR + _HOUR - 1)
        )
        if first != last:  # the zone changed its offset within this hour: no shortcut
            return _offset_at(self.calendar.tz, micros)
        self._offsets[hour] = first
        return first

    def __call__(self, instant: datetime) -> int:
        """Return the working microseconds from the origin to `instant`."""
        return self.of_micros((instant - _EPOCH) // _MICRO)

    def of_micros(self, micros: int) -> int:
        """Return the working microseconds from the origin to `micros` after 1970-01-01 UTC."""
        local = micros + self._offset(micros)
        number, moment = divmod(local, _DAY)
        base, working = self._days.get(number) or self._day(number)
        if not working:
            return base
        for start, end in self.windows:
            if moment <= start:
                break
            base += min(moment, end) - start
        return base

    def of_many(self, micros: numpy.ndarray[Any, Any]) -> numpy.ndarray[Any, Any]:
        """`of_micros` of every element of an integer array, computed on the whole array.

        The zone's offset is looked up once per hour and each day's start once per day, as
        `of_micros` does; an hour in which the zone changed its offset is left to `of_micros`.
        """
        import numpy  # what the chart's library loads anyway; not at start-up

        hours, hour_of = numpy.unique(micros // _HOUR, return_inverse=True)
        hour_of = hour_of.reshape(micros.shape)
        for hour in map(int, hours):
            if hour not in self._offsets:
                self._offset(hour * _HOUR)  # caches the hour's offset unless it changed within
        offsets = [self._offsets.get(hour) for hour in map(int, hours)]
        irregular = numpy.array([offset is None for offset in offsets])[hour_of]
        local = micros + numpy.array([o or 0 for o in offsets], dtype=numpy.int64)[hour_of]
        numbers, moments = numpy.divmod(local, _DAY)
        days, day_of = numpy.unique(numbers, return_inverse=True)
        day_of = day_of.reshape(micros.shape)
        entries = [self._days.get(day) or self._day(day) for day in map(int, days)]
        found = numpy.array([base for base, _ in entries], dtype=numpy.int64)[day_of]
        working = numpy.array([flag for _, flag in entries], dtype=bool)[day_of]
        for start, end in self.windows:
            found += numpy.where(working, numpy.clip(moments - start, 0, end - start), 0)
        for spot in zip(*numpy.nonzero(irregular), strict=True):
            found[spot] = self.of_micros(int(micros[spot]))
        return found


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DAY = _EPOCH.date()
_MICRO = timedelta(microseconds=1)
_HOUR = 3_600_000_000
_DAY = 24 * _HOUR


def _offset_at(tz: tzinfo, micros: int) -> int:
    offset = (_EPOCH + timedelta(microseconds=micros)).astimezone(tz).utcoffset()
    return (offset or timedelta(0)) // _MICRO


def _micros_of_day(moment: time) -> int:
    return ((moment.hour * 60 + moment.minute) * 60 + moment.second) * 1_000_000 + (
        moment.microsecond
    )


def measure(spans: report_store.Spans, calendar: WorkCalendar) -> Durations:
    """Turn (from, to) instants into working hours (a span that runs backwards counts 0)."""
    import numpy

    position = WorkingPositions(calendar)
    per_hour = 3_600_000_000

    def hours(pairs: dict[str, list[tuple[int, int]]]) -> dict[str, list[float]]:
        found: dict[str, list[float]] = {}
        for agency, values in pairs.items():
            ends = position.of_many(numpy.array(values, dtype=numpy.int64).reshape(-1, 2))
            found[agency] = (numpy.maximum(0, ends[:, 1] - ends[:, 0]) / per_hour).tolist()
        return found

    return Durations(accept=hours(spans.accept), resolve=hours(spans.resolve))


def dossier_figures(
    rows: Iterable[report_store.DossierRow], calendar: WorkCalendar, now: datetime
) -> dict[str, tuple[int, int]]:
    """Count, per agency, the dossiers that are or were late and those given an apology slip.

    Late by the dossier card's rule: a done dossier completed after its due time, an open one
    whose due time has passed, counted in working time; statuses that run no clock are not.
    """
    found: dict[str, list[int]] = {}
    for row in rows:
        if row.status in DONE_STATUSES:
            reference = row.completed_at
        elif row.status in OPEN_STATUSES:
            reference = now
        else:
            reference = None
        late = reference is not None and working_days_late(calendar, row.due_at, reference) > 0
        figures = found.setdefault(row.agency_id, [0, 0])
        figures[0] += late
        figures[1] += row.new_due_at is not None
    return {agency: (late, slips) for agency, (late, slips) in found.items()}


def totals_of(rows: Sequence[AgencyFigures], durations: Durations) -> AgencyFigures:
    """Sum the counts of every row; medians and the mean rating over the whole province."""
    ratings = sum(row.ratings for row in rows)
    rating_sum = sum((row.rating_mean or 0.0) * row.ratings for row in rows)

    def total(name: str) -> int:
        return sum(getattr(row, name) for row in rows)

    return AgencyFigures(
        agency_id="",
        name="",
        received=total("received"),
        resolved=total("resolved"),
        resolved_on_time=total("resolved_on_time"),
        overdue_now=total("overdue_now"),
        median_accept_hours=median([h for hours in durations.accept.values() for h in hours]),
        median_resolve_hours=median([h for hours in durations.resolve.values() for h in hours]),
        returns=total("returns"),
        passed_around=total("passed_around"),
        deemed_accepted=total("deemed_accepted"),
        rating_mean=rating_sum / ratings if ratings else None,
        ratings=ratings,
        reopened=total("reopened"),
        dossiers_late=total("dossiers_late"),
        apology_slips=total("apology_slips"),
    )


def build_scorecard(
    *,
    month: Month,
    now: datetime,
    agencies: Mapping[str, str],
    counts: report_store.MonthCounts,
    durations: Durations | None = None,
    dossiers: Mapping[str, tuple[int, int]] | None = None,
    overdue: Sequence[OverdueTicket] = (),
    min_volume: int = MIN_VOLUME,
) -> Scorecard:
    """Assemble the scorecard from the database's counts and the measured durations.

    Every agency of the directory gets a row, with zeros if nothing happened; an agency that is
    no longer in the directory but appears in the counts gets one too, under its id.
    """
    durations = durations or Durations()
    dossiers = dossiers or {}
    ids = dict(agencies)
    for agency_id in sorted(
        counts.agency_ids() | set(durations.accept) | set(durations.resolve) | set(dossiers)
    ):
        ids.setdefault(agency_id, agency_id)
    rows = []
    for agency_id, name in ids.items():
        ratings, rating_sum = counts.ratings.get(agency_id, (0, 0))
        late, slips = dossiers.get(agency_id, (0, 0))
        rows.append(
            AgencyFigures(
                agency_id=agency_id,
                name=name,
                received=counts.received.get(agency_id, 0),
                resolved=counts.resolved.get(agency_id, 0),
                resolved_on_time=counts.resolved_on_time.get(agency_id, 0),
                overdue_now=counts.overdue_now.get(agency_id, 0),
                median_accept_hours=median(durations.accept.get(agency_id, [])),
                median_resolve_hours=median(durations.resolve.get(agency_id, [])),
                returns=counts.returns.get(agency_id, 0),
                passed_around=counts.passed_around.get(agency_id, 0),
                deemed_accepted=counts.deemed_accepted.get(agency_id, 0),
                rating_mean=rating_sum / ratings if ratings else None,
                ratings=ratings,
                reopened=counts.reopened.get(agency_id, 0),
                dossiers_late=late,
                apology_slips=slips,
            )
        )
    ranked = rank(rows, min_volume)
    return Scorecard(
        month=month,
        as_of=now,
        rows=tuple(ranked),
        totals=totals_of(ranked, durations),
        overdue=tuple(overdue),
        min_volume=min_volume,
    )


def check_reportable(month: Month, now: datetime, calendar: WorkCalendar) -> None:
    """Refuse a month that has not begun yet (there is nothing to count)."""
    if month.start(calendar) > now:
        raise MonthError(f"{month} has not begun yet")


def report_due(now: datetime, calendar: WorkCalendar) -> Month | None:
    """Return the month whose scorecard goes to the leaders at `now`, if it is that day.

    The previous month's scorecard goes on the current month's first working day, from its
    opening (07:30 by default) to midnight; the delivery claim makes sure it goes once. On any
    other day nothing is due: a bot installed mid-month does not send a stale scorecard, and
    `hotline report` makes one on demand.
    """
    current = Month.of(now, calendar)
    opening = calendar.next_working_instant(current.start(calendar))
    local = now.astimezone(calendar.tz)
    if now < opening or local.date() != opening.astimezone(calendar.tz).date():
        return None
    return current.previous()


# --- services: read the database, build the value ----------------------------------------


def directory_names(config: Config) -> dict[str, str]:
    """Return the directory's agencies, id → name, in the config's order."""
    return {agency.id: agency.name for agency in config.agencies}


async def compute_scorecard(
    *, db: Database, config: Config, month: Month, now: datetime, min_volume: int = MIN_VOLUME
) -> Scorecard:
    """Count the month in the database and build its scorecard as of `now`."""
    async with db.transaction() as session:
        return await scorecard_in(
            session=session, config=config, month=month, now=now, min_volume=min_volume
        )


async def scorecard_in(
    *,
    session: AsyncSession,
    config: Config,
    month: Month,
    now: datetime,
    min_volume: int = MIN_VOLUME,
) -> Scorecard:
    """Build the scorecard inside the caller's transaction."""
    calendar = config.work_calendar
    start, end = month.start(calendar), month.end(calendar)
    counts = await report_store.month_counts(
        session=session, start=start, end=end, now=now, count_overdue=False
    )
    spans = await report_store.month_spans(session=session, start=start, end=end)
    dossiers = await report_store.month_dossiers(session=session, start=start, end=end)
    rows = await report_store.overdue_tickets(session=session, now=now)
    # The workbook lists every overdue ticket anyway: count them from that list.
    for row in rows:
        if row.agency_id is not None:
            counts.overdue_now[row.agency_id] = counts.overdue_now.get(row.agency_id, 0) + 1
    names = directory_names(config)
    categories = {category.id: category.name for category in config.categories}
    position = WorkingPositions(calendar)
    day = round(calendar.hours_per_day * 3_600_000_000)
    now_at = position(now)
    overdue = [
        OverdueTicket(
            code=row.code,
            agency_id=row.agency_id,
            agency_name=names.get(row.agency_id, row.agency_id) if row.agency_id else "",
            category_id=row.category_id,
            category_name=categories.get(row.category_id, row.category_id),
            due_at=row.due_at,
            # Working days rounded up, as working_days_late counts them.
            working_days_late=max(
                0,
                -(
                    -(
                        (position(row.reference) if row.reference else now_at)
                        - position(row.due_at)
                    )
                    // day
                ),
            ),
        )
        for row in rows
    ]
    return build_scorecard(
        month=month,
        now=now,
        agencies=names,
        counts=counts,
        durations=measure(spans, calendar),
        dossiers=dossier_figures(dossiers, calendar, now),
        overdue=overdue,
        min_volume=min_volume,
    )


# --- the public accountability page --------------------------------------------------------


@dataclass(frozen=True)
class PublicAgency:
    """An agency's public numbers for one month: no names of people, no ticket text."""

    agency_id: str
    name: str
    received: int
    resolved: int
    on_time_share: float | None
    overdue_now: int


@dataclass(frozen=True)
class PublicMonth:
    """One month of the public page: every agency and the province's totals."""

    month: Month
    agencies: tuple[PublicAgency, ...]
    totals: PublicAgency


@dataclass(frozen=True)
class PublicFigures:
    """What `/thong-ke/` shows: this month so far and the last one, as of an instant."""

    as_of: datetime
    months: tuple[PublicMonth, ...] = field(default=())


def public_month(month: Month, scorecard: Scorecard) -> PublicMonth:
    """Keep only the public columns of a scorecard."""

    def public(row: AgencyFigures) -> PublicAgency:
        return PublicAgency(
            agency_id=row.agency_id,
            name=row.name,
            received=row.received,
            resolved=row.resolved,
            on_time_share=row.on_time_share,
            overdue_now=row.overdue_now,
        )

    return PublicMonth(
        month=month,
        agencies=tuple(public(row) for row in scorecard.rows),
        totals=public(scorecard.totals),
    )


async def compute_public_figures(*, db: Database, config: Config, now: datetime) -> PublicFigures:
    """Count this month and the last for the public page, as of `now`."""
    calendar = config.work_calendar
    names = directory_names(config)
    current = Month.of(now, calendar)
    months = []
    async with db.transaction() as session:
        for month in (current, current.previous()):
            counts = await report_store.month_counts(
                session=session, start=month.start(calendar), end=month.end(calendar), now=now
            )
            card = build_scorecard(month=month, now=now, agencies=names, counts=counts)
            months.append(public_month(month, card))
    return PublicFigures(as_of=now, months=tuple(months))


def minute_of(now: datetime) -> datetime:
    """Return the minute an instant falls in (the public page's cache key)."""
    return now.replace(second=0, microsecond=0)
