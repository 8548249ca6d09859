"""Prometheus metrics, one registry per app so tests can run several apps in one process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.missed_calls = Counter(
            "textback_missed_calls", "Missed inbound calls seen", registry=r
        )
        self.autotexts = Counter(
            "textback_autotexts", "Auto-text decisions by outcome", ["outcome"], registry=r
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
        self.webhook_deliveries = Counter(
            "textback_webhook_deliveries",
            "Attempts to deliver an event to a webhook URL, by outcome",
            ["outcome"],  # delivered, retry, gone, failed (given up)
            registry=r,
        )
        self.webhook_seconds = Histogram(
            "textback_webhook_seconds",
            "Time to answer a webhook",
            ["route"],
            buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=r,
        )
