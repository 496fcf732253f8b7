"""Prometheus metrics of one hotline process: counters on the hot path, gauges at scrape time.

Each app has its own registry (not prometheus-client's global one), so tests and several apps
in one process do not mix their figures. Counters cost a dictionary lookup per event; the
gauges that need the database are read with a few indexed queries when `/metrics` is scraped.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from storage import metrics as metrics_store
from storage.db import Database
from storage.models import TicketState

__all__ = ["CONTENT_TYPE", "Metrics"]


class DeliveryFailure(Protocol):
    """What a failed send tells (bot.outbox.DeliveryError)."""

    blocked: bool
    held: bool
    permanent: bool


# Latency buckets for one update's handler, in seconds: the hot path is a few milliseconds.
HANDLER_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
TRIAGE_SHARE_WINDOW = timedelta(days=30)


class Metrics:
    """The metrics of one app and how to render them."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.updates = Counter(
            "hotline_updates",
            "Updates handled, by channel and outcome (handled, duplicate, failed).",
            ["channel", "outcome"],
            registry=registry,
        )
        self.handler_seconds = Histogram(
            "hotline_handler_seconds",
            "Time a handler took for one update, by channel.",
            ["channel"],
            buckets=HANDLER_BUCKETS,
            registry=registry,
        )
        self.sent = Counter(
            "hotline_outbox_sent",
            "Messages delivered, by channel.",
            ["channel"],
            registry=registry,
        )
        self.retries = Counter(
            "hotline_outbox_retries",
            "Sends that failed and will be retried, by channel.",
            ["channel"],
            registry=registry,
        )
        self.failures = Counter(
            "hotline_outbox_failures",
            "Messages given up (failed, blocked, outside a reply window), by channel and status.",
            ["channel", "status"],
            registry=registry,
        )
        self.outbox_depth = Gauge(
            "hotline_outbox_depth",
            "Messages waiting in the outbox, by channel.",
            ["channel"],
            registry=registry,
        )
        self.tickets = Gauge("hotline_tickets", "Tickets by state.", ["state"], registry=registry)
        self.overdue = Gauge(
            "hotline_tickets_overdue",
            "Tickets whose running clock has run out.",
            registry=registry,
        )
        self.sweeper_lag = Gauge(
            "hotline_sweeper_lag_seconds",
            "Now minus the oldest deadline check that is due (0 when none is waiting).",
            registry=registry,
        )
        self.triage_share = Gauge(
            "hotline_triage_share",
            "Share of the last 30 days' tickets that went to the operators' queue at intake.",
            registry=registry,
        )
        self.polling = Gauge(
            "hotline_polling",
            "1 where this instance polls the channel, 0 where it stands by for another.",
            ["channel"],
            registry=registry,
        )

    def count_failure(self, channel: str, error: DeliveryFailure, *, final: bool) -> None:
        """Count a failed send: a retry, or given up with the status it ends in."""
        if error.blocked:
            self.failures.labels(channel, "blocked").inc()
        elif error.held:
            self.failures.labels(channel, "outside_window").inc()
        elif error.permanent or final:
            self.failures.labels(channel, "failed").inc()
        else:
            self.retries.labels(channel).inc()

    async def refresh(self, db: Database, now: datetime) -> None:
        """Read the gauges that live in the database."""
        async with db.transaction() as session:
            snapshot = await metrics_store.snapshot(
                session=session, now=now, since=now - TRIAGE_SHARE_WINDOW
            )
        self.outbox_depth.clear()
        for channel, count in snapshot.outbox_depth.items():
            self.outbox_depth.labels(channel=channel).set(count)
        for state in TicketState:
            self.tickets.labels(state=state.value).set(snapshot.tickets.get(state.value, 0))
        self.overdue.set(snapshot.overdue)
        oldest = snapshot.oldest_due_check
        self.sweeper_lag.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        created, queued = snapshot.recent_created, snapshot.recent_queued
        self.triage_share.set(queued / created if created else 0.0)

    def render(self) -> bytes:
        """Return the registry in Prometheus' text format."""
        return generate_latest(self.registry)
