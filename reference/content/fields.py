"""Field types: what a record's attribute may hold, and how each payload version writes it.

`FIELD_TYPES` is the table of field types; `check_value` validates one value
against its field; `present` writes a stored record as payload version 1, 2
or 3, with blocks as ids or expanded (contract §2 `nested_items_in_payload`).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from reference.events import Resource

__all__ = ["FIELD_TYPES", "Lookup", "check_value", "present"]


class Lookup(Protocol):
    """What checking a value may need to look up in the record's environment."""

    def upload(self, upload_id: str) -> Resource | None: ...

    def record(self, record_id: str) -> Resource | None: ...

    def new_block(self, block: object, field: str) -> Resource: ...


class FieldValueError(ValueError):
    """A value that does not fit its field; the message says why."""


Check = Callable[[Any, Lookup, str], Any]


def _string(value: Any, lookup: Lookup, field: str) -> Any:
    if not isinstance(value, str):
        raise FieldValueError(f"must be a string, got {_kind(value)}")
    return value


def _slug(value: Any, lookup: Lookup, field: str) -> Any:
    if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", value):
        raise FieldValueError(f"must be a slug (lower-case words joined by -), got {value!r}")
    return value


def _boolean(value: Any, lookup: Lookup, field: str) -> Any:
    if not isinstance(value, bool):
        raise FieldValueError(f"must be true or false, got {value!r}")
    return value


def _integer(value: Any, lookup: Lookup, field: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldValueError(f"must be an integer, got {value!r}")
    return value


def _float(value: Any, lookup: Lookup, field: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldValueError(f"must be a number, got {value!r}")
    return value


def _date(value: Any, lookup: Lookup, field: str) -> Any:
    try:
        date.fromisoformat(value)
    except (TypeError, ValueError):
        raise FieldValueError(f"must be a date (YYYY-MM-DD), got {value!r}") from None
    return value


def _date_time(value: Any, lookup: Lookup, field: str) -> Any:
    try:
        datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise FieldValueError(f"must be an ISO 8601 date and time, got {value!r}") from None
    if not isinstance(value, str):
        raise FieldValueError(f"must be an ISO 8601 date and time, got {value!r}")
    return value


def _json(value: Any, lookup: Lookup, field: str) -> Any:
    return value


def _lat_lon(value: Any, lookup: Lookup, field: str) -> Any:
    if not isinstance(value, dict) or set(value) != {"latitude", "longitude"}:
        raise FieldValueError('must be {"latitude": ..., "longitude": ...}')
    for name in ("latitude", "longitude"):
        _float(value[name], lookup, field)
    return value


def _link(value: Any, lookup: Lookup, field: str) -> Any:
    if not isinstance(value, str) or lookup.record(value) is None:
        raise FieldValueError(f"must be the id of a record, got {value!r}")
    return value


def _links(value: Any, lookup: Lookup, field: str) -> Any:
    if not isinstance(value, list):
        raise FieldValueError(f"must be a list of record ids, got {_kind(value)}")
    return [_link(item, lookup, field) for item in value]


def _file(value: Any, lookup: Lookup, field: str) -> Any:
    if isinstance(value, str):
        value = {"upload_id": value}
    if not isinstance(value, dict) or not isinstance(value.get("upload_id"), str):
        raise FieldValueError('must be {"upload_id": "<id>", ...} or an upload id')
    unknown = set(value) - {"upload_id", "alt", "title", "custom_data", "focal_point"}
    if unknown:
        raise FieldValueError(f"unknown key {sorted(unknown)[0]!r}")
    if lookup.upload(value["upload_id"]) is None:
        raise FieldValueError(f"no upload {value['upload_id']!r} in this environment")
    return {
        "upload_id": value["upload_id"],
        "alt": value.get("alt"),
        "title": value.get("title"),
        "custom_data": value.get("custom_data") or {},
        "focal_point": value.get("focal_point"),
    }


def _gallery(value: Any, lookup: Lookup, field: str) -> Any:
    if not isinstance(value, list):
        raise FieldValueError(f"must be a list of assets, got {_kind(value)}")
    return [_file(item, lookup, field) for item in value]


def _rich_text(value: Any, lookup: Lookup, field: str) -> Any:
    if not isinstance(value, list):
        raise FieldValueError(f"must be a list of blocks, got {_kind(value)}")
    return [lookup.new_block(item, field) for item in value]


@dataclass(frozen=True, slots=True)
class FieldType:
    check: Check
    kind: str = "plain"  # "asset", "assets" or "blocks": written differently per version


FIELD_TYPES: Mapping[str, FieldType] = {
    "string": FieldType(_string),
    "text": FieldType(_string),
    "slug": FieldType(_slug),
    "boolean": FieldType(_boolean),
    "integer": FieldType(_integer),
    "float": FieldType(_float),
    "date": FieldType(_date),
    "date_time": FieldType(_date_time),
    "json": FieldType(_json),
    "lat_lon": FieldType(_lat_lon),
    "link": FieldType(_link),
    "links": FieldType(_links),
    "file": FieldType(_file, "asset"),
    "gallery": FieldType(_gallery, "assets"),
    "rich_text": FieldType(_rich_text, "blocks"),
}


def check_value(field: Resource, value: Any, lookup: Lookup) -> Any:
    """The value to store for `field`, or FieldValueError. Null is always allowed here;
    the `required` validator is checked on the whole record."""
    attributes = field["attributes"]
    check = FIELD_TYPES[attributes["field_type"]].check
    name = attributes["api_key"]
    if value is None:
        return None
    if attributes["localized"]:
        if not isinstance(value, dict) or not all(isinstance(k, str) and k for k in value):
            raise FieldValueError("is localized: give an object of locale -> value")
        return {
            locale: None if v is None else check(v, lookup, name) for locale, v in value.items()
        }
    return check(value, lookup, name)


def present(
    record: Resource,
    fields: Mapping[str, Resource],
    uploads: Callable[[str], Resource | None],
    *,
    version: str,
    nested: bool,
) -> Resource:
    """The stored record as payload `version` writes it, blocks expanded when `nested`."""
    out = copy.deepcopy(record)
    attributes = out.get("attributes", {})
    for key, value in list(attributes.items()):
        field = fields.get(key)
        if field is None or value is None:
            continue
        kind = FIELD_TYPES[field["attributes"]["field_type"]].kind

        def write(v: Any, kind: str = kind) -> Any:
            return _write(v, kind, uploads, version=version, nested=nested)

        if field["attributes"]["localized"]:
            attributes[key] = {loc: None if v is None else write(v) for loc, v in value.items()}
        else:
            attributes[key] = write(value)
    return out


def _write(
    value: Any,
    kind: str,
    uploads: Callable[[str], Resource | None],
    *,
    version: str,
    nested: bool,
) -> Any:
    if kind == "asset":
        return _asset(value, uploads, version)
    if kind == "assets":
        return [_asset(v, uploads, version) for v in value]
    if kind == "blocks":
        return [block if nested else block["id"] for block in value]
    return value


def _asset(
    value: Mapping[str, Any], uploads: Callable[[str], Resource | None], version: str
) -> Any:
    # v3: the asset object; v2: the bare upload id; v1: the whole upload.
    if version == "2":
        return value["upload_id"]
    if version == "1":
        upload = uploads(value["upload_id"])
        if upload is None:
            return {"id": value["upload_id"]}
        return {"id": upload["id"], **upload["attributes"]}
    return dict(value)


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__
