"""A sample event and payload: the default context of `webhooks-dispatcher render`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from reference.events import Event
from reference.payloads import CallContext, default_payload
from reference.webhooks import Webhook

__all__ = ["sample_event", "sample_payload"]


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
