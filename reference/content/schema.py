"""Models (item types) and their fields (SPEC §4: a field change is an `update` of its model)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from reference.content.fields import FIELD_TYPES
from reference.content.scope import Scope, closed_attributes, link
from reference.events import Resource
from reference.exceptions import ValidationError

__all__ = [
    "create_field",
    "create_model",
    "delete_field",
    "delete_model",
    "model_fields",
    "update_field",
    "update_model",
]

_API_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MODEL_ATTRIBUTES = {
    "name": True,
    "api_key": True,
    "draft_mode_active": False,
    "modular_block": False,
}
FIELD_ATTRIBUTES = {
    "label": True,
    "api_key": True,
    "field_type": True,
    "localized": False,
    "validators": False,
}


def model_fields(scope: Scope, model: Resource) -> list[Resource]:
    ids = [ref["id"] for ref in model["relationships"]["fields"]["data"]]
    return [scope.get("field", i) for i in ids]


def create_model(scope: Scope, attributes: Mapping[str, Any]) -> Resource:
    values = closed_attributes(attributes, MODEL_ATTRIBUTES, required=["name", "api_key"])
    model: Resource = {
        "id": scope.rows.next_id(),
        "type": "item_type",
        "attributes": {
            "name": "",
            "api_key": "",
            "draft_mode_active": False,
            "modular_block": False,
        },
        "relationships": {"fields": {"data": []}},
        "meta": {"created_at": scope.timestamp, "updated_at": scope.timestamp},
    }
    _apply_model(scope, model, values)
    scope.rows.put(scope.environment, model)
    scope.raise_event("item_type", "create", model)
    return model


def update_model(scope: Scope, model_id: str, attributes: Mapping[str, Any]) -> Resource:
    model = scope.get("item_type", model_id)
    values = closed_attributes(attributes, MODEL_ATTRIBUTES)
    _apply_model(scope, model, values)
    return _save_model(scope, model)


def delete_model(scope: Scope, model_id: str) -> Resource:
    """Delete a model with its fields and records (records raise no events of their own)."""
    model = scope.get("item_type", model_id)
    related = model_fields(scope, model)
    for record in scope.rows.all(scope.environment, "item"):
        if record["relationships"]["item_type"]["data"]["id"] == model_id:
            scope.rows.delete(scope.environment, "item", record["id"])
    for field in related:
        scope.rows.delete(scope.environment, "field", field["id"])
    scope.rows.delete(scope.environment, "item_type", model_id)
    scope.raise_event("item_type", "delete", model, related=related)
    scope.invalidate([f"item_type:{model_id}"])
    return model


def create_field(scope: Scope, model_id: str, attributes: Mapping[str, Any]) -> Resource:
    model = scope.get("item_type", model_id)
    values = closed_attributes(
        attributes, FIELD_ATTRIBUTES, required=["label", "api_key", "field_type"]
    )
    field: Resource = {
        "id": scope.rows.next_id(),
        "type": "field",
        "attributes": {
            "label": "",
            "api_key": "",
            "field_type": "string",
            "localized": False,
            "validators": {},
        },
        "relationships": {"item_type": link("item_type", model_id)},
        "meta": {},
    }
    _apply_field(scope, model, field, values, new=True)
    scope.rows.put(scope.environment, field)
    model["relationships"]["fields"]["data"].append({"type": "field", "id": field["id"]})
    _save_model(scope, model)
    return field


def update_field(scope: Scope, field_id: str, attributes: Mapping[str, Any]) -> Resource:
    field = scope.get("field", field_id)
    model = scope.get("item_type", field["relationships"]["item_type"]["data"]["id"])
    old_key = field["attributes"]["api_key"]
    _apply_field(scope, model, field, closed_attributes(attributes, FIELD_ATTRIBUTES), new=False)
    new_key = field["attributes"]["api_key"]
    scope.rows.put(scope.environment, field)
    if new_key != old_key:  # records keep their values under the new key
        for record in _records_of(scope, model["id"]):
            record["attributes"][new_key] = record["attributes"].pop(old_key, None)
            scope.rows.put(scope.environment, record)
    _save_model(scope, model)
    return field


def delete_field(scope: Scope, field_id: str) -> Resource:
    field = scope.get("field", field_id)
    model = scope.get("item_type", field["relationships"]["item_type"]["data"]["id"])
    for record in _records_of(scope, model["id"]):
        record["attributes"].pop(field["attributes"]["api_key"], None)
        scope.rows.put(scope.environment, record)
    scope.rows.delete(scope.environment, "field", field_id)
    refs = model["relationships"]["fields"]["data"]
    model["relationships"]["fields"]["data"] = [r for r in refs if r["id"] != field_id]
    _save_model(scope, model)
    return field


def _save_model(scope: Scope, model: Resource) -> Resource:
    model["meta"]["updated_at"] = scope.timestamp
    scope.rows.put(scope.environment, model)
    scope.raise_event("item_type", "update", model, related=model_fields(scope, model))
    scope.invalidate([f"item_type:{model['id']}"])
    return model


def _records_of(scope: Scope, model_id: str) -> list[Resource]:
    return [
        r
        for r in scope.rows.all(scope.environment, "item")
        if r["relationships"]["item_type"]["data"]["id"] == model_id
    ]


def _apply_model(scope: Scope, model: Resource, values: Mapping[str, Any]) -> None:
    attributes = model["attributes"]
    if "name" in values:
        attributes["name"] = _text("name", values["name"])
    if "api_key" in values:
        key = _api_key("api_key", values["api_key"])
        for other in scope.rows.all(scope.environment, "item_type"):
            if other["id"] != model["id"] and other["attributes"]["api_key"] == key:
                raise ValidationError("api_key", f"a model with api_key {key!r} already exists")
        attributes["api_key"] = key
    for name in ("draft_mode_active", "modular_block"):
        if name in values:
            if not isinstance(values[name], bool):
                raise ValidationError(name, f"must be true or false, got {values[name]!r}")
            attributes[name] = values[name]


def _apply_field(
    scope: Scope, model: Resource, field: Resource, values: Mapping[str, Any], *, new: bool
) -> None:
    attributes = field["attributes"]
    if "label" in values:
        attributes["label"] = _text("label", values["label"])
    if "api_key" in values:
        key = _api_key("api_key", values["api_key"])
        for other in model_fields(scope, model):
            if other["id"] != field["id"] and other["attributes"]["api_key"] == key:
                raise ValidationError("api_key", f"the model already has a field {key!r}")
        attributes["api_key"] = key
    if "field_type" in values:
        kind = values["field_type"]
        if kind not in FIELD_TYPES:
            raise ValidationError(
                "field_type", f"must be one of {', '.join(FIELD_TYPES)}, got {kind!r}"
            )
        if not new and kind != attributes["field_type"] and _has_values(scope, model, field):
            raise ValidationError("field_type", "cannot change while records hold values")
        attributes["field_type"] = kind
    if "localized" in values:
        if not isinstance(values["localized"], bool):
            raise ValidationError(
                "localized", f"must be true or false, got {values['localized']!r}"
            )
        if (
            not new
            and values["localized"] != attributes["localized"]
            and _has_values(scope, model, field)
        ):
            raise ValidationError("localized", "cannot change while records hold values")
        attributes["localized"] = values["localized"]
    if "validators" in values:
        validators = values["validators"]
        if not isinstance(validators, dict) or not all(
            isinstance(v, dict) for v in validators.values()
        ):
            raise ValidationError("validators", 'must be an object like {"required": {}}')
        attributes["validators"] = validators


def _has_values(scope: Scope, model: Resource, field: Resource) -> bool:
    key = field["attributes"]["api_key"]
    return any(r["attributes"].get(key) is not None for r in _records_of(scope, model["id"]))


def _text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 255:
        raise ValidationError(
            name, f"must be a non-blank string of at most 255 characters, got {value!r}"
        )
    return value


def _api_key(name: str, value: object) -> str:
    if not isinstance(value, str) or not _API_KEY.match(value):
        raise ValidationError(
            name, f"must be lower-case letters, digits and _, starting with a letter; got {value!r}"
        )
    return value
