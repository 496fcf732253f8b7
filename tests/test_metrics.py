"""`/metrics`: Prometheus text with the hot-path counters and the database gauges."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from bot.chat import Incoming
from bot.config import Config
from bot.metrics import Metrics
from bot.outbox import DeliveryError
from storage import outbox as outbox_store
from tests.harness import CITIZEN, Harness, running_bot
from tests.test_e2e_citizen import file_complaint

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
async def bot(config: Config, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_bot(config, f"sqlite+aiosqlite:///{tmp_path / 'metrics.db'}") as harness:
        yield harness


async def scrape(bot: Harness) -> tuple[str, Samples]:
    """GET /metrics; return the content type and every sample by name and labels."""
    async with TestClient(TestServer(bot.app.web_app)) as client:
        response = await client.get("/metrics")
        assert response.status == 200
        text = await response.text()
        content_type = response.headers["Content-Type"]
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return content_type, samples


async def test_metrics_count_updates_latency_and_sends(bot: Harness) -> None:
    await bot.say("/start")
    await bot.settle()
    content_type, samples = await scrape(bot)
    assert content_type.startswith("text/plain")
    handled = (("channel", "telegram"), ("outcome", "handled"))
    assert samples[("hotline_updates_total", handled)] == 1
    assert samples[("hotline_handler_seconds_count", (("channel", "telegram"),))] == 1
    assert samples[("hotline_outbox_sent_total", (("channel", "telegram"),))] >= 1


async def test_metrics_count_a_redelivered_update_as_duplicate(bot: Harness) -> None:
    update = Incoming(
        channel="telegram",
        chat_id=str(CITIZEN),
        user_id=str(CITIZEN),
        update_id="91",
        text="/help",
    )
    await bot.app.inbox.handle(update)
    await bot.app.inbox.handle(update)
    _, samples = await scrape(bot)
    duplicate = (("channel", "telegram"), ("outcome", "duplicate"))
    assert samples[("hotline_updates_total", duplicate)] == 1


async def test_metrics_gauges_tickets_overdue_lag_and_triage_share(bot: Harness) -> None:
    await file_complaint(bot)  # routed to an agency
    await file_complaint(bot, "Tôi muốn hỏi một việc nhưng không biết hỏi ai cho đúng ạ")
    await bot.settle()
    _, samples = await scrape(bot)
    assert samples[("hotline_tickets", (("state", "routed"),))] == 1
    assert samples[("hotline_tickets", (("state", "triage"),))] == 1
    assert samples[("hotline_tickets", (("state", "resolved"),))] == 0
    assert samples[("hotline_tickets_overdue", ())] == 0
    assert samples[("hotline_triage_share", ())] == 0.5
    assert samples[("hotline_sweeper_lag_seconds", ())] == 0
    # Three weeks on, with the sweeper not run: both clocks are out and the checks wait.
    bot.clock.advance(days=21)
    _, later = await scrape(bot)
    assert later[("hotline_tickets_overdue", ())] == 2
    assert later[("hotline_sweeper_lag_seconds", ())] > 0


async def test_metrics_outbox_depth_by_channel(bot: Harness) -> None:
    async with bot.app.db.transaction() as session:
        await outbox_store.enqueue(
            session=session, channel="zalo", chat_id="z1", payload={"text": "x"}, now=bot.clock()
        )
    _, samples = await scrape(bot)
    assert samples[("hotline_outbox_depth", (("channel", "zalo"),))] == 1


def test_metrics_count_failures_by_kind() -> None:
    metrics = Metrics()
    metrics.count_failure("telegram", DeliveryError("slow down", retry_after=3), final=False)
    metrics.count_failure("telegram", DeliveryError("bad request", permanent=True), final=False)
    metrics.count_failure("telegram", DeliveryError("network"), final=True)
    metrics.count_failure("zalo", DeliveryError("blocked", blocked=True), final=False)
    text = metrics.render().decode()
    assert 'hotline_outbox_retries_total{channel="telegram"} 1.0' in text
    assert 'hotline_outbox_failures_total{channel="telegram",status="failed"} 2.0' in text
    assert 'hotline_outbox_failures_total{channel="zalo",status="blocked"} 1.0' in text


def test_metrics_of_two_apps_do_not_mix() -> None:
    first, second = Metrics(), Metrics()
    first.updates.labels("telegram", "handled").inc()
    assert 'outcome="handled"' in first.render().decode()
    assert 'outcome="handled"' not in second.render().decode()


async def test_metrics_still_answer_when_the_database_is_away(
    bot: Harness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unavailable(*args: Any, **kwargs: Any) -> None:
        raise OSError("database unavailable")

    monkeypatch.setattr(bot.app.metrics, "refresh", unavailable)
    _, samples = await scrape(bot)
    assert ("hotline_tickets_overdue", ()) in samples
    assert "database gauges not refreshed" in caplog.text
