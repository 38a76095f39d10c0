"""RTY: the retry schedule (SPEC §8), with the target's schedule shrunk by --retry-scale."""

from __future__ import annotations

import itertools

from conformance.cases import MUST, SHOULD, case
from conformance.client import Target
from conformance.plugin import Evidence, Hooks
from conformance.steps import SSO, arrived, body_of
from receiver import MockReceiver

#: SPEC §8: the gaps before each retry, in seconds.
SCHEDULE = (120, 360, 1800, 3600, 18000, 86400, 172800)


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


@case("RTY-004", SHOULD, "§8", "each retry uses the webhook's settings as they are then")
def test_current_settings(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence, retry_scale: float
) -> None:
    old, new = hooks.path("old"), hooks.path("new")
    webhook = hooks.create(receiver.url_for(old, status=500), SSO)
    target.sso_user()
    arrived(receiver, old, evidence)
    target.update_webhook(webhook["id"], url=receiver.url_for(new), headers={"X-Rev": "2"})
    [request] = arrived(receiver, new, evidence, timeout=10 + SCHEDULE[2] * retry_scale)
    assert request.header_values("x-rev") == ["2"]
