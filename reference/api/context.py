"""What every endpoint takes from its request: the dispatcher the app serves, the
environment asked for, and the JSON:API answers it gives (contract §1)."""

from __future__ import annotations

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from reference.api.errors import ApiError
from reference.content import Content
from reference.dispatcher import Dispatcher
from reference.events import Resource
from reference.files import Files

__all__ = [
    "MAX_OFFSET",
    "MAX_PAGE",
    "Page",
    "body_limit",
    "content_of",
    "dispatcher_of",
    "environment_of",
    "files_of",
    "many",
    "one",
    "page_of",
    "path_id",
    "public_base",
    "whole_number",
]

#: the most items one page of a content list holds (`page[limit]`), as the CMA allows
MAX_PAGE = 500
#: the largest `page[offset]`: the largest integer the databases take
MAX_OFFSET = 2**63 - 1


def dispatcher_of(request: Request) -> Dispatcher:
    """The dispatcher the API app was made for (`app.state.dispatcher`)."""
    dispatcher: Dispatcher = request.app.state.dispatcher
    return dispatcher


def content_of(request: Request) -> Content:
    return dispatcher_of(request).content


def files_of(request: Request) -> Files:
    """The folder of uploaded files (`app.state.files`)."""
    files: Files = request.app.state.files
    return files


def body_limit(request: Request) -> int:
    return dispatcher_of(request).settings.max_request_body_bytes


def environment_of(request: Request) -> str | None:
    """The `X-Environment` header; None (the primary environment) when absent."""
    return request.headers.get("x-environment") or None


def public_base(request: Request) -> str:
    """Where this API is reached from outside, for the URLs it hands out (a build
    trigger's `webhook_url`, an upload's `url`): the `public_url` setting, else the
    request's own base URL."""
    configured = dispatcher_of(request).settings.public_url
    if configured:
        return configured.rstrip("/")
    # The API's own root: where it is mounted (`root_path`), not the server's root.
    mounted = request.url.replace(path=request.scope.get("root_path", ""), query="", fragment="")
    return str(mounted).rstrip("/")


def path_id(request: Request, name: str = "id") -> str:
    return str(request.path_params[name])


def one(resource: Resource, status: int = 200) -> Response:
    return JSONResponse({"data": resource}, status_code=status)


class Page:
    """`page[offset]` and `page[limit]` of a content list (the CMA's paging)."""

    def __init__(self, offset: int, limit: int | None) -> None:
        self.offset = offset
        self.limit = limit

    def of(self, resources: list[Resource]) -> list[Resource]:
        end = None if self.limit is None else self.offset + self.limit
        return resources[self.offset : end]


def page_of(params: QueryParams, default_limit: int | None) -> Page:
    """The page asked for; `default_limit` None lists everything when no limit is given."""
    offset, limit = 0, default_limit
    for key, value in params.multi_items():
        if key == "page[offset]":
            offset = whole_number(key, value, 0, MAX_OFFSET)
        elif key == "page[limit]":
            limit = whole_number(key, value, 1, MAX_PAGE)
        elif key.startswith("page["):
            raise ApiError(422, "INVALID_FIELD", "unknown parameter", key)
    return Page(offset, limit)


def many(resources: list[Resource], *, total: int | None = None) -> Response:
    """A list answer; `meta.total_count` is `total` (the count before paging) or,
    for an unpaged list, its length."""
    count = len(resources) if total is None else total
    return JSONResponse({"data": resources, "meta": {"total_count": count}})


def whole_number(key: str, value: str, low: int, high: int) -> int:
    """The query parameter `key` as an integer from `low` to `high` (ASCII digits)."""
    if not (value.isascii() and value.isdecimal()) or not low <= int(value) <= high:
        raise ApiError(
            422, "INVALID_FIELD", f"must be a whole number from {low} to {high}, got {value!r}", key
        )
    return int(value)
