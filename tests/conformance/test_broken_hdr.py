"""Dispatchers with wrong request headers fail exactly the HDR cases aimed at them (contract §5).

Most defects replace `reference.payloads._headers`, which `build_request` looks
up on every call, with a wrong version built around the right one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

import reference.payloads
from reference.events import Event
from reference.payloads import CallContext
from reference.webhooks import Webhook
from tests.conformance.servers import failing_cases, served

Headers = tuple[tuple[str, str], ...]
HeadersOf = Callable[[Event, Webhook, CallContext], Headers]

#: The right headers: the defaults, x-environment, Authorization, then the custom ones.
RIGHT: HeadersOf = reference.payloads._headers


def _defaults(event: Event, webhook: Webhook, call: CallContext) -> list[tuple[str, str]]:
    """The headers the dispatcher sets itself, before any custom header."""
    return list(RIGHT(event, replace(webhook, headers={}), call))


def site_id_is_call_id(event: Event, webhook: Webhook, call: CallContext) -> Headers:
    """Wrong: x-site-id carries the call id (contract §5: the site id, as in the payload)."""
    return RIGHT(event, webhook, replace(call, site_id=call.call_id))


def first_webhook_id() -> HeadersOf:
    """Wrong: the default headers are made once, for the first webhook, and reused.

    Every request then says the first webhook's id (contract §5: `x-webhook-id` is
    the id of the webhook the request is for).
    """
    first: dict[str, str] = {}

    def headers(event: Event, webhook: Webhook, call: CallContext) -> Headers:
        return RIGHT(event, replace(webhook, id=first.setdefault("id", webhook.id)), call)

    return headers


def password_cut_at_colon(event: Event, webhook: Webhook, call: CallContext) -> Headers:
    """Wrong: the credentials kept as one `user:password` string, split back on ':'.

    A password holding ':' is cut there (contract §5: base64(user:password), and
    the password may hold ':').
    """
    if webhook.http_basic_user is not None and webhook.http_basic_password is not None:
        joined = f"{webhook.http_basic_user}:{webhook.http_basic_password}"
        user, password = joined.split(":")[:2]
        webhook = replace(webhook, http_basic_user=user, http_basic_password=password)
    return RIGHT(event, webhook, call)


def basic_auth_for_a_user_alone(event: Event, webhook: Webhook, call: CallContext) -> Headers:
    """Wrong: basic auth as soon as the user is set, with an empty password.

    contract §5: Authorization only when both basic-auth attributes are set.
    """
    if webhook.http_basic_user is not None and webhook.http_basic_password is None:
        webhook = replace(webhook, http_basic_password="")
    return RIGHT(event, webhook, call)


def custom_headers_first(event: Event, webhook: Webhook, call: CallContext) -> Headers:
    """Wrong: custom headers first, then the defaults they do not replace.

    contract §5: the custom headers come after the defaults (a replaced default stays in place).
    """
    custom = list(webhook.headers.items())
    names = {name.lower() for name, _ in custom}
    rest = _defaults(event, webhook, call)
    return tuple(custom + [header for header in rest if header[0].lower() not in names])


def only_content_type_replaced(event: Event, webhook: Webhook, call: CallContext) -> Headers:
    """Wrong: of the defaults, only Content-Type can be replaced; a custom User-Agent is dropped.

    contract §5: a custom header replaces any default of the same name except the
    protected ones, which are refused when the webhook is saved.
    """
    headers = _defaults(event, webhook, call)
    for name, value in webhook.headers.items():
        names = [existing.lower() for existing, _ in headers]
        if name.lower() == "content-type":
            headers[names.index("content-type")] = (name, value)
        elif name.lower() not in names:
            headers.append((name, value))
    return tuple(headers)


def authorization_last(event: Event, webhook: Webhook, call: CallContext) -> Headers:
    """Wrong: Authorization added last, as an HTTP client's `auth=` adds it.

    contract §5: Authorization comes before the custom headers.
    """
    headers = RIGHT(event, webhook, call)
    auth = [(name, value) for name, value in headers if name.lower() == "authorization"]
    return tuple([h for h in headers if h[0].lower() != "authorization"] + auth)


def accept_json(event: Event, webhook: Webhook, call: CallContext) -> Headers:
    """Wrong: `Accept: application/json` (contract §5: `Accept: */*`)."""
    return tuple(
        (name, "application/json" if name == "Accept" else value)
        for name, value in RIGHT(event, webhook, call)
    )


def test_x_site_id_of_another_id_fails_the_site_id_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.payloads, "_headers", site_id_is_call_id)
    with served(tmp_path / "site-id.db") as url:
        failing = failing_cases(url, tmp_path / "report", "HDR", "PAY")
    assert set(failing) == {"HDR-001", "PAY-002"}


def test_the_first_webhooks_id_fails_the_webhook_id_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.payloads, "_headers", first_webhook_id())
    with served(tmp_path / "webhook-id.db") as url:
        failing = failing_cases(url, tmp_path / "report", "HDR", "PAY")
    assert set(failing) == {"HDR-002"}


def test_x_environment_for_every_event_fails_the_outside_environments_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Wrong: x-environment whenever the event names an environment, which every
    # event does (the primary for events outside environments). contract §5: only
    # for entities that live in an environment.
    monkeypatch.setattr(Event, "in_environment", property(lambda event: bool(event.environment)))
    with served(tmp_path / "environment.db") as url:
        failing = failing_cases(url, tmp_path / "report", "HDR", "TRG")
    assert set(failing) == {"HDR-005", "TRG-006"}


def test_a_password_cut_at_its_colon_fails_the_basic_auth_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.payloads, "_headers", password_cut_at_colon)
    with served(tmp_path / "colon.db") as url:
        failing = failing_cases(url, tmp_path / "report", "HDR", "LOG")
    assert set(failing) == {"HDR-006", "LOG-010"}


def test_basic_auth_for_a_user_alone_fails_the_half_basic_auth_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.payloads, "_headers", basic_auth_for_a_user_alone)
    with served(tmp_path / "user-alone.db") as url:
        failing = failing_cases(url, tmp_path / "report", "HDR")
    assert set(failing) == {"HDR-007"}


def test_custom_headers_first_fail_the_order_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.payloads, "_headers", custom_headers_first)
    with served(tmp_path / "custom-first.db") as url:
        failing = failing_cases(url, tmp_path / "report", "HDR", "TPL")
    assert set(failing) == {"HDR-008", "HDR-011"}
    assert failing["HDR-011"] == "non-strict"


def test_a_fixed_user_agent_fails_the_replaced_defaults_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.payloads, "_headers", only_content_type_replaced)
    with served(tmp_path / "fixed-agent.db") as url:
        failing = failing_cases(url, tmp_path / "report", "HDR", "TPL")
    assert set(failing) == {"HDR-009"}


def test_authorization_after_the_custom_headers_fails_the_order_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.payloads, "_headers", authorization_last)
    with served(tmp_path / "auth-last.db") as url:
        failing = failing_cases(url, tmp_path / "report", "HDR")
    assert set(failing) == {"HDR-011"}
    assert failing["HDR-011"] == "non-strict"


def test_accept_json_fails_the_accept_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reference.payloads, "_headers", accept_json)
    with served(tmp_path / "accept.db") as url:
        failing = failing_cases(url, tmp_path / "report", "HDR")
    assert set(failing) == {"HDR-012"}
    assert failing["HDR-012"] == "non-strict"
