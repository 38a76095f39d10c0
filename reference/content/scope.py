"""What one content request works in: the rows, the environment, the clock, and how
it raises events. A `Scope` lives inside one database transaction, so a change and
the events it raises are committed together or not at all (contract §7)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reference.events import Event, Resource
from reference.exceptions import InvalidAttributes, NotFoundError, ValidationError
from reference.store import ContentRows, Transaction
from reference.timefmt import format_time

__all__ = ["ACCOUNT", "SITE", "EventRecorder", "Scope", "closed_attributes", "link", "linked"]

#: Stores the calls an event raises, in the given transaction (the dispatcher's
#: `record_event`): the content model raises events without knowing who sends them.
EventRecorder = Callable[[Transaction, Event], object]

SITE = ""  # the "environment" of entities that live outside environments

#: the entities whose changes are changes of an environment's data
_DATA = ("item", "item_type", "upload")

# The account behind the API token: every record's creator.
ACCOUNT: Resource = {
    "id": "1",
    "type": "account",
    "attributes": {"email": "owner@example.com", "first_name": "Site", "last_name": "Owner"},
    "relationships": {},
    "meta": {},
}


def link(kind: str, entity_id: str) -> dict[str, Any]:
    return {"data": {"type": kind, "id": entity_id}}


@dataclass
class Scope:
    tx: Transaction
    record_event: EventRecorder
    now: datetime
    environment: str
    is_primary: bool
    site_id: str = ""
    raised: list[Event] = field(default_factory=list)
    tagged: bool = False
    #: environments whose data (records, models, uploads) this request changed
    changed: set[str] = field(default_factory=set)

    @property
    def rows(self) -> ContentRows:
        return self.tx.content

    @property
    def timestamp(self) -> str:
        return format_time(self.now)

    def get(self, kind: str, entity_id: str, *, environment: str | None = None) -> Resource:
        found = self.rows.get(
            self.environment if environment is None else environment, kind, entity_id
        )
        if found is None:
            raise NotFoundError(kind, entity_id)
        return found

    def raise_event(
        self,
        entity_type: str,
        event_type: str,
        entity: Resource,
        *,
        previous: Resource | None = None,
        related: Sequence[Resource] = (),
        variants: Mapping[str, Resource] | None = None,
        environment: str | None = None,
        is_primary: bool | None = None,
    ) -> None:
        """Record the event and its calls in this transaction."""
        event = Event(
            entity_type=entity_type,
            event_type=event_type,
            entity=entity,
            environment=self.environment if environment is None else environment,
            is_environment_primary=self.is_primary if is_primary is None else is_primary,
            previous_entity=previous,
            related_entities=tuple(related),
            happened_at=self.now,
            variants=dict(variants or {}),
        )
        self.record_event(self.tx, event)
        self.raised.append(event)
        if entity_type in _DATA:
            self.changed.add(event.environment)

    def invalidate(self, tags: Sequence[str], environment: str | None = None) -> None:
        """contract §4: changed published content invalidates these CDA cache tags."""
        self.rows.add_tags(
            self.environment if environment is None else environment, list(tags), self.now
        )
        self.tagged = True


def linked(name: str, value: object, kind: str) -> str | None:
    """The id a `{"data": {"type": kind, "id": ...}}` (or `{"data": null}`) names."""
    data = value.get("data", _MISSING) if isinstance(value, dict) else _MISSING
    if data is None:
        return None
    if (
        not isinstance(data, dict)
        or data.get("type") != kind
        or not isinstance(data.get("id"), str)
    ):
        raise ValidationError(
            name, f'must be {{"data": {{"type": "{kind}", "id": "..."}}}} or {{"data": null}}'
        )
    return str(data["id"])


_MISSING = object()


def closed_attributes(
    attributes: Mapping[str, Any], allowed: Mapping[str, Any], *, required: Sequence[str] = ()
) -> dict[str, Any]:
    """Check names (contract §1: attribute objects are closed) and presence of required
    ones; every unknown and every missing one is reported at once."""
    errors = [
        ValidationError(name, f"unknown attribute {name!r}")
        for name in attributes
        if name not in allowed
    ]
    errors += [ValidationError(name, "is required") for name in required if name not in attributes]
    InvalidAttributes.raise_any(errors)
    return dict(attributes)
