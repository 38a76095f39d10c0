"""Reading JSON:API request documents: a bounded body, then its `data` (contract §1)."""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import Request

from reference.api.errors import ApiError

__all__ = ["MAX_DEPTH", "parse_json", "read_body", "read_data", "read_resource"]

_DATA_MEMBERS = {"id", "type", "attributes", "relationships", "meta"}

#: how deep `data` may nest (`data.attributes.<name>` is 3 levels): deeper is refused
#: before anything recursive (a copy, a template, the store) meets it
MAX_DEPTH = 64


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdecimal() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_resource(
    request: Request, resource_type: str, limit: int, resource_id: str | None = None
) -> dict[str, Any]:
    """The `attributes` of a `{"data": {...}}` document of `resource_type`."""
    data = await read_data(request, resource_type, limit, resource_id)
    if data.get("relationships"):
        raise ApiError(
            422, "INVALID_FIELD", f"a {resource_type} has no relationships", "relationships"
        )
    attributes: dict[str, Any] = data.get("attributes", {})
    return attributes


async def read_data(
    request: Request,
    resource_type: str,
    limit: int,
    resource_id: str | None = None,
    *,
    check_id: bool = True,
) -> dict[str, Any]:
    """The checked `data` object of a `{"data": {...}}` document of `resource_type`."""
    document = parse_json(await read_body(request, limit))
    if not isinstance(document, dict) or not isinstance(document.get("data"), dict):
        raise ApiError(422, "INVALID_FORMAT", 'the body must be {"data": {...}}', "data")
    data: dict[str, Any] = document["data"]
    _check_values(data, ["data"])
    for member in data:
        if member not in _DATA_MEMBERS:
            raise ApiError(422, "INVALID_FORMAT", f"unknown member {member!r}", f"data.{member}")
    if data.get("type") != resource_type:
        raise ApiError(
            422,
            "INVALID_FORMAT",
            f"data.type must be {resource_type!r}, got {data.get('type')!r}",
            "data.type",
        )
    if check_id and "id" in data and resource_id is not None and data["id"] != resource_id:
        raise ApiError(
            422, "INVALID_FIELD", f"data.id {data['id']!r} does not match the URL", "data.id"
        )
    if check_id and "id" in data and resource_id is None:
        raise ApiError(422, "INVALID_FIELD", "ids are assigned by the server", "data.id")
    for member in ("attributes", "relationships", "meta"):
        if not isinstance(data.get(member, {}), dict):
            raise ApiError(422, "INVALID_FORMAT", f"data.{member} must be an object", member)
    return data


def parse_json(body: bytes) -> Any:
    """The JSON of a request body; 422 if it is not JSON, or nests past what can be read."""
    try:
        return json.loads(body)
    except ValueError as exc:  # not JSON, not UTF-8, or a number past Python's 4,300 digits
        raise ApiError(422, "INVALID_FORMAT", f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise ApiError(422, "INVALID_FORMAT", "the body nests too deeply to be read") from None


def _check_values(value: object, path: list[str | int]) -> None:
    """Refuse what no answer could show or no code should walk: a string that is not
    Unicode text (a lone surrogate, which a JSON `\\u` escape can spell and UTF-8 cannot),
    a number that is not finite (`NaN`, `Infinity` and `1e999`, which Python's JSON reads),
    and nesting past MAX_DEPTH. A bad key is blamed on the object that holds it."""
    if len(path) > MAX_DEPTH:
        message = f"nests more than {MAX_DEPTH} levels deep"
        raise ApiError(422, "INVALID_FIELD", message, _field(path))
    if isinstance(value, float) and not math.isfinite(value):
        message = f"must be a finite number, got {value!r}"
        raise ApiError(422, "INVALID_FIELD", message, _field(path))
    if isinstance(value, str) and not _is_text(value):
        raise ApiError(422, "INVALID_FIELD", _NOT_TEXT.format(ascii(value)), _field(path))
    if isinstance(value, dict):
        for key, item in value.items():
            if not _is_text(key):
                raise ApiError(422, "INVALID_FIELD", _NOT_TEXT.format(ascii(key)), _field(path))
            _check_values(item, [*path, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_values(item, [*path, index])


_NOT_TEXT = "must be Unicode text; {} holds a lone surrogate"


def _is_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _field(path: list[str | int]) -> str:
    """`data.id`; an attribute or a relationship by its own name (`events[0].filters`), as
    the content model and the webhooks name them."""
    if len(path) > 2 and path[1] in ("attributes", "relationships"):
        path = path[2:]
    elif len(path) == 2 and path[1] in ("attributes", "relationships"):
        path = path[1:]
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else part
    return text


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "PAYLOAD_TOO_LARGE", f"the request body is larger than {limit} bytes")
