"""ISO: a hung receiver never delays calls to others (SPEC §8)."""

from __future__ import annotations

from conformance.cases import MUST, case
from conformance.client import Target
from conformance.plugin import Evidence, Hooks
from conformance.steps import SSO, arrived
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
