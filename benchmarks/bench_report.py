"""Benchmark the monthly scorecard on a month of 100,000 tickets (SQLite and PostgreSQL).

Run from the repository root: ``.venv/bin/python benchmarks/bench_report.py [--tickets N]
[--backend sqlite|postgresql|both] [--pg-url URL]`` (``make bench-report``).

The database gets N tickets filed in November 2026 (default 100,000) plus a fifth as many in
October, spread over the directory's agencies (a few large, many small), with the events the
services record: created, routed, accepted (5 % deemed), resolved (about 80 % on time), returned
and rerouted (8 %), reopened (3 %), rated (half of the resolved); what is not resolved is open,
part of it overdue. Rows are bulk-inserted with the drivers (executemany on SQLite, COPY on
PostgreSQL). Then it times, in the same run:

* the floor: ``SELECT count(*)`` of the month's tickets;
* the naive way: one ORM query for the month's tickets and one per ticket for its events, on a
  sample, scaled to N;
* the scorecard (`compute_scorecard`, counts grouped in SQL), best and median of five runs,
  and rendering it as XLSX and PNG;
* the whole command a leader runs, `hotline report --month 2026-11 --format F --out FILE`, in
  its own process (start-up, imports, migration check, scorecard, render, write), for each
  format, best of three.

The machine's load average is printed beside the figures: on a shared machine the best run is
the one to compare with the target, and the floor shows how loaded the run was.

The target is a scorecard in under 5 s, and the whole command too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

# Runs as a plain script, without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import asyncpg  # noqa: E402
from bench_sweep import DEFAULT_PG, with_pg_database  # noqa: E402
from sqlalchemy import func  # noqa: E402
from sqlmodel import col, select  # noqa: E402

from bot.config import Config, load_config  # noqa: E402
from bot.domain.reports import Month, compute_scorecard  # noqa: E402
from handlers.reports import render_png, render_xlsx  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Ticket, TicketEvent  # noqa: E402

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MONTH = Month(2026, 11)
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)  # the first working day after it
TARGET_SECONDS = 5.0
SAMPLE = 2_000
RUNS = 5
COMMAND_RUNS = 3
FORMATS = ("table", "csv", "xlsx", "png")
TICKET_COLUMNS = [column.name for column in Ticket.__table__.columns]  # type: ignore[attr-defined]
EVENT_COLUMNS = [c.name for c in TicketEvent.__table__.columns]  # type: ignore[attr-defined]


def bench_config() -> Config:
    """The built-in directory."""
    return load_config(None, environ={})


class Generator:
    """Makes tickets and their events the way the services record them."""

    def __init__(self, config: Config, seed: int = 1022) -> None:
        self.config = config
        self.calendar = config.work_calendar
        self.rng = random.Random(seed)
        agencies = [agency.id for agency in config.agencies]
        # A few agencies get most of the work; the last ones get almost none.
        self.agencies = agencies
        self.weights = [1.0 / (index + 1) ** 1.3 for index in range(len(agencies))]
        self.event_id = 0

    def instant(self, month: int) -> datetime:
        """Return a random working instant of the month (2026)."""
        while True:
            day = self.rng.randint(1, 28)
            start = datetime(2026, month, day, 7, 30, tzinfo=TZ)
            if self.calendar.is_working_day(start.date()):
                return self.calendar.add_working_hours(start, self.rng.uniform(0, 7.9))

    def event(
        self, ticket_id: int, at: datetime, kind: str, actor: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        self.event_id += 1
        return {
            "id": self.event_id,
            "ticket_id": ticket_id,
            "at": at,
            "actor": actor,
            "kind": kind,
            "note": "",
            "data": data,
        }

    def ticket(self, ticket_id: int, month: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Return one ticket and its events."""
        rng, add = self.rng, self.calendar.add_working_hours
        agency = rng.choices(self.agencies, self.weights)[0]
        created = self.instant(month)
        actor = f"agency:{agency}"
        events = [
            self.event(ticket_id, created, "created", "citizen", {"category": "giao-thong"}),
            self.event(ticket_id, created, "routed", "system", {"agency": agency}),
        ]
        row: dict[str, Any] = {
            "id": ticket_id,
            "code": f"PA-2026-{ticket_id:06d}",
            "agency_id": agency,
            "created_at": created,
            "routed_at": created,
            "accept_due_at": add(created, 8),
            "resolve_due_at": add(created, 24),
            "state": "routed",
        }
        if rng.random() < 0.08:  # returned, then sent back by the operators
            back = add(created, rng.uniform(0.5, 3))
            events.append(self.event(ticket_id, back, "returned", actor, {"agency": agency}))
            rerouted = self.event(ticket_id, back, "rerouted", "operator:1", {"agency": agency})
            events.append(rerouted)
            row.update(routed_at=back, returns_count=1, resolve_due_at=add(back, 24))
        routed = row["routed_at"]
        if rng.random() < 0.9:
            deemed = rng.random() < 0.05
            accepted = add(routed, 8 if deemed else rng.expovariate(1 / 2.5))
            kind, who = ("deemed_accepted", "system") if deemed else ("accepted", actor)
            events.append(self.event(ticket_id, accepted, kind, who, {}))
            row.update(state="accepted", accepted_at=accepted, deemed_accepted=deemed)
            if rng.random() < 0.85:
                hours = rng.expovariate(1 / 14) if rng.random() < 0.8 else rng.uniform(24, 60)
                resolved = add(accepted, hours)
                on_time = resolved <= row["resolve_due_at"]
                events.append(
                    self.event(ticket_id, resolved, "resolved", actor, {"on_time": on_time})
                )
                if rng.random() < 0.03:
                    events.append(
                        self.event(ticket_id, resolved, "reopened", "citizen", {"agency": agency})
                    )
                row.update(state="resolved", resolved_at=resolved, answer="Đã xử lý")
                if rng.random() < 0.5:
                    stars = rng.choice((1, 2, 3, 4, 4, 5, 5, 5))
                    row["rating"] = stars
                    events.append(
                        self.event(ticket_id, resolved, "rated", "citizen", {"rating": stars})
                    )
        return row, events

    def month(
        self, first_id: int, count: int, month: int
    ) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """Yield `count` tickets of the month, ids from `first_id`."""
        for offset in range(count):
            yield self.ticket(first_id + offset, month)


BASE_TICKET: dict[str, Any] = {
    "channel": "telegram",
    "chat_id": "1",
    "user_id": "1",
    "language": "vi",
    "reporter_name": "",
    "reporter_phone": "",
    "privacy": "agency",
    "text": "Đường có ổ gà",
    "category_id": "giao-thong",
    "ward": None,
    "subject_agency_id": None,
    "dossier_code": None,
    "confidence": 0.9,
    "evidence": [],
    "suggestions": [],
    "track": "pakn",
    "latitude": None,
    "longitude": None,
    "returns_count": 0,
    "passed_around": False,
    "deemed_accepted": False,
    "answer": "",
    "rating": None,
    "citizen_blocked": False,
    "accepted_at": None,
    "resolved_at": None,
    "closed_at": None,
    "paused_at": None,
    "triage_due_at": None,
    "next_check_at": None,
}


def _full_ticket(row: dict[str, Any]) -> dict[str, Any]:
    full = {**BASE_TICKET, **row}
    # A column added since (nullable) is left empty; a required one must be filled above.
    table: Any = Ticket.__table__  # type: ignore[attr-defined]
    for column in table.columns:
        if column.name not in full:
            assert column.nullable, f"benchmark rows lack the required column {column.name}"
            full[column.name] = None
    return full


def _sqlite(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def _postgres(value: Any) -> Any:
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def population(count: int) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Yield the month's tickets, then a fifth as many of the month before."""
    generator = Generator(bench_config())
    yield from generator.month(1, count, 11)
    yield from generator.month(count + 1, count // 5, 10)


def populate_sqlite(path: str, count: int) -> tuple[int, int]:
    """Bulk-insert with the stdlib driver; return (tickets, events)."""
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA synchronous=OFF")
    ticket_sql = (
        f"INSERT INTO ticket ({', '.join(TICKET_COLUMNS)}) "
        f"VALUES ({', '.join('?' for _ in TICKET_COLUMNS)})"
    )
    event_sql = (
        f"INSERT INTO ticket_event ({', '.join(EVENT_COLUMNS)}) "
        f"VALUES ({', '.join('?' for _ in EVENT_COLUMNS)})"
    )
    tickets, events = 0, 0
    with connection:
        ticket_rows: list[tuple[Any, ...]] = []
        event_rows: list[tuple[Any, ...]] = []
        for row, trail in population(count):
            full = _full_ticket(row)
            ticket_rows.append(tuple(_sqlite(full[name]) for name in TICKET_COLUMNS))
            event_rows.extend(tuple(_sqlite(e[name]) for name in EVENT_COLUMNS) for e in trail)
            if len(ticket_rows) >= 20_000:
                connection.executemany(ticket_sql, ticket_rows)
                connection.executemany(event_sql, event_rows)
                tickets, events = tickets + len(ticket_rows), events + len(event_rows)
                ticket_rows.clear()
                event_rows.clear()
        connection.executemany(ticket_sql, ticket_rows)
        connection.executemany(event_sql, event_rows)
        tickets, events = tickets + len(ticket_rows), events + len(event_rows)
    connection.execute("ANALYZE")
    connection.close()
    return tickets, events


async def populate_postgresql(url: str, count: int) -> tuple[int, int]:
    """Bulk-insert with COPY; return (tickets, events)."""
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    tickets, events = 0, 0
    try:
        ticket_rows: list[tuple[Any, ...]] = []
        event_rows: list[tuple[Any, ...]] = []

        async def flush() -> None:
            await connection.copy_records_to_table(
                "ticket", records=ticket_rows, columns=TICKET_COLUMNS
            )
            await connection.copy_records_to_table(
                "ticket_event", records=event_rows, columns=EVENT_COLUMNS
            )

        for row, trail in population(count):
            full = _full_ticket(row)
            ticket_rows.append(tuple(_postgres(full[name]) for name in TICKET_COLUMNS))
            event_rows.extend(tuple(_postgres(e[name]) for name in EVENT_COLUMNS) for e in trail)
            if len(ticket_rows) >= 50_000:
                await flush()
                tickets, events = tickets + len(ticket_rows), events + len(event_rows)
                ticket_rows.clear()
                event_rows.clear()
        await flush()
        tickets, events = tickets + len(ticket_rows), events + len(event_rows)
        for table in ("ticket", "ticket_event"):
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        await connection.execute("VACUUM ANALYZE ticket")
        await connection.execute("VACUUM ANALYZE ticket_event")
    finally:
        await connection.close()
    return tickets, events


# --- the measurements ------------------------------------------------------------------------


async def floor_seconds(db: Database) -> tuple[float, int]:
    """Time the plain count of the month's tickets."""
    calendar = bench_config().work_calendar
    start, end = MONTH.start(calendar), MONTH.end(calendar)
    started = time.perf_counter()
    async with db.transaction() as session:
        query = select(func.count()).where(
            col(Ticket.created_at) >= start, col(Ticket.created_at) < end
        )
        count = int((await session.exec(query)).one())
    return time.perf_counter() - started, count


async def naive_seconds(db: Database, month_tickets: int) -> float:
    """Time the ORM way on a sample (tickets, then each one's events), scaled to the month."""
    calendar = bench_config().work_calendar
    start, end = MONTH.start(calendar), MONTH.end(calendar)
    started = time.perf_counter()
    async with db.transaction() as session:
        query = (
            select(Ticket)
            .where(col(Ticket.created_at) >= start, col(Ticket.created_at) < end)
            .limit(SAMPLE)
        )
        tickets = (await session.exec(query)).all()
        per_agency: dict[str, list[float]] = {}
        for ticket in tickets:
            trail = (
                await session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))
            ).all()
            resolved = [e for e in trail if e.kind == "resolved"]
            if resolved and ticket.routed_at is not None and ticket.agency_id is not None:
                hours = calendar.working_hours_between(ticket.routed_at, resolved[-1].at)
                per_agency.setdefault(ticket.agency_id, []).append(hours)
    return (time.perf_counter() - started) * month_tickets / max(len(tickets), 1)


def command_seconds(url: str, fmt: str) -> float:
    """Best wall time of `hotline report` in a process of its own, writing the format to a file."""
    best = float("inf")
    with tempfile.TemporaryDirectory() as directory:
        # Run from an empty directory: no ./config.toml, the built-in directory as in the bench.
        env = {**os.environ, "HOTLINE_STORAGE_URL": url}
        env.pop("HOTLINE_CONFIG", None)
        command = [
            sys.executable, "-m", "bot", "report", "--month", str(MONTH), "--format", fmt,
            "--out", str(Path(directory) / f"card.{fmt}"), "--now", NOW.isoformat(),
        ]  # fmt: skip
        for _ in range(COMMAND_RUNS):
            started = time.perf_counter()
            subprocess.run(command, cwd=directory, env=env, check=True, capture_output=True)
            best = min(best, time.perf_counter() - started)
    return best


async def measure(url: str) -> dict[str, Any]:
    """Run every measurement on a populated database."""
    config = bench_config()
    db = Database(url)
    try:
        floor, month_tickets = await floor_seconds(db)
        naive = await naive_seconds(db, month_tickets)
        runs = []
        card = None
        for _ in range(RUNS):
            started = time.perf_counter()
            card = await compute_scorecard(db=db, config=config, month=MONTH, now=NOW)
            runs.append(time.perf_counter() - started)
        assert card is not None
        started = time.perf_counter()
        workbook = render_xlsx(card)
        xlsx = time.perf_counter() - started
        started = time.perf_counter()
        chart = render_png(card)
        png = time.perf_counter() - started
    finally:
        await db.dispose()
    return {
        "month_tickets": month_tickets,
        "floor": floor,
        "naive": naive,
        "runs": runs,
        "xlsx": xlsx,
        "png": png,
        "sizes": (len(workbook), len(chart)),
        "totals": card.totals,
        "overdue": len(card.overdue),
        "commands": {fmt: command_seconds(url, fmt) for fmt in FORMATS},
    }


def report(backend: str, populated: tuple[int, int], load: float, figures: dict[str, Any]) -> None:
    """Print the figures of one backend."""
    tickets, events = populated
    best, middle = min(figures["runs"]), statistics.median(figures["runs"])
    totals = figures["totals"]
    print(f"\n{backend}: {tickets:,} tickets and {events:,} events loaded in {load:.1f} s")
    print(f"  month's tickets counted (floor)       {figures['floor'] * 1000:8.1f} ms")
    print(
        f"  naive ORM, ticket by ticket           {figures['naive']:8.1f} s "
        f"(sample of {SAMPLE:,}, scaled to {figures['month_tickets']:,})"
    )
    print(f"  scorecard, best of {RUNS}                  {best:8.2f} s (median {middle:.2f} s)")
    print(
        f"  render XLSX / PNG                     {figures['xlsx']:8.2f} s / "
        f"{figures['png']:.2f} s"
        f" ({figures['sizes'][0] // 1024} KiB / {figures['sizes'][1] // 1024} KiB)"
    )
    print(
        f"  scorecard: {totals.received:,} received, {totals.resolved:,} resolved, "
        f"{(totals.on_time_share or 0) * 100:.1f} % on time, {figures['overdue']:,} overdue"
    )
    commands = figures["commands"]
    print(
        f"  `hotline report`, whole command, best of {COMMAND_RUNS}: "
        + ", ".join(f"{fmt} {seconds:.2f} s" for fmt, seconds in commands.items())
    )
    verdict = "under" if best < TARGET_SECONDS else "OVER"
    share = best / TARGET_SECONDS
    print(f"  target: best run {verdict} {TARGET_SECONDS:.0f} s ({share:.0%} of it)")
    slowest = max(commands.values())
    verdict = "under" if slowest < TARGET_SECONDS else "OVER"
    print(
        f"  target: every whole command {verdict} {TARGET_SECONDS:.0f} s (slowest {slowest:.2f} s)"
    )
    print(f"  load average during the run: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


async def run_backend(url: str, count: int) -> None:
    """Migrate, populate and measure one database."""
    db = Database(url)
    await db.upgrade()
    await db.dispose()
    started = time.perf_counter()
    if url.startswith("sqlite"):
        populated = populate_sqlite(url.split("///", 1)[1], count)
    else:
        populated = await populate_postgresql(url, count)
    load = time.perf_counter() - started
    figures = await measure(url)
    report("SQLite" if url.startswith("sqlite") else "PostgreSQL", populated, load, figures)


def main() -> None:
    """Measure the chosen backends."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    args = parser.parse_args()
    print(f"scorecard benchmark: {args.tickets:,} tickets in {MONTH}, as of {NOW.isoformat()}")
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as directory:
            url = f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
            asyncio.run(run_backend(url, args.tickets))
    if args.backend in ("postgresql", "both"):

        async def run_pg(pg_url: str) -> None:
            await run_backend(pg_url, args.tickets)

        asyncio.run(with_pg_database(args.pg_url, run_pg))


if __name__ == "__main__":
    main()
