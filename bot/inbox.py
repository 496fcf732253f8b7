"""The one brain: every channel hands its `Incoming` here; replies go to the outbox."""

from __future__ import annotations

import copy
import dataclasses
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from bot.chat import Incoming, Reply
from bot.config import Config
from bot.domain.triage import Classifier
from bot.learned_store import LearnedRefresher
from handlers.context import Context
from handlers.messages import language_of
from handlers.router import role_of, route
from storage import outbox as outbox_store
from storage.db import Database
from storage.dialogs import load_dialog, mark_update_processed, save_dialog

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

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """Process the update once; return the replies queued (empty for a redelivery)."""
        role, agency_id = role_of(self.config, incoming)
        msg = dataclasses.replace(incoming, role=role, agency_id=agency_id)
        now = self.clock()
        async with self.db.transaction() as session:
            fresh = await mark_update_processed(
                session=session, channel=msg.channel, update_id=msg.update_id, now=now
            )
            if not fresh:
                log.info("ignored a redelivered update %s on %s", msg.update_id, msg.channel)
                return []
            if self.learned is not None:
                await self.learned.refresh(session, now)
            dialog = await load_dialog(session=session, channel=msg.channel, chat_id=msg.chat_id)
            if dialog.updated_at is None:
                dialog.language = language_of(msg.language_code)
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
            replies = await route(ctx, msg)
            dialog.language = ctx.lang
            await save_dialog(
                session=session, dialog=dialog, state=ctx.state, data=ctx.data, now=now
            )
            for reply in replies:
                await outbox_store.enqueue(
                    session=session,
                    channel=reply.channel or msg.channel,
                    chat_id=reply.chat_id or msg.chat_id,
                    payload=reply.to_payload(),
                    now=now,
                    idempotency_key=reply.idempotency_key,
                    ticket_id=reply.ticket_id,
                )
        if replies:
            self.on_queued()
        return replies
