"""Signed calls (beyond DatoCMS), checked with the Standard Webhooks reference verifier."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import standardwebhooks

from receiver import MockReceiver, RecordedRequest
from reference.exceptions import ValidationError
from reference.signatures import generate_secret, signature_header
from reference.webhooks import Webhook
from tests.reference.conftest import DispatcherFactory
from tests.reference.factories import item_event, webhook_attributes

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
#: The specification's own example.
EXAMPLE_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
EXAMPLE_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
EXAMPLE_TIMESTAMP = 1614265330
EXAMPLE_BODY = b'{"test": 2432232314}'
EXAMPLE_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@pytest.fixture
def receiver() -> Iterator[MockReceiver]:
    with MockReceiver() as receiver:
        yield receiver


def _verifies(secret: str, request: RecordedRequest) -> bool:
    headers = {name: value for name, value in request.headers}
    try:
        standardwebhooks.Webhook(secret).verify(request.body, headers)
    except standardwebhooks.WebhookVerificationError:
        return False
    return True


def _header(request: RecordedRequest, name: str) -> str | None:
    return next((value for key, value in request.headers if key == name), None)


def test_the_specifications_example() -> None:
    signature = signature_header([EXAMPLE_SECRET], EXAMPLE_ID, EXAMPLE_TIMESTAMP, EXAMPLE_BODY)
    assert signature == EXAMPLE_SIGNATURE


def test_a_generated_secret_is_accepted_and_verifies() -> None:
    secret = generate_secret()
    webhook = Webhook.create("1", webhook_attributes(signing_secret=secret), NOW)
    assert webhook.attributes()["signing_secret"] == secret
    now = int(time.time())
    header = signature_header([secret], "7", now, b"{}")
    headers = {"webhook-id": "7", "webhook-timestamp": str(now), "webhook-signature": header}
    standardwebhooks.Webhook(secret).verify(b"{}", headers)


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "must start with 'whsec_'"),
        ("whsec_not base64!", "followed by base64"),
        ("whsec_" + base64.b64encode(bytes(16)).decode(), "24 to 64 bytes of key, got 16"),
        ("whsec_" + base64.b64encode(bytes(65)).decode(), "24 to 64 bytes of key, got 65"),
        ("whsec_Zoë", "followed by base64"),
        (42, "must be a string or null"),
    ],
)
def test_a_bad_secret_is_refused(secret: object, why: str) -> None:
    with pytest.raises(ValidationError, match=why) as info:
        Webhook.create("1", webhook_attributes(signing_secret=secret), NOW)
    assert info.value.field == "signing_secret"


@pytest.mark.parametrize("name", ["webhook-id", "Webhook-Timestamp", "WEBHOOK-SIGNATURE"])
def test_the_signature_headers_cannot_be_custom_headers(name: str) -> None:
    with pytest.raises(ValidationError) as info:
        Webhook.create("1", webhook_attributes(headers={name: "x"}), NOW)
    assert info.value.field == "headers"


def test_a_new_secret_keeps_the_old_one_for_the_grace_period() -> None:
    first, second, third = generate_secret(), generate_secret(), generate_secret()
    webhook = Webhook.create("1", webhook_attributes(signing_secret=first), NOW)
    assert webhook.signing_secrets(NOW, 60) == (first,)
    rotated = webhook.updated({"signing_secret": second}, NOW)
    assert rotated.signing_secrets(NOW, 60) == (second, first)
    later = datetime.fromtimestamp(NOW.timestamp() + 60, UTC)
    assert rotated.signing_secrets(later, 60) == (second,)
    assert rotated.updated({"name": "renamed"}, later).signing_secrets(NOW, 60) == (second, first)
    assert rotated.updated({"signing_secret": third}, NOW).signing_secrets(NOW, 60) == (
        third,
        second,
    )
    assert rotated.updated({"signing_secret": None}, NOW).signing_secrets(NOW, 60) == ()
    assert "previous_signing_secret" not in rotated.attributes()


@pytest.mark.anyio
async def test_an_unsigned_webhook_sends_no_signature(
    make_dispatcher: DispatcherFactory, receiver: MockReceiver
) -> None:
    async with make_dispatcher() as dispatcher:
        await dispatcher.create_webhook(webhook_attributes(url=receiver.url_for("/plain")))
        (call_id,) = await dispatcher.raise_event(item_event())
        await dispatcher.wait_for_call(call_id, "success")
    (request,) = receiver.requests()
    assert not [name for name, _ in request.headers if name.startswith("webhook-")]


@pytest.mark.anyio
async def test_every_attempt_is_signed_with_the_same_id(
    make_dispatcher: DispatcherFactory, receiver: MockReceiver
) -> None:
    secret = generate_secret()
    receiver.script("/signed", [{"status": 500, "times": 1}, {"status": 200}])
    async with make_dispatcher(retry_scale=0.0001) as dispatcher:
        url = receiver.url_for("/signed")
        await dispatcher.create_webhook(webhook_attributes(url=url, signing_secret=secret))
        (call_id,) = await dispatcher.raise_event(item_event())
        call = await dispatcher.wait_for_call(call_id, "success", attempts=2)
    first, second = receiver.requests()
    assert _verifies(secret, first) and _verifies(secret, second)
    assert _header(first, "webhook-id") == _header(second, "webhook-id") == call_id
    for request in (first, second):
        assert abs(int(_header(request, "webhook-timestamp") or 0) - time.time()) < 5
        assert json.loads(request.body)["webhook_call_id"] == call_id
    assert secret not in json.dumps(call.request_headers)
    assert not _verifies(generate_secret(), first)


@pytest.mark.anyio
async def test_after_a_new_secret_both_sign_until_the_grace_period_ends(
    make_dispatcher: DispatcherFactory, receiver: MockReceiver
) -> None:
    old, new = generate_secret(), generate_secret()
    async with make_dispatcher(signing_secret_grace=1.0) as dispatcher:
        url = receiver.url_for("/rotating")
        webhook = await dispatcher.create_webhook(webhook_attributes(url=url, signing_secret=old))
        await dispatcher.update_webhook(webhook.id, {"signing_secret": new})
        (during,) = await dispatcher.raise_event(item_event())
        await dispatcher.wait_for_call(during, "success")
        await asyncio.sleep(1.1)
        (after,) = await dispatcher.raise_event(item_event())
        await dispatcher.wait_for_call(after, "success")
    first, second = receiver.requests()
    signatures = (_header(first, "webhook-signature") or "").split(" ")
    assert len(signatures) == 2
    assert _verifies(new, first) and _verifies(old, first)
    # The new secret's signature first.
    message_id, timestamp = _header(first, "webhook-id") or "", _header(first, "webhook-timestamp")
    assert signatures[0] == signature_header([new], message_id, int(timestamp or 0), first.body)
    assert len((_header(second, "webhook-signature") or "").split(" ")) == 1
    assert _verifies(new, second) and not _verifies(old, second)
