"""`/item-types` (models) and their `/fields` (contract §4: a field change is an
`update` of its model)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reference.api.context import body_limit, content_of, environment_of, many, one, path_id
from reference.api.documents import read_data
from reference.api.errors import ApiError
from reference.content import schema
from reference.content.scope import Scope
from reference.events import Resource

__all__ = ["routes"]


async def list_models(request: Request) -> Response:
    def read(scope: Scope) -> list[Resource]:
        return scope.rows.all(scope.environment, "item_type")

    return many(await content_of(request).change(environment_of(request), read))


async def show_model(request: Request) -> Response:
    def read(scope: Scope) -> Resource:
        return scope.get("item_type", path_id(request))

    return one(await content_of(request).change(environment_of(request), read))


async def create_model(request: Request) -> Response:
    data = await read_data(request, "item_type", body_limit(request))
    done = await content_of(request).change(
        environment_of(request),
        schema.create_model,
        data.get("attributes", {}),
        data.get("relationships", {}),
    )
    return one(done, 201)


async def update_model(request: Request) -> Response:
    data = await read_data(request, "item_type", body_limit(request), path_id(request))
    done = await content_of(request).change(
        environment_of(request),
        schema.update_model,
        path_id(request),
        data.get("attributes", {}),
        data.get("relationships", {}),
    )
    return one(done)


async def delete_model(request: Request) -> Response:
    done = await content_of(request).change(
        environment_of(request), schema.delete_model, path_id(request)
    )
    return one(done)


async def list_fields(request: Request) -> Response:
    def read(scope: Scope) -> list[Resource]:
        return schema.model_fields(scope, scope.get("item_type", path_id(request)))

    return many(await content_of(request).change(environment_of(request), read))


async def create_field(request: Request) -> Response:
    data = await read_data(request, "field", body_limit(request))
    done = await content_of(request).change(
        environment_of(request),
        schema.create_field,
        path_id(request),
        data.get("attributes", {}),
        _fieldset(data),
    )
    return one(done, 201)


async def show_field(request: Request) -> Response:
    def read(scope: Scope) -> Resource:
        return scope.get("field", path_id(request))

    return one(await content_of(request).change(environment_of(request), read))


async def update_field(request: Request) -> Response:
    data = await read_data(request, "field", body_limit(request), path_id(request))
    done = await content_of(request).change(
        environment_of(request),
        schema.update_field,
        path_id(request),
        data.get("attributes", {}),
        _fieldset(data),
    )
    return one(done)


async def delete_field(request: Request) -> Response:
    done = await content_of(request).change(
        environment_of(request), schema.delete_field, path_id(request)
    )
    return one(done)


def _fieldset(data: dict[str, object]) -> object:
    """The `fieldset` relationship (the only one a field's body may carry)."""
    relationships = data.get("relationships") or {}
    assert isinstance(relationships, dict)  # read_data checked it
    for name in relationships:
        if name != "fieldset":
            raise ApiError(422, "INVALID_FIELD", f"a field has no relationship {name!r}", name)
    return relationships.get("fieldset", _ABSENT)


_ABSENT = schema.ABSENT


routes = [
    Route("/item-types", list_models, methods=["GET"]),
    Route("/item-types", create_model, methods=["POST"]),
    Route("/item-types/{id}", show_model, methods=["GET"]),
    Route("/item-types/{id}", update_model, methods=["PUT"]),
    Route("/item-types/{id}", delete_model, methods=["DELETE"]),
    Route("/item-types/{id}/fields", list_fields, methods=["GET"]),
    Route("/item-types/{id}/fields", create_field, methods=["POST"]),
    Route("/fields/{id}", show_field, methods=["GET"]),
    Route("/fields/{id}", update_field, methods=["PUT"]),
    Route("/fields/{id}", delete_field, methods=["DELETE"]),
]
