"""Reading JSON:API request documents: a bounded body, then its `data` (contract §1)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from reference.api.errors import ApiError

__all__ = ["read_body", "read_data", "read_resource"]

_DATA_MEMBERS = {"id", "type", "attributes", "relationships", "meta"}


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
    body = await read_body(request, limit)
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(422, "INVALID_FORMAT", f"the body is not valid JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("data"), dict):
        raise ApiError(422, "INVALID_FORMAT", 'the body must be {"data": {...}}', "data")
    data: dict[str, Any] = document["data"]
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
    for member in ("attributes", "relationships"):
        if not isinstance(data.get(member, {}), dict):
            raise ApiError(422, "INVALID_FORMAT", f"data.{member} must be an object", member)
    return data


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "PAYLOAD_TOO_LARGE", f"the request body is larger than {limit} bytes")
