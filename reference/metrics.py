"""The dispatcher's metrics, in the Prometheus text format (`GET /metrics`).

Counts only: no URLs, no secrets. Per-webhook series (the `webhook` label,
a webhook id) are kept only when `per_webhook` is on (the metrics endpoint is
then behind its own token) and for at most `MAX_WEBHOOK_LABELS` webhooks; the
rest are counted under `other`, so the number of series stays bounded.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from reference.calls import CallStatus, Transition
from reference.sender import Outcome
from reference.store import QueueState

__all__ = ["CONTENT_TYPE", "MAX_WEBHOOK_LABELS", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MAX_WEBHOOK_LABELS = 100
_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 7.5)


class Metrics:
    """One dispatcher's counters, histogram and gauges, in a registry of its own."""

    def __init__(self, *, per_webhook: bool = False) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._per_webhook = per_webhook
        self._webhooks: set[str] = set()
        labels = ["outcome", "error"] + (["webhook"] if per_webhook else [])
        self.attempts = Counter(
            "webhooks_delivery_attempts",
            "Delivery attempts by outcome (success, failure) and error code.",
            labels,
            registry=self.registry,
        )
        self.calls_finished = Counter(
            "webhooks_calls_finished",
            "Calls that reached a final status (success or failed).",
            ["status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "webhooks_attempt_duration_seconds",
            "How long one attempt took, from connecting to the end of the answer.",
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.due = Gauge(
            "webhooks_calls_due",
            "Calls due now and not yet claimed by any process.",
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "webhooks_calls_in_flight",
            "Calls this process is sending now.",
            registry=self.registry,
        )
        self.oldest_due_age = Gauge(
            "webhooks_oldest_due_call_age_seconds",
            "How long the oldest due, unclaimed call has waited (0 when none).",
            registry=self.registry,
        )

    def attempted(self, webhook_id: str, outcome: Outcome, transition: Transition) -> None:
        """Count one finished attempt."""
        labels = ["success" if outcome.ok else "failure", outcome.error or ""]
        if self._per_webhook:
            labels.append(self._webhook_label(webhook_id))
        self.attempts.labels(*labels).inc()
        self.duration.observe(outcome.duration_ms / 1000)
        if transition.status in (CallStatus.SUCCESS, CallStatus.FAILED):
            self.calls_finished.labels(transition.status.value).inc()

    def exposition(self, queue: QueueState, in_flight: int, now: datetime) -> bytes:
        """The text exposition, with the queue gauges set from `queue` as of `now`."""
        self.due.set(queue.due)
        self.in_flight.set(in_flight)
        age = 0.0 if queue.oldest_due_at is None else (now - queue.oldest_due_at).total_seconds()
        self.oldest_due_age.set(max(0.0, age))
        return generate_latest(self.registry)

    def _webhook_label(self, webhook_id: str) -> str:
        if webhook_id in self._webhooks:
            return webhook_id
        if len(self._webhooks) < MAX_WEBHOOK_LABELS:
            self._webhooks.add(webhook_id)
            return webhook_id
        return "other"
