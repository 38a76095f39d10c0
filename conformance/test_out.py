"""OUT: what counts as success, and what is kept of the answer (contract §7, §8)."""

from __future__ import annotations

from conformance.cases import MUST, SHOULD, case
from conformance.client import Resource, Target
from conformance.plugin import Evidence, Hooks
from conformance.steps import SSO, arrived
from receiver import MockReceiver


def _one_call(target: Target, webhook: Resource) -> Resource:
    [call] = target.wait_call_status(webhook["id"], "success", "failed", timeout=8)
    attributes: Resource = call["attributes"]
    return attributes


@case("OUT-001", MUST, "§8", "a 2xx answer (200, 201, 204) is a success")
def test_success(target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence) -> None:
    seen = []
    webhooks = [
        hooks.create(receiver.url_for(hooks.path(), status=status), SSO, auto_retry=False)
        for status in (200, 201, 204)
    ]
    target.sso_user()
    for webhook in webhooks:
        attributes = _one_call(target, webhook)
        seen.append((attributes["response_status"], attributes["status"]))
    evidence.actual = str(seen)
    assert [status for _, status in seen] == ["success"] * 3


@case("OUT-002", MUST, "§5", "a 3xx is a failure and its Location is not followed")
def test_redirect(target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence) -> None:
    elsewhere = hooks.path("elsewhere")
    seen = []
    paths = [hooks.path(f"r{status}") for status in (302, 307)]
    webhooks = [
        hooks.create(
            receiver.url_for(path, status=status, redirect=receiver.url + elsewhere),
            SSO,
            auto_retry=False,
        )
        for path, status in zip(paths, (302, 307), strict=True)
    ]
    target.sso_user()
    for path, webhook in zip(paths, webhooks, strict=True):
        arrived(receiver, path, evidence)
        attributes = _one_call(target, webhook)
        seen.append((attributes["response_status"], attributes["status"]))
    followed = receiver.requests(path=elsewhere)
    evidence.actual = f"{seen}; requests to the Location: {len(followed)}"
    assert [status for _, status in seen] == ["failed", "failed"]
    assert followed == []


@case("OUT-003", MUST, "§8", "a 4xx answer is a failure")
def test_client_error(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    webhook = hooks.create(receiver.url_for(hooks.path(), status=404), SSO, auto_retry=False)
    target.sso_user()
    attributes = _one_call(target, webhook)
    evidence.actual = f"{attributes['response_status']} {attributes['status']}"
    assert (attributes["response_status"], attributes["status"]) == (404, "failed")


@case("OUT-004", MUST, "§8", "a 5xx answer is a failure, retried when auto_retry is on")
def test_server_error(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    path = hooks.path()
    webhook = hooks.create(receiver.url_for(path, status=503), SSO)
    target.sso_user()
    arrived(receiver, path, evidence)
    [call] = target.wait_call_status(webhook["id"], "rescheduled", "failed")
    attributes = call["attributes"]
    evidence.actual = (
        f"{attributes['response_status']} {attributes['status']}, next "
        f"{attributes['next_retry_at']}, count {attributes['attempted_auto_retries_count']}"
    )
    assert attributes["response_status"] == 503
    # Retried: a retry is due, or (a schedule shrunk to a blink) retries were sent already.
    due = attributes["status"] == "rescheduled" and attributes["next_retry_at"] is not None
    assert due or attributes["attempted_auto_retries_count"] > 0, evidence.actual


@case("OUT-005", MUST, "§7", "a huge answer is kept to its first 64 KiB")
def test_huge(target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence) -> None:
    path = hooks.path()
    webhook = hooks.create(receiver.url_for(path, huge="100MiB"), SSO, auto_retry=False)
    target.sso_user()
    attributes = _one_call(target, webhook)
    payload = attributes["response_payload"] or ""
    evidence.actual = f"{attributes['status']}, kept {len(payload.encode())} bytes"
    assert 0 < len(payload.encode()) <= 65536


@case("OUT-006", SHOULD, "§7", "the rest of a huge answer is never read: the sender hangs up")
def test_huge_abandoned(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    path = hooks.path()
    hooks.create(receiver.url_for(path, huge="100MiB"), SSO, auto_retry=False)
    target.sso_user()
    [request] = arrived(receiver, path, evidence, done=True, timeout=8)
    evidence.actual = f"receiver outcome {request.outcome}"
    assert request.outcome == "abandoned"


@case("OUT-007", MUST, "§7", "status, headers and body of the answer are in the log")
def test_answer_logged(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    url = receiver.url_for(hooks.path(), status=202, body="accepted!", header="X-Trace:abc")
    webhook = hooks.create(url, SSO, auto_retry=False)
    target.sso_user()
    attributes = _one_call(target, webhook)
    headers = {k.lower(): v for k, v in (attributes["response_headers"] or {}).items()}
    evidence.actual = (
        f"{attributes['response_status']} {headers} {attributes['response_payload']!r}"
    )
    assert attributes["response_status"] == 202
    assert attributes["response_payload"] == "accepted!"
    assert headers.get("x-trace") == "abc"


@case("OUT-008", SHOULD, "§7", "no reply is connection_error; a non-HTTP reply invalid_response")
def test_broken_answers(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    closed = hooks.create(receiver.url_for(hooks.path(), fault="close"), SSO, auto_retry=False)
    garbage = hooks.create(receiver.url_for(hooks.path(), fault="garbage"), SSO, auto_retry=False)
    target.sso_user()
    seen = [
        (_one_call(target, w)["status"], _one_call(target, w)["error"]) for w in (closed, garbage)
    ]
    evidence.actual = str(seen)
    assert seen == [("failed", "connection_error"), ("failed", "invalid_response")]
