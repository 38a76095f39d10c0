"""The entity/event matrix of contract §3, as data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ENVIRONMENT_SCOPED", "ENVIRONMENT_TYPES", "MATRIX", "EntityRule"]


@dataclass(frozen=True, slots=True)
class EntityRule:
    """The event types an entity type raises and the filters that apply to it."""

    event_types: tuple[str, ...]
    filters: tuple[str, ...]


# contract §3: the only valid (entity_type, event_type) pairs and their filters.
MATRIX: Mapping[str, EntityRule] = {
    "item": EntityRule(
        ("create", "update", "delete", "publish", "unpublish"),
        ("item", "item_type", "environment", "environment_type"),
    ),
    "item_type": EntityRule(
        ("create", "update", "delete"), ("item_type", "environment", "environment_type")
    ),
    "upload": EntityRule(("create", "update", "delete"), ("environment", "environment_type")),
    "build_trigger": EntityRule(
        ("deploy_started", "deploy_succeeded", "deploy_failed"), ("build_trigger",)
    ),
    "environment": EntityRule(
        ("create", "update", "promote", "delete"), ("environment", "environment_type")
    ),
    "maintenance_mode": EntityRule(("change",), ()),
    "sso_user": EntityRule(("create",), ()),
    "cda_cache_tags": EntityRule(("invalidate",), ("environment", "environment_type")),
}

ENVIRONMENT_TYPES = ("primary", "sandbox")

# contract §5: entities that live in an environment get the `x-environment` header.
ENVIRONMENT_SCOPED = frozenset({"item", "item_type", "upload", "cda_cache_tags"})
