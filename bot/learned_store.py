"""The province's learned phrases, read from the database into a running classifier.

Every instance (the bot, `hotline classify`) adds the learned rows on top of the shipped
weights. A running bot checks the version stamp at most every `ttl` seconds, on the next
message, and swaps the learned model in one assignment, so no restart is needed.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.learned import LearnedModel, LearnedRow
from bot.domain.triage import Classifier
from storage.learned import learned_weights, learning_version

__all__ = ["LearnedRefresher", "load_rows"]

log = logging.getLogger(__name__)
REFRESH_TTL = timedelta(seconds=30)


async def load_rows(session: AsyncSession) -> list[LearnedRow]:
    """Return every learned phrase as rows the learned model adds."""
    return list(map(LearnedRow._make, await learned_weights(session)))


class LearnedRefresher:
    """Keeps a classifier's learned model in step with the database's version stamp."""

    def __init__(self, classifier: Classifier, *, ttl: timedelta = REFRESH_TTL) -> None:
        self.classifier = classifier
        self.base: LearnedModel | None = classifier.learned
        self.ttl = ttl
        self.version = 0
        self.checked_at: datetime | None = None

    async def refresh(self, session: AsyncSession, now: datetime) -> bool:
        """Reload the learned rows if their version moved (checked once per ttl); say if so."""
        if self.base is None:
            return False
        if self.checked_at is not None and now - self.checked_at < self.ttl:
            return False
        self.checked_at = now
        version = await learning_version(session)
        if version == self.version:
            return False
        rows = await load_rows(session)
        self.classifier.learned = self.base.with_rows(rows)
        self.version = version
        log.info("learned triage phrases loaded: version %s, %s rows", version, len(rows))
        return True
