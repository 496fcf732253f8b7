"""Benchmark add_working_hours against a naive minute-stepping baseline.

Run from the repository root: ``.venv/bin/python benchmarks/bench_workdays.py [--calls N]``.
Starts are random whole minutes of 2026-2027 in Asia/Ho_Chi_Minh, SLAs 1-10 working days.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

# Runs as a plain script, without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.domain.workdays import WorkCalendar, default_calendar  # noqa: E402


def naive_add(calendar: WorkCalendar, start: datetime, hours: float) -> datetime:
    """Add working hours by walking minute by minute (whole-minute starts and hours only)."""
    now = start.astimezone(calendar.tz)
    left = round(hours * 60)
    while left > 0:
        inside = any(s <= now.time() < e for s, e in calendar.windows)
        if inside and calendar.is_working_day(now.date()):
            left -= 1
        now += timedelta(minutes=1)
    return now


def random_inputs(count: int, seed: int, calendar: WorkCalendar) -> list[tuple[datetime, float]]:
    """Return (start, hours) pairs: random minutes of 2026-2027, SLAs of 1-10 working days."""
    rng = random.Random(seed)
    origin = datetime(2026, 1, 1, tzinfo=calendar.tz)
    span_minutes = 2 * 365 * 24 * 60
    return [
        (
            origin + timedelta(minutes=rng.randrange(span_minutes)),
            rng.randint(1, 10) * calendar.hours_per_day,
        )
        for _ in range(count)
    ]


def rate(count: int, seconds: float) -> str:
    """Format a call rate."""
    return f"{count / seconds:>12,.0f} calls/s ({seconds / count * 1e6:9.2f} µs/call)"


def main() -> None:
    """Time both implementations on the same inputs and check they agree."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200_000, help="calls of the real one")
    parser.add_argument("--naive-calls", type=int, default=300, help="calls of the baseline")
    parser.add_argument("--seed", type=int, default=20260822)
    args = parser.parse_args()

    calendar = default_calendar()
    inputs = random_inputs(max(args.calls, args.naive_calls), args.seed, calendar)
    calendar.add_working_hours(inputs[0][0], 80)  # warm the per-year holiday tables

    began = time.perf_counter()
    results = [calendar.add_working_hours(start, hours) for start, hours in inputs[: args.calls]]
    fast = time.perf_counter() - began

    began = time.perf_counter()
    for (start, _hours), due in zip(inputs, results, strict=False):
        calendar.working_hours_between(start, due)
    between = time.perf_counter() - began

    naive_inputs = inputs[: args.naive_calls]
    began = time.perf_counter()
    naive_results = [naive_add(calendar, start, hours) for start, hours in naive_inputs]
    naive = time.perf_counter() - began

    mismatches = sum(a != b for a, b in zip(results, naive_results, strict=False))
    calls, naive_calls = args.calls, args.naive_calls
    print(f"add_working_hours       {rate(calls, fast)}  over {calls:,} calls")
    print(f"working_hours_between   {rate(calls, between)}  over {calls:,} calls")
    print(f"naive minute stepping   {rate(naive_calls, naive)}  over {naive_calls:,} calls")
    print(f"speed-up                {(naive / naive_calls) / (fast / calls):,.0f}x")
    print(f"one million deadlines   {fast / calls * 1e6:.1f} s")
    print(f"agreement with baseline {len(naive_results) - mismatches}/{len(naive_results)}")
    if mismatches:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
