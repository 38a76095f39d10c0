"""Records (items) and the DatoCMS lifecycle of contract §4.

With drafts (`draft_mode_active`): save = `create`/`update`, publish =
`publish`, unpublish = `unpublish`, deleting a published record = `unpublish`
then `delete`. Without drafts: create = `create` + `publish`, update =
`update` + `publish`, delete = `unpublish` + `delete`. `meta.status` is
`draft`, `published` or `updated` (published, then changed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reference.content.fields import FieldValueError, check_value, present
from reference.content.schema import model_fields
from reference.content.scope import ACCOUNT, Scope, link
from reference.events import Resource, variant_key
from reference.exceptions import NotFoundError, ValidationError

__all__ = [
    "create_record",
    "delete_record",
    "publish_record",
    "shown",
    "unpublish_record",
    "update_record",
]

VERSIONS = ("1", "2", "3")


def create_record(
    scope: Scope, attributes: Mapping[str, Any], relationships: Mapping[str, Any]
) -> Resource:
    model = _model_of(scope, relationships)
    if model["attributes"]["modular_block"]:
        raise ValidationError("item_type", "block models hold blocks inside records, not records")
    drafts = model["attributes"]["draft_mode_active"]
    record: Resource = {
        "id": scope.rows.next_id(),
        "type": "item",
        "attributes": {},
        "relationships": {
            "item_type": link("item_type", model["id"]),
            "creator": link("account", ACCOUNT["id"]),
        },
        "meta": {
            "created_at": scope.timestamp,
            "updated_at": scope.timestamp,
            "published_at": None,
            "first_published_at": None,
            "status": "draft",
        },
    }
    _with_meta(record)
    _apply(scope, model, record, attributes, new=True)
    _new_version(record)
    if not drafts:
        _mark_published(scope, record)
    scope.rows.put(scope.environment, record)
    _raise(scope, model, "create", record)
    if not drafts:
        _raise(scope, model, "publish", record)
    return record


def update_record(scope: Scope, record_id: str, attributes: Mapping[str, Any]) -> Resource:
    record = scope.get("item", record_id)
    model = _model(scope, record)
    before = _copy(record)
    _apply(scope, model, record, attributes, new=False)
    _with_meta(record)
    _new_version(record)
    record["meta"]["updated_at"] = scope.timestamp
    drafts = model["attributes"]["draft_mode_active"]
    if drafts:
        if record["meta"]["status"] == "published":
            record["meta"]["status"] = "updated"
    else:
        _mark_published(scope, record)
    scope.rows.put(scope.environment, record)
    _raise(scope, model, "update", record, previous=before)
    if not drafts:
        _raise(scope, model, "publish", record)
    return record


def publish_record(scope: Scope, record_id: str) -> Resource:
    record = scope.get("item", record_id)
    model = _model(scope, record)
    _mark_published(scope, record)
    scope.rows.put(scope.environment, record)
    _raise(scope, model, "publish", record)
    return record


def unpublish_record(scope: Scope, record_id: str) -> Resource:
    record = scope.get("item", record_id)
    if record["meta"]["status"] == "draft":
        raise ValidationError("status", f"record {record_id} is not published")
    model = _model(scope, record)
    _unpublish(scope, model, record)
    scope.rows.put(scope.environment, record)
    return record


def delete_record(scope: Scope, record_id: str) -> Resource:
    record = scope.get("item", record_id)
    model = _model(scope, record)
    if record["meta"]["status"] != "draft":
        _unpublish(scope, model, record)
    scope.rows.delete(scope.environment, "item", record_id)
    _raise(scope, model, "delete", record)
    return record


def _unpublish(scope: Scope, model: Resource, record: Resource) -> None:
    record["meta"]["status"] = "draft"
    record["meta"]["published_at"] = None
    _raise(scope, model, "unpublish", record)


def _mark_published(scope: Scope, record: Resource) -> None:
    meta = record["meta"]
    meta["status"] = "published"
    meta["published_at"] = scope.timestamp
    meta["first_published_at"] = meta["first_published_at"] or scope.timestamp


def _raise(
    scope: Scope,
    model: Resource,
    event_type: str,
    record: Resource,
    *,
    previous: Resource | None = None,
) -> None:
    fields = {f["attributes"]["api_key"]: f for f in model_fields(scope, model)}

    def upload(upload_id: str) -> Resource | None:
        return scope.rows.get(scope.environment, "upload", upload_id)

    def shown(resource: Resource, version: str, nested: bool) -> Resource:
        return present(resource, fields, upload, version=version, nested=nested)

    entity = shown(record, "3", False)
    variants: dict[str, Resource] = {}
    for version in VERSIONS:
        for nested in (False, True):
            other = shown(record, version, nested)
            if other != entity:
                variants[variant_key(version, nested, previous=False)] = other
            if previous is not None:
                before = shown(previous, version, nested)
                if before != shown(previous, "3", False):
                    variants[variant_key(version, nested, previous=True)] = before
    scope.raise_event(
        "item",
        event_type,
        _copy(entity),
        previous=None if previous is None else shown(previous, "3", False),
        related=[model, ACCOUNT],
        variants=variants,
    )
    # contract §4: publishing, unpublishing, deleting published content invalidates tags.
    if event_type in ("publish", "unpublish"):
        scope.invalidate([f"item:{record['id']}", f"item_type:{model['id']}"])


class _Lookup:
    """Upload, record and block look-ups for checking values (see fields.Lookup)."""

    def __init__(self, scope: Scope, existing_blocks: Mapping[str, Resource]) -> None:
        self._scope = scope
        self._blocks = existing_blocks

    def upload(self, upload_id: str) -> Resource | None:
        return self._scope.rows.get(self._scope.environment, "upload", upload_id)

    def record(self, record_id: str) -> Resource | None:
        return self._scope.rows.get(self._scope.environment, "item", record_id)

    def new_block(self, block: object, field: str) -> Resource:
        if isinstance(block, str):
            if block not in self._blocks:
                raise FieldValueError(f"{block!r} is not a block of this record")
            return self._blocks[block]
        if not isinstance(block, dict):
            raise FieldValueError("each block is an existing block id or a block object")
        model = _model_of(self._scope, block.get("relationships") or {})
        if not model["attributes"]["modular_block"]:
            raise FieldValueError(f"model {model['id']} is not a block model")
        resource: Resource = {
            "id": self._scope.rows.next_id(),
            "type": "item",
            "attributes": {},
            "relationships": {"item_type": link("item_type", model["id"])},
            "meta": {},
        }
        _apply(self._scope, model, resource, block.get("attributes") or {}, new=True)
        return resource


def _apply(
    scope: Scope, model: Resource, record: Resource, attributes: Mapping[str, Any], *, new: bool
) -> None:
    if not isinstance(attributes, Mapping):
        raise ValidationError("attributes", "must be an object")
    fields = {f["attributes"]["api_key"]: f for f in model_fields(scope, model)}
    blocks = {
        b["id"]: b
        for key, f in fields.items()
        if f["attributes"]["field_type"] == "rich_text"
        for b in (record["attributes"].get(key) or [])
        if isinstance(b, dict)
    }
    lookup = _Lookup(scope, blocks)
    values = dict.fromkeys(fields) if new else dict(record["attributes"])
    for key, value in attributes.items():
        field = fields.get(key)
        if field is None:
            raise ValidationError(
                key, f"the model {model['attributes']['api_key']!r} has no field {key!r}"
            )
        try:
            values[key] = check_value(field, value, lookup)
        except FieldValueError as exc:
            raise ValidationError(key, str(exc)) from None
    for key, field in fields.items():
        if "required" in field["attributes"]["validators"] and values.get(key) in (
            None,
            "",
            [],
            {},
        ):
            raise ValidationError(key, "is required")
    record["attributes"] = {key: values.get(key) for key in fields}


def _with_meta(record: Resource) -> None:
    """The CMA's record `meta` that the dispatcher gives no meaning to (no scheduling,
    no workflow stages, no tree): every record is valid and has one current version."""
    meta = record["meta"]
    for name, value in _META_DEFAULTS.items():
        meta.setdefault(name, value)


_META_DEFAULTS: dict[str, Any] = {
    "publication_scheduled_at": None,
    "unpublishing_scheduled_at": None,
    "is_valid": True,
    "is_current_version_valid": True,
    "is_published_version_valid": True,
    "current_version": "",
    "stage": None,
    "has_children": None,
}


def _new_version(record: Resource) -> None:
    """Each save makes a new version: `<record id>-<number of saves>`."""
    current = str(record["meta"].get("current_version") or "")
    saves = int(current.rpartition("-")[2]) if current.rpartition("-")[2].isdigit() else 0
    record["meta"]["current_version"] = f"{record['id']}-{saves + 1}"


def shown(scope: Scope, resource: Resource) -> Resource:
    """A record as the API shows it: as payload version 3 writes it (blocks as ids)."""
    resource = {**resource, "meta": {**_META_DEFAULTS, **resource["meta"]}}
    model = _model(scope, resource)
    fields = {f["attributes"]["api_key"]: f for f in model_fields(scope, model)}

    def upload(upload_id: str) -> Resource | None:
        return scope.rows.get(scope.environment, "upload", upload_id)

    return present(resource, fields, upload, version="3", nested=False)


def _model_of(scope: Scope, relationships: Mapping[str, Any]) -> Resource:
    link_ = relationships.get("item_type") if isinstance(relationships, Mapping) else None
    data = link_.get("data") if isinstance(link_, Mapping) else None
    model_id = data.get("id") if isinstance(data, dict) else None
    if not isinstance(model_id, str):
        raise ValidationError(
            "item_type",
            'relationships.item_type {"data": {"type": "item_type", "id": ...}} is required',
        )
    try:
        return scope.get("item_type", model_id)
    except NotFoundError:
        raise ValidationError("item_type", f"no model {model_id!r} in this environment") from None


def _model(scope: Scope, record: Resource) -> Resource:
    return scope.get("item_type", record["relationships"]["item_type"]["data"]["id"])


def _copy(resource: Resource) -> Resource:
    import copy

    return copy.deepcopy(resource)
