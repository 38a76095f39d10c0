"""`/items`: records, with publish and unpublish (contract §4's record lifecycle)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reference.api.context import (
    body_limit,
    content_of,
    environment_of,
    many,
    one,
    page_of,
    path_id,
)
from reference.api.documents import read_data
from reference.api.errors import ApiError
from reference.content import records
from reference.content.scope import Scope
from reference.events import Resource

__all__ = ["routes"]

Action = Callable[..., Resource]

#: records per page when `page[limit]` is not given, as the CMA
DEFAULT_PAGE = 30


async def list_records(request: Request) -> Response:
    params = request.query_params
    page = page_of(params, DEFAULT_PAGE)
    wanted_type = params.get("filter[type]")
    wanted_ids = params.get("filter[ids]")
    ids = None if wanted_ids is None else {i.strip() for i in wanted_ids.split(",") if i.strip()}

    def read(scope: Scope) -> tuple[list[Resource], int]:
        found = scope.rows.all(scope.environment, "item")
        if wanted_type:
            models = {
                m["id"]
                for m in scope.rows.all(scope.environment, "item_type")
                if m["id"] in wanted_type.split(",")
                or m["attributes"]["api_key"] in wanted_type.split(",")
            }
            found = [r for r in found if r["relationships"]["item_type"]["data"]["id"] in models]
        if ids is not None:
            found = [r for r in found if r["id"] in ids]
        return [records.shown(scope, r) for r in page.of(found)], len(found)

    shown, total = await content_of(request).change(environment_of(request), read)
    return many(shown, total=total)


async def show_record(request: Request) -> Response:
    def read(scope: Scope) -> Resource:
        return records.shown(scope, scope.get("item", path_id(request)))

    return one(await content_of(request).change(environment_of(request), read))


async def create_record(request: Request) -> Response:
    data = await read_data(request, "item", body_limit(request))
    done = await content_of(request).change(
        environment_of(request),
        _presented(records.create_record),
        data.get("attributes", {}),
        data.get("relationships", {}),
    )
    return one(done, 201)


async def update_record(request: Request) -> Response:
    data = await read_data(request, "item", body_limit(request), path_id(request))
    if data.get("relationships"):
        raise ApiError(422, "INVALID_FIELD", "a record's model cannot change", "relationships")
    done = await content_of(request).change(
        environment_of(request),
        _presented(records.update_record),
        path_id(request),
        data.get("attributes", {}),
    )
    return one(done)


async def delete_record(request: Request) -> Response:
    return await _act(request, records.delete_record)


async def publish_record(request: Request) -> Response:
    return await _act(request, records.publish_record)


async def unpublish_record(request: Request) -> Response:
    return await _act(request, records.unpublish_record)


async def _act(request: Request, action: Action) -> Response:
    done = await content_of(request).change(
        environment_of(request), _presented(action), path_id(request)
    )
    return one(done)


def _presented(action: Action) -> Action:
    """`action`, answering with the record as the API shows records."""

    def run(scope: Scope, *args: object) -> Resource:
        return records.shown(scope, action(scope, *args))

    return run


routes = [
    Route("/items", list_records, methods=["GET"]),
    Route("/items", create_record, methods=["POST"]),
    Route("/items/{id}", show_record, methods=["GET"]),
    Route("/items/{id}", update_record, methods=["PUT"]),
    Route("/items/{id}", delete_record, methods=["DELETE"]),
    Route("/items/{id}/publish", publish_record, methods=["PUT"]),
    Route("/items/{id}/unpublish", unpublish_record, methods=["PUT"]),
]
