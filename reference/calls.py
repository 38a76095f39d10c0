"""Webhook calls: activity log records and how an attempt's outcome moves them (contract §7, §8)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from reference.events import Event
from reference.retries import RETRY_AFTER_CAP, RETRY_AFTER_STATUSES, RetrySchedule, retry_after
from reference.sender import Outcome
from reference.timefmt import format_time
from reference.webhooks import Webhook

__all__ = [
    "Attempt",
    "AttemptTrigger",
    "CallStatus",
    "DueCall",
    "Transition",
    "WebhookCall",
    "next_state",
]


class CallStatus(StrEnum):
    PENDING = "pending"
    SUCCESS = "success"
    RESCHEDULED = "rescheduled"
    FAILED = "failed"


class AttemptTrigger(StrEnum):
    """What made an attempt happen."""

    EVENT = "event"
    AUTO_RETRY = "auto_retry"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class Attempt:
    sent_at: datetime
    duration_ms: int
    trigger: AttemptTrigger
    response_status: int | None
    error: str | None
    retry_after: int | None = None
    """Seconds the receiver asked to wait (`Retry-After` on a 429 or 503) when that put
    the next retry later than the schedule's."""
    error_detail: str | None = None
    """One human-readable line on why the attempt failed, beside `error`."""

    def to_json(self) -> dict[str, Any]:
        return {
            "sent_at": format_time(self.sent_at),
            "duration_ms": self.duration_ms,
            "trigger": str(self.trigger),
            "response_status": self.response_status,
            "error": self.error,
            "error_detail": self.error_detail,
            "retry_after": self.retry_after,
        }


@dataclass(frozen=True, slots=True)
class WebhookCall:
    """One row of the activity log."""

    id: str
    webhook_id: str
    entity_type: str
    event_type: str
    created_at: datetime
    status: CallStatus
    attempted_auto_retries_count: int
    last_sent_at: datetime | None
    next_retry_at: datetime | None
    request_url: str | None
    request_headers: dict[str, str] | None
    request_payload: str | None
    response_status: int | None
    response_headers: dict[str, str] | None
    response_payload: str | None
    error: str | None
    attempts: tuple[Attempt, ...]


@dataclass(frozen=True, slots=True)
class DueCall:
    """A claimed call, with what the sender needs to make its next attempt."""

    id: str
    webhook_id: str
    event: Event
    status: CallStatus
    trigger: AttemptTrigger
    attempted_auto_retries_count: int
    next_retry_at: datetime | None
    due_at: datetime | None
    """When an automatic attempt (first or retry) is owed; None when none is."""
    webhook: Webhook | None = None
    """The webhook's settings when the call was claimed; None if it was deleted."""


@dataclass(frozen=True, slots=True)
class Transition:
    """How a call changes after one attempt."""

    status: CallStatus
    attempted_auto_retries_count: int
    next_retry_at: datetime | None
    due_at: datetime | None
    retry_after: int | None = None
    """The receiver's `Retry-After`, in seconds, when it made the next retry later."""


def next_state(
    call: DueCall, outcome: Outcome, *, auto_retry: bool, schedule: RetrySchedule
) -> Transition:
    """contract §8: success ends the call; a failure is retried on the schedule or fails.

    A manual resend that fails leaves the retry schedule and count as they were.
    """
    retries = call.attempted_auto_retries_count
    if call.trigger is AttemptTrigger.AUTO_RETRY:
        retries += 1  # contract §8: a retry counts once it is sent
    if outcome.ok:
        return Transition(CallStatus.SUCCESS, retries, None, None)
    if call.trigger is AttemptTrigger.MANUAL:
        return _after_failed_resend(call, retries)
    gap: timedelta | None = schedule.delay_after(retries) if auto_retry else None
    if gap is None:
        return Transition(CallStatus.FAILED, retries, None, None)
    at = outcome.sent_at + gap
    answered = outcome.sent_at + timedelta(milliseconds=outcome.duration_ms)
    asked = _retry_after(outcome, answered)
    if asked is not None:
        # contract §8: no earlier than the receiver says, counted from its answer (RFC
        # 9110 §10.2.3), no later than 24 h after it; the test scale shrinks the
        # schedule, never the receiver's wait.
        wanted = answered + min(timedelta(seconds=asked), RETRY_AFTER_CAP)
        if wanted > at:
            return Transition(CallStatus.RESCHEDULED, retries, wanted, wanted, asked)
    return Transition(CallStatus.RESCHEDULED, retries, at, at)


def _retry_after(outcome: Outcome, answered: datetime) -> int | None:
    if outcome.status not in RETRY_AFTER_STATUSES:
        return None
    for name, value in outcome.headers:
        if name.lower() == "retry-after":
            return retry_after(value, answered)
    return None


def _after_failed_resend(call: DueCall, retries: int) -> Transition:
    if call.due_at is not None:  # an automatic attempt is still owed: keep it as it was
        return Transition(call.status, retries, call.next_retry_at, call.due_at)
    return Transition(CallStatus.FAILED, retries, None, None)
