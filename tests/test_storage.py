"""The storage contract, run on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import event, text

import storage.db
from bot.config import Config
from storage.db import Database, alembic_config
from storage.dialogs import load_dialog, mark_update_processed, save_dialog
from storage.directory import list_agencies, sync_directory
from storage.models import OutboxStatus, Ticket, TicketState
from storage.outbox import (
    claim_due,
    enqueue,
    enqueue_many,
    list_outbox,
    mark_retry,
    mark_sent,
    mark_sent_many,
    next_available_at,
    release_claims,
)
from storage.tickets import (
    add_event,
    add_ticket,
    get_ticket_by_code,
    list_events,
    list_recent_open_in_category,
    list_reporter_tickets,
    next_ticket_code,
)

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def make_ticket(code: str, **fields: object) -> Ticket:
    values: dict[str, object] = {
        "code": code,
        "channel": "telegram",
        "chat_id": "100",
        "text": "Đường bị ổ gà",
        "category_id": "giao-thong",
        "agency_id": "xay-dung",
        "created_at": NOW,
    }
    values.update(fields)
    return Ticket(**values)  # type: ignore[arg-type]


async def test_upgrade_twice_is_harmless(db: Database) -> None:
    await db.upgrade()
    async with db.transaction() as session:
        version = (await session.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert heads == [version]  # one line of migrations, and the database is at its end


async def test_ticket_codes_are_sequential_per_year(db: Database) -> None:
    async with db.transaction() as session:
        first = await next_ticket_code(session=session, year=2026)
        second = await next_ticket_code(session=session, year=2026)
        other_year = await next_ticket_code(session=session, year=2027)
    assert (first, second, other_year) == ("PA-2026-000001", "PA-2026-000002", "PA-2027-000001")


async def test_ticket_codes_are_unique_under_concurrent_writers(db: Database) -> None:
    async def one() -> str:
        async with db.transaction() as session:
            return await next_ticket_code(session=session, year=2026)

    codes = await asyncio.gather(*(one() for _ in range(20)))
    assert sorted(codes) == [f"PA-2026-{n:06d}" for n in range(1, 21)]


async def test_ticket_round_trip_keeps_aware_times_and_long_text(db: Database) -> None:
    long_text = "Phản ánh <b>dài</b> " * 400
    async with db.transaction() as session:
        ticket = await add_ticket(
            session=session, ticket=make_ticket("PA-2026-000001", text=long_text)
        )
        await add_event(session=session, ticket=ticket, kind="created", at=NOW, actor="citizen")
    async with db.transaction() as session:
        loaded = await get_ticket_by_code(session=session, code="pa-2026-000001")
        assert loaded is not None and loaded.id is not None
        events = await list_events(session=session, ticket_id=loaded.id)
    assert loaded.text == long_text
    assert loaded.created_at == NOW and loaded.created_at.tzinfo is not None
    assert loaded.state is TicketState.TRIAGE or loaded.state == "triage"
    assert [e.kind for e in events] == ["created"]


async def test_reporter_tickets_and_recent_open_are_filtered(db: Database) -> None:
    async with db.transaction() as session:
        await add_ticket(session=session, ticket=make_ticket("PA-2026-000001"))
        await add_ticket(
            session=session,
            ticket=make_ticket("PA-2026-000002", state=TicketState.CLOSED, created_at=NOW),
        )
        await add_ticket(
            session=session,
            ticket=make_ticket(
                "PA-2026-000003", chat_id="200", created_at=NOW - timedelta(days=30)
            ),
        )
    async with db.transaction() as session:
        mine = await list_reporter_tickets(session=session, channel="telegram", chat_id="100")
        recent = await list_recent_open_in_category(
            session=session, category_id="giao-thong", since=NOW - timedelta(days=14)
        )
    assert {t.code for t in mine} == {"PA-2026-000001", "PA-2026-000002"}
    assert [t.code for t in recent] == ["PA-2026-000001"]


async def test_dialog_state_persists_per_chat(db: Database) -> None:
    async with db.transaction() as session:
        dialog = await load_dialog(session=session, channel="telegram", chat_id="100")
        assert dialog.state == ""
        await save_dialog(
            session=session, dialog=dialog, state="complaint:confirm", data={"t": "x"}, now=NOW
        )
    async with db.transaction() as session:
        again = await load_dialog(session=session, channel="telegram", chat_id="100")
        other = await load_dialog(session=session, channel="zalo", chat_id="100")
    assert (again.state, again.data) == ("complaint:confirm", {"t": "x"})
    assert other.state == ""


async def test_processed_update_is_recorded_once(db: Database) -> None:
    async with db.transaction() as session:
        assert await mark_update_processed(
            session=session, channel="telegram", update_id="7", now=NOW
        )
    async with db.transaction() as session:
        assert not await mark_update_processed(
            session=session, channel="telegram", update_id="7", now=NOW
        )
        assert await mark_update_processed(session=session, channel="zalo", update_id="7", now=NOW)


async def test_outbox_idempotency_key_queues_once(db: Database) -> None:
    async with db.transaction() as session:
        assert await enqueue(
            session=session,
            channel="telegram",
            chat_id="1",
            payload={"text": "a"},
            now=NOW,
            idempotency_key="ticket:1:overdue",
        )
        assert not await enqueue(
            session=session,
            channel="telegram",
            chat_id="1",
            payload={"text": "a"},
            now=NOW,
            idempotency_key="ticket:1:overdue",
        )
    async with db.transaction() as session:
        rows = await list_outbox(session=session)
    assert len(rows) == 1


async def test_outbox_claim_hides_rows_until_lease_expires(db: Database) -> None:
    async with db.transaction() as session:
        for n in range(3):
            await enqueue(
                session=session, channel="telegram", chat_id="1", payload={"n": n}, now=NOW
            )
        await enqueue(session=session, channel="telegram", chat_id="2", payload={"n": 9}, now=NOW)
    lease = timedelta(seconds=60)
    async with db.transaction() as session:
        claimed = await claim_due(session=session, now=NOW, limit=2, lease=lease)
    async with db.transaction() as session:
        second = await claim_due(session=session, now=NOW, limit=10, lease=lease)
    assert [r.payload["n"] for r in claimed] == [0, 1]
    # chat 1's third message waits behind the two claimed before it; chat 2's goes
    assert [r.payload["n"] for r in second] == [9]
    async with db.transaction() as session:
        assert claimed[0].id is not None and claimed[1].id is not None
        await mark_sent(session=session, outbox_id=claimed[0].id, now=NOW, message_id="9")
        await mark_retry(
            session=session, outbox_id=claimed[1].id, available_at=NOW, error="429 retry"
        )
    async with db.transaction() as session:
        # the crashed claims (row 2, chat 2) come back after the lease; the retried one at once
        again = await claim_due(session=session, now=NOW + lease, limit=10, lease=lease)
        rows = await list_outbox(session=session)
    assert [r.payload["n"] for r in again] == [1, 2, 9]
    assert rows[0].status == OutboxStatus.SENT and rows[0].sent_message_id == "9"


async def test_outbox_claim_holds_a_chat_behind_its_retry(db: Database) -> None:
    async with db.transaction() as session:
        for n in range(2):
            await enqueue(
                session=session, channel="telegram", chat_id="1", payload={"n": n}, now=NOW
            )
    async with db.transaction() as session:
        first = await claim_due(session=session, now=NOW, limit=1, lease=timedelta(seconds=60))
        assert first[0].id is not None
        await mark_retry(
            session=session,
            outbox_id=first[0].id,
            available_at=NOW + timedelta(seconds=30),
            error="429",
        )
    async with db.transaction() as session:
        meanwhile = await claim_due(
            session=session, now=NOW, limit=10, lease=timedelta(seconds=60)
        )
    async with db.transaction() as session:
        later = await claim_due(
            session=session, now=NOW + timedelta(seconds=30), limit=10, lease=timedelta(seconds=60)
        )
    assert meanwhile == []
    assert [r.payload["n"] for r in later] == [0, 1]


async def claim_plan(db: Database) -> str:
    """The query plan of an outbox claim, as the database plans it with the claim's own values."""
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE OUTBOX"):
            captured.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with db.transaction() as session:
            await claim_due(session=session, now=NOW, limit=50, lease=timedelta(seconds=60))
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", capture)
    (statement, parameters), *_ = captured
    explain = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "  # plans, runs nothing
    async with db.engine.connect() as connection:
        rows = (await connection.exec_driver_sql(explain + statement, parameters)).all()
    return "\n".join(str(row[-1]) for row in rows)


async def test_outbox_claim_walks_the_queue_index_not_the_history(db: Database) -> None:
    # A claim reads the outstanding ids in order and stops at its limit; it must not read
    # the whole sent history nor sort every due row first (69 ms a claim at 15,000 queued).
    async with db.transaction() as session:
        await enqueue_many(
            session=session,
            messages=[
                {"channel": "telegram", "chat_id": str(n % 50), "payload": {"n": n}}
                for n in range(3000)
            ],
            now=NOW,
        )
        await session.execute(text("UPDATE outbox SET status = 'sent' WHERE id <= 2800"))
        await session.execute(text("ANALYZE outbox" if not db.is_sqlite else "ANALYZE"))
    plan = await claim_plan(db)
    assert "ix_outbox_queue" in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
    # (PostgreSQL may still hash-join the fifty ids to a small table; SQLite must not scan it.)
    assert "SCAN outbox\n" not in plan + "\n", plan


async def test_next_due_time_comes_from_the_outstanding_messages_only(db: Database) -> None:
    async with db.transaction() as session:
        for n in range(3):
            await enqueue(
                session=session,
                channel="telegram",
                chat_id="1",
                payload={"n": n},
                now=NOW + timedelta(minutes=n),
            )
        await session.execute(text("UPDATE outbox SET status = 'sent' WHERE id = 1"))
        assert await next_available_at(session=session) == NOW + timedelta(minutes=1)
        await session.execute(text("UPDATE outbox SET status = 'sent'"))
        assert await next_available_at(session=session) is None


async def test_outbox_concurrent_claims_never_share_a_row(db: Database) -> None:
    async with db.transaction() as session:
        for n in range(40):
            await enqueue(
                session=session, channel="telegram", chat_id=str(n % 8), payload={"n": n}, now=NOW
            )

    claimed_in_order: list[int] = []

    async def claimer() -> list[int]:
        got: list[int] = []
        for _ in range(40):
            async with db.transaction() as session:
                rows = await claim_due(session=session, now=NOW, limit=3, lease=timedelta(hours=1))
                claimed_in_order.extend(r.payload["n"] for r in rows)
            if not rows:
                break
            got.extend(r.payload["n"] for r in rows)
            async with db.transaction() as session:
                for row in rows:
                    assert row.id is not None
                    await mark_sent(session=session, outbox_id=row.id, now=NOW, message_id=None)
        return got

    results = await asyncio.gather(*(claimer() for _ in range(4)))
    everything = [n for result in results for n in result]
    assert sorted(everything) == list(range(40))
    # across the claimers, each chat's messages were claimed in their order
    for chat in range(8):
        of_chat = [n for n in claimed_in_order if n % 8 == chat]
        assert of_chat == sorted(of_chat)


async def test_outbox_release_gives_claims_back_at_once(db: Database) -> None:
    async with db.transaction() as session:
        await enqueue(session=session, channel="telegram", chat_id="1", payload={"n": 1}, now=NOW)
    async with db.transaction() as session:
        claimed = await claim_due(session=session, now=NOW, limit=5, lease=timedelta(hours=1))
    async with db.transaction() as session:
        released = await release_claims(
            session=session, outbox_ids=[r.id for r in claimed if r.id is not None], now=NOW
        )
    async with db.transaction() as session:
        again = await claim_due(session=session, now=NOW, limit=5, lease=timedelta(hours=1))
    assert released == 1
    assert [(r.payload["n"], r.attempts) for r in again] == [(1, 1)]


async def test_sync_directory_adds_updates_and_deactivates(db: Database, config: Config) -> None:
    async with db.transaction() as session:
        await sync_directory(session=session, config=config)
    smaller = Config(agencies=config.agencies[:3], categories=())
    async with db.transaction() as session:
        await sync_directory(session=session, config=smaller)
    async with db.transaction() as session:
        active = await list_agencies(session=session)
        every = await list_agencies(session=session, active_only=False)
    assert [a.id for a in active] == sorted(a.id for a in config.agencies[:3])
    assert len(every) == len(config.agencies)


async def test_migrations_match_the_models(db: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    def differences(connection: object) -> list[object]:
        context = MigrationContext.configure(connection)  # type: ignore[arg-type]
        return list(compare_metadata(context, SQLModel.metadata))

    async with db.engine.connect() as connection:
        diff = await connection.run_sync(differences)
    assert diff == []


@pytest.mark.postgres
async def test_a_pooled_connection_killed_while_idle_is_replaced_before_use(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(pg_url)
    try:
        async with database.transaction() as session:
            backend = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        # The server drops the pooled connection (a restart, an idle timeout) while it waits.
        admin = await asyncpg.connect(pg_url.replace("postgresql+asyncpg", "postgresql", 1))
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", backend)
        finally:
            await admin.close()
        monkeypatch.setattr(storage.db, "IDLE_BEFORE_PING", 0.0)
        async with database.transaction() as session:
            again = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert again != backend
    finally:
        await database.dispose()


@pytest.mark.postgres
async def test_a_statement_block_commits_without_a_transaction_around_it(pg_url: str) -> None:
    # One statement needs no BEGIN and COMMIT round trips; a transaction after it, on the
    # same pooled connection, is again one transaction.
    database = Database(pg_url)
    try:
        async with database.statement() as session:
            first = (await session.execute(text("SELECT txid_current()"))).scalar_one()
            second = (await session.execute(text("SELECT txid_current()"))).scalar_one()
        assert first != second
        async with database.transaction() as session:
            first = (await session.execute(text("SELECT txid_current()"))).scalar_one()
            second = (await session.execute(text("SELECT txid_current()"))).scalar_one()
        assert first == second
    finally:
        await database.dispose()


async def test_a_statement_block_is_committed_when_it_returns(db: Database) -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    async with db.transaction() as session:
        await enqueue(session=session, channel="telegram", chat_id="42", payload={}, now=now)
    async with db.transaction() as session:
        (claimed,) = await claim_due(session=session, now=now, limit=5, lease=timedelta(minutes=2))
    async with db.statement() as session:
        await mark_sent_many(session=session, sent=[(claimed.id, "m-1")], now=now)
    async with db.transaction() as session:
        (row,) = await list_outbox(session=session)
    assert (row.status, row.sent_message_id) == (OutboxStatus.SENT, "m-1")
