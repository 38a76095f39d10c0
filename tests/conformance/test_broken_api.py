"""Each deliberately wrong API fails exactly the API cases aimed at its defect."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request
from starlette.types import Scope

import reference.api.auth
import reference.api.documents
import reference.api.webhooks
import reference.triggers
import reference.webhooks
from reference.api.errors import ApiError
from reference.api.resources import webhook_resource
from reference.dispatcher import Dispatcher
from reference.matrix import MATRIX, EntityRule
from reference.store import Transaction
from reference.webhooks import ATTRIBUTES, Webhook
from tests.conformance.servers import failing_cases, served

read_body = reference.api.documents.read_body
check_url = reference.webhooks._PARSERS["url"]
parse_attributes = reference.webhooks.parse_attributes


def test_a_missing_token_let_through_fails_the_auth_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    authorized = reference.api.auth.BearerAuth._authorized

    def only_a_given_token(self: reference.api.auth.BearerAuth, scope: Scope) -> bool:
        """Wrong: a request with no Authorization header is let in (contract §1: 401)."""
        given = any(name == b"authorization" for name, _ in scope["headers"])
        return not given or authorized(self, scope)

    monkeypatch.setattr(reference.api.auth.BearerAuth, "_authorized", only_a_given_token)
    with served(tmp_path / "no-token.db") as url:
        failing = failing_cases(url, tmp_path / "report", "API")
    assert set(failing) == {"API-001"}


def test_defaults_left_out_of_the_resource_fail_the_shape_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    defaults = {f.name: f.default for f in fields(Webhook)}

    def without_defaults(webhook: Webhook) -> dict[str, Any]:
        """Wrong: attributes at their default are left out, as a serialiser with
        `exclude_defaults` writes them (contract §2: every attribute, defaults included)."""
        resource = webhook_resource(webhook)
        attributes = resource["attributes"]
        resource["attributes"] = {k: v for k, v in attributes.items() if defaults[k] != v}
        return resource

    monkeypatch.setattr(reference.api.webhooks, "webhook_resource", without_defaults)
    with served(tmp_path / "no-defaults.db") as url:
        failing = failing_cases(url, tmp_path / "report", "API")
    assert set(failing) == {"API-002"}


def test_a_put_that_resets_the_headers_fails_the_crud_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    updated = Webhook.updated

    def resetting_headers(self: Webhook, attributes: Mapping[str, Any], now: datetime) -> Webhook:
        """Wrong: headers not given in a PUT fall back to `{}` instead of the stored
        ones (contract §2: PUT is partial, only the attributes given change)."""
        return updated(self, {"headers": {}, **attributes}, now)

    monkeypatch.setattr(Webhook, "updated", resetting_headers)
    with served(tmp_path / "reset-headers.db") as url:
        failing = failing_cases(url, tmp_path / "report", "API", "RSD")
    assert set(failing) == {"API-003"}


def test_any_url_scheme_fails_the_name_and_url_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def any_scheme(value: object) -> str:
        """Wrong: the scheme of an absolute URL is not checked, `ftp://` passes
        (contract §2: an absolute http or https URL)."""
        if isinstance(value, str) and "://" in value:
            check_url("http://" + value.split("://", 1)[1])
            return value
        result: str = check_url(value)
        return result

    monkeypatch.setitem(reference.webhooks._PARSERS, "url", any_scheme)
    with served(tmp_path / "any-scheme.db") as url:
        failing = failing_cases(url, tmp_path / "report", "API", "TPL")
    assert set(failing) == {"API-004"}


def test_51_headers_fail_the_bad_headers_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Wrong: the limit is off by one, 51 headers are taken (contract §2: at most 50).
    monkeypatch.setattr(reference.webhooks, "MAX_HEADERS", 51)
    with served(tmp_path / "51-headers.db") as url:
        failing = failing_cases(url, tmp_path / "report", "API", "HDR")
    assert set(failing) == {"API-005"}


def test_49_headers_fail_the_bad_headers_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Wrong: off by one the other way, 50 headers are refused (contract §2: at most 50).
    monkeypatch.setattr(reference.webhooks, "MAX_HEADERS", 49)
    with served(tmp_path / "49-headers.db") as url:
        failing = failing_cases(url, tmp_path / "report", "API", "HDR")
    assert set(failing) == {"API-005"}


def test_any_known_event_type_fails_the_bad_triggers_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Wrong: an event type is checked against the events of every entity, so
    # `upload` + `publish` passes (contract §3: only the pairs of the matrix).
    every_event = tuple(dict.fromkeys(e for rule in MATRIX.values() for e in rule.event_types))
    loose = {entity: EntityRule(every_event, rule.filters) for entity, rule in MATRIX.items()}
    monkeypatch.setattr(reference.triggers, "MATRIX", loose)
    with served(tmp_path / "any-event.db") as url:
        failing = failing_cases(url, tmp_path / "report", "API", "TRG")
    assert set(failing) == {"API-006"}


def test_unknown_attributes_ignored_fail_the_closed_attributes_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def known_only(attributes: Mapping[str, Any]) -> dict[str, Any]:
        """Wrong: unknown attributes are dropped silently (contract §2: 422 naming them)."""
        return parse_attributes({k: v for k, v in attributes.items() if k in ATTRIBUTES})

    monkeypatch.setattr(reference.webhooks, "parse_attributes", known_only)
    with served(tmp_path / "unknown-ignored.db") as url:
        failing = failing_cases(url, tmp_path / "report", "API")
    assert set(failing) == {"API-007"}


def save_one_by_one(dispatcher: Dispatcher) -> None:
    """Wrong: a PUT saves its attributes one at a time, so one refused after
    another has been saved leaves a partial change (contract §1: never)."""

    async def update_webhook(webhook_id: str, attributes: Mapping[str, Any]) -> Webhook:
        webhook = await dispatcher.get_webhook(webhook_id)
        for name, value in attributes.items():
            webhook = await dispatcher.store.transaction(save_one, webhook_id, {name: value})
        return webhook

    def save_one(tx: Transaction, webhook_id: str, attributes: dict[str, Any]) -> Webhook:
        return tx.webhooks.update(webhook_id, attributes, dispatcher.clock())

    dispatcher.update_webhook = update_webhook  # type: ignore[method-assign]


def test_a_put_saved_piecemeal_fails_the_refused_update_case(tmp_path: Path) -> None:
    with served(tmp_path / "piecemeal.db", save_one_by_one) as url:
        failing = failing_cases(url, tmp_path / "report", "API", "RSD")
    assert set(failing) == {"API-008"}


def test_bad_json_as_400_fails_the_bad_json_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def json_body(request: Request, limit: int) -> bytes:
        """Wrong: a body that is not JSON is a 400, as a generic body parser answers
        (contract §1: 422 INVALID_FORMAT)."""
        body = await read_body(request, limit)
        try:
            json.loads(body)
        except ValueError:
            raise ApiError(400, "BAD_REQUEST", "the body is not JSON") from None
        return body

    monkeypatch.setattr(reference.api.documents, "read_body", json_body)
    with served(tmp_path / "bad-json-400.db") as url:
        failing = failing_cases(url, tmp_path / "report", "API")
    assert failing == {"API-009": "non-strict"}  # a SHOULD case does not fail the run


def test_no_body_limit_fails_the_too_large_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def whole_body(request: Request, limit: int) -> bytes:
        """Wrong: the body is read whole, however large (contract §1: 413 over 1 MiB)."""
        return await request.body()

    monkeypatch.setattr(reference.api.documents, "read_body", whole_body)
    with served(tmp_path / "no-limit.db") as url:
        failing = failing_cases(url, tmp_path / "report", "API")
    assert failing == {"API-010": "non-strict"}
