"""SQLite for SQLAlchemy's async engine without a thread per connection.

aiosqlite runs each connection in a thread of its own and hands every call over to it: a
cursor, an execute, a fetch, a close are each a trip through a queue and back through the event
loop. On this bot's hot path those trips cost more than SQLite's own work (measured with
`benchmarks/bench_load.py`: about 0.25 ms a trip, eight trips an update, on a contended
2-core machine). A local SQLite statement takes tens of microseconds, so running it in the
event loop's thread is cheaper than sending it away.

The objects here offer the part of aiosqlite's interface that SQLAlchemy's aiosqlite dialect
uses, and do the work at once with the standard `sqlite3` module. Waiting for a lock would
block the event loop, so `Database` queues this process's transactions before BEGIN
(`storage.db`); only another process holding the lock (a command-line import) can make a
statement wait, for SQLite's busy timeout at most.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any


class InlineCursor:
    """An aiosqlite-like cursor whose coroutines complete without suspending."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        """The columns of the last query (DB-API)."""
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        """Rows changed by the last statement (DB-API)."""
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        """The row id of the last inserted row (DB-API)."""
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        """Rows per fetchmany (DB-API)."""
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = None) -> InlineCursor:
        """Run one statement, then let other tasks have a turn."""
        self._cursor.execute(sql, () if parameters is None else parameters)
        # One pass of the event loop, as aiosqlite's hand-off gave: a long transaction (a
        # sweep) must not keep the loop from the intake and the senders until it commits.
        await asyncio.sleep(0)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        """Run one statement for each parameter set, then let other tasks have a turn."""
        self._cursor.executemany(sql, parameters)
        await asyncio.sleep(0)
        return self

    async def fetchone(self) -> Any:
        """The next row, or None."""
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        """Up to `size` more rows."""
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> Sequence[Any]:
        """The remaining rows."""
        return self._cursor.fetchall()

    async def close(self) -> None:
        """Close the cursor."""
        self._cursor.close()

    async def setinputsizes(self, *sizes: Any) -> None:
        """Accepted and ignored, as sqlite3 does."""


class _RunAtOnce:
    """Stands in for aiosqlite's request queue, which SQLAlchemy uses to set isolation_level."""

    def __init__(self) -> None:
        self.put_nowait = self._run

    @staticmethod
    def _run(item: tuple[Any, Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:  # handed to the awaiting caller, as aiosqlite does
            future.set_exception(exc)


class InlineConnection:
    """An aiosqlite-like connection running `sqlite3` in the calling thread."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._connection = connection  # SQLAlchemy checks it to tell an open connection
        self._tx = _RunAtOnce()

    @property
    def isolation_level(self) -> str | None:
        """sqlite3's transaction handling (None: the caller issues BEGIN itself)."""
        return self._conn.isolation_level

    def cursor(self) -> InlineCursor:
        """A new cursor (usable with `async with`, like aiosqlite's)."""
        return InlineCursor(self._conn.cursor())

    async def commit(self) -> None:
        """Commit the transaction."""
        self._conn.commit()

    async def rollback(self) -> None:
        """Roll the transaction back."""
        self._conn.rollback()

    async def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        """Register an SQL function (SQLAlchemy adds REGEXP)."""
        self._conn.create_function(*args, **kwargs)

    def stop(self) -> None:
        """Close at once (SQLAlchemy's forced termination)."""
        self._conn.close()


def inline_connector(path: str, *, timeout: float = 30.0) -> Callable[[], Any]:
    """An `async_creator` for `create_async_engine` opening `path` with `InlineConnection`."""

    async def connect() -> InlineConnection:
        # check_same_thread off: the pool may close a connection from the garbage collector.
        connection = sqlite3.connect(
            path, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        return InlineConnection(connection)

    return connect
