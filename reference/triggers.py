"""Triggers: which events a webhook wants (contract §3).

Validation and matching read the entity/event table in `reference.matrix`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reference.events import Event
from reference.exceptions import ValidationError
from reference.matrix import ENVIRONMENT_TYPES, MATRIX, EntityRule

__all__ = [
    "Filter",
    "Trigger",
    "matches_any",
    "parse_triggers",
]


@dataclass(frozen=True, slots=True)
class Filter:
    """One filter: the event's `entity_type` value must be one of `entity_ids`."""

    entity_type: str
    entity_ids: tuple[str, ...]

    def holds(self, event: Event) -> bool:
        """contract §3: the ids inside one filter are alternatives (OR)."""
        return event.filter_value(self.entity_type) in self.entity_ids

    def to_json(self) -> dict[str, Any]:
        return {"entity_type": self.entity_type, "entity_ids": list(self.entity_ids)}


@dataclass(frozen=True, slots=True)
class Trigger:
    """An entity type, the event types wanted, and filters that must all hold."""

    entity_type: str
    event_types: tuple[str, ...]
    filters: tuple[Filter, ...] = ()

    def matches(self, event: Event) -> bool:
        """contract §3: entity and event type match and every filter holds (AND)."""
        return (
            event.entity_type == self.entity_type
            and event.event_type in self.event_types
            and all(f.holds(event) for f in self.filters)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "entity_type": self.entity_type,
            "event_types": list(self.event_types),
            "filters": [f.to_json() for f in self.filters],
        }


def matches_any(triggers: Sequence[Trigger], event: Event) -> bool:
    """Whether any trigger matches; one event makes at most one call per webhook."""
    return any(t.matches(event) for t in triggers)


def parse_triggers(value: object, field: str = "events") -> tuple[Trigger, ...]:
    """Validate the `events` attribute of a webhook and build its triggers."""
    if not isinstance(value, list):
        raise ValidationError(field, f"must be a list of triggers, got {_kind(value)}")
    return tuple(_parse_trigger(item, f"{field}[{i}]") for i, item in enumerate(value))


def _parse_trigger(value: object, field: str) -> Trigger:
    if not isinstance(value, dict):
        raise ValidationError(field, f"must be an object, got {_kind(value)}")
    _closed(value, field, {"entity_type", "event_types", "filters"})
    entity_type = value.get("entity_type")
    rule = MATRIX.get(entity_type) if isinstance(entity_type, str) else None
    if rule is None or not isinstance(entity_type, str):
        raise ValidationError(
            f"{field}.entity_type",
            f"must be one of {', '.join(MATRIX)}, got {entity_type!r}",
        )
    event_types = _strings(value.get("event_types"), f"{field}.event_types")
    for event_type in event_types:
        if event_type not in rule.event_types:
            raise ValidationError(
                f"{field}.event_types",
                f"{event_type!r} is not an event of {entity_type!r}; "
                f"allowed: {', '.join(rule.event_types)}",
            )
    raw_filters = value.get("filters", [])
    if not isinstance(raw_filters, list):
        raise ValidationError(f"{field}.filters", f"must be a list, got {_kind(raw_filters)}")
    filters = tuple(
        _parse_filter(item, f"{field}.filters[{i}]", entity_type, rule)
        for i, item in enumerate(raw_filters)
    )
    return Trigger(entity_type, tuple(dict.fromkeys(event_types)), filters)


def _parse_filter(value: object, field: str, entity_type: str, rule: EntityRule) -> Filter:
    if not isinstance(value, dict):
        raise ValidationError(field, f"must be an object, got {_kind(value)}")
    _closed(value, field, {"entity_type", "entity_ids"})
    kind = value.get("entity_type")
    if not isinstance(kind, str) or kind not in rule.filters:
        allowed = ", ".join(rule.filters) or "none"
        raise ValidationError(
            f"{field}.entity_type",
            f"a {kind!r} filter does not apply to {entity_type!r}; allowed: {allowed}",
        )
    ids = _strings(value.get("entity_ids"), f"{field}.entity_ids")
    if kind == "environment_type":
        for env_type in ids:
            if env_type not in ENVIRONMENT_TYPES:
                raise ValidationError(
                    f"{field}.entity_ids",
                    f"environment_type must be primary or sandbox, got {env_type!r}",
                )
    return Filter(kind, tuple(dict.fromkeys(ids)))


def _strings(value: object, field: str) -> list[str]:
    if not isinstance(value, list) or not value:
        raise ValidationError(field, f"must be a non-empty list of strings, got {value!r}")
    for item in value:
        if not isinstance(item, str) or not item:
            raise ValidationError(field, f"must hold non-empty strings, got {item!r}")
    return value


def _closed(value: Mapping[str, object], field: str, allowed: set[str]) -> None:
    for key in value:
        if key not in allowed:
            raise ValidationError(f"{field}.{key}", f"unknown attribute {key!r}")


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__
