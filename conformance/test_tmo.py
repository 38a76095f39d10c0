"""TMO: one 5 s deadline over the whole exchange (contract §8), measured by the receiver.

Every scenario starts at once, from one event, so the module takes one
deadline rather than six. The window is where the receiver saw the sender hang
up, relative to when the request arrived.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from conformance.cases import MUST, SHOULD, case
from conformance.client import Resource, Target
from conformance.plugin import Evidence
from conformance.steps import SSO, arrived
from receiver import MockReceiver

WINDOW = (4.9, 5.6)

SCENARIOS: dict[str, dict[str, Any]] = {
    "hang": {"hang": 1},
    "status": {"dribble": "status", "dribble_interval": 0.4},
    "body": {"dribble": "body", "dribble_interval": 0.4},
    "headers": {"dribble": "headers", "dribble_interval": 0.4},
    "late": {"delay": 4.2},
}


@dataclass
class Run:
    paths: dict[str, str]
    webhooks: dict[str, Resource]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def run(target: Target, receiver: MockReceiver) -> Iterator[Run]:
    paths, webhooks = {}, {}
    for name, params in SCENARIOS.items():
        paths[name] = f"/tmo/{id(receiver)}/{name}"
        attributes = Target.webhook_attributes(
            receiver.url_for(paths[name], **params), SSO, auto_retry=False
        )
        webhooks[name] = target.create_webhook(attributes)
    refused = f"http://127.0.0.1:{_closed_port()}/refused"
    webhooks["refused"] = target.create_webhook(
        Target.webhook_attributes(refused, SSO, auto_retry=False)
    )
    target.sso_user()
    yield Run(paths, webhooks)
    for webhook in webhooks.values():
        target.delete_webhook(webhook["id"])


def _cut_off(run: Run, name: str, receiver: MockReceiver, evidence: Evidence) -> None:
    [request] = arrived(receiver, run.paths[name], evidence, done=True, timeout=8)
    assert request.abandoned_at is not None, f"not abandoned: {request.outcome}"
    waited = request.abandoned_at - request.received_at
    evidence.actual = f"hung up after {waited:.3f} s ({request.outcome})"
    assert WINDOW[0] <= waited <= WINDOW[1], evidence.actual


@case("TMO-001", MUST, "§8", "a receiver that never answers is cut off in [4.9 s, 5.6 s]")
def test_hang(run: Run, receiver: MockReceiver, evidence: Evidence) -> None:
    _cut_off(run, "hang", receiver, evidence)


@case("TMO-002", MUST, "§8", "a status line dribbled a byte at a time is cut off at 5 s")
def test_dribbled_status(run: Run, receiver: MockReceiver, evidence: Evidence) -> None:
    _cut_off(run, "status", receiver, evidence)


@case("TMO-003", MUST, "§8", "a body dribbled a byte at a time is cut off at 5 s")
def test_dribbled_body(run: Run, receiver: MockReceiver, evidence: Evidence) -> None:
    _cut_off(run, "body", receiver, evidence)


@case("TMO-004", MUST, "§8", "headers dribbled a byte at a time are cut off at 5 s")
def test_slow_headers(run: Run, receiver: MockReceiver, evidence: Evidence) -> None:
    _cut_off(run, "headers", receiver, evidence)


@case("TMO-005", MUST, "§8", "a cut-off call is a failure with error timeout")
def test_timeout_logged(
    run: Run, target: Target, receiver: MockReceiver, evidence: Evidence
) -> None:
    arrived(receiver, run.paths["hang"], evidence, done=True, timeout=8)
    [call] = target.wait_call_status(run.webhooks["hang"]["id"], "failed", "rescheduled")
    attributes = call["attributes"]
    evidence.actual = f"status {attributes['status']}, error {attributes['error']}"
    assert (attributes["status"], attributes["error"]) == ("failed", "timeout")


@case("TMO-006", SHOULD, "§7", "a body cut off at 5 s keeps the status, with error timeout")
def test_partial_body_logged(
    run: Run, target: Target, receiver: MockReceiver, evidence: Evidence
) -> None:
    arrived(receiver, run.paths["body"], evidence, done=True, timeout=8)
    [call] = target.wait_call_status(run.webhooks["body"]["id"], "failed", "rescheduled")
    attributes = call["attributes"]
    evidence.actual = (
        f"status {attributes['status']}, error {attributes['error']},"
        f" response_status {attributes['response_status']}"
    )
    assert attributes["status"] == "failed"
    assert (attributes["error"], attributes["response_status"]) == ("timeout", 200)


@case("TMO-007", MUST, "§8", "an answer after 4.2 s, inside the deadline, is a success")
def test_late_answer(run: Run, target: Target, receiver: MockReceiver, evidence: Evidence) -> None:
    [request] = arrived(receiver, run.paths["late"], evidence, done=True, timeout=8)
    assert request.outcome == "answered", request.outcome
    [call] = target.wait_call_status(run.webhooks["late"]["id"], "success", "failed")
    evidence.actual = f"call {call['attributes']['status']}"
    assert call["attributes"]["status"] == "success"


@case("TMO-008", MUST, "§8", "a refused connection fails at once with connection_refused")
def test_refused(run: Run, target: Target, evidence: Evidence) -> None:
    [call] = target.wait_call_status(run.webhooks["refused"]["id"], "failed", timeout=3)
    attributes = call["attributes"]
    durations = [a["duration_ms"] for a in attributes.get("attempts", [])]
    evidence.actual = f"status {attributes['status']}, error {attributes['error']}, ms {durations}"
    assert (attributes["status"], attributes["error"]) == ("failed", "connection_refused")
    assert all(ms < 1000 for ms in durations)
