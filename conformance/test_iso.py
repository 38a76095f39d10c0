"""ISO: a hung receiver never delays calls to others (contract §8)."""

from __future__ import annotations

import time

from conformance.cases import MUST, case
from conformance.client import Target
from conformance.plugin import Evidence, Hooks
from conformance.steps import SSO, arrived, body_of
from receiver import MockReceiver


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


@case(
    "ISO-002",
    MUST,
    "§8",
    f"with {HUNG_CALLS} calls to a hung receiver, each call to another arrives within 1 s",
)
def test_many_hung(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    hung, prompt = hooks.path("hung"), hooks.path("prompt")
    hooks.create(receiver.url_for(hung, hang=1, listener="fault"), SSO, auto_retry=False)
    hooks.create(receiver.url_for(prompt), SSO)
    raised = {}
    for _ in range(HUNG_CALLS):
        user = target.sso_user()
        raised[user["id"]] = time.time()  # the receiver's clock is the wall clock too
    requests = arrived(receiver, prompt, evidence, HUNG_CALLS, timeout=10)
    late = {
        body_of(r)["entity"]["id"]: r.received_at - raised[body_of(r)["entity"]["id"]]
        for r in requests
    }
    worst = max(late, key=late.__getitem__)
    hanging = receiver.count(path=hung)
    evidence.actual = (
        f"{hanging} calls hanging; the latest prompt call arrived {late[worst]:.3f} s "
        f"after its event (user {worst})"
    )
    assert hanging >= 1, evidence.actual
    assert late[worst] < 1.0, evidence.actual
