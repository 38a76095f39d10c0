"""The webhook form: what the browser posts, turned into API attributes and back.

Rows (custom headers, triggers) are numbered fields: `header-0-name`,
`trigger-0-entity_type`, `trigger-0-events-item`, `trigger-0-filter-item-environment`.
A trigger row only reads the event types and filters of the entity type
chosen in it, so only the pairs of contract §3 can be sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from reference.exceptions import ConflictError, ValidationError
from reference.matrix import MATRIX
from reference.webhooks import PAYLOAD_API_VERSIONS, Webhook

__all__ = ["HeaderRow", "TriggerRow", "WebhookForm", "error_key"]

MAX_HEADER_ROWS = 60
MAX_TRIGGER_ROWS = 40
_IDS = re.compile(r"[\s,]+")
_EVENTS_INDEX = re.compile(r"^events\[(\d+)\]")


@dataclass(slots=True)
class HeaderRow:
    name: str = ""
    value: str = ""


@dataclass(slots=True)
class TriggerRow:
    entity_type: str = ""
    event_types: list[str] = field(default_factory=list)
    filters: dict[str, str] = field(default_factory=dict)
    """Filter kind -> the ids as typed (commas or spaces between them)."""

    def to_json(self) -> dict[str, Any]:
        filters = [
            {"entity_type": kind, "entity_ids": [i for i in _IDS.split(text) if i]}
            for kind, text in self.filters.items()
            if text.strip()
        ]
        return {
            "entity_type": self.entity_type,
            "event_types": self.event_types,
            "filters": filters,
        }


@dataclass(slots=True)
class WebhookForm:
    """Everything the webhook form shows; the password is never shown back."""

    name: str = ""
    url: str = ""
    custom_payload: str = ""
    http_basic_user: str = ""
    http_basic_password: str = ""
    has_password: bool = False
    enabled: bool = True
    payload_api_version: str = "3"
    nested_items_in_payload: bool = False
    auto_retry: bool = True
    signing_secret: str = ""
    headers: list[HeaderRow] = field(default_factory=list)
    triggers: list[TriggerRow] = field(default_factory=list)

    @classmethod
    def from_webhook(cls, webhook: Webhook) -> WebhookForm:
        return cls(
            name=webhook.name,
            url=webhook.url,
            custom_payload=webhook.custom_payload or "",
            http_basic_user=webhook.http_basic_user or "",
            has_password=webhook.http_basic_password is not None,
            enabled=webhook.enabled,
            payload_api_version=webhook.payload_api_version,
            nested_items_in_payload=webhook.nested_items_in_payload,
            auto_retry=webhook.auto_retry,
            signing_secret=webhook.signing_secret or "",
            headers=[HeaderRow(n, v) for n, v in webhook.headers.items()],
            triggers=[
                TriggerRow(
                    t.entity_type,
                    list(t.event_types),
                    {f.entity_type: ", ".join(f.entity_ids) for f in t.filters},
                )
                for t in webhook.events
            ],
        )

    @classmethod
    def from_form(cls, form: FormData, existing: Webhook | None = None) -> WebhookForm:
        version = _text(form, "payload_api_version") or "3"
        return cls(
            name=_text(form, "name"),
            url=_text(form, "url").strip(),
            custom_payload=_text(form, "custom_payload").replace("\r\n", "\n"),
            http_basic_user=_text(form, "http_basic_user"),
            http_basic_password=_text(form, "http_basic_password"),
            has_password=existing is not None and existing.http_basic_password is not None,
            enabled="enabled" in form,
            payload_api_version=version if version in PAYLOAD_API_VERSIONS else "3",
            nested_items_in_payload="nested_items_in_payload" in form,
            auto_retry="auto_retry" in form,
            signing_secret=_text(form, "signing_secret").strip(),
            headers=[
                HeaderRow(_text(form, f"header-{i}-name").strip(), _text(form, f"header-{i}-value"))
                for i in range(_count(form, "header_rows", MAX_HEADER_ROWS))
            ],
            triggers=[
                _trigger_row(form, i) for i in range(_count(form, "trigger_rows", MAX_TRIGGER_ROWS))
            ],
        )

    def with_blank_rows(self) -> WebhookForm:
        """At least one empty header row and trigger row to type into."""
        if not any(not h.name and not h.value for h in self.headers):
            self.headers.append(HeaderRow())
        if not self.triggers:
            self.triggers.append(TriggerRow())
        return self

    def content_type(self) -> str:
        """The Content-Type the calls will have (a custom header replaces the default)."""
        for row in self.headers:
            if row.name.lower() == "content-type":
                return row.value
        return "application/json"

    def attributes(self, *, creating: bool) -> tuple[dict[str, Any], list[int]]:
        """The API attributes, and for each trigger sent the form row it came from."""
        rows = [i for i, t in enumerate(self.triggers) if t.entity_type]
        user = self.http_basic_user or None
        attributes: dict[str, Any] = {
            "name": self.name,
            "url": self.url,
            "custom_payload": self.custom_payload if self.custom_payload.strip() else None,
            "headers": {h.name: h.value for h in self.headers if h.name or h.value},
            "events": [self.triggers[i].to_json() for i in rows],
            "http_basic_user": user,
            "enabled": self.enabled,
            "payload_api_version": self.payload_api_version,
            "nested_items_in_payload": self.nested_items_in_payload,
            "auto_retry": self.auto_retry,
            "signing_secret": self.signing_secret or None,
        }
        # The password is never shown back: left empty on an edit, the saved one stays.
        if user is None:
            attributes["http_basic_password"] = None
        elif self.http_basic_password or creating or not self.has_password:
            attributes["http_basic_password"] = self.http_basic_password or None
        return attributes, rows


def error_key(error: ValidationError | ConflictError, trigger_rows: list[int]) -> str:
    """The form field an API error belongs next to: `url`, `headers`, `trigger-2`."""
    match = _EVENTS_INDEX.match(error.field)
    if match:
        index = int(match.group(1))
        return f"trigger-{trigger_rows[index]}" if index < len(trigger_rows) else "events"
    return re.split(r"[.\[]", error.field, maxsplit=1)[0] or "form"


def _trigger_row(form: FormData, index: int) -> TriggerRow:
    entity_type = _text(form, f"trigger-{index}-entity_type")
    rule = MATRIX.get(entity_type)
    if rule is None:
        return TriggerRow()
    events = [
        e for e in form.getlist(f"trigger-{index}-events-{entity_type}") if e in rule.event_types
    ]
    filters = {
        kind: _text(form, f"trigger-{index}-filter-{entity_type}-{kind}") for kind in rule.filters
    }
    return TriggerRow(entity_type, [str(e) for e in events], filters)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _count(form: FormData, name: str, cap: int) -> int:
    return min(whole_number(_text(form, name)) or 0, cap)


def whole_number(text: str) -> int | None:
    """`text` as a number if it is written in ASCII digits, at most 9 of them (a row
    count, a page, an id or an attempt count all fit; `int` refuses 4,301); else None."""
    return int(text) if text.isascii() and text.isdecimal() and len(text) <= 9 else None
