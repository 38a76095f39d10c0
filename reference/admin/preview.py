"""The custom-payload preview: the template rendered against a sample event (contract §6)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from reference.admin.forms import WebhookForm
from reference.exceptions import TemplateSyntaxError
from reference.payloads import CallContext, default_payload
from reference.samples import sample_event_for
from reference.templates import render_template
from reference.webhooks import Webhook

__all__ = ["Preview", "json_warning", "preview_context", "render_preview"]


@dataclass(frozen=True, slots=True)
class Preview:
    """What a call for the sample event would carry, and what is wrong with it."""

    event: str
    url: str
    body: str
    error: str | None = None
    warning: str | None = None


def render_preview(
    form: WebhookForm, event: str, *, webhook_id: str, site_id: str, user_agent: str
) -> Preview:
    """Render the form's URL and payload for `event` (`entity_type.event_type`)."""
    context = preview_context(
        form, event, webhook_id=webhook_id, site_id=site_id, user_agent=user_agent
    )
    try:
        url = render_template(form.url, context) if form.url else ""
        if not form.custom_payload.strip():
            return Preview(event, url, json.dumps(context, indent=2, ensure_ascii=False))
        body = render_template(form.custom_payload, context)
    except TemplateSyntaxError as exc:
        return Preview(event, "", "", error=f"The template does not parse: {exc.message}")
    return Preview(event, url, body, warning=json_warning(body, form.content_type()))


def preview_context(
    form: WebhookForm, event: str, *, webhook_id: str, site_id: str, user_agent: str
) -> dict[str, Any]:
    """The context templates render against for a sample `event` (`entity_type.event_type`):
    the default payload a call of the form's webhook would carry."""
    entity_type, _, event_type = event.partition(".")
    sample = sample_event_for(entity_type, event_type)
    webhook = Webhook(
        id=webhook_id,
        name=form.name,
        url=form.url,
        custom_payload=form.custom_payload or None,
        headers={},
        events=(),
        http_basic_user=None,
        http_basic_password=None,
        payload_api_version=form.payload_api_version,
        nested_items_in_payload=form.nested_items_in_payload,
    )
    return default_payload(sample, webhook, CallContext("1", site_id, 0, user_agent))


def json_warning(body: str, content_type: str) -> str | None:
    """What is wrong when a body sent as JSON (by its `content_type`) is not JSON."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        return None
    try:
        json.loads(body)
    except ValueError as exc:
        return (
            f"This is not valid JSON ({exc}), but the calls say Content-Type: {content_type}. "
            "Fix the template, or set a Content-Type header that matches it."
        )
    return None
