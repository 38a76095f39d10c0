from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference.exceptions import ValidationError
from reference.webhooks import ATTRIBUTES, Webhook
from tests.reference.factories import webhook_attributes

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def test_defaults() -> None:
    webhook = Webhook.create("1", webhook_attributes(), NOW)
    assert webhook.enabled is True
    assert webhook.payload_api_version == "3"
    assert webhook.nested_items_in_payload is False
    assert webhook.auto_retry is True
    assert list(webhook.attributes()) == list(ATTRIBUTES)


@pytest.mark.parametrize("name", [n for n, required in ATTRIBUTES.items() if required])
def test_required_attributes(name: str) -> None:
    attributes = webhook_attributes()
    del attributes[name]
    with pytest.raises(ValidationError) as info:
        Webhook.create("1", attributes, NOW)
    assert (info.value.field, info.value.message) == (name, "is required")


BAD: list[tuple[str, Any, str]] = [
    ("name", "", "blank"),
    ("name", "   ", "blank"),
    ("name", "x" * 256, "at most 255"),
    ("name", "a\x00b", "control characters"),  # PostgreSQL's text cannot even hold it
    ("name", "two\nlines", "control characters"),
    ("name", 7, "string"),
    ("url", "ftp://example.com", "http or https"),
    ("url", "example.com/hook", "http or https"),
    ("url", "http://", "host"),
    ("url", "https://exa mple.com", "white space"),
    ("url", "https://example.com:99999/", "Port"),
    ("url", "https://example.com/\x00", "control characters"),
    ("url", "https://example.com/{{#x}}", "unclosed section"),
    ("url", None, "string"),
    ("custom_payload", 3, "string or null"),
    ("custom_payload", '{"a": "{{#entity}}"}', "unclosed section {{#entity}}"),
    ("headers", [], "object"),
    ("headers", {"Bad Name": "x"}, "valid HTTP header name"),
    ("headers", {"X-A": "a\r\nX-B: b"}, "CR, LF or NUL"),
    ("headers", {"X-A": "a\x00"}, "CR, LF or NUL"),
    ("headers", {"X-A": 1}, "must be a string"),
    ("headers", {f"X-{i}": "v" for i in range(51)}, "at most 50"),
    ("headers", {"X-A": "1", "x-a": "2"}, "twice"),
    ("headers", {"X-Site-Id": "1"}, "set by the dispatcher"),
    ("headers", {"x-webhook-id": "1"}, "set by the dispatcher"),
    ("headers", {"X-ENVIRONMENT": "main"}, "set by the dispatcher"),
    ("headers", {"Content-Length": "1"}, "set by the dispatcher"),
    ("headers", {"Host": "evil"}, "set by the dispatcher"),
    ("headers", {"Transfer-Encoding": "chunked"}, "set by the dispatcher"),
    ("events", {}, "list"),
    ("http_basic_user", 1, "string or null"),
    ("http_basic_password", ["x"], "string or null"),
    ("enabled", "yes", "true or false"),
    ("auto_retry", 1, "true or false"),
    ("nested_items_in_payload", None, "true or false"),
    ("payload_api_version", 3, '"1", "2" or "3"'),
    ("payload_api_version", "4", '"1", "2" or "3"'),
    ("colour", "red", "unknown attribute"),
]


@pytest.mark.parametrize(
    ("name", "value", "message"), BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)]
)
def test_bad_attributes_are_refused_by_name(name: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        Webhook.create("1", webhook_attributes(**{name: value}), NOW)
    assert info.value.field == name
    assert message in info.value.message


def test_template_errors_carry_line_and_column() -> None:
    with pytest.raises(ValidationError) as info:
        Webhook.create("1", webhook_attributes(custom_payload='{\n  "a": "{{#entity}}"\n}'), NOW)
    assert info.value.field == "custom_payload"
    assert "line 2, column 9" in info.value.message


def test_authorization_header_is_refused_only_with_basic_auth() -> None:
    bearer = webhook_attributes(headers={"Authorization": "Bearer t"})
    assert Webhook.create("1", bearer, NOW).headers == {"Authorization": "Bearer t"}
    with pytest.raises(ValidationError) as info:
        Webhook.create("1", {**bearer, "http_basic_user": "u", "http_basic_password": "p"}, NOW)
    assert info.value.field == "headers"
    webhook = Webhook.create("1", bearer, NOW)
    with pytest.raises(ValidationError):
        webhook.updated({"http_basic_user": "u", "http_basic_password": "p"}, NOW)


def test_custom_headers_may_replace_other_defaults() -> None:
    headers = {"Content-Type": "text/plain", "User-Agent": "mine", "Accept": "text/*"}
    assert Webhook.create("1", webhook_attributes(headers=headers), NOW).headers == headers


def test_templated_urls_are_accepted() -> None:
    url = "https://example.com/{{entity_type}}/{{#entity}}{{id}}{{/entity}}"
    assert Webhook.create("1", webhook_attributes(url=url), NOW).url == url


def test_update_is_partial() -> None:
    webhook = Webhook.create("1", webhook_attributes(), NOW)
    changed = webhook.updated({"enabled": False}, NOW)
    assert changed.enabled is False
    assert changed.attributes() | {"enabled": True} == webhook.attributes()


@given(st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=4))
def test_arbitrary_headers_are_accepted_or_refused_cleanly(headers: dict[str, str]) -> None:
    try:
        webhook = Webhook.create("1", webhook_attributes(headers=headers), NOW)
    except ValidationError as exc:
        assert exc.field == "headers"
    else:
        assert webhook.headers == headers


@given(st.text(max_size=40))
def test_arbitrary_urls_are_accepted_or_refused_cleanly(url: str) -> None:
    try:
        webhook = Webhook.create("1", webhook_attributes(url=url), NOW)
    except ValidationError as exc:
        assert exc.field == "url"
    else:
        assert webhook.url.lower().startswith(("http://", "https://"))
