"""Build triggers: triggering = `deploy_started`; the build reporting back = `deploy_succeeded`
or `deploy_failed` (contract §4). Build triggers live outside environments.

As in DatoCMS, a build trigger's `webhook_url` is read-only: the dispatcher makes
it from the trigger's own secret `webhook_token`, and the CI reports there
without the API token.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from reference.content.scope import SITE, Scope, closed_attributes
from reference.events import Resource
from reference.exceptions import NotFoundError, ValidationError

__all__ = [
    "create_build_trigger",
    "delete_build_trigger",
    "report_build",
    "trigger_build",
    "update_build_trigger",
]

ADAPTERS = ("custom", "netlify", "vercel", "gitlab")
# attribute -> required on create
_ATTRIBUTES = {
    "name": True,
    "adapter": True,
    "adapter_settings": False,
    "webhook_token": False,
    "enabled": False,
    "frontend_url": False,
    "autotrigger_on_scheduled_publications": False,
    "indexing_enabled": False,
}
_READ_ONLY = ("webhook_url", "build_status", "last_build_completed_at", "indexing_status")
_OUTCOMES = {"success": ("deploy_succeeded", "success"), "error": ("deploy_failed", "error")}


def create_build_trigger(
    scope: Scope, attributes: Mapping[str, Any], results_base: str
) -> Resource:
    """A new trigger; its `webhook_url` is `<results_base>/<webhook_token>`."""
    _no_read_only(attributes)
    values = closed_attributes(attributes, _ATTRIBUTES, required=["name", "adapter"])
    trigger: Resource = {
        "id": scope.rows.next_id(),
        "type": "build_trigger",
        "attributes": {
            "name": "",
            "adapter": "custom",
            "adapter_settings": {},
            "enabled": True,
            "frontend_url": None,
            "autotrigger_on_scheduled_publications": False,
            "indexing_enabled": False,
            "indexing_status": "idle",
            "build_status": "idle",
            "last_build_completed_at": None,
            "webhook_token": secrets.token_hex(16),
            "webhook_url": "",
        },
        "relationships": {},
        "meta": {},
    }
    _apply(scope, trigger, values)
    token = trigger["attributes"]["webhook_token"]
    trigger["attributes"]["webhook_url"] = f"{results_base.rstrip('/')}/{token}"
    scope.rows.put(SITE, trigger)
    return trigger


def update_build_trigger(scope: Scope, trigger_id: str, attributes: Mapping[str, Any]) -> Resource:
    trigger = scope.get("build_trigger", trigger_id, environment=SITE)
    _no_read_only(attributes)
    values = closed_attributes(attributes, _ATTRIBUTES)
    if "webhook_token" in values:
        raise ValidationError("webhook_token", "is set when the build trigger is created")
    _apply(scope, trigger, values)
    scope.rows.put(SITE, trigger)
    return trigger


def trigger_build(scope: Scope, trigger_id: str) -> Resource:
    trigger = scope.get("build_trigger", trigger_id, environment=SITE)
    if not trigger["attributes"].get("enabled", True):
        raise ValidationError("enabled", f"build trigger {trigger_id} is disabled")
    trigger["attributes"]["build_status"] = "pending"
    scope.rows.put(SITE, trigger)
    scope.raise_event("build_trigger", "deploy_started", trigger)
    return trigger


def report_build(scope: Scope, token: str, status: object) -> Resource:
    """The CI's report, found by the trigger's `webhook_token`."""
    trigger = _by_token(scope, token)
    if not isinstance(status, str) or status not in _OUTCOMES:
        raise ValidationError("status", f'must be "success" or "error", got {status!r}')
    event_type, build_status = _OUTCOMES[str(status)]
    trigger["attributes"]["build_status"] = build_status
    trigger["attributes"]["last_build_completed_at"] = scope.timestamp
    scope.rows.put(SITE, trigger)
    scope.raise_event("build_trigger", event_type, trigger)
    return trigger


def delete_build_trigger(scope: Scope, trigger_id: str) -> Resource:
    trigger = scope.get("build_trigger", trigger_id, environment=SITE)
    scope.rows.delete(SITE, "build_trigger", trigger_id)
    return trigger


def _by_token(scope: Scope, token: str) -> Resource:
    for trigger in scope.rows.all(SITE, "build_trigger"):
        stored = str(trigger["attributes"].get("webhook_token", ""))
        # as bytes: compare_digest refuses str with non-ASCII characters (a URL may hold any)
        if secrets.compare_digest(stored.encode(), token.encode()):
            return trigger
    raise NotFoundError("build trigger", "with this webhook URL")


def _no_read_only(attributes: Mapping[str, Any]) -> None:
    for name in _READ_ONLY:
        if name in attributes:
            raise ValidationError(name, "is read-only: the dispatcher sets it")


def _apply(scope: Scope, trigger: Resource, values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        if name == "name" and (not isinstance(value, str) or not value.strip()):
            raise ValidationError("name", f"must be a non-blank string, got {value!r}")
        if name == "adapter" and value not in ADAPTERS:
            raise ValidationError("adapter", f"must be one of {', '.join(ADAPTERS)}, got {value!r}")
        if name == "adapter_settings" and not isinstance(value, dict):
            raise ValidationError(name, f"must be an object, got {value!r}")
        if name == "frontend_url" and value is not None and not isinstance(value, str):
            raise ValidationError(name, f"must be a string or null, got {value!r}")
        if name == "webhook_token":
            if (
                not isinstance(value, str)
                or len(value) < 16
                or not (value.isascii() and value.isalnum())
            ):
                raise ValidationError(
                    name, "must be at least 16 ASCII letters and digits (it is the URL's secret)"
                )
            if any(
                t["attributes"].get("webhook_token") == value
                for t in scope.rows.all(SITE, "build_trigger")
            ):
                raise ValidationError(name, "another build trigger has this token")
        if name in (
            "enabled",
            "autotrigger_on_scheduled_publications",
            "indexing_enabled",
        ) and not isinstance(value, bool):
            raise ValidationError(name, f"must be true or false, got {value!r}")
        trigger["attributes"][name] = value
