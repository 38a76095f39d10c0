"""SIG: signed calls (contract §5, signatures: beyond DatoCMS, in the Standard Webhooks form).

Signing is optional: a target that refuses a webhook's `signing_secret` skips the
cases that need one. The mock receiver checks each signature (its `secret`
behaviour); the order of a rotation's two signatures is checked here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

import pytest

from conformance.cases import MAY, case
from conformance.client import ApiFailure, Target
from conformance.plugin import Evidence, Hooks
from conformance.steps import SSO, arrived, body_of
from receiver import MockReceiver

HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


def _secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _signature(secret: str, message_id: str, timestamp: str, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.digest(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(digest).decode()


def _signed(hooks: Hooks, url: str, secret: str) -> dict[str, object]:
    """A webhook with `secret`, or a skip when the target takes no signing secret."""
    try:
        return hooks.create(url, SSO, signing_secret=secret)
    except ApiFailure as failure:
        if failure.response.status_code == 422:
            pytest.skip("the target takes no signing_secret (signing is optional)")
        raise


@case(
    "SIG-001", MAY, "§5", "a signed call carries webhook-id (the call's id) and a valid signature"
)
def test_signed(target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence) -> None:
    path, secret = hooks.path(), _secret()
    _signed(hooks, receiver.url_for(path, secret=secret), secret)
    target.sso_user()
    [request] = arrived(receiver, path, evidence)
    evidence.actual = f"signature {request.signature}, webhook-id {request.header('webhook-id')}"
    assert request.signature == "valid", evidence.actual
    assert request.header("webhook-id") == body_of(request)["webhook_call_id"]


@case("SIG-002", MAY, "§5", "after the secret changes both sign, the new one first")
def test_rotation(target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence) -> None:
    path, old, new = hooks.path(), _secret(), _secret()
    webhook = _signed(hooks, receiver.url_for(path, secret=old), old)
    target.update_webhook(str(webhook["id"]), signing_secret=new)
    target.sso_user()
    [request] = arrived(receiver, path, evidence)
    entries = (request.header("webhook-signature") or "").split(" ")
    expected = _signature(
        new,
        request.header("webhook-id") or "",
        request.header("webhook-timestamp") or "",
        request.body,
    )
    evidence.actual = f"{len(entries)} signatures; the old secret's holds: {request.signature}"
    assert request.signature == "valid", evidence.actual
    assert len(entries) == 2 and entries[0] == expected, evidence.actual


@case("SIG-003", MAY, "§5", "an unsigned webhook's calls carry no signature headers")
def test_unsigned(target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence) -> None:
    path = hooks.path()
    hooks.create(receiver.url_for(path), SSO)
    target.sso_user()
    [request] = arrived(receiver, path, evidence)
    present = [name for name in HEADERS if request.header(name) is not None]
    evidence.actual = f"present: {present}"
    assert present == [], evidence.actual


@case("SIG-004", MAY, "§5", "a bad secret, or a signature header as a custom header, is a 422")
def test_refused(target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence) -> None:
    path, secret = hooks.path(), _secret()
    _signed(hooks, receiver.url_for(path), secret)
    refused = (
        {"signing_secret": "whsec_" + base64.b64encode(b"short").decode()},
        {"signing_secret": secret.removeprefix("whsec_")},
        {"headers": {"webhook-signature": "v1,forged"}},
    )
    statuses = [hooks.attempt(receiver.url_for(path), SSO, **changes) for changes in refused]
    evidence.actual = f"statuses {statuses}"
    assert statuses == [422, 422, 422], evidence.actual
