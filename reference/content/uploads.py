"""Uploads: asset metadata (no file bytes) with create, update and delete events (SPEC §4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reference.content.scope import Scope, closed_attributes
from reference.events import Resource
from reference.exceptions import ValidationError

__all__ = ["create_upload", "delete_upload", "update_upload"]

# attribute -> (check, default); `path` is required on create.
_ATTRIBUTES: dict[str, Any] = {
    "path": None,
    "size": 0,
    "format": None,
    "width": None,
    "height": None,
    "alt": None,
    "title": None,
    "default_field_metadata": {},
}


def create_upload(scope: Scope, attributes: Mapping[str, Any]) -> Resource:
    values = closed_attributes(attributes, _ATTRIBUTES, required=["path"])
    upload: Resource = {
        "id": scope.rows.next_id(),
        "type": "upload",
        "attributes": dict(_ATTRIBUTES),
        "relationships": {},
        "meta": {"created_at": scope.timestamp, "updated_at": scope.timestamp},
    }
    _apply(upload, values)
    scope.rows.put(scope.environment, upload)
    scope.raise_event("upload", "create", upload)
    return upload


def update_upload(scope: Scope, upload_id: str, attributes: Mapping[str, Any]) -> Resource:
    upload = scope.get("upload", upload_id)
    _apply(upload, closed_attributes(attributes, _ATTRIBUTES))
    upload["meta"]["updated_at"] = scope.timestamp
    scope.rows.put(scope.environment, upload)
    scope.raise_event("upload", "update", upload)
    scope.invalidate([f"upload:{upload_id}"])
    return upload


def delete_upload(scope: Scope, upload_id: str) -> Resource:
    upload = scope.get("upload", upload_id)
    for record in scope.rows.all(scope.environment, "item"):
        if _uses(record, upload_id):
            raise ValidationError("id", f"upload {upload_id} is used by record {record['id']}")
    scope.rows.delete(scope.environment, "upload", upload_id)
    scope.raise_event("upload", "delete", upload)
    scope.invalidate([f"upload:{upload_id}"])
    return upload


def _uses(value: Any, upload_id: str) -> bool:
    if isinstance(value, dict):
        return value.get("upload_id") == upload_id or any(
            _uses(v, upload_id) for v in value.values()
        )
    if isinstance(value, list):
        return any(_uses(v, upload_id) for v in value)
    return False


def _apply(upload: Resource, values: Mapping[str, Any]) -> None:
    attributes = upload["attributes"]
    for name, value in values.items():
        if name == "path":
            if not isinstance(value, str) or not value.strip():
                raise ValidationError("path", f"must be a non-blank string, got {value!r}")
        elif name in ("size", "width", "height"):
            allowed_null = name != "size"
            if (value is None and not allowed_null) or (
                value is not None
                and (isinstance(value, bool) or not isinstance(value, int) or value < 0)
            ):
                raise ValidationError(name, f"must be a whole number >= 0, got {value!r}")
        elif name in ("format", "alt", "title"):
            if value is not None and not isinstance(value, str):
                raise ValidationError(name, f"must be a string or null, got {value!r}")
        elif name == "default_field_metadata" and not isinstance(value, dict):
            raise ValidationError(name, f"must be an object, got {value!r}")
        attributes[name] = value
