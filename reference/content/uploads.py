"""Uploads: files and their metadata, with create, update and delete events (contract §4).

An upload made from a file PUT to an upload request's URL takes its `size`,
`md5`, `mime_type`, `filename` and `url` from the file. One made with any other
`path` is metadata alone; its `size`, `format`, `width` and `height` may then be
given (an extension: in the CMA they are read-only).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reference.content.scope import ACCOUNT, SITE, Scope, closed_attributes, link, linked
from reference.events import Resource
from reference.exceptions import ValidationError
from reference.files import FileFacts

__all__ = [
    "create_upload",
    "delete_upload",
    "is_requested",
    "request_upload",
    "update_upload",
]

# What a body may set, with the defaults; `path` is required on create.
_ATTRIBUTES: dict[str, Any] = {
    "path": None,
    "basename": None,
    "author": None,
    "copyright": None,
    "notes": None,
    "tags": [],
    "default_field_metadata": {},
    # metadata of an upload without a file (read-only in the CMA)
    "size": 0,
    "format": None,
    "width": None,
    "height": None,
    "alt": None,
    "title": None,
}
# What the dispatcher sets, as the CMA names them.
_SHOWN: dict[str, Any] = {
    "filename": None,
    "url": None,
    "md5": None,
    "mime_type": None,
    "is_image": False,
    "duration": None,
    "frame_rate": None,
    "blurhash": None,
    "thumbhash": None,
    "mux_playback_id": None,
    "mux_mp4_highest_res": None,
    "smart_tags": [],
    "exif_info": {},
    "colors": [],
    "created_at": None,
    "updated_at": None,
}


def request_upload(scope: Scope, path: str, url: str) -> Resource:
    """An upload request: the `path` the file will have and the `url` to PUT it to."""
    request: Resource = {
        "id": path,
        "type": "upload_request",
        "attributes": {"url": url, "request_headers": {}},
        "relationships": {},
        "meta": {},
    }
    scope.rows.put(SITE, request)
    return request


def is_requested(scope: Scope, path: str) -> bool:
    return scope.rows.get(SITE, "upload_request", path) is not None


def create_upload(
    scope: Scope,
    attributes: Mapping[str, Any],
    facts: FileFacts | None = None,
    relationships: Mapping[str, Any] | None = None,
) -> Resource:
    values = closed_attributes(attributes, _ATTRIBUTES, required=["path"])
    upload: Resource = {
        "id": scope.rows.next_id(),
        "type": "upload",
        "attributes": {
            **_ATTRIBUTES,
            **_SHOWN,
            "tags": [],
            "default_field_metadata": {},
            "created_at": scope.timestamp,
            "updated_at": scope.timestamp,
        },
        "relationships": {
            "upload_collection": {"data": None},
            "creator": link("account", ACCOUNT["id"]),
        },
        "meta": {
            "created_at": scope.timestamp,
            "updated_at": scope.timestamp,
            "antivirus": {"status": "skipped", "checked_at": None},
        },
    }
    _apply(upload, values)
    _relate(upload, relationships or {})
    _describe(scope, upload, facts)
    scope.rows.put(scope.environment, upload)
    scope.raise_event("upload", "create", upload)
    return upload


def update_upload(
    scope: Scope,
    upload_id: str,
    attributes: Mapping[str, Any],
    facts: FileFacts | None = None,
    relationships: Mapping[str, Any] | None = None,
) -> Resource:
    upload = scope.get("upload", upload_id)
    values = closed_attributes(attributes, _ATTRIBUTES)
    _apply(upload, values)
    _relate(upload, relationships or {})
    if "path" in values:
        _describe(scope, upload, facts)
    upload["meta"]["updated_at"] = scope.timestamp
    upload["attributes"]["updated_at"] = scope.timestamp
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
        elif name in ("format", "alt", "title", "author", "copyright", "notes", "basename"):
            if value is not None and not isinstance(value, str):
                raise ValidationError(name, f"must be a string or null, got {value!r}")
        elif name == "tags":
            if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
                raise ValidationError(name, f"must be a list of strings, got {value!r}")
        elif name == "default_field_metadata" and not isinstance(value, dict):
            raise ValidationError(name, f"must be an object, got {value!r}")
        attributes[name] = value


def _relate(upload: Resource, relationships: Mapping[str, Any]) -> None:
    """The one relationship a body may set: the upload's collection (kept as given)."""
    for name, value in relationships.items():
        if name != "upload_collection":
            raise ValidationError(name, f"an upload's relationship {name!r} cannot be set")
        target = linked(name, value, "upload_collection")
        upload["relationships"][name] = {
            "data": None if target is None else {"type": "upload_collection", "id": target}
        }


def _describe(scope: Scope, upload: Resource, facts: FileFacts | None) -> None:
    """What the upload's file says of it (or, without a file, what its path says)."""
    attributes = upload["attributes"]
    path = attributes["path"]
    request = scope.rows.get(SITE, "upload_request", path)
    if facts is None or request is None:
        name = path.rsplit("/", 1)[-1]
        attributes["filename"] = attributes.get("filename") or name
        attributes["basename"] = attributes.get("basename") or name.rsplit(".", 1)[0]
        return
    attributes.update(
        size=facts.size,
        md5=facts.md5,
        mime_type=facts.mime_type,
        filename=facts.filename,
        basename=attributes.get("basename") or facts.basename,
        format=facts.format,
        is_image=facts.is_image,
        url=request["attributes"]["url"],
    )
