"""Prometheus metrics of one app: counters on the hot paths, database gauges read at scrape.

Each `HotlineApp` owns a `Metrics` with its own registry (not the process-global one), so tests
and several apps in one process do not collide.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from storage import metrics as metrics_store
from storage.db import Database
from storage.models import TicketState

TRIAGE_WINDOW = timedelta(days=30)
# Handler latencies of a chat bot: from a cached answer (ms) to a slow database (seconds).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The metrics of one hotline app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.updates = Counter(
            "hotline_updates", "Updates handled, by channel and outcome.",
            ["channel", "outcome"], registry=r,
        )  # fmt: skip
        self.latency = Histogram(
            "hotline_handler_seconds", "Time to handle one update, by channel.",
            ["channel"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.retries = Counter(
            "hotline_outbox_retries", "Sends retried later, by channel.", ["channel"], registry=r
        )
        self.failures = Counter(
            "hotline_outbox_failures", "Sends given up or blocked, by channel and status.",
            ["channel", "status"], registry=r,
        )  # fmt: skip
        self.outbox_depth = Gauge(
            "hotline_outbox_depth", "Messages waiting to be sent, by channel.", ["channel"],
            registry=r,
        )  # fmt: skip
        self.tickets = Gauge("hotline_tickets", "Tickets by state.", ["state"], registry=r)
        self.overdue = Gauge("hotline_tickets_overdue", "Open tickets past due.", registry=r)
        self.sweeper_lag = Gauge(
            "hotline_sweeper_lag_seconds",
            "Now minus the oldest deadline check still due (0 when none waits).",
            registry=r,
        )
        self.triage_share = Gauge(
            "hotline_triage_share",
            "Share of the last 30 days' tickets the classifier left to the operators.",
            registry=r,
        )

    def observe_update(self, channel: str, outcome: str, seconds: float) -> None:
        """Count one handled update and its latency."""
        self.updates.labels(channel, outcome).inc()
        self.latency.labels(channel).observe(seconds)

    async def refresh(self, db: Database, now: datetime) -> None:
        """Read the database gauges (a handful of indexed counts)."""
        async with db.transaction() as session:
            depth = await metrics_store.outbox_depth(session=session)
            states = await metrics_store.tickets_by_state(session=session)
            overdue = await metrics_store.count_overdue(session=session, now=now)
            oldest = await metrics_store.oldest_due_check(session=session, now=now)
            total, triaged = await metrics_store.triage_counts(
                session=session, since=now - TRIAGE_WINDOW
            )
        # Cleared first, so a channel or state that emptied does not keep its last value.
        self.outbox_depth.clear()
        for channel, count in depth.items():
            self.outbox_depth.labels(channel).set(count)
        for state in TicketState:
            self.tickets.labels(state.value).set(states.get(state.value, 0))
        self.overdue.set(overdue)
        self.sweeper_lag.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        self.triage_share.set(triaged / total if total else 0.0)

    async def scrape(self, db: Database, now: datetime) -> tuple[bytes, str]:
        """Refresh the gauges and return the exposition text and its content type."""
        await self.refresh(db, now)
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
