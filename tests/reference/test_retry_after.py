"""Retry-After (contract §8): after a 429 or 503 that carries it, the next retry is due no
earlier than it says and no later than 24 h after the attempt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from receiver import MockReceiver
from reference.calls import AttemptTrigger, CallStatus, DueCall, next_state
from reference.retries import RetrySchedule, retry_after
from reference.sender import Outcome
from tests.reference.conftest import DispatcherFactory
from tests.reference.factories import item_event, webhook_attributes

NOON = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
SCHEDULE = RetrySchedule()  # first gap: 120 s


def _call() -> DueCall:
    return DueCall(
        id="1",
        webhook_id="1",
        event=item_event(),
        status=CallStatus.PENDING,
        trigger=AttemptTrigger.EVENT,
        attempted_auto_retries_count=0,
        next_retry_at=None,
        due_at=NOON,
    )


def _after(status: int, *headers: tuple[str, str], schedule: RetrySchedule = SCHEDULE) -> object:
    outcome = Outcome(status, headers, "", None, NOON, 0)  # answered as soon as sent
    transition = next_state(_call(), outcome, auto_retry=True, schedule=schedule)
    assert transition.status is CallStatus.RESCHEDULED
    assert transition.next_retry_at is not None
    return (
        (transition.next_retry_at - NOON).total_seconds(),
        transition.retry_after,
    )


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120),
        (" 7 ", 7),
        ("0", 0),
        (format_datetime(NOON + timedelta(minutes=10), usegmt=True), 600),
        ("Fri, 01 May 2026 12:00:30 GMT", 30),
        ("Fri, 01 May 2026 11:00:00 GMT", 0),  # in the past: no wait
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("", None),
        ("\uff11\uff12", None),  # fullwidth digits: not delay-seconds
    ],
)
def test_retry_after_is_seconds_or_an_http_date(value: str, seconds: int | None) -> None:
    assert retry_after(value, NOON) == seconds


def test_a_longer_retry_after_puts_the_retry_later() -> None:
    assert _after(503, ("Retry-After", "600")) == (600, 600)
    assert _after(429, ("retry-after", "3600")) == (3600, 3600)
    date = format_datetime(NOON + timedelta(hours=2), usegmt=True)
    assert _after(503, ("Retry-After", date)) == (7200, 7200)


def test_the_wait_asked_is_counted_from_the_answer() -> None:
    # RFC 9110 §10.2.3: delay-seconds count from when the answer is received.
    slow = Outcome(503, (("Retry-After", "2"),), "", None, NOON, 1500)
    tiny = RetrySchedule(scale=0.001)
    after = next_state(_call(), slow, auto_retry=True, schedule=tiny)
    assert after.next_retry_at == NOON + timedelta(seconds=3.5)
    # A date names its moment whatever the answer's time.
    date = format_datetime(NOON + timedelta(seconds=10), usegmt=True)
    late = Outcome(429, (("Retry-After", date),), "", None, NOON, 4000)
    dated = next_state(_call(), late, auto_retry=True, schedule=tiny)
    assert (dated.next_retry_at, dated.retry_after) == (NOON + timedelta(seconds=10), 6)


def test_a_shorter_retry_after_changes_nothing() -> None:
    assert _after(503, ("Retry-After", "30")) == (120, None)


def test_no_later_than_24_hours_after_the_attempt() -> None:
    assert _after(429, ("Retry-After", str(3 * 86400))) == (86400, 3 * 86400)


def test_only_429_and_503_and_only_a_valid_value_count() -> None:
    assert _after(500, ("Retry-After", "600")) == (120, None)
    assert _after(502, ("Retry-After", "600")) == (120, None)
    assert _after(503, ("Retry-After", "later")) == (120, None)
    assert _after(503) == (120, None)


def test_the_test_scale_shrinks_the_schedule_not_the_receivers_wait() -> None:
    tiny = RetrySchedule(scale=0.001)  # first gap: 0.12 s
    assert _after(503, ("Retry-After", "2"), schedule=tiny) == (2, 2)
    assert _after(503, ("Retry-After", "0"), schedule=tiny) == (0.12, None)


def test_retry_after_is_ignored_without_auto_retry_and_when_retries_are_spent() -> None:
    outcome = Outcome(503, (("Retry-After", "600"),), "", None, NOON, 10)
    once = next_state(_call(), outcome, auto_retry=False, schedule=SCHEDULE)
    assert (once.status, once.next_retry_at) == (CallStatus.FAILED, None)
    spent = RetrySchedule(delays=())
    last = next_state(_call(), outcome, auto_retry=True, schedule=spent)
    assert (last.status, last.next_retry_at) == (CallStatus.FAILED, None)


@pytest.mark.anyio
async def test_the_dispatcher_waits_as_the_receiver_asks_and_says_why(
    make_dispatcher: DispatcherFactory,
) -> None:
    with MockReceiver() as receiver:
        receiver.script("/busy", [{"status": 503, "retry_after": "2", "times": 1}, {"status": 200}])
        async with make_dispatcher(retry_scale=0.0001) as dispatcher:
            url = receiver.url_for("/busy")
            await dispatcher.create_webhook(webhook_attributes(url=url))
            (call_id,) = await dispatcher.raise_event(item_event())
            waiting = await dispatcher.wait_for_call(call_id, "rescheduled")
            assert waiting.next_retry_at is not None
            assert waiting.last_sent_at is not None
            late = (waiting.next_retry_at - waiting.last_sent_at).total_seconds()
            answer = waiting.attempts[0].duration_ms / 1000  # the wait counts from the answer
            assert late - answer == pytest.approx(2, abs=0.01)  # not 120 s at the test scale
            done = await dispatcher.wait_for_call(call_id, "success", attempts=2, timeout=10)
    first, second = done.attempts
    assert (first.response_status, first.retry_after) == (503, 2)
    assert (second.response_status, second.retry_after) == (200, None)
    assert (second.sent_at - first.sent_at).total_seconds() >= 2
