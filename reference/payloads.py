"""The request a call sends: default payload, custom payload, URL and headers (contract §5, §6)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from reference.events import Event
from reference.jsoncodec import dumps
from reference.sender import OutgoingRequest
from reference.signatures import signed_headers
from reference.templates import render_template
from reference.webhooks import Webhook

__all__ = [
    "CallContext",
    "build_request",
    "default_payload",
    "dumps",
    "format_event_time",
    "masked_headers",
]


@dataclass(frozen=True, slots=True)
class CallContext:
    """What a request needs besides the event and the webhook."""

    call_id: str
    site_id: str
    attempted_auto_retries_count: int
    user_agent: str
    timestamp: int = 0
    """The attempt's Unix seconds (`webhook-timestamp` of a signed call)."""
    signing_secrets: tuple[str, ...] = ()
    """The secrets that sign this attempt, the current one first; none: unsigned."""


def format_event_time(event: Event) -> str:
    """contract §5: UTC, `YYYY-MM-DDTHH:MM:SSZ`."""
    return event.happened_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_payload(event: Event, webhook: Webhook, call: CallContext) -> dict[str, Any]:
    """The default body as an object, keys in the order of contract §5."""
    version, nested = webhook.payload_api_version, webhook.nested_items_in_payload
    payload: dict[str, Any] = {
        "webhook_call_id": call.call_id,
        "event_triggered_at": format_event_time(event),
        "attempted_auto_retries_count": call.attempted_auto_retries_count,
        "webhook_id": webhook.id,
        "site_id": call.site_id,
        "environment": event.environment,
        "is_environment_primary": event.is_environment_primary,
        "entity_type": event.entity_type,
        "event_type": event.event_type,
        "entity": event.entity_as(version, nested),
    }
    # contract §5: previous_entity only for a record update.
    if event.entity_type == "item" and event.event_type == "update":
        payload["previous_entity"] = event.previous_entity_as(version, nested)
    payload["related_entities"] = list(event.related_entities)
    return payload


def build_request(event: Event, webhook: Webhook, call: CallContext) -> OutgoingRequest:
    """The POST for one attempt, with the webhook's settings as they are now."""
    payload = default_payload(event, webhook, call)
    if webhook.custom_payload is None:
        body = dumps(payload)
    else:
        body = render_template(webhook.custom_payload, payload)
    url = render_template(webhook.url, payload) if "{{" in webhook.url else webhook.url
    data = body.encode()
    # Signed calls (beyond DatoCMS) end with the three Standard Webhooks headers.
    signature = signed_headers(call.signing_secrets, call.call_id, call.timestamp, data)
    return OutgoingRequest(url=url, headers=_headers(event, webhook, call) + signature, body=data)


def _headers(event: Event, webhook: Webhook, call: CallContext) -> tuple[tuple[str, str], ...]:
    # contract §5: defaults in this order; a custom header replaces a default of
    # the same name (case-insensitively) in place, the rest follow.
    headers: list[tuple[str, str]] = [
        ("Accept", "*/*"),
        ("User-Agent", call.user_agent),
        ("Content-Type", "application/json"),
        ("x-site-id", call.site_id),
        ("x-webhook-id", webhook.id),
    ]
    if event.in_environment:
        headers.append(("x-environment", event.environment))
    if webhook.has_basic_auth:
        credentials = f"{webhook.http_basic_user}:{webhook.http_basic_password}".encode()
        headers.append(("Authorization", "Basic " + base64.b64encode(credentials).decode()))
    for name, value in webhook.headers.items():
        for i, (existing, _) in enumerate(headers):
            if existing.lower() == name.lower():
                headers[i] = (name, value)
                break
        else:
            headers.append((name, value))
    return tuple(headers)


def masked_headers(headers: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """Headers for the activity log: contract §7 stores Authorization as `Basic ***`.

    A custom Authorization header is a credential too: its scheme is kept and
    the rest masked (`Bearer ***`).
    """
    return {
        name: (_mask(value) if name.lower() == "authorization" else value)
        for name, value in headers
    }


def _mask(value: str) -> str:
    scheme = value.split(" ", 1)[0] if " " in value else ""
    return f"{scheme} ***" if scheme else "***"
