"""Dispatchers that sign wrongly fail exactly the SIG cases aimed at them (signed calls:
MAY cases, reported as informational)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from pathlib import Path

import pytest

import reference.payloads
import reference.webhooks
from reference.signatures import signed_headers
from tests.conformance.servers import failing_cases, served

RIGHT = signed_headers


def old_secret_first(
    secrets: Sequence[str], message_id: str, timestamp: int, body: bytes
) -> tuple[tuple[str, str], ...]:
    """Wrong: after a change the previous secret's signature comes first."""
    return RIGHT(tuple(reversed(secrets)), message_id, timestamp, body)


def secret_text_as_key(
    secrets: Sequence[str], message_id: str, timestamp: int, body: bytes
) -> tuple[tuple[str, str], ...]:
    """Wrong: the HMAC is keyed with the secret's text, not the bytes its base64 holds."""
    if not secrets:
        return ()
    signed = f"{message_id}.{timestamp}.".encode() + body
    signatures = " ".join(
        "v1," + base64.b64encode(hmac.digest(s.encode(), signed, hashlib.sha256)).decode()
        for s in secrets
    )
    return (
        ("webhook-id", message_id),
        ("webhook-timestamp", str(timestamp)),
        ("webhook-signature", signatures),
    )


def test_the_old_secret_first_fails_the_rotation_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.payloads, "signed_headers", old_secret_first)
    with served(tmp_path / "old-first.db") as url:
        failing = failing_cases(url, tmp_path / "report", "SIG")
    assert failing == {"SIG-002": "informational"}


def test_a_wrong_key_fails_the_signing_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.payloads, "signed_headers", secret_text_as_key)
    with served(tmp_path / "text-key.db") as url:
        failing = failing_cases(url, tmp_path / "report", "SIG")
    assert failing == {"SIG-001": "informational", "SIG-002": "informational"}


def test_signature_headers_allowed_as_custom_headers_fail_the_refusal_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    allowed = reference.webhooks.PROTECTED_HEADERS - {"webhook-signature"}
    monkeypatch.setattr(reference.webhooks, "PROTECTED_HEADERS", allowed)
    with served(tmp_path / "custom-signature.db") as url:
        failing = failing_cases(url, tmp_path / "report", "SIG")
    assert failing == {"SIG-004": "informational"}


def signing_everything(
    secrets: Sequence[str], message_id: str, timestamp: int, body: bytes
) -> tuple[tuple[str, str], ...]:
    """Wrong: a webhook without a secret is signed too, with a made-up one."""
    return RIGHT(
        secrets or ("whsec_" + base64.b64encode(bytes(32)).decode(),), message_id, timestamp, body
    )


def test_signing_unsigned_webhooks_fails_the_unsigned_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.payloads, "signed_headers", signing_everything)
    with served(tmp_path / "sign-all.db") as url:
        failing = failing_cases(url, tmp_path / "report", "SIG")
    assert failing == {"SIG-003": "informational"}
