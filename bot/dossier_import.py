"""Dossier imports end to end: read and validate a file, upsert it, queue subscribers' notices.

The rules (parsing, validation, what changed, who must be told) are `bot.domain.dossiers`;
this module wires them to the database and to `handlers/notices.py`, which words the notices,
and queues them in the import's transaction (DESIGN rule 7).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Config
from bot.domain.dossiers import ImportReport, read_rows, status_index, store_rows
from handlers.notices import render, status_names
from storage.db import Database
from storage.outbox import enqueue

log = logging.getLogger(__name__)


def portal_status_names() -> dict[str, int]:
    """Return the index of the portal's status names in every language the bot speaks."""
    return status_index(status_names())


async def store_and_notify(
    *,
    session: AsyncSession,
    rows: Sequence[dict[str, Any]],
    config: Config,
    now: datetime,
    report: ImportReport,
) -> None:
    """Upsert validated rows and queue their subscribers' notices, in the caller's transaction."""
    notices = await store_rows(session=session, rows=rows, config=config, now=now, report=report)
    for reply in render(config, notices):
        if await enqueue(
            session=session,
            channel=reply.channel or "",
            chat_id=reply.chat_id or "",
            payload=reply.to_payload(),
            now=now,
            idempotency_key=reply.idempotency_key,
        ):
            report.notices += 1


async def import_dossiers(
    path: Path, *, db: Database, config: Config, now: datetime
) -> ImportReport:
    """Upsert the valid dossiers of a CSV or JSON Lines file in one transaction; report the rest.

    Raises DossierImportError when the file as a whole cannot be read.
    """
    valid, rejected, ignored = read_rows(path, config=config, status_names=portal_status_names())
    report = ImportReport(rejected=rejected, ignored_columns=ignored)
    if valid:
        async with db.transaction() as session:
            await store_and_notify(
                session=session, rows=valid, config=config, now=now, report=report
            )
    log.info(
        "imported %s: %s new, %s updated, %s unchanged, %s rejected, %s notices",
        path,
        report.inserted,
        report.updated,
        report.unchanged,
        len(report.rejected),
        report.notices,
    )
    return report
