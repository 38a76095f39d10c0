"""Wrong deadlines, outcomes, retries and isolation each fail exactly the cases aimed at them.

Some defects would also fail cases that wait out long timeouts (an RTY schedule case
that passes takes the whole ~28 s schedule; a call that stays `rescheduled` makes an
OUT case wait 8 s). Those tests select the cases by id and say what they leave out.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import reference.calls
import reference.delivery
import reference.sender
from reference.calls import AttemptTrigger, DueCall, Transition, next_state
from reference.dispatcher import Dispatcher
from reference.payloads import CallContext
from reference.retries import DEFAULT_RETRY_DELAYS, RetrySchedule
from reference.sender import Outcome, OutgoingRequest, Sender
from reference.store import Completion
from reference.webhooks import Webhook
from tests.conformance.servers import SCALE, failing_cases, served, swap_sender

classify = reference.sender._classify

#: Every RTY case but RTY-005, which waits out the whole schedule when it passes.
RTY_BUT_FULL_SCHEDULE = ("RTY-001", "RTY-002", "RTY-003", "RTY-004", "RTY-006", "RTY-007")


class HangUpSender(Sender):
    """Wrong: a cut-off exchange is logged as the hang-up that ends it (contract §7: `timeout`)."""

    async def send(self, request: OutgoingRequest) -> Outcome:
        outcome = await super().send(request)
        if outcome.error == "timeout":
            return dataclasses.replace(outcome, error="connection_error")
        return outcome


class PersistentSender(Sender):
    """Wrong: a refused connection is tried twice more, 1 s apart, within one attempt.

    contract §8: a refused connection is a failure, at once; retries follow the schedule.
    """

    async def send(self, request: OutgoingRequest) -> Outcome:
        started = time.monotonic()
        first = outcome = await super().send(request)
        for _ in range(2):
            if outcome.error != "connection_refused":
                break
            await asyncio.sleep(1.0)
            outcome = await super().send(request)
        took = round((time.monotonic() - started) * 1000)
        return dataclasses.replace(outcome, sent_at=first.sent_at, duration_ms=took)


class MarkedCutSender(Sender):
    """Wrong: a cut answer is logged with a marker after its first 64 KiB.

    contract §7: `response_payload` keeps at most the first 64 KiB.
    """

    async def _read_stream(self, content: aiohttp.StreamReader, into: bytearray) -> bool:
        complete = await super()._read_stream(content, into)
        if not complete:
            into += b" [truncated]"
        return complete


class DrainingSender(Sender):
    """Wrong: keeps 64 KiB of the answer but reads it to the end, to reuse the connection.

    contract §7: a larger body is never read further.
    """

    async def _read_stream(self, content: aiohttp.StreamReader, into: bytearray) -> bool:
        while chunk := await content.readany():
            into += chunk[: max(0, self._max_bytes - len(into))]
        return True


class HeadlessSender(Sender):
    """Wrong: the answer's headers are dropped (contract §7: status, headers and body are kept)."""

    async def send(self, request: OutgoingRequest) -> Outcome:
        return dataclasses.replace(await super().send(request), headers=())


class OneAtATimeSender(Sender):
    """Wrong: one exchange at a time, behind one lock (contract §8: a dead receiver delays none)."""

    def __init__(self) -> None:
        super().__init__()
        self._one = asyncio.Lock()

    async def send(self, request: OutgoingRequest) -> Outcome:
        async with self._one:
            return await super().send(request)


def every_failure_a_connection_error(exc: BaseException) -> str:
    """Wrong: whatever the network did, `connection_error` (contract §7 names five errors)."""
    error = classify(exc)
    return error if error in ("blocked_destination", "timeout") else "connection_error"


def only_200(outcome: Outcome) -> bool:
    """Wrong: only `200 OK` is a success (contract §8: any 2xx)."""
    return outcome.error is None and outcome.status == 200


def below_500(outcome: Outcome) -> bool:
    """Wrong: only a server error or no answer is a failure (contract §8: anything but 2xx)."""
    return outcome.error is None and outcome.status is not None and outcome.status < 500


def answers_are_final(
    call: DueCall, outcome: Outcome, *, auto_retry: bool, schedule: RetrySchedule
) -> Transition:
    """Wrong: a failure that got an answer (a 5xx) is final; only no answer is retried.

    contract §8: after any failed attempt the call is `rescheduled` when auto_retry is on.
    """
    retry = auto_retry and outcome.status is None
    return next_state(call, outcome, auto_retry=retry, schedule=schedule)


def auto_retry_ignored(
    call: DueCall, outcome: Outcome, *, auto_retry: bool, schedule: RetrySchedule
) -> Transition:
    """Wrong: every failure is retried (contract §8: without auto_retry it is `failed` at once)."""
    return next_state(call, outcome, auto_retry=True, schedule=schedule)


def count_always_zero(**fields: Any) -> CallContext:
    """Wrong: the payload always says 0 retries (contract §5: the n-th retry says n)."""
    return CallContext(**{**fields, "attempted_auto_retries_count": 0})


def settings_as_made(dispatcher: Dispatcher) -> None:
    """Wrong: a retry is sent with the webhook as it was at the call's first attempt.

    contract §8: each retry uses the webhook's settings as they are then.
    """
    send = dispatcher.delivery._send
    made_with: dict[str, Webhook] = {}

    async def send_as_made(call: DueCall, webhook: Webhook) -> Completion:
        first = made_with.setdefault(call.id, webhook)
        return await send(call, first if call.trigger is AttemptTrigger.AUTO_RETRY else webhook)

    dispatcher.delivery._send = send_as_made  # type: ignore[method-assign]


def test_a_four_second_deadline_fails_the_window_and_late_answer_cases(tmp_path: Path) -> None:
    def four_seconds(dispatcher: Dispatcher) -> None:
        # Wrong: a deadline of 4 s (contract §8: 5 s for the whole exchange).
        swap_sender(dispatcher, Sender(deadline=4.0))

    with served(tmp_path / "four.db", four_seconds) as url:
        failing = failing_cases(url, tmp_path / "report", "TMO")
    assert set(failing) == {"TMO-001", "TMO-002", "TMO-003", "TMO-004", "TMO-007"}


def test_a_timeout_logged_as_a_hang_up_fails_the_timeout_log_cases(tmp_path: Path) -> None:
    def hang_up(dispatcher: Dispatcher) -> None:
        swap_sender(dispatcher, HangUpSender())

    with served(tmp_path / "hang-up.db", hang_up) as url:
        failing = failing_cases(url, tmp_path / "report", "TMO")
    assert set(failing) == {"TMO-005", "TMO-006"}
    assert failing["TMO-006"] == "non-strict"


def test_retrying_a_refused_connection_at_once_fails_the_refused_case(tmp_path: Path) -> None:
    def persistent(dispatcher: Dispatcher) -> None:
        swap_sender(dispatcher, PersistentSender())

    # Only refused connections are touched: no other TMO case needs its 5 s run here.
    with served(tmp_path / "persistent.db", persistent) as url:
        failing = failing_cases(url, tmp_path / "report", "TMO-008", "OUT")
    assert set(failing) == {"TMO-008"}


def test_every_failure_a_connection_error_fails_the_error_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.sender, "_classify", every_failure_a_connection_error)
    # Timeouts are named before `_classify` is asked: the other TMO cases are not touched.
    with served(tmp_path / "connection-error.db") as url:
        failing = failing_cases(url, tmp_path / "report", "TMO-008", "OUT")
    assert set(failing) == {"TMO-008", "OUT-008"}
    assert failing["OUT-008"] == "non-strict"


def test_only_200_a_success_fails_the_2xx_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Outcome, "ok", property(only_200))
    with served(tmp_path / "only-200.db") as url:
        failing = failing_cases(url, tmp_path / "report", "OUT")
    assert set(failing) == {"OUT-001"}


def test_a_4xx_as_a_success_fails_the_4xx_and_redirect_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Outcome, "ok", property(below_500))
    with served(tmp_path / "below-500.db") as url:
        failing = failing_cases(url, tmp_path / "report", "OUT")
    assert set(failing) == {"OUT-002", "OUT-003"}


def test_a_5xx_not_retried_fails_the_5xx_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.delivery, "next_state", answers_are_final)
    # So do RTY-001, -002, -004, -005, LOG-007, -010 and RSD-003, -004, which wait for
    # retries: each waits out its timeout, ~80 s in all.
    with served(tmp_path / "final-5xx.db") as url:
        failing = failing_cases(url, tmp_path / "report", "OUT")
    assert set(failing) == {"OUT-004"}


def test_a_marker_after_a_cut_answer_fails_the_huge_case(tmp_path: Path) -> None:
    def marked(dispatcher: Dispatcher) -> None:
        swap_sender(dispatcher, MarkedCutSender())

    with served(tmp_path / "marked.db", marked) as url:
        failing = failing_cases(url, tmp_path / "report", "OUT")
    assert set(failing) == {"OUT-005"}


def test_reading_a_huge_answer_to_its_end_fails_the_hang_up_case(tmp_path: Path) -> None:
    def draining(dispatcher: Dispatcher) -> None:
        swap_sender(dispatcher, DrainingSender())

    with served(tmp_path / "draining.db", draining) as url:
        failing = failing_cases(url, tmp_path / "report", "OUT")
    assert failing == {"OUT-006": "non-strict"}


def test_dropping_the_answer_headers_fails_the_answer_logged_case(tmp_path: Path) -> None:
    def headless(dispatcher: Dispatcher) -> None:
        swap_sender(dispatcher, HeadlessSender())

    with served(tmp_path / "headless.db", headless) as url:
        failing = failing_cases(url, tmp_path / "report", "OUT", "LOG-001")
    assert set(failing) == {"OUT-007"}


def test_a_count_always_zero_fails_the_retry_count_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.delivery, "CallContext", count_always_zero)
    # RTY-005 fails on the first retry's count, without waiting out the schedule.
    with served(tmp_path / "zero.db") as url:
        failing = failing_cases(url, tmp_path / "report", "RTY")
    assert set(failing) == {"RTY-001", "RTY-005"}


def test_ignoring_auto_retry_fails_the_no_retry_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.delivery, "next_state", auto_retry_ignored)
    # OUT-002, -003, -008 and TMO-005, -006, -008 fail too: each waits for a failed call
    # with auto_retry off, and gets a rescheduled one only after its timeout (~60 s in all).
    with served(tmp_path / "always-retry.db") as url:
        failing = failing_cases(url, tmp_path / "report", *RTY_BUT_FULL_SCHEDULE)
    assert set(failing) == {"RTY-003"}


def test_retries_with_the_first_settings_fail_the_current_settings_case(tmp_path: Path) -> None:
    # RTY-005 keeps one URL and sends the same headers: it is not touched.
    with served(tmp_path / "as-made.db", settings_as_made) as url:
        failing = failing_cases(url, tmp_path / "report", *RTY_BUT_FULL_SCHEDULE)
    assert failing == {"RTY-004": "non-strict"}


def test_a_shorter_schedule_fails_the_full_schedule_case_at_once(tmp_path: Path) -> None:
    # Wrong: 5 retries (contract §8: 7, the last 1 day and 2 days after the attempt before).
    # The schedule's cases only: RTY-006 and -007 wait out a receiver's Retry-After.
    schedule = ("RTY-001", "RTY-002", "RTY-003", "RTY-004", "RTY-005")
    with served(tmp_path / "five.db", retry_delays=DEFAULT_RETRY_DELAYS[:5]) as url:
        failing = failing_cases(url, tmp_path / "report", *schedule)
    assert set(failing) == {"RTY-005"}
    # The 6th retry is not waited for once the call is failed. Waiting for it would
    # take the case at least its scaled gap (8.64 s) past the 5th retry, whose own
    # schedule is 2.4 s in all; the case's time, not the run's, so that a busy machine
    # (eight test workers on two cores took the run from 8 s to 40 s) does not blur it.
    index = json.loads((tmp_path / "report" / "index.json").read_text(encoding="utf-8"))
    (case,) = [c for c in index["cases"] if c["id"] == "RTY-005"]
    assert case["duration"] < DEFAULT_RETRY_DELAYS[5] * SCALE, case["actual"]


def test_one_exchange_at_a_time_fails_the_hung_receiver_case(tmp_path: Path) -> None:
    def one_at_a_time(dispatcher: Dispatcher) -> None:
        swap_sender(dispatcher, OneAtATimeSender())

    # ISO-002 fails too, once its 10 s wait is over.
    with served(tmp_path / "one-at-a-time.db", one_at_a_time) as url:
        failing = failing_cases(url, tmp_path / "report", "ISO-001")
    assert set(failing) == {"ISO-001"}


def test_ignoring_retry_after_fails_the_retry_after_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Wrong: the schedule alone decides (contract §8: a 429 or 503's Retry-After holds).
    monkeypatch.setattr(reference.calls, "_retry_after", lambda outcome, answered: None)
    with served(tmp_path / "no-retry-after.db") as url:
        failing = failing_cases(url, tmp_path / "report", "RTY-006", "RTY-007")
    assert failing == {"RTY-006": "non-strict", "RTY-007": "non-strict"}
