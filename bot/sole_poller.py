"""One poller per channel among many instances: poll while holding the lock, else stand by."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from storage.poller_lock import CONNECTION_ERRORS, PollerLock

log = logging.getLogger(__name__)
Poll = Callable[[asyncio.Event], Awaitable[None]]
T = TypeVar("T")
# A standing-by instance asks for the lock this often: the longest a channel goes unpolled
# after its poller dies.
STANDBY_SECONDS = 2.0
# How often the poller checks its lock's database session is still alive (a restarted
# PostgreSQL drops it, and then another instance may already be polling).
CHECK_SECONDS = 5.0


class SolePoller:
    """Runs `poll` while this instance holds the channel's poller lock.

    `poll(until)` must return soon after `until` is set, with what it fetched handled and
    acknowledged. When the lock is lost, polling stops and the instance stands by again.
    """

    def __init__(
        self,
        lock: PollerLock,
        poll: Poll,
        *,
        standby_seconds: float = STANDBY_SECONDS,
        check_seconds: float = CHECK_SECONDS,
    ) -> None:
        self.lock = lock
        self.poll = poll
        self.standby_seconds = standby_seconds
        self.check_seconds = check_seconds
        self.polling = False

    async def run(self, stop: asyncio.Event) -> None:
        """Take turns with the other instances until `stop`; let go of the lock on the way out."""
        channel = self.lock.channel
        standing_by = False
        try:
            while not stop.is_set():
                if not await self._try_acquire():
                    if not standing_by:
                        log.info("%s: another instance polls; this one stands by", channel)
                        standing_by = True
                    await wait_until(stop, self.standby_seconds)
                    continue
                standing_by = False
                log.info("%s: this instance polls", channel)
                if not await self._poll_while_held(stop):
                    log.warning("%s: lost the poller lock; standing by", channel)
        finally:
            self.polling = False
            with contextlib.suppress(*CONNECTION_ERRORS):
                await self.lock.release()

    async def _try_acquire(self) -> bool:
        try:
            return await self.lock.try_acquire()
        except CONNECTION_ERRORS as exc:
            log.warning(
                "%s: cannot reach the database for the poller lock: %s", self.lock.channel, exc
            )
            return False

    async def _poll_while_held(self, stop: asyncio.Event) -> bool:
        """Poll until `stop` or the lock is lost; return False if it was lost."""
        until = asyncio.Event()
        watch = asyncio.create_task(
            self._watch(stop, until), name=f"{self.lock.channel}-poller-lock"
        )
        self.polling = True
        try:
            await self.poll(until)
        finally:
            self.polling = False
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
        return self.lock.held

    async def _watch(self, stop: asyncio.Event, until: asyncio.Event) -> None:
        """Set `until` at `stop`, or once the lock's session is gone."""
        while not await wait_until(stop, self.check_seconds):
            if not await self.lock.still_held():
                break
        until.set()


async def wait_until(event: asyncio.Event, seconds: float) -> bool:
    """Wait up to `seconds` for `event`; return whether it is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout=seconds)
    return event.is_set()


async def unless_set(
    event: asyncio.Event, call: Awaitable[T], quiet: tuple[type[BaseException], ...] = ()
) -> T | None:
    """Await `call` (a long poll), or hang it up as soon as `event` is set: then None.

    What the call hung up raises (`quiet`) is of no interest any more.
    """
    fetch = asyncio.ensure_future(call)
    stopped = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({fetch, stopped}, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        fetch.cancel()
        raise
    finally:
        stopped.cancel()
    if fetch.done():
        return fetch.result()
    fetch.cancel()
    with contextlib.suppress(asyncio.CancelledError, *quiet):
        await fetch
    return None
