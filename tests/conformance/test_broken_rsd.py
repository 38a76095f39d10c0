"""Each deliberately wrong resend fails exactly the RSD cases aimed at its defect.

RSD-001, RSD-003 and RSD-004 are failed by `test_broken_senders.py`.
"""

from __future__ import annotations

from pathlib import Path

from reference.calls import AttemptTrigger, DueCall, WebhookCall, next_state
from reference.dispatcher import Dispatcher
from reference.exceptions import NotFoundError, ValidationError
from reference.sender import OutgoingRequest
from reference.store import Completion
from reference.webhooks import Webhook
from tests.conformance.servers import failing_cases, served


def replay_the_logged_request(dispatcher: Dispatcher) -> None:
    """Wrong: a resend replays the request logged with the call, its URL and
    headers as they were (contract §8: with the webhook's current settings)."""
    delivery = dispatcher.delivery
    send = delivery._send

    async def replaying(call: DueCall, webhook: Webhook) -> Completion:
        if call.trigger is not AttemptTrigger.MANUAL:
            return await send(call, webhook)
        logged = await dispatcher.get_call(call.id)
        if logged.request_url is None:
            return await send(call, webhook)
        headers = tuple((logged.request_headers or {}).items())
        payload = logged.request_payload or ""
        request = OutgoingRequest(logged.request_url, headers, payload.encode())
        outcome = await delivery._sender.send(request)
        transition = next_state(
            call, outcome, auto_retry=webhook.auto_retry, schedule=delivery._schedule
        )
        return Completion(call, outcome, transition, request.url, dict(headers), payload)

    delivery._send = replaying  # type: ignore[method-assign]


def test_replaying_the_logged_request_fails_the_current_settings_cases(tmp_path: Path) -> None:
    # RSD-003 changes the URL before its resend too: the replay goes to the old one.
    with served(tmp_path / "replay.db", replay_the_logged_request) as url:
        failing = failing_cases(url, tmp_path / "report", "RSD")
    assert set(failing) == {"RSD-002", "RSD-003"}


def resend_without_webhook_check(dispatcher: Dispatcher) -> None:
    """Wrong: a call whose webhook was deleted is accepted for resending
    (contract §8: allowed only while the webhook exists, else 422)."""

    async def resend(call_id: str) -> WebhookCall:
        call = await dispatcher.store.transaction(lambda tx: tx.calls.request_resend(call_id))
        dispatcher.delivery.wake()
        return call

    dispatcher.resend = resend  # type: ignore[method-assign]


def test_resending_a_deleted_webhooks_call_fails_the_deleted_case(tmp_path: Path) -> None:
    with served(tmp_path / "deleted.db", resend_without_webhook_check) as url:
        failing = failing_cases(url, tmp_path / "report", "RSD")
    assert set(failing) == {"RSD-005"}


def refuse_disabled(dispatcher: Dispatcher) -> None:
    """Wrong: a disabled webhook's calls cannot be resent (contract §8: they can)."""
    resend = dispatcher.resend

    async def enabled_only(call_id: str) -> WebhookCall:
        call = await dispatcher.get_call(call_id)
        webhook = await dispatcher.find_webhook(call.webhook_id)
        if webhook is not None and not webhook.enabled:
            raise ValidationError("webhook", f"webhook {webhook.id} is disabled")
        return await resend(call_id)

    dispatcher.resend = enabled_only  # type: ignore[method-assign]


def test_refusing_a_disabled_webhook_fails_the_disabled_case(tmp_path: Path) -> None:
    with served(tmp_path / "disabled.db", refuse_disabled) as url:
        failing = failing_cases(url, tmp_path / "report", "RSD")
    assert failing == {"RSD-006": "non-strict"}  # a SHOULD case does not fail the run


def unknown_as_deleted(dispatcher: Dispatcher) -> None:
    """Wrong: an unknown call is taken for one whose webhook is gone, 422
    (contract §1: an id that does not exist is 404 NOT_FOUND)."""
    resend = dispatcher.resend

    async def looked_up(call_id: str) -> WebhookCall:
        try:
            return await resend(call_id)
        except NotFoundError:
            raise ValidationError("webhook", "the call's webhook was deleted") from None

    dispatcher.resend = looked_up  # type: ignore[method-assign]


def test_an_unknown_call_as_422_fails_the_unknown_case(tmp_path: Path) -> None:
    with served(tmp_path / "unknown.db", unknown_as_deleted) as url:
        failing = failing_cases(url, tmp_path / "report", "RSD")
    assert failing == {"RSD-007": "non-strict"}
