"""The typed event a handler receives, and the parsing of the default payload
(contract §5) into it, for every entity/event pair of contract §3 in payload
versions 1 to 3.

The versions differ only inside the resources (how a record's assets are written),
not in the envelope, so one parser reads all three and hands the resources on as
they came. A body that is not such a payload raises `PayloadError` naming the member
that is wrong; nothing else escapes `parse_payload`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from endpoint.exceptions import PayloadError

__all__ = ["ENTITY_EVENTS", "Event", "PayloadParser", "Resource", "parse_payload"]

Resource = dict[str, Any]
"""A JSON:API resource object: `{id, type, attributes, relationships, meta}`."""

#: contract §3: each entity type and the event types it raises (the same pairs as
#: `reference.matrix.MATRIX`, which a test holds it to; copied so that a receiver does
#: not import the dispatcher).
ENTITY_EVENTS: Mapping[str, tuple[str, ...]] = {
    "item": ("create", "update", "delete", "publish", "unpublish"),
    "item_type": ("create", "update", "delete"),
    "upload": ("create", "update", "delete"),
    "build_trigger": ("deploy_started", "deploy_succeeded", "deploy_failed"),
    "environment": ("create", "update", "promote", "delete"),
    "maintenance_mode": ("change",),
    "sso_user": ("create",),
    "cda_cache_tags": ("invalidate",),
}


@dataclass(frozen=True, slots=True)
class Event:
    """One webhook call, as the handler gets it.

    `webhook_call_id` is the call's id in the sender's activity log: the same on
    every retry and resend of the call. `previous_entity` is set for record updates
    only; `attempted_auto_retries_count` is the sender's count of automatic retries
    before this delivery.
    """

    webhook_call_id: str
    webhook_id: str
    site_id: str
    entity_type: str
    event_type: str
    entity: Resource
    environment: str | None = None
    is_environment_primary: bool | None = None
    previous_entity: Resource | None = None
    related_entities: tuple[Resource, ...] = ()
    attempted_auto_retries_count: int = 0
    event_triggered_at: datetime | None = None

    @property
    def entity_id(self) -> str:
        return str(self.entity.get("id", ""))

    def to_json(self) -> dict[str, Any]:
        """The event as a JSON value (how the queues keep it)."""
        return {
            "webhook_call_id": self.webhook_call_id,
            "webhook_id": self.webhook_id,
            "site_id": self.site_id,
            "entity_type": self.entity_type,
            "event_type": self.event_type,
            "entity": self.entity,
            "environment": self.environment,
            "is_environment_primary": self.is_environment_primary,
            "previous_entity": self.previous_entity,
            "related_entities": list(self.related_entities),
            "attempted_auto_retries_count": self.attempted_auto_retries_count,
            "event_triggered_at": (
                None if self.event_triggered_at is None else self.event_triggered_at.isoformat()
            ),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Event:
        """The event `to_json` wrote."""
        when = data.get("event_triggered_at")
        return cls(
            webhook_call_id=data["webhook_call_id"],
            webhook_id=data["webhook_id"],
            site_id=data["site_id"],
            entity_type=data["entity_type"],
            event_type=data["event_type"],
            entity=data["entity"],
            environment=data.get("environment"),
            is_environment_primary=data.get("is_environment_primary"),
            previous_entity=data.get("previous_entity"),
            related_entities=tuple(data.get("related_entities") or ()),
            attempted_auto_retries_count=data.get("attempted_auto_retries_count", 0),
            event_triggered_at=None if when is None else datetime.fromisoformat(when),
        )


PayloadParser = Callable[[bytes, Mapping[str, str]], Event]
"""Turns a request body (and its headers, lower-case names) into an `Event`, or raises
`PayloadError` (or `ValueError`, `KeyError`, `TypeError`) when the body is not one.
`parse_payload` reads the default payload; a webhook with a custom payload needs its
own."""


def parse_payload(body: bytes, headers: Mapping[str, str] | None = None) -> Event:
    """The event of a default payload (contract §5); `PayloadError` if `body` is not one."""
    document = _json_object(body)
    entity_type = _text(document, "entity_type")
    event_types = ENTITY_EVENTS.get(entity_type)
    if event_types is None:
        allowed = ", ".join(ENTITY_EVENTS)
        raise PayloadError(
            "entity_type", f"{entity_type!r} is not an entity type; allowed: {allowed}"
        )
    event_type = _text(document, "event_type")
    if event_type not in event_types:
        raise PayloadError(
            "event_type",
            f"{event_type!r} is not an event of {entity_type!r}; allowed: {', '.join(event_types)}",
        )
    previous: Resource | None = None
    if "previous_entity" in document or (entity_type, event_type) == ("item", "update"):
        # contract §5: only record updates carry it, null when there is no earlier state.
        value = _member(document, "previous_entity")
        previous = None if value is None else _resource(value, "previous_entity")
    related = _member(document, "related_entities")
    if not isinstance(related, list):
        raise PayloadError("related_entities", f"must be a list, got {_kind(related)}")
    count = _member(document, "attempted_auto_retries_count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise PayloadError(
            "attempted_auto_retries_count", f"must be a whole number >= 0, got {_show(count)}"
        )
    primary = _member(document, "is_environment_primary")
    if not isinstance(primary, bool):
        raise PayloadError("is_environment_primary", f"must be true or false, got {_show(primary)}")
    return Event(
        webhook_call_id=_id(document, "webhook_call_id"),
        webhook_id=_id(document, "webhook_id"),
        site_id=_id(document, "site_id"),
        entity_type=entity_type,
        event_type=event_type,
        entity=_resource(_member(document, "entity"), "entity"),
        environment=_text(document, "environment"),
        is_environment_primary=primary,
        previous_entity=previous,
        related_entities=tuple(
            _resource(r, f"related_entities[{i}]") for i, r in enumerate(related)
        ),
        attempted_auto_retries_count=count,
        event_triggered_at=_time(document, "event_triggered_at"),
    )


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(
            "", f"the body is not UTF-8 ({exc.reason} at byte {exc.start})"
        ) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PayloadError("", f"the body is not JSON ({exc})") from None
    except RecursionError:
        raise PayloadError("", "the body nests too deeply") from None
    if not isinstance(document, dict):
        raise PayloadError("", f"the body must be a JSON object, got {_kind(document)}")
    return document


def _member(document: Mapping[str, Any], name: str) -> Any:
    if name not in document:
        raise PayloadError(name, "missing")
    return document[name]


def _text(document: Mapping[str, Any], name: str) -> str:
    value = _member(document, name)
    if not isinstance(value, str) or not value:
        raise PayloadError(name, f"must be a non-empty string, got {_show(value)}")
    return value


def _id(document: Mapping[str, Any], name: str) -> str:
    """An id: a non-empty string, or a whole number (kept as its decimal string)."""
    value = _member(document, name)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value:
        raise PayloadError(name, f"must be an id (a non-empty string), got {_show(value)}")
    return value


def _time(document: Mapping[str, Any], name: str) -> datetime:
    value = _text(document, name)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise PayloadError(name, f"must be a UTC time such as 2026-11-27T10:05:00Z, got {value!r}")
    return moment


def _resource(value: Any, name: str) -> Resource:
    """A JSON:API resource object: an object with a string `id`; `type` a string and
    `attributes`, `relationships`, `meta` objects when present."""
    if not isinstance(value, dict):
        raise PayloadError(name, f"must be a resource object, got {_kind(value)}")
    identifier = value.get("id")
    if not isinstance(identifier, str) or not identifier:
        raise PayloadError(f"{name}.id", f"must be a non-empty string, got {_show(identifier)}")
    if "type" in value and not isinstance(value["type"], str):
        raise PayloadError(f"{name}.type", f"must be a string, got {_show(value['type'])}")
    for member in ("attributes", "relationships", "meta"):
        if member in value and not isinstance(value[member], dict):
            raise PayloadError(f"{name}.{member}", f"must be an object, got {_kind(value[member])}")
    return value


def _kind(value: Any) -> str:
    """What a JSON value is, in words: `a list`, `a string`, `null`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _show(value: Any) -> str:
    """A short JSON rendering of `value` for a message."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
