"""Basic auth and Standard Webhooks signatures, checked before anything is read into a
queue (contract §10)."""

from __future__ import annotations

import base64
import hmac
from datetime import UTC, datetime
from typing import Any

import pytest
from standardwebhooks import Webhook

from endpoint import BasicAuth, ConfigurationError, SignatureCheck, Unauthorized
from reference.signatures import generate_secret, signed_headers

NOW = 1_800_000_000


def header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_basic_auth_takes_the_right_credentials_only() -> None:
    auth = BasicAuth.parse("hook:s3cr:t é")
    auth.check(header("hook", "s3cr:t é"))
    auth.check("basic " + header("hook", "s3cr:t é").split()[1])  # the scheme, any case
    for wrong in (header("hook", "s3cr:t"), header("Hook", "s3cr:t é"), header("", "")):
        with pytest.raises(Unauthorized, match="wrong basic-auth user or password"):
            auth.check(wrong)
    for value, reason in [
        (None, "no Authorization header"),
        ("Bearer x", "'Bearer' scheme"),
        ("Basic ???", "not base64"),
    ]:
        with pytest.raises(Unauthorized, match=reason):
            auth.check(value)


def test_basic_auth_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both credentials go through one hmac.compare_digest, as digests of one length."""
    compared: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    auth = BasicAuth("hook", "secret")
    auth.check(header("hook", "secret"))
    with pytest.raises(Unauthorized):
        auth.check(header("h", "a much longer password than the right one"))
    assert len(compared) == 2
    assert {len(a) for a, _ in compared} == {len(b) for _, b in compared} == {32}


@pytest.mark.parametrize(
    ("text", "words"),
    [("nopassword", "USER:PASSWORD"), (":secret", "must not be empty")],
)
def test_bad_credentials_are_refused_when_configured(text: str, words: str) -> None:
    with pytest.raises(ConfigurationError, match=words):
        BasicAuth.parse(text)


def check(secret: str, headers: dict[str, str], body: bytes, tolerance: float = 300) -> None:
    SignatureCheck(secret, tolerance=tolerance, clock=lambda: NOW).check(headers, body)


def test_a_signature_of_the_dispatcher_or_the_specification_holds() -> None:
    secret, body = generate_secret(), b'{"entity": {"id": "1"}}'
    check(secret, dict(signed_headers([secret], "12", NOW, body)), body)
    when = datetime.fromtimestamp(NOW, UTC)
    signature = Webhook(secret).sign("12", when, body.decode())
    headers = {"webhook-id": "12", "webhook-timestamp": str(NOW), "webhook-signature": signature}
    check(secret, headers, body)


@pytest.mark.parametrize(
    ("offset", "ok"),
    [(-300, True), (300, True), (-301, False), (301, False), (-30, True)],
)
def test_the_timestamp_is_within_the_tolerance(offset: int, ok: bool) -> None:
    secret, body = generate_secret(), b"{}"
    headers = dict(signed_headers([secret], "1", NOW + offset, body))
    if ok:
        check(secret, headers, body)
    else:
        with pytest.raises(Unauthorized, match="tolerance 300 s"):
            check(secret, headers, body)


def test_a_smaller_tolerance_is_kept() -> None:
    secret, body = generate_secret(), b"{}"
    headers = dict(signed_headers([secret], "1", NOW - 31, body))
    with pytest.raises(Unauthorized, match="31 s old"):
        check(secret, headers, body, tolerance=30)


def test_every_candidate_signature_is_compared_in_constant_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compared: list[bytes] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append(a)
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    secret, old, body = generate_secret(), generate_secret(), b"{}"
    headers = dict(signed_headers([secret, old], "1", NOW, body))
    check(secret, headers, body)
    assert len(compared) == 2  # the match came first, the other was compared all the same


@pytest.mark.parametrize(
    "secret",
    ["", "secret", "whsec_", "whsec_!!!", "whsec_" + base64.b64encode(b"short").decode()],
)
def test_a_secret_that_is_not_one_is_refused(secret: str) -> None:
    with pytest.raises(ConfigurationError):
        SignatureCheck(secret)


@pytest.mark.parametrize("tolerance", [0, -1, float("nan"), float("inf")])
def test_a_tolerance_that_cannot_work_is_refused(tolerance: float) -> None:
    with pytest.raises(ConfigurationError, match="tolerance"):
        SignatureCheck(generate_secret(), tolerance=tolerance)
