"""RTY: the retry schedule (contract §8), with the target's schedule shrunk by --retry-scale."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import pytest

from conformance.cases import MUST, SHOULD, case
from conformance.client import Target
from conformance.plugin import Evidence, Hooks
from conformance.preflight import SCHEDULE
from conformance.steps import SSO, arrived, body_of, moment, trigger
from receiver import MockReceiver, RecordedRequest, WaitTimeout


@case("RTY-001", MUST, "§8", "a failure is retried; the retry's count is 1; then success")
def test_retried(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence, retry_scale: float
) -> None:
    path = hooks.path()
    receiver.script(path, [{"status": 500}, {"status": 200}])
    webhook = hooks.create(receiver.url + path, SSO)
    target.sso_user()
    first, second = arrived(receiver, path, evidence, 2, timeout=5 + SCHEDULE[0] * retry_scale)
    counts = [
        body_of(first)["attempted_auto_retries_count"],
        body_of(second)["attempted_auto_retries_count"],
    ]
    [call] = target.wait_call_status(webhook["id"], "success")
    attributes = call["attributes"]
    triggers = [a["trigger"] for a in attributes["attempts"]]
    evidence.actual = f"counts {counts}, triggers {triggers}, {attributes['status']}"
    assert counts == [0, 1]
    assert triggers == ["event", "auto_retry"]
    assert attributes["attempted_auto_retries_count"] == 1


@case("RTY-002", MUST, "§8", "retries come no earlier than the schedule, with growing gaps")
def test_gaps(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence, retry_scale: float
) -> None:
    path = hooks.path()
    webhook = hooks.create(receiver.url_for(path, status=500), SSO)
    # Watch as many retries as fit in 8 s at this scale.
    gaps = [g * retry_scale for g in SCHEDULE]
    watched = max(1, sum(1 for i in range(len(gaps)) if sum(gaps[: i + 1]) <= 8))
    target.sso_user()
    requests = arrived(receiver, path, evidence, watched + 1, timeout=10 + sum(gaps[:watched]))
    target.delete_webhook(webhook["id"])
    hooks.created.remove(webhook["id"])
    seen = [b.received_at - a.received_at for a, b in itertools.pairwise(requests)]
    evidence.actual = (
        f"gaps {[round(g, 3) for g in seen]} for {[round(g, 3) for g in gaps[:watched]]}"
    )
    assert all(s >= g * 0.9 - 0.005 for s, g in zip(seen, gaps, strict=False)), evidence.actual


@case("RTY-003", MUST, "§8", "with auto_retry false the first failure is final")
def test_no_retry(target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence) -> None:
    path = hooks.path()
    webhook = hooks.create(receiver.url_for(path, status=500), SSO, auto_retry=False)
    target.sso_user()
    [call] = target.wait_call_status(webhook["id"], "failed", "rescheduled")
    attributes = call["attributes"]
    evidence.actual = f"{attributes['status']}, next {attributes['next_retry_at']}"
    assert (attributes["status"], attributes["next_retry_at"]) == ("failed", None)


@case("RTY-006", SHOULD, "§8", "after a 503 with Retry-After: 2 the retry waits 2 s, unscaled")
def test_retry_after_seconds(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence, retry_scale: float
) -> None:
    _retry_after(target, receiver, hooks, evidence, retry_scale, 503, {"retry_after": "2"})


@case("RTY-007", SHOULD, "§8", "after a 429 with Retry-After as an HTTP date the retry waits")
def test_retry_after_date(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence, retry_scale: float
) -> None:
    _retry_after(target, receiver, hooks, evidence, retry_scale, 429, {"retry_after_date": 3})


def _retry_after(
    target: Target,
    receiver: MockReceiver,
    hooks: Hooks,
    evidence: Evidence,
    retry_scale: float,
    status: int,
    step: dict[str, object],
) -> None:
    """The first answer asks for a wait far longer than the shrunk schedule's gap."""
    wait = 2.0 if "retry_after" in step else float(str(step["retry_after_date"]))
    if SCHEDULE[0] * retry_scale >= wait:
        pytest.skip(f"the shrunk schedule's first gap is not shorter than {wait:g} s")
    path = hooks.path()
    receiver.script(path, [{"status": status, "times": 1, **step}, {"status": 200}])
    webhook = hooks.create(receiver.url + path, SSO)
    target.sso_user()
    first, second = arrived(receiver, path, evidence, 2, timeout=10 + wait)
    gap = second.received_at - first.received_at
    [call] = target.wait_call_status(webhook["id"], "success")
    evidence.actual = f"retry {gap:.3f} s after the {status}, asked to wait {wait:g} s"
    # An HTTP date has whole seconds: the wait it names may be up to 1 s shorter.
    least = wait - (1.0 if "retry_after_date" in step else 0.0) - 0.01
    assert gap >= least, evidence.actual
    assert call["attributes"]["status"] == "success"


@case("RTY-004", SHOULD, "§8", "each retry uses the webhook's settings as they are then")
def test_current_settings(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence, retry_scale: float
) -> None:
    old, new = hooks.path("old"), hooks.path("new")
    webhook = hooks.create(receiver.url_for(old, status=500), SSO)
    target.sso_user()
    arrived(receiver, old, evidence)
    target.update_webhook(webhook["id"], url=receiver.url_for(new), headers={"X-Rev": "2"})
    [request] = arrived(receiver, new, evidence, timeout=5 + SCHEDULE[2] * retry_scale)
    assert request.header_values("x-rev") == ["2"]


#: RTY-005 waits for the whole schedule only when it fits in this many seconds.
FULL_SCHEDULE_BUDGET = 60.0
#: RTY-005: how long after the latest moment it may come (`gap * 1.5 + 1.0`) a retry is awaited.
LATE_GRACE = 1.0
#: RTY-005: how often the call is looked at while a retry is awaited.
CALL_POLL = 0.5
#: RTY-005: how much later than it was sent an attempt may reach the mock receiver. A gap
#: timed there is short by as much as the attempt before it was late: on a busy machine
#: (a new connection, a process that was not scheduled) 50 ms has been seen. The gaps in
#: the activity log hold the schedule to the millisecond.
ARRIVAL_SLACK = 0.1


@dataclass(frozen=True)
class _Running:
    hooks: Hooks
    path: str
    webhook_id: str
    gaps: tuple[float, ...]


def _start_full_schedule(target: Target, receiver: MockReceiver, config: pytest.Config) -> _Running:
    """RTY-005's event, sent before the first case so that its 8 attempts overlap the run."""
    scale: float | None = config.getoption("--retry-scale")
    if scale is None or scale >= 1:
        pytest.skip("the target's retry schedule cannot be shrunk (no --retry-scale below 1)")
    gaps = tuple(g * scale for g in SCHEDULE)
    if sum(gaps) > FULL_SCHEDULE_BUDGET:
        pytest.skip(
            f"the schedule scaled by {scale} takes {sum(gaps):.0f} s, "
            f"over the {FULL_SCHEDULE_BUDGET:.0f} s this case may wait"
        )
    hooks = Hooks(target, receiver, "RTY-005")
    path = hooks.path()
    # A trigger of its own: no other case's event may match it while it runs.
    build = target.build_trigger()["id"]
    events = trigger("build_trigger", "deploy_started", build_trigger=[build])
    webhook = hooks.create(receiver.url_for(path, status=500), events)
    target.trigger_build(build)
    return _Running(hooks, path, webhook["id"], gaps)


def _attempts(
    target: Target, receiver: MockReceiver, running: _Running, evidence: Evidence
) -> list[RecordedRequest]:
    """The 8 attempts, each awaited only until it is too late for the case to pass.

    Attempt n+1 is given up `gap * 1.5 + 1.0` (the bound asserted) plus `LATE_GRACE`
    after attempt n reached the receiver (wall clock, like `received_at`), or as soon
    as the call is final: then no retry comes, and waiting longer shows nothing more.
    Each retry's count is checked as it arrives.
    """
    requests = _attempt(target, receiver, running, evidence, 1, time.time() + 15)
    for n, gap in enumerate(running.gaps, start=2):
        latest = requests[n - 2].received_at + gap * 1.5 + 1.0 + LATE_GRACE
        requests = _attempt(target, receiver, running, evidence, n, latest)
        # A wrong count is wrong at once: no need to wait out the rest of the schedule.
        count = body_of(requests[n - 1])["attempted_auto_retries_count"]
        evidence.actual = f"attempt {n} says attempted_auto_retries_count {count}"
        assert count == n - 1, evidence.actual
    return requests[:8]


def _attempt(
    target: Target,
    receiver: MockReceiver,
    running: _Running,
    evidence: Evidence,
    number: int,
    latest: float,
) -> list[RecordedRequest]:
    """The requests once attempt `number` has arrived; fails at `latest` or on a final call."""
    while True:
        # Looked at before the receiver: an attempt is recorded there before its call
        # can be final, so a final call with too few requests means no more will come.
        final = _final_status(target, running.webhook_id)
        left = 0.0 if final else max(0.0, min(CALL_POLL, latest - time.time()))
        try:
            requests = receiver.wait_for(number, path=running.path, timeout=left)
        except WaitTimeout:
            if final or time.time() >= latest:
                seen = evidence.saw(receiver.requests(path=running.path))
                evidence.actual = _missing(seen, number, latest, final)
                raise AssertionError(evidence.actual) from None
            continue
        evidence.saw(requests[:8])
        return requests


def _final_status(target: Target, webhook_id: str) -> str | None:
    statuses = {c["attributes"]["status"] for c in target.calls_of(webhook_id)}
    final = statuses & {"success", "failed"}
    return final.pop() if final and final == statuses else None


def _missing(seen: list[RecordedRequest], number: int, latest: float, final: str | None) -> str:
    if final:
        why = f"the call is {final}"
    elif seen:
        why = f"awaited until {latest - seen[-1].received_at:.3f} s after the last one"
    else:
        why = "awaited for 15 s"
    at = [round(r.received_at - seen[0].received_at, 3) for r in seen]
    return (
        f"attempt {number} of 8 (retry {number - 1}) did not come ({why});"
        f" {len(seen)} came, at {at} s from the first"
    )


@pytest.mark.last(start=_start_full_schedule)
@case("RTY-005", MUST, "§8", "7 retries (8 attempts), growing gaps, then failed with count 7")
def test_full_schedule(
    target: Target,
    receiver: MockReceiver,
    evidence: Evidence,
    retry_scale: float,  # it waits for retries: skipped with the other cases that do
    started: object,
) -> None:
    assert isinstance(started, _Running)
    try:
        gaps = started.gaps
        requests = _attempts(target, receiver, started, evidence)
        [call] = target.wait_call_status(started.webhook_id, "failed", timeout=10)
        attributes = call["attributes"]
        seen = [b.received_at - a.received_at for a, b in itertools.pairwise(requests)]
        counts = [body_of(r)["attempted_auto_retries_count"] for r in requests]
        triggers = [a["trigger"] for a in attributes["attempts"]]
        evidence.actual = (
            f"counts {counts}, gaps {[round(g, 3) for g in seen]} for "
            f"{[round(g, 3) for g in gaps]}, {attributes['status']}, "
            f"count {attributes['attempted_auto_retries_count']}, "
            f"next {attributes['next_retry_at']}, {receiver.count(path=started.path)} requests"
        )
        assert counts == list(range(8)), evidence.actual
        sent = [moment(a["sent_at"]) for a in attributes["attempts"]]
        logged = [b - a for a, b in itertools.pairwise(sent)]
        evidence.actual += f", logged gaps {[round(g, 3) for g in logged]}"
        # Each gap no earlier than its schedule and not far beyond it, so the gaps grow.
        # At the receiver, less what the attempt before took to arrive (ARRIVAL_SLACK);
        # in the log, from one attempt's start to the next.
        early = [g * 0.9 - ARRIVAL_SLACK for g in gaps]
        assert all(s >= e for s, e in zip(seen, early, strict=True)), evidence.actual
        assert all(s >= g * 0.9 - 0.002 for s, g in zip(logged, gaps, strict=True)), evidence.actual
        assert all(s <= g * 1.5 + 1.0 for s, g in zip(seen, gaps, strict=True)), evidence.actual
        assert attributes["status"] == "failed" and attributes["next_retry_at"] is None
        assert attributes["attempted_auto_retries_count"] == 7
        assert triggers == ["event"] + ["auto_retry"] * 7, evidence.actual
        assert receiver.count(path=started.path) == 8, evidence.actual
    finally:
        started.hooks.cleanup()
