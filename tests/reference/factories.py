"""Small builders shared by the dispatcher's tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from reference.events import Event


def webhook_attributes(**changes: Any) -> dict[str, Any]:
    """A valid set of create attributes; override any of them."""
    attributes: dict[str, Any] = {
        "name": "Site rebuild",
        "url": "https://hooks.example.com/dato",
        "custom_payload": None,
        "headers": {},
        "events": [{"entity_type": "item", "event_types": ["create", "update"]}],
        "http_basic_user": None,
        "http_basic_password": None,
    }
    attributes.update(changes)
    return attributes


def record(
    record_id: str = "123213", model_id: str = "810907", **attributes: Any
) -> dict[str, Any]:
    return {
        "id": record_id,
        "type": "item",
        "attributes": attributes or {"title": "Hello"},
        "relationships": {"item_type": {"data": {"id": model_id, "type": "item_type"}}},
        "meta": {"status": "draft"},
    }


def item_event(
    event_type: str = "create",
    *,
    record_id: str = "123213",
    model_id: str = "810907",
    environment: str = "main",
    primary: bool = True,
    **kwargs: Any,
) -> Event:
    return Event(
        entity_type="item",
        event_type=event_type,
        entity=record(record_id, model_id),
        environment=environment,
        is_environment_primary=primary,
        happened_at=kwargs.pop("happened_at", datetime(2026, 11, 27, 10, 5, 7, tzinfo=UTC)),
        **kwargs,
    )


def event_of(entity_type: str, event_type: str, entity_id: str = "1", **kwargs: Any) -> Event:
    return Event(
        entity_type=entity_type,
        event_type=event_type,
        entity={"id": entity_id, "type": entity_type, "attributes": {}},
        **kwargs,
    )
