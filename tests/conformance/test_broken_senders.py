"""Each deliberately wrong dispatcher fails exactly the cases aimed at its defect."""

from __future__ import annotations

from pathlib import Path

import pytest

import reference.delivery
from reference.events import Event
from reference.payloads import CallContext, build_request
from reference.sender import OutgoingRequest
from reference.webhooks import Webhook
from tests.conformance.servers import (
    FollowingSender,
    PerReadSender,
    failing_cases,
    resend_as_new_call,
    served,
    share_one_limit,
    swap_sender,
)


def test_the_reference_passes_these_families(tmp_path: Path) -> None:
    with served(tmp_path / "ok.db") as url:
        failing = failing_cases(url, tmp_path / "report", "HDR", "OUT", "RSD", "TMO")
    assert failing == {}


def test_dropping_x_environment_fails_the_x_environment_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def without_environment(event: Event, webhook: Webhook, call: CallContext) -> OutgoingRequest:
        request = build_request(event, webhook, call)
        headers = tuple((k, v) for k, v in request.headers if k.lower() != "x-environment")
        return OutgoingRequest(request.url, headers, request.body)

    monkeypatch.setattr(reference.delivery, "build_request", without_environment)
    with served(tmp_path / "env.db") as url:
        failing = failing_cases(url, tmp_path / "report", "HDR", "PAY")
    assert set(failing) == {"HDR-003", "HDR-004"}


def test_following_redirects_fails_the_redirect_case(tmp_path: Path) -> None:
    def follow(dispatcher: reference.dispatcher.Dispatcher) -> None:
        swap_sender(dispatcher, FollowingSender())

    with served(tmp_path / "redirect.db", follow) as url:
        failing = failing_cases(url, tmp_path / "report", "OUT")
    assert set(failing) == {"OUT-002"}


def test_a_per_read_timeout_fails_the_dribble_cases(tmp_path: Path) -> None:
    def per_read(dispatcher: reference.dispatcher.Dispatcher) -> None:
        swap_sender(dispatcher, PerReadSender())

    with served(tmp_path / "per-read.db", per_read) as url:
        failing = failing_cases(url, tmp_path / "report", "TMO")
    assert set(failing) == {"TMO-002", "TMO-003", "TMO-004", "TMO-006"}
    assert failing["TMO-006"] == "non-strict"  # a SHOULD case does not fail the run


def test_a_resend_that_makes_a_new_call_fails_the_same_call_cases(tmp_path: Path) -> None:
    def new_call(dispatcher: reference.dispatcher.Dispatcher) -> None:
        async def resend(call_id: str) -> object:
            return await resend_as_new_call(dispatcher, call_id)

        dispatcher.resend = resend  # type: ignore[method-assign,assignment]

    with served(tmp_path / "resend.db", new_call) as url:
        failing = failing_cases(url, tmp_path / "report", "RSD")
    assert set(failing) == {"RSD-001", "RSD-003", "RSD-004"}


def test_one_cap_for_every_webhook_fails_the_many_hung_calls_case(tmp_path: Path) -> None:
    with served(tmp_path / "one-limit.db", share_one_limit) as url:
        failing = failing_cases(url, tmp_path / "report", "ISO")
    assert set(failing) == {"ISO-002"}
