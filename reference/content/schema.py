"""Models (item types) and their fields (contract §4: a field change updates its model)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from reference.content.fields import FIELD_TYPES
from reference.content.scope import Scope, closed_attributes, link, linked
from reference.events import Resource
from reference.exceptions import ValidationError

__all__ = [
    "ABSENT",
    "create_field",
    "create_model",
    "delete_field",
    "delete_model",
    "model_fields",
    "update_field",
    "update_model",
]

_API_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

#: a relationship not given in the request (None would be `{"data": null}`)
ABSENT: Any = object()

# A model's attributes as the CMA has them, with their defaults. Those the
# dispatcher gives no meaning to (ordering, tree, appearance, ...) are checked,
# stored and returned.
MODEL_DEFAULTS: dict[str, Any] = {
    "name": "",
    "api_key": "",
    "singleton": False,
    "all_locales_required": False,
    "sortable": False,
    "modular_block": False,
    "draft_mode_active": False,
    "draft_saving_active": False,
    "tree": False,
    "ordering_direction": None,
    "ordering_meta": None,
    "collection_appearance": "compact",
    "hint": None,
    "inverse_relationships_enabled": False,
}
MODEL_ATTRIBUTES = {
    **{name: name in ("name", "api_key") for name in MODEL_DEFAULTS},
    "collection_appeareance": False,  # the CMA's old spelling, still accepted
}
_MODEL_CHOICES: dict[str, tuple[object, ...]] = {
    "ordering_direction": (None, "asc", "desc"),
    "ordering_meta": (None, "created_at", "updated_at", "first_published_at", "published_at"),
    "collection_appearance": ("compact", "table"),
    "collection_appeareance": ("compact", "table"),
}
#: relationships a model's body may set: to one of its fields, or its workflow
MODEL_LINKS = {
    "ordering_field": "field",
    "presentation_title_field": "field",
    "presentation_image_field": "field",
    "title_field": "field",
    "image_preview_field": "field",
    "excerpt_field": "field",
    "workflow": "workflow",
}

FIELD_DEFAULTS: dict[str, Any] = {
    "label": "",
    "api_key": "",
    "field_type": "string",
    "localized": False,
    "validators": {},
    "position": 0,
    "hint": None,
    "default_value": None,
    "appearance": {"editor": "default", "parameters": {}, "addons": []},
    "deep_filtering_enabled": False,
    "content_link_enabled": False,
}
FIELD_ATTRIBUTES = {name: name in ("label", "api_key", "field_type") for name in FIELD_DEFAULTS}


def model_fields(scope: Scope, model: Resource) -> list[Resource]:
    ids = [ref["id"] for ref in model["relationships"]["fields"]["data"]]
    return [scope.get("field", i) for i in ids]


def create_model(
    scope: Scope, attributes: Mapping[str, Any], relationships: Mapping[str, Any]
) -> Resource:
    values = closed_attributes(attributes, MODEL_ATTRIBUTES, required=["name", "api_key"])
    model: Resource = {
        "id": scope.rows.next_id(),
        "type": "item_type",
        "attributes": {**MODEL_DEFAULTS, "has_singleton_item": False},
        "relationships": {
            "fields": {"data": []},
            "fieldsets": {"data": []},
            "singleton_item": {"data": None},
            **{name: {"data": None} for name in MODEL_LINKS},
        },
        "meta": {
            "created_at": scope.timestamp,
            "updated_at": scope.timestamp,
            "has_singleton_item": False,
        },
    }
    _apply_model(scope, model, values)
    _link_model(scope, model, relationships)
    scope.rows.put(scope.environment, model)
    scope.raise_event("item_type", "create", model)
    return model


def update_model(
    scope: Scope,
    model_id: str,
    attributes: Mapping[str, Any],
    relationships: Mapping[str, Any],
) -> Resource:
    model = scope.get("item_type", model_id)
    values = closed_attributes(attributes, MODEL_ATTRIBUTES)
    _apply_model(scope, model, values)
    _link_model(scope, model, relationships)
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


def create_field(
    scope: Scope, model_id: str, attributes: Mapping[str, Any], fieldset: object = ABSENT
) -> Resource:
    model = scope.get("item_type", model_id)
    values = closed_attributes(
        attributes, FIELD_ATTRIBUTES, required=["label", "api_key", "field_type"]
    )
    field: Resource = {
        "id": scope.rows.next_id(),
        "type": "field",
        "attributes": {
            **FIELD_DEFAULTS,
            "validators": {},
            "appearance": {"editor": "default", "parameters": {}, "addons": []},
            "position": len(model["relationships"]["fields"]["data"]),
        },
        "relationships": {"item_type": link("item_type", model_id), "fieldset": {"data": None}},
        "meta": {},
    }
    _apply_field(scope, model, field, values, new=True)
    _set_fieldset(field, fieldset)
    scope.rows.put(scope.environment, field)
    model["relationships"]["fields"]["data"].append({"type": "field", "id": field["id"]})
    _save_model(scope, model)
    return field


def update_field(
    scope: Scope, field_id: str, attributes: Mapping[str, Any], fieldset: object = ABSENT
) -> Resource:
    field = scope.get("field", field_id)
    model = scope.get("item_type", field["relationships"]["item_type"]["data"]["id"])
    old_key = field["attributes"]["api_key"]
    _apply_field(scope, model, field, closed_attributes(attributes, FIELD_ATTRIBUTES), new=False)
    _set_fieldset(field, fieldset)
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
    for name, value in values.items():
        if name in ("name", "api_key"):
            continue
        if isinstance(MODEL_DEFAULTS.get(name), bool) and not isinstance(value, bool):
            raise ValidationError(name, f"must be true or false, got {value!r}")
        if name in _MODEL_CHOICES and value not in _MODEL_CHOICES[name]:
            allowed = ", ".join(_json_name(c) for c in _MODEL_CHOICES[name])
            raise ValidationError(name, f"must be one of {allowed}, got {value!r}")
        if name == "hint" and value is not None and not isinstance(value, str):
            raise ValidationError(name, f"must be a string or null, got {value!r}")
        attributes["collection_appearance" if name == "collection_appeareance" else name] = value


def _link_model(scope: Scope, model: Resource, relationships: Mapping[str, Any]) -> None:
    """Set the relationships a model's body may carry (a title field, a workflow...)."""
    for name, value in relationships.items():
        kind = MODEL_LINKS.get(name)
        if kind is None:
            raise ValidationError(name, f"a model's relationship {name!r} cannot be set")
        target = linked(name, value, kind)
        if target is not None and kind == "field":
            field_ids = {ref["id"] for ref in model["relationships"]["fields"]["data"]}
            if target not in field_ids:
                raise ValidationError(name, f"field {target!r} is not a field of this model")
        model["relationships"][name] = {
            "data": None if target is None else {"type": kind, "id": target}
        }


def _set_fieldset(field: Resource, fieldset: object) -> None:
    if fieldset is ABSENT:
        return
    target = linked("fieldset", fieldset, "fieldset")
    field["relationships"]["fieldset"] = {
        "data": None if target is None else {"type": "fieldset", "id": target}
    }


def _json_name(value: object) -> str:
    return "null" if value is None else repr(value)


def _apply_field(
    scope: Scope, model: Resource, field: Resource, values: Mapping[str, Any], *, new: bool
) -> None:
    attributes = field["attributes"]
    # the records' values are under the key the field has now, whatever this change makes it
    held_under = attributes["api_key"]
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
        if not isinstance(kind, str) or kind not in FIELD_TYPES:
            raise ValidationError(
                "field_type", f"must be one of {', '.join(FIELD_TYPES)}, got {kind!r}"
            )
        if not new and kind != attributes["field_type"] and _has_values(scope, model, held_under):
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
            and _has_values(scope, model, held_under)
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
    if "position" in values:
        position = values["position"]
        if isinstance(position, bool) or not isinstance(position, int) or position < 0:
            raise ValidationError("position", f"must be a whole number >= 0, got {position!r}")
        attributes["position"] = position
    if "hint" in values:
        if values["hint"] is not None and not isinstance(values["hint"], str):
            raise ValidationError("hint", f"must be a string or null, got {values['hint']!r}")
        attributes["hint"] = values["hint"]
    if "default_value" in values:
        attributes["default_value"] = values["default_value"]
    if "appearance" in values:
        appearance = values["appearance"]
        if not isinstance(appearance, dict):
            raise ValidationError(
                "appearance", 'must be an object like {"editor": ..., "parameters": {}}'
            )
        attributes["appearance"] = appearance
    for name in ("deep_filtering_enabled", "content_link_enabled"):
        if name in values:
            if not isinstance(values[name], bool):
                raise ValidationError(name, f"must be true or false, got {values[name]!r}")
            attributes[name] = values[name]


def _has_values(scope: Scope, model: Resource, key: str) -> bool:
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
