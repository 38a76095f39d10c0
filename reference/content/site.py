"""Site-wide things: the site's settings, maintenance mode (`change`) and SSO users
(`create`) (contract §4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reference.content.scope import ACCOUNT, SITE, Scope, closed_attributes
from reference.events import Resource
from reference.exceptions import ValidationError
from reference.timefmt import format_time

__all__ = ["create_sso_user", "maintenance_mode", "set_maintenance_mode", "site", "update_site"]

# The site's settings a body may change, with their defaults. The dispatcher gives
# them no meaning (no CDN, no SEO): they are checked, stored and returned.
_SITE_DEFAULTS: dict[str, Any] = {
    "name": "Webhooks dispatcher",
    "locales": ["en"],
    "timezone": "UTC",
    "no_index": False,
    "favicon": None,
    "global_seo": None,
    "theme": {
        "primary_color": {"red": 51, "green": 94, "blue": 234, "alpha": 255},
        "light_color": {"red": 227, "green": 249, "blue": 255, "alpha": 255},
        "accent_color": {"red": 28, "green": 117, "blue": 220, "alpha": 255},
        "dark_color": {"red": 0, "green": 0, "blue": 0, "alpha": 255},
        "logo": None,
    },
    "require_2fa": False,
    "ip_tracking_enabled": False,
    "force_use_of_sandbox_environments": False,
}
_SITE_READ_ONLY: dict[str, Any] = {
    "domain": None,
    "internal_domain": None,
    "google_maps_api_token": None,
    "imgix_host": None,
    "assets_cdn_default_settings": {"image": {"max_resolution_mp": 0}, "video": {}},
}

_SSO_ATTRIBUTES = {
    "username": True,
    "external_id": False,
    "first_name": False,
    "last_name": False,
    "is_active": False,
}


def site(scope: Scope, site_id: str) -> Resource:
    """The site, as `GET /site` shows it."""
    stored = scope.rows.setting("site", {})
    primary = scope.rows.primary()
    environments = {row.id: row for row in scope.rows.environments()}
    main = environments.get(primary)
    return {
        "id": site_id,
        "type": "site",
        "attributes": {
            **_SITE_DEFAULTS,
            **_SITE_READ_ONLY,
            **stored,
            "last_data_change_at": None if main is None else format_time(main.data_changed_at),
        },
        "relationships": {
            "account": {"data": {"type": "account", "id": ACCOUNT["id"]}},
            "owner": {"data": {"type": "account", "id": ACCOUNT["id"]}},
            "item_types": {
                "data": [
                    {"type": "item_type", "id": m["id"]}
                    for m in scope.rows.all(primary, "item_type")
                ]
            },
        },
        "meta": {
            "created_at": None if main is None else format_time(main.created_at),
            "draft_mode_default": False,
            "improved_timezone_management": True,
            "improved_hex_management": True,
            "improved_gql_multilocale_fields": True,
            "improved_gql_visibility_control": True,
            "improved_boolean_fields": True,
            "improved_validation_at_publishing": True,
            "improved_exposure_of_inline_blocks_in_cda": True,
            "improved_items_listing": True,
            "milliseconds_in_datetime": True,
            "non_localized_focal_points": True,
            "allow_custom_theme": True,
        },
    }


def update_site(scope: Scope, site_id: str, attributes: Mapping[str, Any]) -> Resource:
    for name in _SITE_READ_ONLY:
        if name in attributes:
            raise ValidationError(name, "is read-only")
    values = closed_attributes(attributes, {name: False for name in _SITE_DEFAULTS})
    for name, value in values.items():
        default = _SITE_DEFAULTS[name]
        if isinstance(default, bool) and not isinstance(value, bool):
            raise ValidationError(name, f"must be true or false, got {value!r}")
        if name in ("name", "timezone") and (not isinstance(value, str) or not value.strip()):
            raise ValidationError(name, f"must be a non-blank string, got {value!r}")
        if name == "locales" and (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v for v in value)
        ):
            raise ValidationError(name, f"must be a non-empty list of locale codes, got {value!r}")
        if name == "favicon" and value is not None and not isinstance(value, str):
            raise ValidationError(name, f"must be an upload id or null, got {value!r}")
        if name in ("global_seo", "theme") and value is not None and not isinstance(value, dict):
            raise ValidationError(name, f"must be an object, got {value!r}")
    scope.rows.set_setting("site", {**scope.rows.setting("site", {}), **values})
    return site(scope, site_id)


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
    """contract §4: `change` only when the state changes."""
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
        "relationships": {"groups": {"data": []}, "role": {"data": None}},
        "meta": {"last_access": None, "created_at": scope.timestamp},
    }
    scope.rows.put(SITE, user)
    scope.raise_event("sso_user", "create", user)
    return user
