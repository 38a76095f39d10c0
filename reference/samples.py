"""A sample event and payload: the default context of `webhooks-dispatcher render`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from reference.events import Event
from reference.payloads import CallContext, default_payload
from reference.webhooks import Webhook

__all__ = ["sample_event", "sample_event_for", "sample_payload"]


def sample_event() -> Event:
    """A record update in the primary environment, like the guide's example."""
    model = {
        "id": "810907",
        "type": "item_type",
        "attributes": {"name": "Article", "api_key": "article", "draft_mode_active": True},
        "relationships": {},
        "meta": {},
    }
    creator = {
        "id": "104280",
        "type": "account",
        "attributes": {"email": "editor@example.com", "first_name": "Ada"},
        "relationships": {},
        "meta": {},
    }

    def record(title: str, status: str) -> dict[str, Any]:
        return {
            "id": "123213",
            "type": "item",
            "attributes": {"title": title, "slug": "hello-world"},
            "relationships": {
                "item_type": {"data": {"id": "810907", "type": "item_type"}},
                "creator": {"data": {"id": "104280", "type": "account"}},
            },
            "meta": {
                "created_at": "2026-11-27T10:00:00.000Z",
                "updated_at": "2026-11-27T10:05:00.000Z",
                "status": status,
            },
        }

    return Event(
        entity_type="item",
        event_type="update",
        entity=record("Hello, world!", "updated"),
        previous_entity=record("Hello world", "published"),
        related_entities=(model, creator),
        happened_at=datetime(2026, 11, 27, 10, 5, tzinfo=UTC),
    )


def sample_payload() -> dict[str, Any]:
    """The default payload of `sample_event` for webhook 42 of site 424242."""
    webhook = Webhook(
        id="42",
        name="Sample",
        url="https://example.com/hook",
        custom_payload=None,
        headers={},
        events=(),
        http_basic_user=None,
        http_basic_password=None,
    )
    call = CallContext(
        call_id="1", site_id="424242", attempted_auto_retries_count=0, user_agent="sample"
    )
    return default_payload(sample_event(), webhook, call)


_SAMPLE_ENTITIES: dict[str, dict[str, Any]] = {
    "item_type": {
        "id": "810907",
        "type": "item_type",
        "attributes": {"name": "Article", "api_key": "article", "draft_mode_active": True},
    },
    "upload": {
        "id": "4124",
        "type": "upload",
        "attributes": {
            "filename": "hero.jpg",
            "url": "https://www.datocms-assets.com/424242/hero.jpg",
            "size": 123456,
            "mime_type": "image/jpeg",
        },
    },
    "build_trigger": {
        "id": "7",
        "type": "build_trigger",
        "attributes": {"name": "Production site", "adapter": "custom"},
    },
    "environment": {
        "id": "sandbox-1",
        "type": "environment",
        "attributes": {},
        "meta": {"primary": False, "status": "ready"},
    },
    "maintenance_mode": {
        "id": "maintenance_mode",
        "type": "maintenance_mode",
        "attributes": {"active": True},
    },
    "sso_user": {
        "id": "3391",
        "type": "sso_user",
        "attributes": {"username": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"},
    },
    "cda_cache_tags": {
        "id": "cda_cache_tags",
        "type": "cda_cache_tags",
        "attributes": {"tags": ["N*r;L", "6-KZ@"]},
    },
}

_RECORD_STATUS = {"create": "draft", "publish": "published", "unpublish": "draft"}


def sample_event_for(entity_type: str, event_type: str) -> Event:
    """A sample event of any pair contract §3 allows, for previews of custom payloads."""
    base = sample_event()
    if entity_type == "item":
        record = dict(base.entity)
        record["meta"] = {**record["meta"], "status": _RECORD_STATUS.get(event_type, "published")}
        return Event(
            entity_type="item",
            event_type=event_type,
            entity=base.entity if event_type == "update" else record,
            previous_entity=base.previous_entity if event_type == "update" else None,
            related_entities=base.related_entities,
            happened_at=base.happened_at,
        )
    template = _SAMPLE_ENTITIES.get(entity_type)
    entity: dict[str, Any] = {"relationships": {}, "meta": {}, **(template or {})}
    if template is None:
        entity.update(id="1", type=entity_type, attributes={})
    is_environment = entity_type == "environment"
    return Event(
        entity_type=entity_type,
        event_type=event_type,
        entity=entity,
        environment=entity["id"] if is_environment else "main",
        is_environment_primary=not is_environment,
        happened_at=base.happened_at,
    )
