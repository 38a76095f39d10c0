"""Standard Webhooks signatures: the secret, and the check of one signed request.

A sender that signs the Standard Webhooks way (https://www.standardwebhooks.com)
adds three headers: ``webhook-id``, ``webhook-timestamp`` (Unix seconds) and
``webhook-signature``, one or more space-separated ``v1,<base64>`` entries,
each the HMAC-SHA256 of ``f"{id}.{timestamp}.".encode() + body`` keyed with
the secret's bytes. A secret is ``whsec_`` and the base64 of 24 to 64 bytes.

`SignatureCheck` takes the body a chunk at a time, so that the whole body is
checked in constant memory, however much of it the log keeps. The check only
records; it never changes the answer.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Iterable
from types import MappingProxyType
from typing import Literal

__all__ = [
    "HEADERS",
    "KEY_SIZES",
    "SECRET_PREFIX",
    "SIGNATURES",
    "TOLERANCE",
    "Signature",
    "SignatureCheck",
    "check_signature",
    "parse_secret",
    "sign",
]

Signature = Literal["valid", "missing", "invalid", "stale"]

SIGNATURES = MappingProxyType(
    {
        "valid": "a v1 signature matches the whole body",
        "missing": "webhook-id, webhook-timestamp or webhook-signature is absent",
        "invalid": "no v1 signature matches (wrong secret, altered body, malformed header)",
        "stale": "the timestamp is not Unix seconds, or is over 5 minutes from the clock",
    }
)
SECRET_PREFIX = "whsec_"
KEY_SIZES = range(24, 65)
"""Bytes of key a secret may hold."""
TOLERANCE = 5 * 60.0
"""Seconds a timestamp may be from the receiver's clock, either way."""
HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
_TIMESTAMP = re.compile(r"[0-9]{1,15}")


def parse_secret(text: str) -> bytes:
    """The key bytes of ``whsec_<base64>``; raises ValueError saying what is wrong."""
    if not text.startswith(SECRET_PREFIX):
        raise ValueError(f"a secret must start with {SECRET_PREFIX!r}")
    encoded = text[len(SECRET_PREFIX) :]
    if " " in encoded:
        raise ValueError(
            f"a secret is {SECRET_PREFIX!r} followed by base64, which has no spaces"
            " (in a query string, send '+' as %2B)"
        )
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"a secret is {SECRET_PREFIX!r} followed by base64") from None
    if len(key) not in KEY_SIZES:
        raise ValueError(
            f"a secret holds {KEY_SIZES.start} to {KEY_SIZES.stop - 1} bytes of key, got {len(key)}"
        )
    return key


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` signature entry of one message."""
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def _first(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name), None)


def _signatures(header: str) -> list[bytes] | None:
    """The decoded ``v1`` signatures of a header; None if an entry is not ``version,base64``."""
    found = []
    for entry in header.split():
        version, comma, encoded = entry.partition(",")
        if not comma or not version:
            return None
        if version != "v1":
            continue  # another scheme (v1a, ...): not ours to check
        try:
            found.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            return None
    return found


class SignatureCheck:
    """The signature check of one request: give it the head, then the body as it comes.

    ``check = SignatureCheck(key, headers, now)``, ``check.update(chunk)`` for
    each piece of the body, then ``check.result()``. The headers are checked
    in order: all three present (else ``missing``), the timestamp within
    `TOLERANCE` of `now` (else ``stale``), then the signatures (``invalid``
    unless a ``v1`` entry matches the body).
    """

    def __init__(self, key: bytes, headers: Iterable[tuple[str, str]], now: float) -> None:
        headers = tuple(headers)
        msg_id, timestamp, header = (_first(headers, name) for name in HEADERS)
        self._verdict: Signature | None = None
        self._mac: hmac.HMAC | None = None
        self._signatures: list[bytes] = []
        if msg_id is None or timestamp is None or header is None:
            self._verdict = "missing"
            return
        timestamp = timestamp.strip()
        if not _TIMESTAMP.fullmatch(timestamp) or abs(now - int(timestamp)) > TOLERANCE:
            self._verdict = "stale"
            return
        seconds = int(timestamp)
        signatures = _signatures(header)
        if not signatures:
            self._verdict = "invalid"
            return
        self._signatures = signatures
        self._mac = hmac.new(key, f"{msg_id}.{seconds}.".encode(), hashlib.sha256)

    def update(self, chunk: bytes) -> None:
        """Feed the next piece of the body."""
        if self._mac is not None:
            self._mac.update(chunk)

    def result(self) -> Signature:
        """The verdict on the body fed so far."""
        if self._verdict is not None:
            return self._verdict
        assert self._mac is not None
        expected = self._mac.digest()
        matches = [hmac.compare_digest(expected, given) for given in self._signatures]
        return "valid" if any(matches) else "invalid"


def check_signature(
    key: bytes, headers: Iterable[tuple[str, str]], body: bytes, now: float
) -> Signature:
    """The verdict on one whole request: `SignatureCheck` with the body in one piece."""
    check = SignatureCheck(key, headers, now)
    check.update(body)
    return check.result()
