"""Prometheus metrics, one registry per app so tests can run several apps in one process.

Most are counted where things happen, in this process. The outbox's held, dead and given-up
jobs are every worker's, kept in Redis: /metrics reads them as it answers (OutboxCounts).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


@dataclass(eq=False)  # a registry keys its collectors by identity
class OutboxCounts(Collector):
    """Held, dead and given-up jobs by kind, as last read from Redis (set before each scrape)."""

    held: dict[str, int] = field(default_factory=dict)
    dead: dict[str, int] = field(default_factory=dict)
    given_up: dict[str, int] = field(default_factory=dict)

    def collect(self) -> Iterator[Metric]:
        held = GaugeMetricFamily(
            "textback_outbox_held",
            "Jobs held while Slack's wiring is broken (a revoked token, the bot out of a channel)",
            labels=["kind"],
        )
        dead = GaugeMetricFamily(
            "textback_outbox_dead",
            "Buried jobs kept in the dead list (python -m bot outbox dead)",
            labels=["kind"],
        )
        given_up = CounterMetricFamily(
            "textback_outbox_given_up",
            "Jobs given up on after their last retry, by every worker",
            labels=["kind"],
        )
        for family, counts in ((held, self.held), (dead, self.dead), (given_up, self.given_up)):
            for kind, count in sorted(counts.items()):
                family.add_metric([kind], count)
            yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.missed_calls = Counter(
            "textback_missed_calls", "Missed inbound calls seen", ["line"], registry=r
        )
        self.autotexts = Counter(
            "textback_autotexts",
            "Auto-text decisions by outcome",
            ["line", "outcome"],
            registry=r,
        )
        self.relayed = Counter(
            "textback_relayed_messages", "Messages relayed", ["direction"], registry=r
        )
        self.sms_sent = Counter(
            "textback_sms_sent", "SMS accepted by Twilio", ["purpose"], registry=r
        )
        self.send_failures = Counter(
            "textback_send_failures", "Failed sends", ["service", "kind"], registry=r
        )
        self.outbox_depth = Gauge(
            "textback_outbox_depth", "Jobs waiting in the outbox", ["queue"], registry=r
        )
        self.worker_slots = Gauge(
            "textback_worker_slots",
            "Jobs a worker runs at once, by queue: WORKER_CONCURRENCY, less after Twilio's 20429",
            ["queue"],
            registry=r,
        )
        self.webhook_deliveries = Counter(
            "textback_webhook_deliveries",
            "Attempts to deliver an event to a webhook URL, by outcome",
            ["outcome"],  # delivered, retry, gone, failed (given up)
            registry=r,
        )
        self.outbox_counts = OutboxCounts()
        r.register(self.outbox_counts)
        self.webhook_seconds = Histogram(
            "textback_webhook_seconds",
            "Time to answer a webhook",
            ["route"],
            buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=r,
        )
