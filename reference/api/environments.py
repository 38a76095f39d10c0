"""`/environments`: list, show, fork, rename, promote, delete (contract §4).

Forks and deletes finish before the answer, so the answer is never `202` and no
job is left to poll."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reference.api.context import body_limit, content_of, many, one, path_id
from reference.api.documents import read_data
from reference.content import environments
from reference.content.scope import Scope
from reference.events import Resource

__all__ = ["routes"]


async def list_environments(request: Request) -> Response:
    return many(await content_of(request).change(None, environments.all_environments))


async def show_environment(request: Request) -> Response:
    def read(scope: Scope) -> Resource:
        return environments.find(scope, path_id(request))

    return one(await content_of(request).change(None, read))


async def fork(request: Request) -> Response:
    data = await read_data(request, "environment", body_limit(request), check_id=False)
    done = await content_of(request).change(
        None, environments.fork, path_id(request), data.get("id")
    )
    return one(done, 201)


async def rename(request: Request) -> Response:
    data = await read_data(request, "environment", body_limit(request), check_id=False)
    done = await content_of(request).change(
        None, environments.rename, path_id(request), data.get("id")
    )
    return one(done)


async def promote(request: Request) -> Response:
    return one(await content_of(request).change(None, environments.promote, path_id(request)))


async def delete(request: Request) -> Response:
    done = await content_of(request).change(None, environments.delete_environment, path_id(request))
    return one(done)


routes = [
    Route("/environments", list_environments, methods=["GET"]),
    Route("/environments/{id}", show_environment, methods=["GET"]),
    Route("/environments/{id}", delete, methods=["DELETE"]),
    Route("/environments/{id}/fork", fork, methods=["POST"]),
    Route("/environments/{id}/rename", rename, methods=["PUT"]),
    Route("/environments/{id}/promote", promote, methods=["PUT"]),
]
