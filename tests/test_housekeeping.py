"""The sweeper forgets bookkeeping that no rule needs any more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.config import Config
from bot.sweeper import sweep_once
from storage.db import Database
from storage.dialogs import mark_update_processed
from storage.models import LookupAttempt, ProcessedUpdate

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


async def test_sweep_forgets_old_updates_and_lookups_but_keeps_recent_ones(
    db: Database, config: Config
) -> None:
    async with db.transaction() as session:
        await mark_update_processed(
            session=session, channel="telegram", update_id="old", now=NOW - timedelta(days=4)
        )
        await mark_update_processed(
            session=session, channel="telegram", update_id="new", now=NOW - timedelta(hours=20)
        )
        for age, outcome in ((timedelta(days=2), "wrong_last4"), (timedelta(hours=2), "found")):
            session.add(
                LookupAttempt(
                    channel="telegram", user_id="1", code="X", outcome=outcome, at=NOW - age
                )
            )
    await sweep_once(db=db, config=config, now=NOW)
    async with db.transaction() as session:
        updates = [u.update_id for u in (await session.exec(select(ProcessedUpdate))).all()]
        lookups = [a.outcome for a in (await session.exec(select(LookupAttempt))).all()]
    assert updates == ["new"]
    assert lookups == ["found"]
    async with db.transaction() as session:
        # a redelivery inside the window is still recognised
        assert not await mark_update_processed(
            session=session, channel="telegram", update_id="new", now=NOW
        )
