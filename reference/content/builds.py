"""Build triggers: triggering = `deploy_started`; the build reporting back = `deploy_succeeded`
or `deploy_failed` (SPEC §4). Build triggers live outside environments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reference.content.scope import SITE, Scope, closed_attributes
from reference.events import Resource
from reference.exceptions import ValidationError

__all__ = [
    "create_build_trigger",
    "delete_build_trigger",
    "report_build",
    "trigger_build",
    "update_build_trigger",
]

_ATTRIBUTES = {
    "name": True,
    "webhook_url": False,
    "frontend_url": False,
    "autotrigger_on_scheduled_publications": False,
}
_OUTCOMES = {"success": ("deploy_succeeded", "success"), "error": ("deploy_failed", "error")}


def create_build_trigger(scope: Scope, attributes: Mapping[str, Any]) -> Resource:
    values = closed_attributes(attributes, _ATTRIBUTES, required=["name"])
    trigger: Resource = {
        "id": scope.rows.next_id(),
        "type": "build_trigger",
        "attributes": {
            "name": "",
            "webhook_url": None,
            "frontend_url": None,
            "autotrigger_on_scheduled_publications": False,
            "build_status": "idle",
            "last_build_completed_at": None,
        },
        "relationships": {},
        "meta": {},
    }
    _apply(trigger, values)
    scope.rows.put(SITE, trigger)
    return trigger


def update_build_trigger(scope: Scope, trigger_id: str, attributes: Mapping[str, Any]) -> Resource:
    trigger = scope.get("build_trigger", trigger_id, environment=SITE)
    _apply(trigger, closed_attributes(attributes, _ATTRIBUTES))
    scope.rows.put(SITE, trigger)
    return trigger


def trigger_build(scope: Scope, trigger_id: str) -> Resource:
    trigger = scope.get("build_trigger", trigger_id, environment=SITE)
    trigger["attributes"]["build_status"] = "pending"
    scope.rows.put(SITE, trigger)
    scope.raise_event("build_trigger", "deploy_started", trigger)
    return trigger


def report_build(scope: Scope, trigger_id: str, status: object) -> Resource:
    trigger = scope.get("build_trigger", trigger_id, environment=SITE)
    if status not in _OUTCOMES:
        raise ValidationError("status", f'must be "success" or "error", got {status!r}')
    event_type, build_status = _OUTCOMES[str(status)]
    trigger["attributes"]["build_status"] = build_status
    trigger["attributes"]["last_build_completed_at"] = scope.timestamp
    scope.rows.put(SITE, trigger)
    scope.raise_event("build_trigger", event_type, trigger)
    return trigger


def _apply(trigger: Resource, values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        if name == "name" and (not isinstance(value, str) or not value.strip()):
            raise ValidationError("name", f"must be a non-blank string, got {value!r}")
        if (
            name in ("webhook_url", "frontend_url")
            and value is not None
            and not isinstance(value, str)
        ):
            raise ValidationError(name, f"must be a string or null, got {value!r}")
        if name == "autotrigger_on_scheduled_publications" and not isinstance(value, bool):
            raise ValidationError(name, f"must be true or false, got {value!r}")
        trigger["attributes"][name] = value


def delete_build_trigger(scope: Scope, trigger_id: str) -> Resource:
    trigger = scope.get("build_trigger", trigger_id, environment=SITE)
    scope.rows.delete(SITE, "build_trigger", trigger_id)
    return trigger
