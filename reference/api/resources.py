"""Webhooks and webhook calls as JSON:API resource objects."""

from __future__ import annotations

from typing import Any

from reference.calls import WebhookCall
from reference.timefmt import format_time
from reference.webhooks import Webhook

__all__ = ["call_resource", "webhook_resource"]


def webhook_resource(webhook: Webhook) -> dict[str, Any]:
    return {"id": webhook.id, "type": "webhook", "attributes": webhook.attributes()}


def call_resource(call: WebhookCall) -> dict[str, Any]:
    """contract §7 attributes, plus `attempts`, and the `webhook` relationship."""
    return {
        "id": call.id,
        "type": "webhook_call",
        "attributes": {
            "entity_type": call.entity_type,
            "event_type": call.event_type,
            "created_at": format_time(call.created_at),
            "request_url": call.request_url,
            "request_headers": call.request_headers,
            "request_payload": call.request_payload,
            "response_status": call.response_status,
            "response_headers": call.response_headers,
            "response_payload": call.response_payload,
            "error": call.error,
            "status": str(call.status),
            "attempted_auto_retries_count": call.attempted_auto_retries_count,
            "last_sent_at": None if call.last_sent_at is None else format_time(call.last_sent_at),
            "next_retry_at": (
                None if call.next_retry_at is None else format_time(call.next_retry_at)
            ),
            "attempts": [attempt.to_json() for attempt in call.attempts],
        },
        "relationships": {"webhook": {"data": {"type": "webhook", "id": call.webhook_id}}},
    }
