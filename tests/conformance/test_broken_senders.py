"""Each deliberately wrong dispatcher fails exactly the cases aimed at its defect."""

from __future__ import annotations

from pathlib import Path

import pytest

import reference.delivery
import reference.payloads
import reference.templates
import reference.webhooks
from reference.events import Event
from reference.payloads import CallContext, build_request
from reference.retries import DEFAULT_RETRY_DELAYS
from reference.sender import OutgoingRequest
from reference.webhooks import Webhook
from tests.conformance.servers import (
    FollowingSender,
    PerReadSender,
    failing_cases,
    match_disabled_too,
    null_as_none,
    previous_entity_last,
    resend_as_new_call,
    served,
    share_one_limit,
    spaced_dumps,
    swap_sender,
    unmasked_headers,
)


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


def test_null_as_none_fails_the_null_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    renderer = reference.templates._JsonRenderer
    monkeypatch.setattr(renderer, "str_coerce", null_as_none(renderer.str_coerce))
    with served(tmp_path / "none.db") as url:
        failing = failing_cases(url, tmp_path / "report", "TPL")
    assert set(failing) == {"TPL-003"}


def test_a_spaced_body_fails_the_compact_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.payloads, "dumps", spaced_dumps)
    with served(tmp_path / "spaced.db") as url:
        failing = failing_cases(url, tmp_path / "report", "PAY")
    assert set(failing) == {"PAY-001"}


def test_previous_entity_last_fails_the_update_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.payloads, "default_payload", previous_entity_last)
    with served(tmp_path / "previous-last.db") as url:
        failing = failing_cases(url, tmp_path / "report", "PAY", "TPL")
    assert set(failing) == {"PAY-004"}


def test_unmasked_credentials_fail_the_masking_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.delivery, "masked_headers", unmasked_headers)
    with served(tmp_path / "unmasked.db") as url:
        failing = failing_cases(url, tmp_path / "report", "LOG", "HDR", "RSD")
    assert set(failing) == {"LOG-002", "LOG-010"}


def test_matching_disabled_webhooks_fails_the_disabled_cases(tmp_path: Path) -> None:
    with served(tmp_path / "disabled.db", match_disabled_too) as url:
        failing = failing_cases(url, tmp_path / "report", "TRG", "RSD")
    assert set(failing) == {"TRG-005", "TRG-009"}


def test_a_settable_x_webhook_id_fails_the_protected_headers_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    protected = reference.webhooks.PROTECTED_HEADERS - {"x-webhook-id"}
    monkeypatch.setattr(reference.webhooks, "PROTECTED_HEADERS", protected)
    with served(tmp_path / "settable-id.db") as url:
        failing = failing_cases(url, tmp_path / "report", "HDR", "API")
    assert set(failing) == {"HDR-010"}


def test_the_last_gaps_in_hours_fail_the_full_schedule_case(tmp_path: Path) -> None:
    # Wrong: "1 day, 2 days" read as 1 h and 2 h; the first five gaps are right.
    delays = (*DEFAULT_RETRY_DELAYS[:5], 3600.0, 7200.0)
    with served(tmp_path / "hours.db", retry_delays=delays) as url:
        failing = failing_cases(url, tmp_path / "report", "RTY")
    assert set(failing) == {"RTY-005"}


def test_gaps_ten_times_too_short_fail_the_schedule_cases(tmp_path: Path) -> None:
    # Wrong: every gap a tenth of contract §8's; there are still 7, so RTY-004 has retries left.
    delays = tuple(d / 10 for d in DEFAULT_RETRY_DELAYS)
    with served(tmp_path / "short-gaps.db", retry_delays=delays) as url:
        failing = failing_cases(url, tmp_path / "report", "RTY")
    assert set(failing) == {"RTY-002", "RTY-005"}
