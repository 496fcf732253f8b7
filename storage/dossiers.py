"""Dossier queries: lookups, upserts for imports, lookup attempts, subscriptions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, delete, event, func, literal_column
from sqlalchemy import select as sa_select
from sqlalchemy.orm import Session
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Dossier, DossierSubscription, LookupAttempt
from storage.upsert import insert_for

# Keeps IN (...) lists and multi-row inserts well under both drivers' parameter limits.
CHUNK = 500

# Columns an import may write; `code` is the natural key.
DOSSIER_COLUMNS = (
    "code",
    "procedure",
    "agency_id",
    "applicant_name",
    "applicant_id",
    "phone",
    "officer",
    "received_at",
    "due_at",
    "status",
    "completed_at",
    "new_due_at",
    "apology_reason",
    "updated_at",
    "watch_at",
)


def _chunks(items: Sequence[str], size: int = CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# Built once: the lookup path runs these on every lookup, and building a statement cost
# as much as running it (benchmarks/bench_load.py).
_DOSSIER_BY_CODE = select(Dossier).where(Dossier.code == bindparam("code"))


async def get_dossier(*, session: AsyncSession, code: str) -> Dossier | None:
    """Return the dossier with this (normalised) code."""
    return (await session.exec(_DOSSIER_BY_CODE, params={"code": code})).first()


async def get_dossiers_for_update(
    *, session: AsyncSession, codes: Sequence[str]
) -> dict[str, Dossier]:
    """Return the existing dossiers among `codes`, row-locked until the transaction ends.

    The lock (PostgreSQL; SQLite holds the database write lock already) makes two concurrent
    imports of the same file see each other's changes, so a change is announced once.
    """
    found: dict[str, Dossier] = {}
    for chunk in _chunks(list(dict.fromkeys(codes))):
        query = select(Dossier).where(col(Dossier.code).in_(chunk)).with_for_update()
        for row in (await session.exec(query)).all():
            found[row.code] = row
    return found


async def upsert_dossiers(*, session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert new dossiers (a concurrent insert of the same code is overwritten, not an error)."""
    table: Any = Dossier.__table__  # type: ignore[attr-defined]
    for start in range(0, len(rows), CHUNK):
        chunk = [dict(row) for row in rows[start : start + CHUNK]]
        statement = insert_for(session, table)
        statement = statement.on_conflict_do_update(
            index_elements=["code"],
            set_={name: statement.excluded[name] for name in DOSSIER_COLUMNS if name != "code"},
        )
        await session.execute(statement, chunk)


async def save_dossier(*, session: AsyncSession, dossier: Dossier) -> None:
    """Stage changes to a dossier loaded in this session."""
    session.add(dossier)


async def set_watch_at(*, session: AsyncSession, dossier: Dossier, at: datetime | None) -> None:
    """Set when the dossier watch must next look at this dossier."""
    dossier.watch_at = at
    session.add(dossier)


async def list_watch_due(*, session: AsyncSession, now: datetime, limit: int) -> list[Dossier]:
    """Return dossiers whose watch instant has come, earliest first, row-locked (skip locked)."""
    query = (
        select(Dossier)
        .where(col(Dossier.watch_at).is_not(None), col(Dossier.watch_at) <= now)
        .order_by(col(Dossier.watch_at), col(Dossier.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.exec(query)).all())


# -- lookup attempts ------------------------------------------------------------------------


_READ_AHEAD = "hotline.lookups_read_ahead"  # session.info key of a `read_ahead`
_ATTEMPTS: Any = LookupAttempt.__table__  # type: ignore[attr-defined]
_INSERT_ATTEMPT = _ATTEMPTS.insert()
# A user's tries beside the dossier of one code, in one read: a lookup needs both. Both are
# joined to a one-row start, so the dossier comes back (or not) whether the user tried or not.
_ONE_ROW = sa_select(literal_column("1").label("one")).subquery("one")
_ATTEMPTS_WITH_DOSSIER = (
    sa_select(Dossier, _ATTEMPTS.c.code, _ATTEMPTS.c.outcome, _ATTEMPTS.c.at)
    .select_from(_ONE_ROW)
    .outerjoin(Dossier, col(Dossier.code) == bindparam("code"))
    .outerjoin(
        _ATTEMPTS,
        and_(
            _ATTEMPTS.c.channel == bindparam("channel"),
            _ATTEMPTS.c.user_id == bindparam("user_id"),
            _ATTEMPTS.c.at >= bindparam("since"),
            _ATTEMPTS.c.outcome != bindparam("skipped"),
        ),
    )
    .order_by(_ATTEMPTS.c.at, _ATTEMPTS.c.id)
)


class Attempt(NamedTuple):
    """One lookup or verification try of a user."""

    code: str
    outcome: str
    at: datetime


# Tries recorded in a transaction wait in its session's info and are written in one statement
# just before it commits: a lookup reads, then records, so a batch of lookups would otherwise
# cost a round trip more each. Reads of tries in the same transaction see them.
_PENDING = "hotline.pending_lookup_attempts"


def _pending(session: AsyncSession | Session) -> list[dict[str, Any]]:
    pending: list[dict[str, Any]] = session.info.setdefault(_PENDING, [])
    return pending


def _take_pending(session: AsyncSession | Session) -> list[dict[str, Any]]:
    """The tries waiting to be written, handed over once (the caller writes them)."""
    taken: list[dict[str, Any]] = session.info.pop(_PENDING, None) or []
    return taken


@event.listens_for(Session, "before_commit")
def _write_pending_attempts(session: Session) -> None:
    if rows := _take_pending(session):
        session.execute(_INSERT_ATTEMPT, rows)


async def record_attempt(
    *, session: AsyncSession, channel: str, user_id: str, code: str, outcome: str, at: datetime
) -> None:
    """Append one lookup or verification try (written when the transaction commits)."""
    row = {"channel": channel, "user_id": user_id, "code": code[:64], "outcome": outcome, "at": at}
    _pending(session).append(row)


@dataclass(frozen=True)
class _ReadAhead:
    """What `read_ahead` read for a transaction's lookups."""

    since: datetime
    skipped: str
    dossiers: dict[str, Dossier | None]
    tries: dict[tuple[str, str], list[Attempt]]  # (channel, user id) → tries, oldest first

    def answers(
        self, channel: str, user_id: str, code: str, since: datetime, skipped: str
    ) -> bool:
        """Whether one lookup's read (this user, this code, from `since` on) is in here."""
        return (
            code in self.dossiers
            and (channel, user_id) in self.tries
            and since >= self.since
            and skipped == self.skipped
        )


async def read_ahead(
    *,
    session: AsyncSession,
    codes: Iterable[str],
    users: Iterable[tuple[str, str]],
    since: datetime,
    skipped: str,
) -> None:
    """Read the dossiers of `codes` and the tries of `users` ((channel, user id)) from `since`
    on, but those of outcome `skipped`, for the rest of the transaction: `attempts_and_dossier`
    then answers the lookups of a batch from them, not with a statement each.

    Nothing else writes dossiers or tries inside a batch's transaction (tries are written at
    its commit), so what was read stays what a statement would read.
    """
    wanted = sorted(set(codes))
    everyone = set(users)
    query = select(Dossier).where(col(Dossier.code).in_(wanted))
    found = {d.code: d for d in (await session.exec(query)).all()} if wanted else {}
    tries: dict[tuple[str, str], list[Attempt]] = {user: [] for user in everyone}
    for channel in sorted({channel for channel, _ in everyone}):
        result = await session.execute(
            sa_select(_ATTEMPTS.c.user_id, _ATTEMPTS.c.code, _ATTEMPTS.c.outcome, _ATTEMPTS.c.at)
            .where(
                _ATTEMPTS.c.channel == channel,
                _ATTEMPTS.c.user_id.in_(sorted(u for c, u in everyone if c == channel)),
                _ATTEMPTS.c.at >= since,
                _ATTEMPTS.c.outcome != skipped,
            )
            .order_by(_ATTEMPTS.c.at, _ATTEMPTS.c.id)
        )
        for user_id, tried, outcome, at in result:
            tries[(channel, user_id)].append(Attempt(tried, outcome, at))
    dossiers = {code: found.get(code) for code in wanted}
    session.info[_READ_AHEAD] = _ReadAhead(since, skipped, dossiers, tries)


async def attempts_and_dossier(
    *,
    session: AsyncSession,
    channel: str,
    user_id: str,
    since: datetime,
    skipped: str,
    code: str,
) -> tuple[list[Attempt], Dossier | None]:
    """Return the user's tries from `since` on, oldest first, but those of outcome `skipped`,
    and the dossier of `code` (None for no such dossier): one read serves the rate limit, the
    lock-out and the card of a lookup (none when `read_ahead` read them already)."""
    ahead: _ReadAhead | None = session.info.get(_READ_AHEAD)
    dossier: Dossier | None = None
    tries: list[Attempt] = []
    if ahead is not None and ahead.answers(channel, user_id, code, since, skipped):
        dossier = ahead.dossiers[code]
        tries = [attempt for attempt in ahead.tries[(channel, user_id)] if attempt.at >= since]
    else:
        values = {"channel": channel, "user_id": user_id, "since": since, "skipped": skipped}
        result = await session.execute(_ATTEMPTS_WITH_DOSSIER, {**values, "code": code})
        for found, tried, outcome, at in result:
            dossier = dossier or found
            if at is not None:
                tries.append(Attempt(tried, outcome, at))
    tries += [
        Attempt(row["code"], row["outcome"], row["at"])
        for row in _pending(session)  # recorded in this transaction, not yet written
        if row["channel"] == channel
        and row["user_id"] == user_id
        and row["at"] >= since
        and row["outcome"] != skipped
    ]
    return sorted(tries, key=lambda attempt: attempt.at), dossier


async def code_attempts(
    *,
    session: AsyncSession,
    channel: str,
    user_id: str,
    code: str,
    since: datetime,
    outcomes: Sequence[str],
) -> list[tuple[str, datetime]]:
    """Return this user's tries of the given outcomes on one code since `since`, oldest first."""
    if rows := _take_pending(session):
        await session.execute(_INSERT_ATTEMPT, rows)
    query = (
        select(LookupAttempt.outcome, LookupAttempt.at)
        .where(
            LookupAttempt.channel == channel,
            LookupAttempt.user_id == user_id,
            LookupAttempt.code == code,
            col(LookupAttempt.outcome).in_(list(outcomes)),
            col(LookupAttempt.at) >= since,
        )
        .order_by(col(LookupAttempt.at), col(LookupAttempt.id))
    )
    return [(outcome, at) for outcome, at in (await session.exec(query)).all() if at is not None]


async def forget_attempts(*, session: AsyncSession, before: datetime) -> int:
    """Delete lookup attempts older than `before`; return how many."""
    statement = delete(LookupAttempt).where(col(LookupAttempt.at) < before)
    result: Any = await session.execute(statement)
    return int(result.rowcount or 0)


# -- subscriptions --------------------------------------------------------------------------


async def add_subscription(
    *,
    session: AsyncSession,
    code: str,
    channel: str,
    chat_id: str,
    language: str,
    now: datetime,
) -> bool:
    """Subscribe a chat to a dossier; return False if it already was (its language is updated)."""
    table: Any = DossierSubscription.__table__  # type: ignore[attr-defined]
    statement = insert_for(session, table).values(
        dossier_code=code, channel=channel, chat_id=chat_id, language=language, created_at=now
    )
    statement = statement.on_conflict_do_nothing(
        index_elements=["dossier_code", "channel", "chat_id"]
    )
    result: Any = await session.execute(statement)
    if result.rowcount:
        return True
    existing = await get_subscription(session=session, code=code, channel=channel, chat_id=chat_id)
    if existing is not None and existing.language != language:
        existing.language = language
        session.add(existing)
    return False


async def get_subscription(
    *, session: AsyncSession, code: str, channel: str, chat_id: str
) -> DossierSubscription | None:
    """Return the chat's subscription to a dossier, if any."""
    query = select(DossierSubscription).where(
        DossierSubscription.dossier_code == code,
        DossierSubscription.channel == channel,
        DossierSubscription.chat_id == chat_id,
    )
    return (await session.exec(query)).first()


async def remove_subscription(
    *, session: AsyncSession, code: str, channel: str, chat_id: str
) -> bool:
    """Unsubscribe a chat from a dossier; return False if it was not subscribed."""
    statement = delete(DossierSubscription).where(
        col(DossierSubscription.dossier_code) == code,
        col(DossierSubscription.channel) == channel,
        col(DossierSubscription.chat_id) == chat_id,
    )
    result: Any = await session.execute(statement)
    return bool(result.rowcount)


async def list_subscribers(
    *, session: AsyncSession, codes: Sequence[str]
) -> dict[str, list[DossierSubscription]]:
    """Return the subscriptions of each of `codes` (codes without any are absent)."""
    found: dict[str, list[DossierSubscription]] = {}
    for chunk in _chunks(list(dict.fromkeys(codes))):
        query = (
            select(DossierSubscription)
            .where(col(DossierSubscription.dossier_code).in_(chunk))
            .order_by(col(DossierSubscription.id))
        )
        for row in (await session.exec(query)).all():
            found.setdefault(row.dossier_code, []).append(row)
    return found


async def list_chat_subscriptions(
    *, session: AsyncSession, channel: str, chat_id: str
) -> list[DossierSubscription]:
    """Return the dossiers a chat follows, oldest subscription first."""
    query = (
        select(DossierSubscription)
        .where(DossierSubscription.channel == channel, DossierSubscription.chat_id == chat_id)
        .order_by(col(DossierSubscription.id))
    )
    return list((await session.exec(query)).all())


async def count_dossiers(*, session: AsyncSession) -> int:
    """Return how many dossiers are stored."""
    return int((await session.exec(select(func.count()).select_from(Dossier))).one())


async def forget_lookup_attempts(*, session: AsyncSession, before: datetime) -> int:
    """Delete lookup attempts older than `before` (limits and lock-outs no longer need them)."""
    statement = delete(LookupAttempt).where(col(LookupAttempt.at) < before)
    result: Any = await session.execute(statement)
    return int(result.rowcount or 0)
