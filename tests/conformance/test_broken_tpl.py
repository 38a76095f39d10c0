"""Dispatchers with wrong templates fail exactly the TPL cases aimed at them (contract §6)."""

from __future__ import annotations

import html
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pystache.renderer
import pytest
from pystache.context import ContextStack

import reference.delivery
import reference.payloads
import reference.templates
import reference.webhooks
from reference.events import Event
from reference.payloads import CallContext, build_request, dumps
from reference.sender import OutgoingRequest
from reference.webhooks import Webhook
from tests.conformance.servers import failing_cases, served

Headers = tuple[tuple[str, str], ...]

#: The right headers, and the right save-time check of one templated attribute.
RIGHT_HEADERS = reference.payloads._headers
CHECK_FIELD = reference.webhooks._template


def compact_json_payload(event: Event, webhook: Webhook, call: CallContext) -> OutgoingRequest:
    """Wrong: a custom payload that parses as JSON is sent re-serialised, compact.

    contract §6: the rendered text is sent as it is.
    """
    request = build_request(event, webhook, call)
    if webhook.custom_payload is None:
        return request
    try:
        value = json.loads(request.body)
    except ValueError:
        return request
    return OutgoingRequest(request.url, request.headers, dumps(value).encode())


def text_escape(text: str) -> str:
    """Wrong: escaped as HTML text, `"` left as it is (contract §6: `& " < >`)."""
    return html.escape(text, quote=False)


def rooted_dotted_names(stack: Any, name: str) -> Any:
    """Wrong: a dotted name is looked up from the payload, not through the sections.

    `{{attributes.username}}` inside `{{#entity}}` then finds nothing (contract §6:
    Mustache's dotted names, whose first part is looked up like any name).
    """
    if name != "." and "." in name:
        return ContextStack(stack._stack[0]).get(name)
    return stack.get(name)


def defaults_kept(event: Event, webhook: Webhook, call: CallContext) -> Headers:
    """Wrong: a custom header with a default's name is dropped; the default stays.

    contract §5, §6: a custom header replaces the default of the same name; that is
    how a non-JSON custom payload gets its own Content-Type.
    """
    headers = list(RIGHT_HEADERS(event, replace(webhook, headers={}), call))
    names = {name.lower() for name, _ in headers}
    headers += [(n, v) for n, v in webhook.headers.items() if n.lower() not in names]
    return tuple(headers)


def url_as_saved(event: Event, webhook: Webhook, call: CallContext) -> OutgoingRequest:
    """Wrong: the url is sent as saved, tags and all (contract §6: rendered like the payload)."""
    request = build_request(event, webhook, call)
    return OutgoingRequest(webhook.url, request.headers, request.body)


def payload_template_only(field_name: str, source: str) -> None:
    """Wrong: only the custom payload is checked as a template, not the url.

    contract §6: a template that does not parse is refused when the webhook is saved.
    """
    if field_name != "url":
        CHECK_FIELD(field_name, source)


def python_str(renderer: object, value: object) -> str:
    """Wrong: values written as Python writes them (`True`, `{'id': ...}`); null as "".

    contract §6 (TPL-009, MAY): as JSON writes them.
    """
    return "" if value is None else str(value)


def test_json_sent_reserialised_fails_the_guide_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.delivery, "build_request", compact_json_payload)
    with served(tmp_path / "reserialised.db") as url:
        failing = failing_cases(url, tmp_path / "report", "TPL", "PAY")
    assert set(failing) == {"TPL-001"}


def test_quotes_left_unescaped_fail_the_escaping_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.templates, "_escape", text_escape)
    with served(tmp_path / "quotes.db") as url:
        failing = failing_cases(url, tmp_path / "report", "TPL")
    assert set(failing) == {"TPL-002"}


def test_dotted_names_from_the_root_fail_the_sections_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pystache.renderer, "context_get", rooted_dotted_names)
    with served(tmp_path / "rooted.db") as url:
        failing = failing_cases(url, tmp_path / "report", "TPL")
    assert set(failing) == {"TPL-004"}


def test_default_headers_kept_fail_the_custom_content_type_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.payloads, "_headers", defaults_kept)
    with served(tmp_path / "defaults-kept.db") as url:
        failing = failing_cases(url, tmp_path / "report", "TPL", "HDR")
    assert set(failing) == {"TPL-005", "HDR-009"}


def test_an_unrendered_url_fails_the_url_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.delivery, "build_request", url_as_saved)
    with served(tmp_path / "url-as-saved.db") as url:
        failing = failing_cases(url, tmp_path / "report", "TPL")
    assert set(failing) == {"TPL-006"}


def test_templates_unchecked_when_saved_fail_the_broken_template_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Wrong: templates are only parsed when a call renders them, and a broken
    # one fails then (contract §6: refused when the webhook is saved, with 422).
    monkeypatch.setattr(reference.webhooks, "check_template", lambda source: None)
    with served(tmp_path / "unchecked.db") as url:
        failing = failing_cases(url, tmp_path / "report", "TPL", "API")
    assert set(failing) == {"TPL-007", "TPL-008"}
    assert failing["TPL-008"] == "non-strict"


def test_an_unchecked_url_template_fails_the_broken_url_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.webhooks, "_template", payload_template_only)
    with served(tmp_path / "unchecked-url.db") as url:
        failing = failing_cases(url, tmp_path / "report", "TPL", "API")
    assert set(failing) == {"TPL-008"}
    assert failing["TPL-008"] == "non-strict"


def test_python_values_fail_the_json_values_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.templates._JsonRenderer, "str_coerce", python_str)
    with served(tmp_path / "python-str.db") as url:
        failing = failing_cases(url, tmp_path / "report", "TPL")
    assert set(failing) == {"TPL-009"}
    assert failing["TPL-009"] == "informational"
