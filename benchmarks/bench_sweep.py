"""Benchmark the deadline sweeper on a large database (SQLite and PostgreSQL).

Run from the repository root: ``.venv/bin/python benchmarks/bench_sweep.py [--tickets N]
[--due 0.1] [--backend sqlite|postgresql|both] [--pg-url URL]``.

The database gets N tickets (default 1,000,000): 60 % resolved (no clock), 30 % open with a
milestone still ahead, and the `--due` share (default 10 %) with a milestone already come: 30 %
reminders (1 notice), 30 % overdue (3), 15 % escalations (2), 15 % deemed acceptances (2) and
10 % triage clocks out (1). Tickets are bulk-inserted by a child process (executemany on SQLite,
COPY on PostgreSQL) so that the parent's peak memory is the sweeper's own. Then it measures the
"next due" queries (with their EXPLAIN plans), one full sweep pass, and an idle pass.

PostgreSQL runs in a dedicated database created beside `--pg-url` (default $HOTLINE_TEST_PG_URL
or postgresql+asyncpg://postgres@127.0.0.1:5432/test) and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

# Runs as a plain script, without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlmodel.ext.asyncio.session import AsyncSession  # noqa: E402

from bot.config import Config, load_config  # noqa: E402
from bot.domain.tickets import sla_hours_of  # noqa: E402
from bot.sweeper import sweep_once  # noqa: E402
from storage import sweeps as sweep_store  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Ticket  # noqa: E402

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=TZ)  # a Wednesday, inside working hours
CATEGORY = "giao-thong"  # 24 working hours, Sở Xây dựng
DEFAULT_PG = os.environ.get(
    "HOTLINE_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
COLUMNS = [column.name for column in Ticket.__table__.columns]  # type: ignore[attr-defined]
# (kind, share of the due tickets, notices each)
DUE_MIX = (
    ("reminder", 0.30, 1),
    ("overdue", 0.30, 3),
    ("escalated", 0.15, 2),
    ("deemed_accepted", 0.15, 2),
    ("triage_overdue", 0.10, 1),
)


def bench_config() -> Config:
    """The default directory with a group chat per agency, the operators and a supervisor."""
    base = load_config(None, environ={})
    agencies = tuple(
        dataclasses.replace(agency, telegram_chat_id=-2000 - index)
        for index, agency in enumerate(base.agencies)
    )
    telegram = dataclasses.replace(
        base.telegram, operators_chat_id=-1001, supervisor_chat_id=-1003
    )
    return dataclasses.replace(base, agencies=agencies, telegram=telegram)


# --- the population --------------------------------------------------------------------------


class Clocks:
    """Clocks of tickets routed a whole number of minutes of working time before NOW (cached)."""

    def __init__(self, config: Config) -> None:
        self.calendar = config.work_calendar
        self.deadlines = config.deadlines
        self.sla = sla_hours_of(config, CATEGORY)
        self._cache: dict[int, dict[str, datetime]] = {}

    def routed(self, rng: random.Random, low: float, high: float) -> dict[str, datetime]:
        """Clocks of a ticket routed between `low` and `high` working hours before NOW."""
        minutes = round(rng.uniform(low, high) * 60)
        if minutes not in self._cache:
            calendar, deadlines = self.calendar, self.deadlines
            routed = calendar.add_working_hours(NOW, -minutes / 60)
            due = calendar.add_working_hours(routed, self.sla)
            self._cache[minutes] = {
                "routed": routed,
                "accept_due": calendar.add_working_hours(routed, deadlines.accept_hours),
                "due": due,
                "reminder": calendar.add_working_hours(
                    due, -(1 - deadlines.reminder_fraction) * self.sla
                ),
                "escalate": calendar.add_working_hours(due, deadlines.escalate_after_hours),
                "triage_due": calendar.add_working_hours(routed, deadlines.triage_hours),
            }
        return self._cache[minutes]


def due_kinds(due_count: int) -> list[str]:
    """Return the milestone kind of each due ticket, per DUE_MIX (rounding goes to reminders)."""
    kinds: list[str] = []
    for kind, share, _notices in DUE_MIX:
        kinds.extend([kind] * round(due_count * share))
    return (kinds + ["reminder"] * due_count)[:due_count]


def rows(
    count: int, due_share: float, config: Config, seed: int = 2026
) -> Iterator[dict[str, Any]]:
    """Yield the benchmark's tickets as column dicts (aware datetimes, JSON as text)."""
    rng = random.Random(seed)
    clocks = Clocks(config)
    due_count = round(count * due_share)
    kinds = due_kinds(due_count)
    open_count = round(count * 0.3)
    plan = kinds + ["open"] * open_count + ["resolved"] * (count - due_count - open_count)
    rng.shuffle(plan)
    for index, kind in enumerate(plan, start=1):
        row: dict[str, Any] = {
            "id": index,
            "code": f"PA-{2000 + index // 1_000_000}-{index % 1_000_000:06d}",
            "channel": "telegram",
            "chat_id": str(100_000 + index),
            "user_id": str(100_000 + index),
            "language": "vi" if index % 5 else "en",
            "reporter_name": "Nguyễn Văn An",
            "reporter_phone": "0912345678",
            "privacy": "agency",
            "text": "Đường có nhiều ổ gà rất nguy hiểm, xe máy bị ngã liên tục mấy hôm nay",
            "category_id": CATEGORY,
            "agency_id": "xay-dung",
            "ward": None,
            "subject_agency_id": None,
            "dossier_code": None,
            "confidence": 0.9,
            "evidence": '["ổ gà"]',
            "suggestions": '[["giao-thong", "xay-dung", 0.9]]',
            "track": "pakn",
            "state": "accepted",
            "latitude": None,
            "longitude": None,
            "returns_count": 0,
            "passed_around": False,
            "deemed_accepted": False,
            "answer": "",
            "rating": None,
            "citizen_blocked": False,
            "created_at": None,
            "routed_at": None,
            "accepted_at": None,
            "resolved_at": None,
            "closed_at": None,
            "paused_at": None,
            "triage_due_at": None,
            "accept_due_at": None,
            "resolve_due_at": None,
            "next_check_at": None,
        }
        if kind == "resolved":
            c = clocks.routed(rng, 60, 600)
            # Long past their reopen window: in steady state the sweeper closed them passes ago,
            # so they are closed here and the measured pass does only the 10 % that is due.
            row.update(
                state="closed",
                created_at=c["routed"],
                routed_at=c["routed"],
                accepted_at=c["routed"],
                resolved_at=c["due"],
                closed_at=c["due"] + timedelta(days=7),
                accept_due_at=c["accept_due"],
                resolve_due_at=c["due"],
                answer="Đã xử lý.",
            )
        elif kind == "triage_overdue":
            c = clocks.routed(rng, 4, 7.9)
            row.update(
                state="triage",
                agency_id=None,
                created_at=c["routed"],
                triage_due_at=c["triage_due"],
                next_check_at=c["triage_due"],
            )
        else:
            low, high = {
                "open": (0, 17.9),
                "reminder": (18, 23.9),
                "overdue": (24, 39.9),
                "escalated": (40, 60),
                "deemed_accepted": (8, 17.9),
            }[kind]
            c = clocks.routed(rng, low, high)
            row.update(
                created_at=c["routed"],
                routed_at=c["routed"],
                accept_due_at=c["accept_due"],
                resolve_due_at=c["due"],
            )
            if kind == "deemed_accepted":
                row.update(state="routed", next_check_at=c["accept_due"])
            else:
                accepted = c["routed"]
                row["accepted_at"] = accepted
                row["next_check_at"] = {
                    "open": c["reminder"],
                    "reminder": c["reminder"],
                    "overdue": c["due"],
                    "escalated": c["escalate"],
                }[kind]
        yield row


def expected_notices(count: int, due_share: float) -> tuple[int, int]:
    """Return (due tickets, notices) the population should produce."""
    due_count = round(count * due_share)
    each = {kind: notices for kind, _share, notices in DUE_MIX}
    return due_count, sum(each[kind] for kind in due_kinds(due_count))


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, bool):
        return int(value)
    return value


def populate_sqlite(path: str, count: int, due_share: float) -> None:
    """Bulk-insert the tickets with the stdlib driver (executemany, one transaction)."""
    config = bench_config()
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA synchronous=OFF")
    placeholders = ", ".join("?" for _ in COLUMNS)
    statement = f"INSERT INTO ticket ({', '.join(COLUMNS)}) VALUES ({placeholders})"
    batch: list[tuple[Any, ...]] = []
    with connection:
        for row in rows(count, due_share, config):
            batch.append(tuple(_sqlite_value(row[name]) for name in COLUMNS))
            if len(batch) == 50_000:
                connection.executemany(statement, batch)
                batch.clear()
        connection.executemany(statement, batch)
    connection.execute("ANALYZE")
    connection.close()


async def populate_postgresql(url: str, count: int, due_share: float) -> None:
    """Bulk-insert the tickets with COPY."""
    config = bench_config()
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        records: list[tuple[Any, ...]] = []
        for row in rows(count, due_share, config):
            records.append(tuple(row[name] for name in COLUMNS))
            if len(records) == 100_000:
                await connection.copy_records_to_table("ticket", records=records, columns=COLUMNS)
                records.clear()
        await connection.copy_records_to_table("ticket", records=records, columns=COLUMNS)
        await connection.execute(
            "SELECT setval(pg_get_serial_sequence('ticket', 'id'), (SELECT max(id) FROM ticket))"
        )
        await connection.execute("VACUUM ANALYZE ticket")
    finally:
        await connection.close()


def populate_in_child(url: str, count: int, due_share: float) -> float:
    """Fill the database in a child process; return how long it took."""
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            __file__,
            "--populate",
            url,
            "--tickets",
            str(count),
            "--due",
            str(due_share),
        ],
        check=True,
    )
    return time.perf_counter() - started


# --- the measurements ------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """Return this process's peak resident memory so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Capture:
    """Record the SQL and parameters the driver gets for the claim query."""

    def __init__(self, db: Database) -> None:
        self.statement = ""
        self.parameters: Any = None

        @event.listens_for(db.engine.sync_engine, "before_cursor_execute")
        def _record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            if "FROM ticket" in statement and "next_check_at <=" in statement:
                self.statement, self.parameters = statement, parameters


async def timed_queries(db: Database, runs: int = 20) -> dict[str, float]:
    """Median milliseconds of the claim query (500 rows) and of the next-due query."""
    claim: list[float] = []
    next_due: list[float] = []
    for _ in range(runs):
        async with AsyncSession(db.engine) as session:
            transaction = await session.begin()
            started = time.perf_counter()
            await sweep_store.claim_due_tickets(session=session, now=NOW, limit=500)
            claim.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            await sweep_store.next_due_at(session=session)
            next_due.append((time.perf_counter() - started) * 1000)
            await transaction.rollback()
    return {"claim": statistics.median(claim), "next_due": statistics.median(next_due)}


async def raw_next_due_ms(db: Database, runs: int = 3) -> tuple[float, float]:
    """Next-due as plain SQL, by the index and (the baseline) by a full scan bypassing it."""
    indexed = "SELECT min(next_check_at) FROM ticket"
    scan = (
        indexed + " NOT INDEXED"
        if db.is_sqlite
        else "SELECT min(next_check_at + interval '0') FROM ticket"
    )
    medians: list[float] = []
    async with db.engine.connect() as connection:
        for sql in (indexed, scan):
            timings: list[float] = []
            for _ in range(runs):
                started = time.perf_counter()
                await connection.exec_driver_sql(sql)
                timings.append((time.perf_counter() - started) * 1000)
            medians.append(statistics.median(timings))
        await connection.rollback()
    return medians[0], medians[1]


async def explain(db: Database, capture: Capture) -> list[str]:
    """Return the plan of the claim query as the database runs it."""
    prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
    async with db.engine.connect() as connection:
        transaction = await connection.begin()
        result = await connection.exec_driver_sql(prefix + capture.statement, capture.parameters)
        lines = [" | ".join(str(v) for v in row) for row in result.all()]
        await transaction.rollback()
    next_due_prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "
    async with db.engine.connect() as connection:
        result = await connection.exec_driver_sql(
            next_due_prefix + "SELECT min(next_check_at) FROM ticket"
        )
        lines.append("-- next due: SELECT min(next_check_at) FROM ticket")
        lines.extend(" | ".join(str(v) for v in row) for row in result.all())
    return lines


async def measure(url: str, count: int, due_share: float, batch: int) -> dict[str, Any]:
    """Populate, then time queries and sweep passes on one database."""
    db = Database(url)
    await db.upgrade()
    await db.dispose()
    populate_seconds = populate_in_child(url, count, due_share)
    config = bench_config()
    db = Database(url)
    capture = Capture(db)
    try:
        queries = await timed_queries(db)
        queries["next_due_raw"], queries["next_due_scan"] = await raw_next_due_ms(db)
        plan = await explain(db, capture)
        baseline = peak_rss_mb()
        result = await sweep_once(db=db, config=config, now=NOW, batch=batch)
        peak = peak_rss_mb()
        idle = await sweep_once(db=db, config=config, now=NOW, batch=batch)
        idle_queries = await timed_queries(db, runs=5)
    finally:
        await db.dispose()
    due, notices = expected_notices(count, due_share)
    if (result.tickets, result.notices) != (due, notices):
        raise SystemExit(
            f"the pass handled {result.tickets} tickets / {result.notices} notices, "
            f"expected {due} / {notices}: {result}"
        )
    return {
        "populate_seconds": populate_seconds,
        "queries": queries,
        "idle_queries": idle_queries,
        "plan": plan,
        "result": result,
        "idle": idle,
        "baseline_mb": baseline,
        "peak_mb": peak,
    }


def report(backend: str, count: int, figures: dict[str, Any]) -> None:
    """Print one backend's figures."""
    result = figures["result"]
    seconds = result.seconds
    print(f"\n== {backend}: {count:,} tickets ==")
    print(f"bulk insert (child process):     {figures['populate_seconds']:8.1f} s")
    print(f"claim query, 500 due rows:       {figures['queries']['claim']:8.2f} ms (median of 20)")
    print(f"next-due query (min):            {figures['queries']['next_due']:8.2f} ms")
    print(f"  plain SQL, by the index:       {figures['queries']['next_due_raw']:8.2f} ms")
    print(
        f"  baseline, plain SQL by scan:   {figures['queries']['next_due_scan']:8.2f} ms "
        "(index bypassed, same run)"
    )
    print(f"claim query, nothing due:        {figures['idle_queries']['claim']:8.2f} ms")
    print(
        f"sweep pass:                      {seconds:8.1f} s for {result.tickets:,} tickets, "
        f"{result.notices:,} notices"
    )
    print(f"  per 1,000 notices:             {seconds / result.notices * 1000:8.3f} s")
    print(f"  tickets per second:            {result.tickets / seconds:8,.0f}")
    print(f"idle pass (nothing due):         {figures['idle'].seconds * 1000:8.1f} ms")
    print(
        f"peak RSS during the pass:        {figures['peak_mb']:8.1f} MB "
        f"(before it: {figures['baseline_mb']:.1f} MB)"
    )
    print(f"summary: {result}")
    print("plan of the claim query (500 rows) and the next-due query:")
    for line in figures["plan"]:
        print(f"  {line}")


async def with_pg_database(admin_url: str, run: Any) -> Any:
    """Run `run(url)` in a fresh PostgreSQL database, dropped afterwards."""
    name = f"hotline_bench_{os.getpid()}"
    dsn = admin_url.replace("postgresql+asyncpg://", "postgresql://")
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    try:
        return await run(admin_url.rsplit("/", 1)[0] + "/" + name)
    finally:
        admin = await asyncpg.connect(dsn)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    """Measure the chosen backends."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--due", type=float, default=0.1, help="share of tickets due")
    parser.add_argument("--batch", type=int, default=500, help="tickets per sweeper batch")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--populate", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.populate:
        url: str = args.populate
        if url.startswith("sqlite"):
            populate_sqlite(url.split("///", 1)[1], args.tickets, args.due)
        else:
            asyncio.run(populate_postgresql(url, args.tickets, args.due))
        return

    if args.backend == "both":
        # One process per backend, so that each peak-memory figure is its own.
        for backend in ("sqlite", "postgresql"):
            command = [
                sys.executable,
                __file__,
                f"--tickets={args.tickets}",
                f"--due={args.due}",
                f"--batch={args.batch}",
                f"--pg-url={args.pg_url}",
                f"--backend={backend}",
            ]
            subprocess.run(command, check=True)
        return
    print(
        f"sweeper benchmark: {args.tickets:,} tickets, {args.due:.0%} due, batches of "
        f"{args.batch}, as of {NOW.isoformat()}"
    )
    if args.backend == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            url = f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
            figures = asyncio.run(measure(url, args.tickets, args.due, args.batch))
            report("SQLite", args.tickets, figures)
    else:

        async def run_pg(pg_url: str) -> dict[str, Any]:
            return await measure(pg_url, args.tickets, args.due, args.batch)

        figures = asyncio.run(with_pg_database(args.pg_url, run_pg))
        report("PostgreSQL", args.tickets, figures)


if __name__ == "__main__":
    main()
