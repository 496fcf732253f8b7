"""The work lists at a million tickets: triage queue, an agency's open list, the overdue list.

Run from the repository root: ``.venv/bin/python benchmarks/bench_lists.py [--tickets N]
[--backends sqlite,postgres]`` (``make bench-lists``).

Fills a fresh database (SQLite in a temporary file; PostgreSQL: a database created and dropped
on the server at 127.0.0.1:5432) with N tickets shaped like a province's years of work (94 %
closed, 2 % resolved, the rest open: in triage, routed, accepted, waiting for the citizen, a
share of each overdue), then times the storage functions the bot's lists call, as the bot
calls them, and prints the plan of each statement with the indexes it uses.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from bot.config import load_config  # noqa: E402
from storage import tickets as ticket_store  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.directory import sync_directory  # noqa: E402

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGET_MS = 50.0
# (state, share of all tickets, share of those overdue)
SHAPE = (
    ("closed", 0.94, 0.0),
    ("resolved", 0.02, 0.0),
    ("triage", 0.005, 0.5),
    ("routed", 0.01, 0.3),
    ("accepted", 0.02, 0.3),
    ("waiting_citizen", 0.005, 0.2),
)
COLUMNS = (
    "id", "code", "channel", "chat_id", "user_id", "language", "reporter_name",
    "reporter_phone", "privacy", "text", "category_id", "agency_id", "confidence", "evidence",
    "suggestions", "track", "state", "returns_count", "passed_around", "deemed_accepted",
    "answer", "citizen_blocked", "created_at", "resolved_at", "paused_at", "triage_due_at",
    "resolve_due_at",
)  # fmt: skip


def ticket_rows(count: int, agencies: list[str], seed: int = 1022) -> list[tuple[Any, ...]]:
    """The tickets, as tuples in COLUMNS order (datetimes aware, UTC)."""
    rng = random.Random(seed)
    states = [state for state, share, _ in SHAPE for _ in range(max(int(share * 1000), 1))]
    overdue_share = {state: share for state, _, share in SHAPE}
    rows: list[tuple[Any, ...]] = []
    for number in range(1, count + 1):
        state = rng.choice(states)
        created = NOW - timedelta(minutes=rng.randrange(1, 60 * 24 * 365 * 3))
        late = rng.random() < overdue_share[state]
        due = (
            NOW - timedelta(hours=rng.randrange(1, 400))
            if late
            else NOW + timedelta(hours=rng.randrange(1, 400))
        )
        agency = None if state == "triage" else rng.choice(agencies)
        triage_due = due if state == "triage" else created + timedelta(hours=4)
        resolve_due = None if state == "triage" else due
        paused = NOW - timedelta(hours=1) if state == "waiting_citizen" else None
        resolved = created + timedelta(days=3) if state in ("closed", "resolved") else None
        rows.append(
            (
                number, f"PA-{created.year}-{number:07d}", "telegram",
                str(10_000 + number % 50_000), "", "vi", "", "", "agency", "phản ánh", "khac",
                agency, 0.8, "[]", "[]", "pakn",
                state, 0, False, False, "", False, created, resolved, paused, triage_due,
                resolve_due,
            )
        )  # fmt: skip
    return rows


def fill_sqlite(path: Path, rows: list[tuple[Any, ...]]) -> None:
    """Insert the rows with sqlite3 directly, datetimes as SQLAlchemy stores them."""

    def stored(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        return value

    connection = sqlite3.connect(path)
    with connection:
        marks = ", ".join("?" for _ in COLUMNS)
        connection.executemany(
            f"INSERT INTO ticket ({', '.join(COLUMNS)}) VALUES ({marks})",
            ([stored(v) for v in row] for row in rows),
        )
    connection.execute("ANALYZE")
    connection.close()


async def fill_postgres(url: str, rows: list[tuple[Any, ...]]) -> None:
    """Insert the rows with COPY, then VACUUM ANALYZE.

    VACUUM sets the visibility map, as autovacuum does on a live table (and soon after a bulk
    insert): without it every index-only read of a freshly copied table visits the heap.
    """
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.copy_records_to_table("ticket", records=rows, columns=list(COLUMNS))
        await connection.execute("VACUUM ANALYZE ticket")
    finally:
        await connection.close()


class Recorder:
    """Keeps the last statements the engine ran, to explain them."""

    def __init__(self, db: Database) -> None:
        self.statements: list[tuple[str, Any]] = []
        event.listen(db.engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        self.statements.append((statement, params))


async def explain(db: Database, statement: str, params: Any) -> list[str]:
    """The query plan of one statement."""
    prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "
    async with db.engine.connect() as connection:
        result = await connection.exec_driver_sql(prefix + statement, params)
        rows = result.fetchall()
    return [" ".join(str(part) for part in row[-1:]) for row in rows]


async def timed(call: Callable[[], Awaitable[Any]], runs: int) -> tuple[float, float]:
    """(median, max) milliseconds of `runs` calls, after one warm-up."""
    await call()
    seconds: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds) * 1000, max(seconds) * 1000


async def run_backend(name: str, count: int, runs: int, workdir: Path) -> None:
    """Fill one backend, time the lists, print figures and plans."""
    config = load_config(None, environ={})
    agencies = [agency.id for agency in config.agencies]
    pg_name = f"bench_lists_{os.getpid()}"
    if name == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / 'lists.db'}"
    else:
        import asyncpg

        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}"')
        await admin.execute(f'CREATE DATABASE "{pg_name}"')
        await admin.close()
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{pg_name}"
    db = Database(url)
    try:
        await db.upgrade()
        async with db.transaction() as session:
            await sync_directory(session=session, config=config)
        started = time.perf_counter()
        rows = ticket_rows(count, agencies)
        if name == "sqlite":
            await asyncio.to_thread(fill_sqlite, workdir / "lists.db", rows)
        else:
            await fill_postgres(url, rows)
        del rows
        print(f"\n{name}: {count:,} tickets loaded in {time.perf_counter() - started:.0f} s")
        async with db.transaction() as session:
            busiest = await ticket_store.count_overdue_by_agency(session=session, now=NOW)
        agency = max((a for a in busiest if a), key=lambda a: busiest[a])

        async def triage() -> Any:
            async with db.transaction() as session:
                return await ticket_store.list_triage_queue(session=session)

        async def agency_open() -> Any:
            async with db.transaction() as session:
                return await ticket_store.list_agency_work(
                    session=session, agency_id=agency, now=NOW
                )

        async def overdue() -> Any:
            # What /quahan in the operators' group reads: the page, then the counts by agency.
            async with db.transaction() as session:
                page = await ticket_store.list_overdue(session=session, now=NOW)
                await ticket_store.count_overdue_by_agency(session=session, now=NOW)
                return page

        recorder = Recorder(db)
        print(f"{'list':<40}{'total':>8}{'median ms':>11}{'max ms':>9}")
        slowest = 0.0
        for label, call in (
            ("operators' triage queue", triage),
            (f"agency open list ({agency})", agency_open),
            ("overdue list, counts by agency", overdue),
        ):
            page = await call()
            recorder.statements.clear()
            await call()
            statements = [s for s in recorder.statements if s[0].lstrip().startswith("SELECT")]
            median, worst = await timed(call, runs)
            print(f"{label:<40}{page.total:>8}{median:>11.1f}{worst:>9.1f}")
            slowest = max(slowest, median)
            for statement, params in statements:
                plan = await explain(db, statement, params)
                print(f"    {statement.split('FROM', 1)[0][:40].strip()} …")
                for line in plan:
                    if "INDEX" in line.upper() or "Scan" in line or "SCAN" in line:
                        print(f"      {line.strip()[:110]}")
        verdict = "met" if slowest <= TARGET_MS else "NOT met"
        print(f"target: each median ≤ {TARGET_MS:.0f} ms: {verdict} (slowest {slowest:.1f} ms)")
        print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    finally:
        await db.dispose()
        if name != "sqlite":
            import asyncpg

            admin = await asyncpg.connect(PG_ADMIN)
            await admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
            await admin.close()


async def main() -> None:
    """Run every backend in turn."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, shared with other work (figures vary with load)")
    with tempfile.TemporaryDirectory(prefix="bench-lists-") as tmp:
        for name in args.backends.split(","):
            await run_backend(name, args.tickets, args.runs, Path(tmp))


if __name__ == "__main__":
    asyncio.run(main())
