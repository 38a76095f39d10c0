from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from reference.payloads import CallContext, build_request, default_payload, masked_headers
from reference.webhooks import Webhook
from tests.reference.factories import event_of, item_event, record, webhook_attributes

CALL = CallContext(call_id="77", site_id="4242", attempted_auto_retries_count=0, user_agent="ua/1")


def webhook(**changes: Any) -> Webhook:
    return Webhook.create("9", webhook_attributes(**changes), datetime(2026, 1, 1, tzinfo=UTC))


def test_default_payload_keys_in_order_and_compact() -> None:
    event = item_event("create", related_entities=({"id": "810907", "type": "item_type"},))
    request = build_request(event, webhook(), CALL)
    text = request.body.decode()
    assert ": " not in text and ", " not in text
    payload = json.loads(text)
    assert list(payload) == [
        "webhook_call_id",
        "event_triggered_at",
        "attempted_auto_retries_count",
        "webhook_id",
        "site_id",
        "environment",
        "is_environment_primary",
        "entity_type",
        "event_type",
        "entity",
        "related_entities",
    ]
    assert payload["webhook_call_id"] == "77"
    assert payload["event_triggered_at"] == "2026-11-27T10:05:07Z"
    assert payload["attempted_auto_retries_count"] == 0
    assert (payload["webhook_id"], payload["site_id"]) == ("9", "4242")
    assert (payload["environment"], payload["is_environment_primary"]) == ("main", True)
    assert (payload["entity_type"], payload["event_type"]) == ("item", "create")
    assert payload["entity"] == record()
    assert payload["related_entities"] == [{"id": "810907", "type": "item_type"}]


def test_previous_entity_only_for_record_updates() -> None:
    before = record(title="Before")
    update = item_event("update", previous_entity=before)
    payload = default_payload(update, webhook(), CALL)
    assert list(payload)[-2:] == ["previous_entity", "related_entities"]
    assert payload["previous_entity"] == before
    assert "previous_entity" not in default_payload(item_event("publish"), webhook(), CALL)
    assert "previous_entity" not in default_payload(
        event_of("item_type", "update"), webhook(), CALL
    )


def test_event_time_is_utc() -> None:
    from datetime import timedelta, timezone

    tz = timezone(timedelta(hours=2))
    event = item_event(happened_at=datetime(2026, 11, 27, 12, 0, 0, 999, tzinfo=tz))
    assert default_payload(event, webhook(), CALL)["event_triggered_at"] == "2026-11-27T10:00:00Z"


def test_non_ascii_is_sent_as_utf8() -> None:
    event = item_event()
    event.entity["attributes"] = {"title": "Crème brûlée ✓"}
    body = build_request(event, webhook(), CALL).body
    assert "Crème brûlée ✓".encode() in body


def test_headers_in_order() -> None:
    request = build_request(item_event(), webhook(), CALL)
    assert request.headers == (
        ("Accept", "*/*"),
        ("User-Agent", "ua/1"),
        ("Content-Type", "application/json"),
        ("x-site-id", "4242"),
        ("x-webhook-id", "9"),
        ("x-environment", "main"),
    )


@pytest.mark.parametrize(
    ("entity_type", "event_type", "present"),
    [
        ("item", "create", True),
        ("item_type", "update", True),
        ("upload", "delete", True),
        ("cda_cache_tags", "invalidate", True),
        ("environment", "promote", False),
        ("build_trigger", "deploy_started", False),
        ("maintenance_mode", "change", False),
        ("sso_user", "create", False),
    ],
)
def test_x_environment_only_for_entities_in_an_environment(
    entity_type: str, event_type: str, present: bool
) -> None:
    event = event_of(entity_type, event_type, environment="sandbox-2", is_environment_primary=False)
    names = [name for name, _ in build_request(event, webhook(), CALL).headers]
    assert ("x-environment" in names) is present
    if present:
        assert dict(build_request(event, webhook(), CALL).headers)["x-environment"] == "sandbox-2"


@pytest.mark.parametrize(
    ("user", "password"), [("user", "pa:ss:word"), ("jörg", "pässwörd✓"), ("", "")]
)
def test_basic_auth(user: str, password: str) -> None:
    request = build_request(
        item_event(), webhook(http_basic_user=user, http_basic_password=password), CALL
    )
    value = dict(request.headers)["Authorization"]
    assert value.startswith("Basic ")
    assert base64.b64decode(value[6:]).decode("utf-8") == f"{user}:{password}"
    assert [n for n, _ in request.headers][-1] == "Authorization"


def test_basic_auth_needs_both_attributes() -> None:
    request = build_request(item_event(), webhook(http_basic_user="u"), CALL)
    assert "Authorization" not in dict(request.headers)


def test_custom_headers_replace_defaults_in_place_and_follow_the_rest() -> None:
    headers = {"content-type": "text/plain", "X-Token": "abc"}
    request = build_request(item_event(), webhook(headers=headers), CALL)
    assert request.headers[2] == ("content-type", "text/plain")
    assert request.headers[-1] == ("X-Token", "abc")
    assert [n.lower() for n, _ in request.headers].count("content-type") == 1


def test_custom_payload_is_rendered_with_the_payload_as_context() -> None:
    template = (
        '{"message": "{{event_type}} event triggered on {{entity_type}}!",'
        ' "entity_id": "{{#entity}}{{id}}{{/entity}}"}'
    )
    request = build_request(item_event("update"), webhook(custom_payload=template), CALL)
    assert request.body == (
        b'{"message": "update event triggered on item!", "entity_id": "123213"}'
    )
    assert dict(request.headers)["Content-Type"] == "application/json"


def test_custom_payload_dotted_names_and_nulls() -> None:
    template = "{{entity.attributes.title}}|{{previous_entity}}|{{webhook_id}}"
    request = build_request(item_event("create"), webhook(custom_payload=template), CALL)
    assert request.body == b"Hello||9"


def test_templated_url_is_rendered() -> None:
    url = "https://example.com/{{entity_type}}/{{#entity}}{{id}}{{/entity}}?env={{environment}}"
    request = build_request(item_event(), webhook(url=url), CALL)
    assert request.url == "https://example.com/item/123213?env=main"


def test_masking_keeps_the_scheme() -> None:
    headers = (("Accept", "*/*"), ("Authorization", "Basic dXNlcjpwdw=="))
    assert masked_headers(headers) == {"Accept": "*/*", "Authorization": "Basic ***"}
    assert masked_headers((("authorization", "Bearer abc"),)) == {"authorization": "Bearer ***"}


def test_the_user_agent_names_the_project_and_its_installed_version() -> None:
    import importlib.metadata

    from reference.settings import Settings

    version = importlib.metadata.version("datocms-webhooks")
    assert Settings(api_token="t").user_agent == f"datocms-webhooks/{version}"
