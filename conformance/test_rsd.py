"""RSD: resending a call (contract §8): the same call, updated, with the current settings."""

from __future__ import annotations

import time

from conformance.cases import MUST, SHOULD, case
from conformance.client import Resource, Target
from conformance.plugin import Evidence, Hooks
from conformance.steps import SSO, arrived, body_of, moment
from receiver import MockReceiver


def _settled(target: Target, webhook: Resource) -> Resource:
    [call] = target.wait_call_status(webhook["id"], "success", "failed", timeout=8)
    return call


def _far_retry(target: Target, webhook: Resource) -> Resource:
    """The webhook's call once its next retry is at least 1 s away (any retry scale)."""

    def far(calls: list[Resource]) -> bool:
        if len(calls) != 1 or calls[0]["attributes"]["status"] != "rescheduled":
            return False
        return moment(calls[0]["attributes"]["next_retry_at"]) - time.time() >= 1.0

    calls = target.wait_calls(webhook["id"], far, timeout=12)
    assert far(calls), f"no retry 1 s away: {[c['attributes']['status'] for c in calls]}"
    return calls[0]


@case("RSD-001", MUST, "§8", "a resend (204) sends again and updates the same call")
def test_same_call(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    path = hooks.path()
    webhook = hooks.create(receiver.url_for(path), SSO)
    target.sso_user()
    call = _settled(target, webhook)
    response = target.resend(call["id"])
    assert response.status_code == 204, response.status_code
    _, second = arrived(receiver, path, evidence, 2)
    assert body_of(second)["webhook_call_id"] == call["id"]
    calls = target.wait_calls(
        webhook["id"], lambda cs: len(cs[0]["attributes"]["attempts"]) >= 2, timeout=5
    )
    triggers = [[a["trigger"] for a in c["attributes"]["attempts"]] for c in calls]
    evidence.actual = f"calls {[c['id'] for c in calls]}, attempts {triggers}"
    assert [c["id"] for c in calls] == [call["id"]]
    assert triggers == [["event", "manual"]]


@case("RSD-002", MUST, "§8", "a resend uses the webhook's current URL, headers and auth")
def test_current_settings(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    old, new = hooks.path("old"), hooks.path("new")
    webhook = hooks.create(receiver.url_for(old), SSO)
    target.sso_user()
    call = _settled(target, webhook)
    target.update_webhook(
        webhook["id"],
        url=receiver.url_for(new),
        headers={"X-Rev": "2"},
        http_basic_user="u",
        http_basic_password="p",
    )
    target.resend(call["id"])
    [request] = arrived(receiver, new, evidence)
    assert request.header_values("x-rev") == ["2"]
    assert request.header_values("authorization") == ["Basic dTpw"]


@case("RSD-003", MUST, "§8", "a successful resend cancels the retries still scheduled")
def test_success_cancels(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    failing, fixed = hooks.path("failing"), hooks.path("fixed")
    webhook = hooks.create(receiver.url_for(failing, status=500), SSO)
    target.sso_user()
    call = _far_retry(target, webhook)
    target.update_webhook(webhook["id"], url=receiver.url_for(fixed))
    target.resend(call["id"])
    arrived(receiver, fixed, evidence)
    [after] = target.wait_calls(
        webhook["id"], lambda cs: cs[0]["attributes"]["status"] != "rescheduled", timeout=5
    )
    attributes = after["attributes"]
    triggers = [a["trigger"] for a in attributes["attempts"]]
    evidence.actual = (
        f"{after['id']}: {attributes['status']}, next {attributes['next_retry_at']},"
        f" attempts {triggers}"
    )
    assert after["id"] == call["id"]
    assert (attributes["status"], attributes["next_retry_at"]) == ("success", None)
    # The success must be the resend's: a later retry to the fixed URL proves nothing.
    assert triggers[-1] == "manual", triggers


@case("RSD-004", MUST, "§8", "a failed resend leaves the retry schedule and count as they were")
def test_failure_keeps(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    failing = hooks.path("failing")
    webhook = hooks.create(receiver.url_for(failing, status=500), SSO)
    target.sso_user()
    call = _far_retry(target, webhook)
    before = call["attributes"]
    attempts = len(before["attempts"])
    target.resend(call["id"])
    [after] = target.wait_calls(
        webhook["id"], lambda cs: len(cs[0]["attributes"]["attempts"]) > attempts, timeout=5
    )
    now = after["attributes"]
    evidence.actual = (
        f"{after['id']}: {now['status']} retries {now['attempted_auto_retries_count']}"
        f" next {now['next_retry_at']} (before: {before['attempted_auto_retries_count']}"
        f" next {before['next_retry_at']})"
    )
    assert after["id"] == call["id"]
    assert now["status"] == "rescheduled"
    assert now["attempted_auto_retries_count"] == before["attempted_auto_retries_count"]
    assert now["next_retry_at"] == before["next_retry_at"]
    assert now["attempts"][-1]["trigger"] == "manual"


@case("RSD-005", MUST, "§8", "a call whose webhook was deleted cannot be resent (422)")
def test_deleted(target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence) -> None:
    webhook = hooks.create(receiver.url_for(hooks.path()), SSO)
    target.sso_user()
    call = _settled(target, webhook)
    target.delete_webhook(webhook["id"])
    response = target.resend(call["id"])
    evidence.actual = f"{response.status_code} {response.text[:200]}"
    assert response.status_code == 422


@case("RSD-006", SHOULD, "§8", "a call of a disabled webhook can be resent")
def test_disabled(target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence) -> None:
    path = hooks.path()
    webhook = hooks.create(receiver.url_for(path), SSO)
    target.sso_user()
    call = _settled(target, webhook)
    target.update_webhook(webhook["id"], enabled=False)
    response = target.resend(call["id"])
    assert response.status_code == 204, response.status_code
    arrived(receiver, path, evidence, 2)


@case("RSD-007", SHOULD, "§1", "resending a call that does not exist is 404")
def test_unknown(target: Target, evidence: Evidence) -> None:
    response = target.resend("999999999")
    evidence.actual = str(response.status_code)
    assert response.status_code == 404
