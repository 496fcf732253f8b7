"""Engine and unit of work for SQLite (embedded) and PostgreSQL (to scale out)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import event, make_url, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.sqlite_inline import inline_connector

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")


class Database:
    """One engine and the unit-of-work helper every caller goes through."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        path = make_url(url).database if self.is_sqlite else None
        if self.is_sqlite and path and path != ":memory:":
            kwargs["async_creator"] = inline_connector(path, timeout=30)
        elif self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs.update(pool_size=10, max_overflow=10)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        self._sqlite_path = str(Path(path).resolve()) if self.is_sqlite and path else None
        # the file, for what lives beside it (None for PostgreSQL or in memory)
        self.sqlite_path = self._sqlite_path if path and path != ":memory:" else None
        self._autocommit: AsyncEngine | None = None
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        else:
            _ping_when_idle(self.engine)
            self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """Run the block in one transaction: commit on success, roll back on error."""
        async with contextlib.AsyncExitStack() as stack:
            if self._sqlite_path is not None:
                await stack.enter_async_context(_sqlite_writer(self._sqlite_path))
            session = await stack.enter_async_context(
                AsyncSession(self.engine, expire_on_commit=False)
            )
            await stack.enter_async_context(session.begin())
            yield session

    @asynccontextmanager
    async def statement(self) -> AsyncIterator[AsyncSession]:
        """Run one statement, which is its own transaction (committed when it returns).

        On PostgreSQL without the BEGIN and COMMIT round trips a transaction costs, which
        were two thirds of a sent mark's; SQLite queues it with the other writers as a
        transaction. Only for a block of one statement: more would not be atomic.
        """
        if self._autocommit is None:
            async with self.transaction() as session:
                yield session
            return
        async with AsyncSession(self._autocommit, expire_on_commit=False) as session:
            yield session

    async def ping(self) -> None:
        """Run a trivial query; raise if the database does not answer."""
        async with self.transaction() as session:
            await session.execute(text("SELECT 1"))

    async def upgrade(self) -> None:
        """Bring the schema to the newest migration (creates an empty database's tables)."""
        async with contextlib.AsyncExitStack() as stack:
            if self._sqlite_path is not None:
                # Queued with this process's writers: the inline driver must not wait for
                # the file's lock inside the event loop.
                await stack.enter_async_context(_sqlite_writer(self._sqlite_path))
            connection = await stack.enter_async_context(self.engine.begin())
            await serialise_startup(connection)
            await connection.run_sync(_upgrade_with)

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def advisory_key(name: str) -> int:
    """A stable signed 64-bit number naming `name` among PostgreSQL's advisory locks."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


STARTUP_LOCK = advisory_key("hotline-startup")  # migrations and the directory sync


async def serialise_startup(executor: AsyncConnection | AsyncSession) -> None:
    """Hold the start-up lock until the transaction ends, on PostgreSQL.

    Instances started together then migrate and sync the directory one after the other,
    instead of inserting the same rows at once; SQLite's writer lock already does this.
    """
    bind = executor.bind if isinstance(executor, AsyncSession) else executor
    if bind is None or bind.dialect.name != "postgresql":
        return
    await executor.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": STARTUP_LOCK})


# SQLite has one writer and every transaction here takes the write lock at BEGIN. Queueing
# this process's transactions on one file (FIFO, no sleeping) beats SQLite's busy handler,
# which retries a locked BEGIN after sleeps of up to 100 ms, and keeps the inline driver from
# ever waiting for a lock inside the event loop; other processes still meet the busy handler.
_WRITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def _sqlite_writer(path: str) -> asyncio.Lock:
    """The running loop's lock for one SQLite file, shared by every `Database` on it."""
    locks = _WRITERS.setdefault(asyncio.get_running_loop(), {})
    return locks.setdefault(path, asyncio.Lock())


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL for readers beside the writer; BEGIN IMMEDIATE so read-then-write never loses updates.

    pysqlite's own transaction handling begins lazily (at the first write), which lets two
    transactions read the same row and both write it; taking the write lock at BEGIN prevents it.
    """
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


# A pooled connection unused for this long is pinged before it is handed out.
IDLE_BEFORE_PING = 5.0


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Ping a pooled connection before use only when it sat idle (a server restart meanwhile).

    SQLAlchemy's `pool_pre_ping` pings at every checkout: a round trip that cost a third of a
    short transaction's CPU under load, when connections go back and forth every millisecond
    and a dead one is met at once anyway (the pool is then invalidated and the work retried).
    """
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < IDLE_BEFORE_PING:
            return
        try:
            sync_engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool discards this connection and checks out another (a fresh one).
            raise DisconnectionError(str(exc)) from exc


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    """Return the Alembic configuration of the bundled migrations."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _upgrade_with(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")
