"""/metrics: update counters and latency, outbox retries and failures, database gauges."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from bot.chat import Reply
from bot.config import Config
from bot.metrics import Metrics
from storage import outbox as outbox_store
from storage.db import Database
from storage.models import Ticket, TicketState
from tests.harness import CITIZEN, MONDAY_9AM, Harness, running_bot


@pytest.fixture
async def bot(config: Config, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_bot(config, f"sqlite+aiosqlite:///{tmp_path / 'metrics.db'}") as harness:
        yield harness


async def scrape(bot: Harness) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Fetch /metrics over HTTP and index every sample by name and labels."""
    async with TestClient(TestServer(bot.app.web_app)) as client:
        response = await client.get("/metrics")
        assert response.status == 200
        assert response.content_type == "text/plain"
        text = await response.text()
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


async def add_ticket(db: Database, code: str, **fields: Any) -> None:
    async with db.transaction() as session:
        session.add(
            Ticket(code=code, channel="telegram", chat_id="1", category_id="giao-thong", **fields)
        )


async def test_metrics_count_updates_by_channel_and_outcome(bot: Harness) -> None:
    await bot.say("/start")
    await bot.say("/help")
    await bot.settle()
    samples = await scrape(bot)
    replied = value(samples, "hotline_updates_total", channel="telegram", outcome="replied")
    assert replied == 2
    assert value(samples, "hotline_handler_seconds_count", channel="telegram") == 2
    assert value(samples, "hotline_handler_seconds_bucket", channel="telegram", le="+Inf") == 2


def gauge(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


async def test_metrics_gauges_read_tickets_overdue_and_sweeper_lag(db: Database) -> None:
    now = MONDAY_9AM
    # Filed routed (the classifier was sure), filed to triage and still there, triaged later.
    await add_ticket(db, "PA-2026-000001", state=TicketState.ROUTED, created_at=now,
                     routed_at=now, resolve_due_at=now - timedelta(hours=1))  # fmt: skip
    await add_ticket(db, "PA-2026-000002", state=TicketState.TRIAGE, created_at=now,
                     triage_due_at=now + timedelta(hours=4),
                     next_check_at=now - timedelta(minutes=10))  # fmt: skip
    await add_ticket(db, "PA-2026-000003", state=TicketState.ROUTED, created_at=now,
                     routed_at=now + timedelta(minutes=5))  # fmt: skip
    long_ago = now - timedelta(days=40)
    await add_ticket(db, "PA-2026-000004", state=TicketState.CLOSED, created_at=long_ago,
                     routed_at=long_ago)  # fmt: skip
    metrics = Metrics()
    await metrics.refresh(db, now)
    assert gauge(metrics, "hotline_tickets", state="routed") == 2
    assert gauge(metrics, "hotline_tickets", state="triage") == 1
    assert gauge(metrics, "hotline_tickets", state="closed") == 1
    assert gauge(metrics, "hotline_tickets", state="spam") == 0
    assert gauge(metrics, "hotline_tickets_overdue") == 1
    assert gauge(metrics, "hotline_sweeper_lag_seconds") == 600
    # Of the three tickets of the last 30 days, two were left to the operators.
    assert gauge(metrics, "hotline_triage_share") == pytest.approx(2 / 3)


async def test_metrics_sweeper_lag_is_zero_with_nothing_due(db: Database) -> None:
    now = MONDAY_9AM
    await add_ticket(db, "PA-2026-000001", created_at=now,
                     next_check_at=now + timedelta(hours=1))  # fmt: skip
    metrics = Metrics()
    await metrics.refresh(db, now)
    assert gauge(metrics, "hotline_sweeper_lag_seconds") == 0
    assert gauge(metrics, "hotline_triage_share") == 1
    assert gauge(metrics, "hotline_tickets_overdue") == 0


async def test_metrics_outbox_depth_empties_with_its_channel(db: Database) -> None:
    async with db.transaction() as session:
        await outbox_store.enqueue(session=session, channel="zalo", chat_id="z1",
                                   payload=Reply("một").to_payload(), now=MONDAY_9AM)  # fmt: skip
    metrics = Metrics()
    await metrics.refresh(db, MONDAY_9AM)
    assert gauge(metrics, "hotline_outbox_depth", channel="zalo") == 1
    async with db.transaction() as session:
        [row] = await outbox_store.list_outbox(session=session)
        assert row.id is not None
        await outbox_store.mark_sent(
            session=session, outbox_id=row.id, now=MONDAY_9AM, message_id="1"
        )
    await metrics.refresh(db, MONDAY_9AM)
    assert gauge(metrics, "hotline_outbox_depth", channel="zalo") is None


async def test_metrics_outbox_depth_retries_and_failures(bot: Harness) -> None:
    async with bot.app.db.transaction() as session:
        for text in ("một", "hai"):
            await outbox_store.enqueue(
                session=session, channel="zalo", chat_id="z1",
                payload=Reply(text).to_payload(), now=bot.clock() + timedelta(hours=1),
            )  # fmt: skip
    samples = await scrape(bot)
    assert value(samples, "hotline_outbox_depth", channel="zalo") == 2

    bot.emu.fail_next("sendMessage", 429, retry_after=7)
    await bot.emu.block_bot(CITIZEN)
    async with bot.app.db.transaction() as session:
        await outbox_store.enqueue(
            session=session, channel="telegram", chat_id=str(CITIZEN),
            payload=Reply("ba").to_payload(), now=bot.clock(),
        )  # fmt: skip
    bot.app.outbox.wake()
    await bot.settle()
    bot.clock.advance(seconds=7)
    bot.app.outbox.wake()
    await bot.settle()
    samples = await scrape(bot)
    assert value(samples, "hotline_outbox_retries_total", channel="telegram") == 1
    failures = value(
        samples, "hotline_outbox_failures_total", channel="telegram", status="blocked"
    )
    assert failures == 1
    assert value(samples, "hotline_outbox_depth", channel="zalo") == 2


def test_metrics_of_two_apps_do_not_collide() -> None:
    first, second = Metrics(), Metrics()
    first.observe_update("telegram", "replied", 0.01)
    assert (
        first.registry.get_sample_value(
            "hotline_updates_total", {"channel": "telegram", "outcome": "replied"}
        )
        == 1
    )
    assert (
        second.registry.get_sample_value(
            "hotline_updates_total", {"channel": "telegram", "outcome": "replied"}
        )
        is None
    )
