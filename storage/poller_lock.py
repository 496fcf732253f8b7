"""Which instance polls a channel: a lock its holder keeps until it lets go or dies.

The Bot API serves getUpdates to one caller at a time (a second call ends the first with 409
Conflict), and Zalo hands each update to whichever caller asks first, so of several
`hotline run` processes on one database exactly one polls each channel; the others stand by.

PostgreSQL: a session advisory lock on a connection kept for it, which the server frees when
that connection ends, a kill -9 of the holder included. SQLite: an exclusive `flock` on a file
beside the database, which the kernel frees when the holder's process ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import Database, advisory_key

log = logging.getLogger(__name__)
# What a lost database connection raises (a restarted server, a cut network).
CONNECTION_ERRORS = (DBAPIError, InterfaceError, OperationalError, OSError)
CHECK_TIMEOUT = 5.0  # seconds the lock's session has to answer a check


def poller_lock_key(channel: str) -> int:
    """The advisory lock number naming a channel's poller."""
    return advisory_key(f"hotline-poller:{channel}")


class PollerLock:
    """The right to poll one channel, shared by every instance on the same database."""

    def __init__(self, db: Database, channel: str) -> None:
        self.db = db
        self.channel = channel
        self._connection: AsyncConnection | None = None
        self._file: int | None = None
        # Nothing to lock (an in-memory database, or no lock file could be made): this instance
        # is taken to be the only one.
        self._alone = db.is_sqlite and db.sqlite_path is None

    @property
    def held(self) -> bool:
        """Whether this instance took the lock (and has not let it go)."""
        return self._connection is not None or self._file is not None or self._alone

    async def try_acquire(self) -> bool:
        """Take the lock if no other instance holds it; return whether this instance does."""
        if self.held:
            return True
        if self.db.is_sqlite:
            return self._lock_file()
        connection = await self.db.engine.connect()
        try:
            # AUTOCOMMIT: the lock belongs to the session, and an open transaction kept for
            # hours would hold back PostgreSQL's vacuum.
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            result = await connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": poller_lock_key(self.channel)}
            )
            taken = bool(result.scalar())
        except BaseException:
            await connection.invalidate()
            await connection.close()
            raise
        if not taken:
            await connection.close()
            return False
        self._connection = connection
        return True

    async def still_held(self) -> bool:
        """Check the lock is still this instance's: false once its database session is gone."""
        if self._connection is None:
            return self.held
        try:
            # A server cut off without a reset answers nothing: that session is as good as gone.
            async with asyncio.timeout(CHECK_TIMEOUT):
                await self._connection.execute(text("SELECT 1"))
        except (TimeoutError, *CONNECTION_ERRORS) as exc:
            log.warning("the %s poller lock's connection is gone: %r", self.channel, exc)
            await self._drop_connection()
            return False
        return True

    async def release(self) -> None:
        """Let go of the lock, so a standing-by instance takes over at once."""
        if self._file is not None:
            os.close(self._file)  # closing the file releases its flock
            self._file = None
        if self._connection is None:
            return
        try:
            await self._connection.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": poller_lock_key(self.channel)}
            )
        except CONNECTION_ERRORS:
            await self._drop_connection()  # the server already let go with the session
            return
        await self._connection.close()
        self._connection = None

    def _lock_file(self) -> bool:
        path = f"{self.db.sqlite_path}.{self.channel}-poller.lock"
        try:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            # A folder this process may not write to: it is taken to be the only instance
            # rather than leave the channel unpolled.
            log.warning("cannot create %s (%s); polling without a poller lock", path, exc)
            self._alone = True
            return True
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            return False
        self._file = descriptor
        return True

    async def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        with contextlib.suppress(*CONNECTION_ERRORS):
            await connection.invalidate()
        with contextlib.suppress(*CONNECTION_ERRORS):
            await connection.close()
