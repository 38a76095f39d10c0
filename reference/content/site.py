"""Site-wide things: maintenance mode (`change`) and SSO users (`create`) (SPEC §4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reference.content.scope import SITE, Scope, closed_attributes
from reference.events import Resource
from reference.exceptions import ValidationError

__all__ = ["create_sso_user", "maintenance_mode", "set_maintenance_mode"]

_SSO_ATTRIBUTES = {
    "username": True,
    "external_id": False,
    "first_name": False,
    "last_name": False,
    "is_active": False,
}


def maintenance_mode(scope: Scope) -> Resource:
    active = bool(scope.rows.setting("maintenance_mode", False))
    return {
        "id": "maintenance_mode",
        "type": "maintenance_mode",
        "attributes": {"active": active},
        "relationships": {},
        "meta": {},
    }


def set_maintenance_mode(scope: Scope, active: bool) -> Resource:
    """SPEC §4: `change` only when the state changes."""
    before = maintenance_mode(scope)
    if before["attributes"]["active"] == active:
        return before
    scope.rows.set_setting("maintenance_mode", active)
    after = maintenance_mode(scope)
    scope.raise_event("maintenance_mode", "change", after)
    return after


def create_sso_user(scope: Scope, attributes: Mapping[str, Any]) -> Resource:
    values = closed_attributes(attributes, _SSO_ATTRIBUTES, required=["username"])
    username = values["username"]
    if not isinstance(username, str) or not username.strip():
        raise ValidationError("username", f"must be a non-blank string, got {username!r}")
    for other in scope.rows.all(SITE, "sso_user"):
        if other["attributes"]["username"].casefold() == username.casefold():
            raise ValidationError("username", f"an SSO user {username!r} already exists")
    for name in ("external_id", "first_name", "last_name"):
        if values.get(name) is not None and not isinstance(values[name], str):
            raise ValidationError(name, f"must be a string or null, got {values[name]!r}")
    if not isinstance(values.get("is_active", True), bool):
        raise ValidationError("is_active", f"must be true or false, got {values['is_active']!r}")
    user: Resource = {
        "id": scope.rows.next_id(),
        "type": "sso_user",
        "attributes": {
            "username": username,
            "external_id": values.get("external_id"),
            "first_name": values.get("first_name"),
            "last_name": values.get("last_name"),
            "is_active": values.get("is_active", True),
        },
        "relationships": {},
        "meta": {},
    }
    scope.rows.put(SITE, user)
    scope.raise_event("sso_user", "create", user)
    return user
