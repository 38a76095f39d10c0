"""Events: something happened to an entity (contract §3, §4).

An event is what other code hands the dispatcher; matching, the default
payload and the `x-environment` header are all derived from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reference.exceptions import ValidationError
from reference.matrix import ENVIRONMENT_SCOPED, MATRIX

__all__ = ["Event", "Resource", "variant_key"]

Resource = dict[str, Any]
"""A JSON:API resource object: `{id, type, attributes, relationships, meta}`."""


@dataclass(frozen=True, slots=True)
class Event:
    """One change to one entity.

    `environment` is the environment the entity lives in; for an environment
    event, that environment; for events outside environments, the primary.
    """

    entity_type: str
    event_type: str
    entity: Resource
    environment: str = "main"
    is_environment_primary: bool = True
    previous_entity: Resource | None = None
    related_entities: tuple[Resource, ...] = ()
    happened_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    variants: Mapping[str, Resource] = field(default_factory=dict)
    """Other serialisations of `entity` and `previous_entity`, keyed by `variant_key`;
    only those that differ from the default (payload version 3, blocks as ids)."""

    def __post_init__(self) -> None:
        rule = MATRIX.get(self.entity_type)
        if rule is None:
            raise ValidationError("entity_type", f"unknown entity type {self.entity_type!r}")
        if self.event_type not in rule.event_types:
            raise ValidationError(
                "event_type", f"{self.event_type!r} is not an event of {self.entity_type!r}"
            )
        if not isinstance(self.entity.get("id"), str):
            raise ValidationError("entity.id", f"must be a string, got {self.entity.get('id')!r}")
        if self.happened_at.tzinfo is None:
            raise ValidationError("happened_at", "must be timezone-aware")

    def entity_as(self, version: str, nested: bool) -> Resource:
        """`entity` as payload version `version` writes it (contract §2 payload_api_version)."""
        return self.variants.get(variant_key(version, nested, previous=False), self.entity)

    def previous_entity_as(self, version: str, nested: bool) -> Resource | None:
        if self.previous_entity is None:
            return None
        key = variant_key(version, nested, previous=True)
        return self.variants.get(key, self.previous_entity)

    @property
    def entity_id(self) -> str:
        return str(self.entity["id"])

    @property
    def in_environment(self) -> bool:
        """Whether the entity lives in an environment (contract §5 `x-environment`)."""
        return self.entity_type in ENVIRONMENT_SCOPED

    def filter_value(self, kind: str) -> str | None:
        """The value a filter of `kind` compares against (contract §3)."""
        if kind == "environment":
            return self.environment
        if kind == "environment_type":
            return "primary" if self.is_environment_primary else "sandbox"
        if kind == self.entity_type:
            return self.entity_id
        if kind == "item_type" and self.entity_type == "item":
            return _relationship_id(self.entity, "item_type")
        return None


def variant_key(version: str, nested: bool, *, previous: bool) -> str:
    """`"2"`, `"3+nested"`, `"previous:1+nested"`, ...: the keys of `Event.variants`."""
    return f"{'previous:' if previous else ''}{version}{'+nested' if nested else ''}"


def _relationship_id(entity: Resource, name: str) -> str | None:
    relationships = entity.get("relationships")
    if not isinstance(relationships, dict):
        return None
    link = relationships.get(name)
    data = link.get("data") if isinstance(link, dict) else None
    value = data.get("id") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None
