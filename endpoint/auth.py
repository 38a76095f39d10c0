"""Who may post: HTTP basic auth, compared in constant time, and the Standard Webhooks
signature (contract §5, "Signed calls"), checked with the `standardwebhooks` package
under a tolerance on the timestamp. Either check raises `Unauthorized` with the reason.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from standardwebhooks import Webhook

from endpoint.exceptions import ConfigurationError, Unauthorized

__all__ = ["DEFAULT_TOLERANCE", "BasicAuth", "SignatureCheck", "check_secret"]

#: contract §10: a signature's timestamp may be this far from now, either way (seconds).
DEFAULT_TOLERANCE = 300.0
SECRET_PREFIX = "whsec_"


@dataclass(frozen=True, slots=True)
class BasicAuth:
    """The credentials a sender must present as `Authorization: Basic ...`."""

    user: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.user:
            raise ConfigurationError("the basic-auth user must not be empty")
        if ":" in self.user:
            raise ConfigurationError("the basic-auth user cannot hold ':' (the password may)")

    @classmethod
    def parse(cls, text: str) -> BasicAuth:
        """`USER:PASSWORD`; the password may hold `:`."""
        user, colon, password = text.partition(":")
        if not colon:
            raise ConfigurationError("must be USER:PASSWORD")
        return cls(user, password)

    def check(self, authorization: str | None) -> None:
        """`Unauthorized` unless `authorization` (the header's value) carries these
        credentials. User and password are compared together, as digests of equal
        length, so the time taken says nothing about either."""
        if authorization is None:
            raise Unauthorized("basic auth required: no Authorization header")
        scheme, _, encoded = authorization.strip().partition(" ")
        if scheme.lower() != "basic":
            raise Unauthorized(f"basic auth required, got the {scheme[:20]!r} scheme")
        try:
            given = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise Unauthorized("the basic-auth credentials are not base64") from None
        expected = f"{self.user}:{self.password}".encode()
        if not hmac.compare_digest(
            hashlib.sha256(given).digest(), hashlib.sha256(expected).digest()
        ):
            raise Unauthorized("wrong basic-auth user or password")


def check_secret(secret: str) -> str:
    """`secret` if it is a Standard Webhooks secret (`whsec_` and base64 key bytes);
    `ConfigurationError` saying what is wrong otherwise."""
    if not secret.startswith(SECRET_PREFIX):
        raise ConfigurationError(f"must start with {SECRET_PREFIX!r} (a Standard Webhooks secret)")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :].encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise ConfigurationError(f"must be {SECRET_PREFIX!r} followed by base64") from None
    if len(key) < 16:
        raise ConfigurationError(f"must carry at least 16 bytes of key, got {len(key)}")
    return secret


class SignatureCheck:
    """Checks `webhook-id`, `webhook-timestamp` and `webhook-signature` against a secret.

    The timestamp must be within `tolerance` seconds of now, either way (contract §10);
    any one `v1,` signature of the header may match (a sender rotating its secret signs
    with both). The signature is the `standardwebhooks` package's own; the timestamp
    window is checked here, since the package's is fixed at 5 minutes.
    """

    def __init__(
        self,
        secret: str,
        *,
        tolerance: float = DEFAULT_TOLERANCE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not (math.isfinite(tolerance) and tolerance > 0):
            raise ConfigurationError(
                f"the tolerance must be a positive number of seconds, got {tolerance!r}"
            )
        self._webhook = Webhook(check_secret(secret))
        self.tolerance = tolerance
        self._clock = clock

    def check(self, headers: Mapping[str, str], body: bytes) -> None:
        """`Unauthorized` unless the request is signed with the secret, recently.
        `headers` are keyed by lower-case names."""
        message_id = headers.get("webhook-id")
        stamp = headers.get("webhook-timestamp")
        given = headers.get("webhook-signature")
        missing = [
            name
            for name, value in (
                ("webhook-id", message_id),
                ("webhook-timestamp", stamp),
                ("webhook-signature", given),
            )
            if not value
        ]
        if missing or message_id is None or stamp is None or given is None:
            raise Unauthorized(f"signature required: no {', '.join(missing)} header")
        if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
            raise Unauthorized("webhook-timestamp is not whole Unix seconds")
        seconds = int(stamp)
        age = self._clock() - seconds
        if age > self.tolerance:
            raise Unauthorized(
                f"webhook-timestamp is {age:.0f} s old (tolerance {self.tolerance:g} s)"
            )
        if -age > self.tolerance:
            raise Unauthorized(
                f"webhook-timestamp is {-age:.0f} s ahead (tolerance {self.tolerance:g} s)"
            )
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise Unauthorized(
                "the body is not UTF-8, so its signature cannot be checked"
            ) from None
        expected = self._webhook.sign(message_id, datetime.fromtimestamp(seconds, UTC), text)
        expected_bytes = expected.encode()
        # Every candidate is compared, in constant time, whatever the first one gave.
        matched = False
        for candidate in given.split():
            matched |= hmac.compare_digest(candidate.encode(), expected_bytes)
        if not matched:
            raise Unauthorized("no webhook-signature matches the body and the secret")
