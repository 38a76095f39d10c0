"""ISO: a hung receiver never delays calls to others (contract §8)."""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor

from conformance.cases import MUST, case
from conformance.client import Target
from conformance.plugin import Evidence, Hooks
from conformance.steps import SSO, arrived, body_of
from receiver import MockReceiver, RecordedRequest


@case("ISO-001", MUST, "§8", "calls to a prompt receiver arrive within 1 s while another hangs")
def test_hung_does_not_delay(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    hung, prompt = hooks.path("hung"), hooks.path("prompt")
    hooks.create(receiver.url_for(hung, hang=1, listener="fault"), SSO, auto_retry=False)
    hooks.create(receiver.url_for(prompt), SSO)
    fired = []
    for _ in range(5):
        target.sso_user()
        fired.append(receiver.count(path=prompt))
    requests = arrived(receiver, prompt, evidence, 5, timeout=3)
    hanging = receiver.requests(path=hung)
    spread = requests[-1].received_at - min(r.received_at for r in hanging or requests)
    evidence.actual = f"5 prompt calls within {spread:.3f} s of the first hung one"
    assert spread < 1.5, evidence.actual


#: ISO-002: more hung calls of one webhook than a per-webhook cap would let in flight.
HUNG_CALLS = 80
#: ISO-002: the calls to another receiver, raised once the hung ones are in flight.
PROMPT_CALLS = 5


def raise_at_once(target: Target, count: int) -> None:
    """Raise `count` events as fast as the target takes them: 8 requests at a time."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: target.sso_user(), range(count)))


def until_still(receiver: MockReceiver, path: str, most: int, timeout: float = 3.0) -> int:
    """Wait until no new request to `path` arrives for 0.25 s (or `most` have): how many did."""
    deadline = time.monotonic() + timeout
    seen, since = receiver.count(path=path), time.monotonic()
    while seen < most and time.monotonic() < deadline:
        time.sleep(0.05)
        now = receiver.count(path=path)
        if now != seen:
            seen, since = now, time.monotonic()
        elif time.monotonic() - since >= 0.25:
            break
    return seen


def open_at(requests: list[RecordedRequest], moment: float) -> int:
    """How many of `requests` had arrived and were not yet abandoned or answered at `moment`."""
    return sum(
        1
        for r in requests
        if r.received_at <= moment and (r.abandoned_at or r.answered_at or math.inf) > moment
    )


@case(
    "ISO-002",
    MUST,
    "§8",
    f"while {HUNG_CALLS} calls to a hung receiver are due, each call to another arrives within 1 s",
)
def test_many_hung(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    hung, prompt = hooks.path("hung"), hooks.path("prompt")
    hooks.create(receiver.url_for(hung, hang=1, listener="fault"), SSO, auto_retry=False)
    raise_at_once(target, HUNG_CALLS)
    until_still(receiver, hung, HUNG_CALLS)
    # Only now a second webhook: its calls are raised while the hung ones fill their slots.
    hooks.create(receiver.url_for(prompt), SSO)
    raised = {}
    for _ in range(PROMPT_CALLS):
        user = target.sso_user()
        raised[user["id"]] = time.time()  # the receiver's clock is the wall clock too
    requests = arrived(receiver, prompt, evidence, PROMPT_CALLS, timeout=10)
    late = {
        body_of(r)["entity"]["id"]: r.received_at - raised[body_of(r)["entity"]["id"]]
        for r in requests
    }
    worst = max(late, key=late.__getitem__)
    hanging = open_at(receiver.requests(path=hung), raised[worst])
    evidence.actual = (
        f"{hanging} calls hanging as user {worst} was created; its prompt call arrived "
        f"{late[worst]:.3f} s after"
    )
    assert hanging >= 1, evidence.actual
    assert late[worst] < 1.0, evidence.actual
