"""Signed calls, beyond DatoCMS: the Standard Webhooks form that Svix, Convoy and Hook0
share (https://www.standardwebhooks.com).

A webhook with a `signing_secret` (`whsec_` and the base64 of 24 to 64 random
bytes) sends three more headers: `webhook-id` (the call's id, the same on every
attempt), `webhook-timestamp` (the attempt's Unix seconds) and
`webhook-signature`: `v1,` and the base64 HMAC-SHA256, keyed with the secret's
bytes, of `id.timestamp.body`. After a secret changes, the previous one signs
too for a grace period, so the header carries both, space-separated, the new
one first.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Sequence

__all__ = [
    "PREFIX",
    "SIGNATURE_HEADERS",
    "generate_secret",
    "secret_key",
    "signature_header",
    "signed_headers",
]

PREFIX = "whsec_"
SECRET_BYTES = (24, 64)  # the range of key lengths a secret may carry
#: The headers a signed call carries; a webhook's custom headers may not set them.
SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


def secret_key(secret: str) -> bytes:
    """The key bytes of `secret`; ValueError, saying what is wrong, if it is not one."""
    if not secret.startswith(PREFIX):
        raise ValueError(f"must start with {PREFIX!r} (a Standard Webhooks secret)")
    try:
        key = base64.b64decode(secret[len(PREFIX) :].encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise ValueError(f"must be {PREFIX!r} followed by base64") from None
    low, high = SECRET_BYTES
    if not low <= len(key) <= high:
        raise ValueError(f"must carry {low} to {high} bytes of key, got {len(key)}")
    return key


def generate_secret() -> str:
    """A new secret of 32 random bytes."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def signature_header(
    secrets_in_order: Sequence[str], message_id: str, timestamp: int, body: bytes
) -> str:
    """`webhook-signature`: one `v1,<base64>` per secret, space-separated, in order."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.digest(secret_key(s), signed, hashlib.sha256)).decode()
        for s in secrets_in_order
    )


def signed_headers(
    secrets_in_order: Sequence[str], message_id: str, timestamp: int, body: bytes
) -> tuple[tuple[str, str], ...]:
    """The three headers of a signed call, or none without a secret."""
    if not secrets_in_order:
        return ()
    return (
        ("webhook-id", message_id),
        ("webhook-timestamp", str(timestamp)),
        ("webhook-signature", signature_header(secrets_in_order, message_id, timestamp, body)),
    )
