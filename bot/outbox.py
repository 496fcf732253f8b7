"""Durable delivery: claim queued messages, send them through their channel, retry with backoff."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.chat import Reply
from bot.metrics import Metrics
from storage import files as file_store
from storage import outbox as outbox_store
from storage import tickets as ticket_store
from storage.db import Database
from storage.models import OutboxStatus
from storage.outbox import ClaimedMessage

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """A send that did not go through, and what to do about it."""

    def __init__(
        self,
        reason: str,
        *,
        retry_after: float | None = None,
        blocked: bool = False,
        permanent: bool = False,
        held: bool = False,
    ) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.blocked = blocked
        self.permanent = permanent
        # Zalo OA (issue 11): outside the reply window; kept until the chat opens it again.
        self.held = held


class Sender(Protocol):
    """One channel's way to deliver a Reply to a chat; returns the sent message's id."""

    async def deliver(self, chat_id: str, reply: Reply) -> str | None: ...


def outbox_rows(
    replies: Sequence[Reply], *, channel: str = "", chat_id: str = ""
) -> list[dict[str, Any]]:
    """Turn replies into outbox rows; a reply without a target goes to `channel`/`chat_id`."""
    return [
        {
            "channel": reply.channel or channel,
            "chat_id": reply.chat_id or chat_id,
            "payload": reply.to_payload(),
            "idempotency_key": reply.idempotency_key,
            "ticket_id": reply.ticket_id,
        }
        for reply in replies
    ]


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff for network errors: 2, 4, 8 … seconds, at most five minutes."""
    return float(min(2 ** max(attempt, 1), 300))


class OutboxWorker:
    """Delivers the outbox. Several workers (in several processes) may run at once.

    A pass claims what is due, then sends to different chats at once (at most `concurrency`
    messages on the wire) while each chat's messages go one after another, in order. Sent
    marks are committed in groups, and a send's slot is held until its mark is committed, so
    a crash can resend at most `concurrency` messages: the ones on the wire at that instant.
    """

    def __init__(
        self,
        *,
        db: Database,
        senders: dict[str, Sender],
        clock: Callable[[], datetime],
        lease: timedelta = timedelta(seconds=120),
        batch: int = 200,
        concurrency: int = 16,
        max_attempts: int = 10,
        idle_poll: float = 2.0,
        on_held: Callable[[AsyncSession, ClaimedMessage, datetime], Awaitable[None]] | None = None,
    ) -> None:
        self.db = db
        self.senders = senders
        self.clock = clock
        self.lease = lease
        self.batch = batch
        self.max_attempts = max_attempts
        self.idle_poll = idle_poll
        self.metrics: Metrics | None = None  # set by the app (bot/metrics.py)
        self.on_held = on_held  # records a held message on its ticket (Zalo OA, issue 11)
        self._wakeup = asyncio.Event()
        self._slots = asyncio.Semaphore(concurrency)
        self._claimed: set[int] = set()
        self._marks: list[tuple[int, str | None, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._stopping = False
        self._marks_failed = False
        self.idle = asyncio.Event()  # set while waiting for work (tests wait on it)

    def wake(self) -> None:
        """Tell the worker that something was queued."""
        self._wakeup.set()

    async def run_once(self) -> int:
        """Deliver what is due now; return how many messages were sent."""
        async with self.db.transaction() as session:
            rows = await outbox_store.claim_due(
                session=session, now=self.clock(), limit=self.batch, lease=self.lease
            )
        if not rows:
            return 0
        self._marks_failed = False
        by_chat: dict[tuple[str, str], list[ClaimedMessage]] = {}
        for row in rows:
            self._claimed.add(row.id)
            by_chat.setdefault((row.channel, row.chat_id), []).append(row)
        results = await asyncio.gather(
            *(self._deliver_chat(chat_rows) for chat_rows in by_chat.values()),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return sum(result for result in results if isinstance(result, int))

    async def _deliver_chat(self, rows: list[ClaimedMessage]) -> int:
        """Send one chat's claimed messages in order; a failure holds back the rest."""
        sent = 0
        for index, row in enumerate(rows):
            async with self._slots:
                # Checked once a slot is ours: many chats wait for one at the same time.
                if self._stopping or self._marks_failed:
                    # Left claimed: released when the worker stops, else taken again after
                    # the lease. Sending on while marks cannot be stored would resend them all.
                    return sent
                outcome = await self._deliver(row)
            if isinstance(outcome, datetime):
                # Keep a chat's messages in order: wait behind the one that must be retried.
                for later in rows[index + 1 :]:
                    await self._retry(later.id, outcome, "waiting behind an earlier message")
                return sent
            sent += outcome
        return sent

    async def _deliver(self, row: ClaimedMessage) -> bool | datetime:
        """Send one message and record it: sent, given up, or when the chat may go on."""
        sender = self.senders.get(row.channel)
        if sender is None:
            await self._final(row.id, OutboxStatus.FAILED, f"no sender for {row.channel}")
            return False
        reply = await self._with_stored_files(Reply.from_payload(row.payload))
        if reply is None:
            await self._final(row.id, OutboxStatus.FAILED, "a stored file is missing")
            return False
        try:
            message_id = await sender.deliver(row.chat_id, reply)
        except DeliveryError as exc:
            return await self._failed(row, exc)
        await self._mark_sent(row.id, message_id)
        if self.metrics is not None:
            self.metrics.sent.labels(row.channel).inc()
        return True

    async def _mark_sent(self, outbox_id: int, message_id: str | None) -> None:
        """Queue the sent mark for the next group commit and wait until it is committed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._marks.append((outbox_id, message_id, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_marks(), name="outbox-marks")
        await done

    async def _flush_marks(self) -> None:
        """Commit the queued sent marks, all that gathered meanwhile in one transaction."""
        while self._marks:
            batch, self._marks = self._marks, []
            try:
                async with self.db.statement() as session:
                    await outbox_store.mark_sent_many(
                        session=session,
                        sent=[(outbox_id, message_id) for outbox_id, message_id, _ in batch],
                        now=self.clock(),
                    )
            except Exception as exc:
                self._marks_failed = True
                for _, _, done in batch:
                    done.set_exception(exc)
                continue
            for outbox_id, _, done in batch:
                self._claimed.discard(outbox_id)
                done.set_result(None)

    async def _with_stored_files(self, reply: Reply) -> Reply | None:
        """Load the bytes of the files the bot generated; None if one is gone."""
        wanted = [a.stored_file for a in reply.attachments if a.stored_file is not None]
        if not wanted:
            return reply
        async with self.db.transaction() as session:
            stored = await file_store.load_files(session=session, ids=wanted)
        if any(file_id not in stored for file_id in wanted):
            return None
        attachments = tuple(
            a
            if a.stored_file is None
            else dataclasses.replace(a, content=stored[a.stored_file].data)
            for a in reply.attachments
        )
        return dataclasses.replace(reply, attachments=attachments)

    async def _failed(self, row: ClaimedMessage, exc: DeliveryError) -> datetime:
        """Record a failed send; return when the chat's next message may be tried."""
        now = self.clock()
        outbox_id, attempts = row.id, row.attempts
        if self.metrics is not None:
            self.metrics.count_failure(row.channel, exc, final=attempts >= self.max_attempts)
        if exc.blocked:
            log.info("chat blocked the bot; outbox %s not delivered", outbox_id)
            async with self.db.transaction() as session:
                await outbox_store.mark_final(
                    session=session,
                    outbox_id=outbox_id,
                    status=OutboxStatus.BLOCKED,
                    error=str(exc),
                )
                if row.ticket_id is not None:
                    await ticket_store.mark_reporter_unreachable(
                        session=session,
                        ticket_id=row.ticket_id,
                        channel=row.channel,
                        chat_id=row.chat_id,
                        now=now,
                        reason=str(exc),
                    )
            return now
        if exc.held:
            log.info("outbox %s held: %s", outbox_id, exc)
            async with self.db.transaction() as session:
                await outbox_store.mark_final(
                    session=session,
                    outbox_id=outbox_id,
                    status=OutboxStatus.OUTSIDE_WINDOW,
                    error=str(exc),
                )
                if self.on_held is not None:
                    await self.on_held(session, row, now)
            return now
        if exc.permanent or attempts >= self.max_attempts:
            log.warning("giving up on outbox %s after %s attempts: %s", outbox_id, attempts, exc)
            await self._final(outbox_id, OutboxStatus.FAILED, str(exc))
            return now
        delay = exc.retry_after if exc.retry_after is not None else backoff_seconds(attempts)
        log.info("outbox %s will be retried in %.1f s: %s", outbox_id, delay, exc)
        retry_at = now + timedelta(seconds=delay)
        await self._retry(outbox_id, retry_at, str(exc))
        return retry_at

    async def _retry(self, outbox_id: int, at: datetime, error: str) -> None:
        async with self.db.transaction() as session:
            await outbox_store.mark_retry(
                session=session, outbox_id=outbox_id, available_at=at, error=error
            )
        self._claimed.discard(outbox_id)

    async def _final(self, outbox_id: int, status: OutboxStatus, error: str) -> None:
        async with self.db.transaction() as session:
            await outbox_store.mark_final(
                session=session, outbox_id=outbox_id, status=status, error=error
            )
        self._claimed.discard(outbox_id)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set, waking on `wake()` or when the next message is due.

        On stop, the sends on the wire finish and are recorded; claims not yet sent are
        given back, so another instance (or the next start) sends them without waiting.
        """
        try:
            while not stop.is_set():
                # Cleared before the pass, so a wake-up that arrives during it is not lost.
                self._wakeup.clear()
                try:
                    while not stop.is_set() and await self.run_once():
                        pass
                    timeout = await self._seconds_until_next()
                except Exception:
                    log.exception("outbox delivery pass failed; retrying shortly")
                    timeout = self.idle_poll
                if stop.is_set():
                    break
                self.idle.set()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), timeout=timeout)
                self.idle.clear()
        finally:
            await self._release_claims()

    def stop_sending(self) -> None:
        """Start no new send (the ones on the wire finish); `run` then returns."""
        self._stopping = True
        self._wakeup.set()

    async def _release_claims(self) -> None:
        if self._flusher is not None:
            with contextlib.suppress(Exception):
                await self._flusher
        claimed = sorted(self._claimed)
        if not claimed:
            return
        try:
            async with self.db.transaction() as session:
                released = await outbox_store.release_claims(
                    session=session, outbox_ids=claimed, now=self.clock()
                )
        except Exception as exc:  # the lease gives them back anyway
            log.warning("could not release %s outbox claims: %s", len(claimed), exc)
            return
        self._claimed.clear()
        log.info("released %s outbox claims", released)

    async def _seconds_until_next(self) -> float:
        async with self.db.statement() as session:
            at = await outbox_store.next_available_at(session=session)
        if at is None:
            return self.idle_poll
        return max(0.0, min((at - self.clock()).total_seconds(), self.idle_poll))
