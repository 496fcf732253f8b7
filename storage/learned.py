"""Queries of triage learning: the taught examples, the learned phrases and their version stamp."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.learned_read import QUERY, weights_of
from storage.models import LearnedPhrase, LearningState, Ticket, TicketEvent, TriageExample

__all__ = [
    "Outcome",
    "StoredExample",
    "add_examples",
    "examples",
    "examples_since",
    "forget_phrase",
    "learned_at",
    "learned_phrases",
    "learning_version",
    "new_outcomes",
    "replace_phrases",
]


@dataclass(frozen=True, slots=True)
class StoredExample:
    """A taught example as fitting reads it."""

    text: str
    category: str
    agency: str | None
    source: str
    ticket_id: int | None = None


async def add_examples(
    session: AsyncSession, found: Iterable[StoredExample], now: datetime
) -> int:
    """Store taught examples; return how many were added."""
    count = 0
    for example in found:
        session.add(
            TriageExample(
                text=example.text,
                category_id=example.category,
                agency_id=example.agency,
                source=example.source,
                ticket_id=example.ticket_id,
                created_at=now,
            )
        )
        count += 1
    await session.flush()
    return count


async def examples(session: AsyncSession) -> list[StoredExample]:
    """Return every taught example, oldest first."""
    rows = await session.exec(select(TriageExample).order_by(col(TriageExample.id)))
    return [StoredExample(r.text, r.category_id, r.agency_id, r.source, r.ticket_id) for r in rows]


async def _bump(session: AsyncSession, now: datetime) -> int:
    state = await session.get(LearningState, 1)
    if state is None:
        state = LearningState(id=1, version=0)
    state.version += 1
    state.learned_at = now
    session.add(state)
    await session.flush()
    return state.version


async def replace_phrases(
    session: AsyncSession, rows: Iterable[tuple[str, str, float, int]], now: datetime
) -> int:
    """Replace every learned phrase by (phrase, category, weight, tickets) rows; new version."""
    await session.exec(delete(LearnedPhrase))  # type: ignore[call-overload]
    for phrase, category, weight, tickets in rows:
        session.add(
            LearnedPhrase(
                phrase=phrase, category_id=category, weight=weight, tickets=tickets, updated_at=now
            )
        )
    await session.flush()
    return await _bump(session, now)


async def learned_phrases(
    session: AsyncSession, category: str | None = None
) -> Sequence[LearnedPhrase]:
    """Return the learned phrases (of one category), strongest first."""
    query = select(LearnedPhrase)
    if category is not None:
        query = query.where(LearnedPhrase.category_id == category)
    rows = await session.exec(query.order_by(col(LearnedPhrase.weight).desc()))
    return list(rows)


async def learned_weights(session: AsyncSession) -> list[tuple[str, str, float, int]]:
    """Return every learned weight as (phrase, category, weight, tickets), as plain values.

    What every instance loads at start and on each new version: tens of thousands of rows,
    which as ORM objects took over a second to read.
    """
    return weights_of(await session.execute(text(QUERY)))


async def forget_phrase(session: AsyncSession, phrase: str, now: datetime) -> int:
    """Remove a learned phrase for every category; return how many rows went."""
    found = list(await session.exec(select(LearnedPhrase).where(LearnedPhrase.phrase == phrase)))
    for row in found:
        await session.delete(row)
    if found:
        await session.flush()
        await _bump(session, now)
    return len(found)


async def learning_version(session: AsyncSession) -> int:
    """Return the version stamp of the learned phrases (0: nothing learned)."""
    state = await session.get(LearningState, 1)
    return state.version if state else 0


@dataclass(frozen=True, slots=True)
class Outcome:
    """A ticket event that teaches: resolved by an agency after the operators routed it, or
    returned by an agency."""

    ticket_id: int
    text: str
    category: str
    agency: str | None
    suggestions: list[Any]


async def new_outcomes(session: AsyncSession, kind: str, limit: int = 500) -> list[Outcome]:
    """Tickets with a `resolved` (after an operator's routing) or `returned` event that no
    example was taught from yet; for resolved ones, `agency` is the agency that resolved."""
    taught = select(TriageExample.ticket_id).where(
        TriageExample.source == kind, col(TriageExample.ticket_id).is_not(None)
    )
    query = (
        select(Ticket, TicketEvent)
        .join(TicketEvent, col(TicketEvent.ticket_id) == col(Ticket.id))
        .where(TicketEvent.kind == kind, col(Ticket.id).not_in(taught))
        .order_by(col(TicketEvent.id))
        .limit(limit)
    )
    if kind == "resolved":
        by_operator = select(TicketEvent.ticket_id).where(
            col(TicketEvent.kind).in_(("routed", "rerouted")),
            col(TicketEvent.actor).startswith("operator:"),
        )
        query = query.where(col(Ticket.id).in_(by_operator))
    found: dict[int, Outcome] = {}
    for ticket, event in await session.exec(query):
        assert ticket.id is not None
        agency: str | None = event.actor.removeprefix("agency:")
        if kind != "resolved":
            agency = str(event.data.get("agency") or "") or None
        found.setdefault(
            ticket.id,
            Outcome(ticket.id, ticket.text, ticket.category_id, agency, list(ticket.suggestions)),
        )
    return list(found.values())


async def learned_at(session: AsyncSession) -> datetime | None:
    """Return when the learned phrases were last refitted."""
    state = await session.get(LearningState, 1)
    return state.learned_at if state else None


async def examples_since(session: AsyncSession, when: datetime | None) -> int:
    """Count the examples taught after `when` (all of them when None)."""
    query = select(func.count()).select_from(TriageExample)
    if when is not None:
        query = query.where(col(TriageExample.created_at) > when)
    return int((await session.exec(query)).one())
