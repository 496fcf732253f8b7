"""The one brain: every channel hands its `Incoming` here; replies go to the outbox."""

from __future__ import annotations

import copy
import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.chat import Incoming, Reply
from bot.config import Config
from bot.domain.triage import Classifier
from bot.learned_store import LearnedRefresher
from bot.metrics import Metrics
from bot.outbox import outbox_rows
from handlers.context import Context
from handlers.messages import language_of
from handlers.router import read_ahead, role_of, route
from storage import outbox as outbox_store
from storage.db import Database
from storage.dialogs import (
    Dialog,
    load_dialogs,
    lock_chats,
    mark_updates_processed,
    save_dialogs,
)

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Return the current instant, aware, in UTC."""
    return datetime.now(UTC)


class Inbox:
    """Handle one incoming update in one transaction: dedupe, dialog, handler, outbox."""

    def __init__(
        self,
        *,
        db: Database,
        config: Config,
        classifier: Classifier,
        clock: Clock = system_clock,
        on_queued: Callable[[], None] = lambda: None,
        learned: LearnedRefresher | None = None,
    ) -> None:
        self.learned = learned  # the province's learned phrases (issue 7)
        self.db = db
        self.config = config
        self.classifier = classifier
        self.clock = clock
        self.on_queued = on_queued
        self.metrics: Metrics | None = None  # set by the app (bot/metrics.py)

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """Process the update once; return the replies queued (empty for a redelivery)."""
        async with self.db.transaction() as session:
            (replies,) = await self._process(session, [self._with_role(incoming)])
        if replies:
            self.on_queued()
        return replies

    async def handle_batch(self, batch: Sequence[Incoming]) -> list[list[Reply]]:
        """Process updates in order in one transaction (group commit); replies per update.

        One commit for the batch instead of one per update, and the bookkeeping of all its
        updates (processed marks, dialogs, outbox rows) in a few statements. If anything in
        the batch fails, it is rolled back and its updates are handled one by one, so one bad
        update costs only itself (logged, no replies) and never the others.
        """
        if not batch:
            return []
        messages = [self._with_role(incoming) for incoming in batch]
        try:
            async with self.db.transaction() as session:
                results = await self._process(session, messages)
        except Exception:
            if len(batch) == 1:
                raise
            log.warning("a batch of %s updates failed; handling them one by one", len(batch))
            results = [await self._handle_alone(incoming) for incoming in batch]
        if any(results):
            self.on_queued()
        return results

    async def _handle_alone(self, incoming: Incoming) -> list[Reply]:
        """Handle one update; an update that fails while the database answers is skipped."""
        try:
            return await self.handle(incoming)
        except Exception:
            try:
                await self.db.ping()
            except Exception:
                # The database is away: raise, so the update is fetched again, not dropped.
                log.warning("database unavailable while handling update %s", incoming.update_id)
                raise
            log.exception("update %s on %s failed", incoming.update_id, incoming.channel)
            if self.metrics is not None:
                self.metrics.updates.labels(incoming.channel, "failed").inc()
            return []

    def _with_role(self, incoming: Incoming) -> Incoming:
        role, agency_id = role_of(self.config, incoming)
        return dataclasses.replace(incoming, role=role, agency_id=agency_id)

    async def _process(self, session: AsyncSession, messages: list[Incoming]) -> list[list[Reply]]:
        """Dedupe, run each handler in order on its chat's dialog, then store it all."""
        now = self.clock()
        if self.learned is not None:
            await self.learned.refresh(session, now)
        chats = {(msg.channel, msg.chat_id) for msg in messages}
        await lock_chats(session=session, chats=chats)
        fresh = await mark_updates_processed(
            session=session, updates=[(msg.channel, msg.update_id) for msg in messages], now=now
        )
        dialogs = await load_dialogs(session=session, chats=chats)
        await read_ahead(session, self.config, messages, now)
        changed: dict[tuple[str, str], Dialog] = {}
        queued: list[dict[str, Any]] = []
        results: list[list[Reply]] = []
        for msg in messages:
            key = (msg.channel, msg.update_id)
            if msg.update_id and key not in fresh:
                log.info("ignored a redelivered update %s on %s", msg.update_id, msg.channel)
                if self.metrics is not None:
                    self.metrics.updates.labels(msg.channel, "duplicate").inc()
                results.append([])
                continue
            fresh.discard(key)  # the same update twice in one batch: the second is a twin
            chat = (msg.channel, msg.chat_id)
            dialog = dialogs.get(chat) or Dialog(language=language_of(msg.language_code))
            ctx = Context(
                session=session,
                config=self.config,
                classifier=self.classifier,
                now=now,
                lang=dialog.language or "vi",
                state=dialog.state,
                # A deep copy: a handler that mutates nested data must still look like a change.
                data=copy.deepcopy(dialog.data),
            )
            started = time.perf_counter()
            replies = await route(ctx, msg)
            if self.metrics is not None:
                self.metrics.handler_seconds.labels(msg.channel).observe(
                    time.perf_counter() - started
                )
                self.metrics.updates.labels(msg.channel, "handled").inc()
            dialogs[chat] = changed[chat] = Dialog(
                state=ctx.state, data=dict(ctx.data), language=ctx.lang, updated_at=now
            )
            queued.extend(outbox_rows(replies, channel=msg.channel, chat_id=msg.chat_id))
            results.append(replies)
        await save_dialogs(session=session, dialogs=changed, now=now)
        await outbox_store.enqueue_many(session=session, messages=queued, now=now)
        return results
