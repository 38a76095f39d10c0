"""`/build-triggers` (contract §4: triggering is `deploy_started`; the build reporting
back is `deploy_succeeded` or `deploy_failed`).

As in DatoCMS, each build trigger has a read-only `webhook_url` with its own
secret: the CI posts `{"status": "success"}` or `{"status": "error"}` there,
without the API token (`POST /deploy-results/:token`, outside the token check).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reference.api.context import body_limit, content_of, many, one, path_id, public_base
from reference.api.documents import parse_json, read_body, read_resource
from reference.api.errors import ApiError
from reference.content import builds
from reference.content.scope import SITE, Scope
from reference.events import Resource

__all__ = ["public_routes", "routes"]


async def list_triggers(request: Request) -> Response:
    def read(scope: Scope) -> list[Resource]:
        return scope.rows.all(SITE, "build_trigger")

    return many(await content_of(request).change(None, read))


async def show_trigger(request: Request) -> Response:
    def read(scope: Scope) -> Resource:
        return scope.get("build_trigger", path_id(request), environment=SITE)

    return one(await content_of(request).change(None, read))


async def create_trigger(request: Request) -> Response:
    attributes = await read_resource(request, "build_trigger", body_limit(request))
    done = await content_of(request).change(
        None, builds.create_build_trigger, attributes, f"{public_base(request)}/deploy-results"
    )
    return one(done, 201)


async def update_trigger(request: Request) -> Response:
    attributes = await read_resource(
        request, "build_trigger", body_limit(request), path_id(request)
    )
    done = await content_of(request).change(
        None, builds.update_build_trigger, path_id(request), attributes
    )
    return one(done)


async def delete_trigger(request: Request) -> Response:
    return one(
        await content_of(request).change(None, builds.delete_build_trigger, path_id(request))
    )


async def trigger(request: Request) -> Response:
    await content_of(request).change(None, builds.trigger_build, path_id(request))
    return Response(status_code=204)


async def deploy_results(request: Request) -> Response:
    """The CI's report, at the trigger's `webhook_url` (no API token: the URL is the secret)."""
    document = parse_json(await read_body(request, body_limit(request)))
    if not isinstance(document, dict):
        raise ApiError(422, "INVALID_FORMAT", 'the body must be {"status": ...}', "status")
    await content_of(request).change(
        None, builds.report_build, path_id(request, "token"), document.get("status")
    )
    return Response(status_code=204)


routes = [
    Route("/build-triggers", list_triggers, methods=["GET"]),
    Route("/build-triggers", create_trigger, methods=["POST"]),
    Route("/build-triggers/{id}", show_trigger, methods=["GET"]),
    Route("/build-triggers/{id}", update_trigger, methods=["PUT"]),
    Route("/build-triggers/{id}", delete_trigger, methods=["DELETE"]),
    Route("/build-triggers/{id}/trigger", trigger, methods=["POST"]),
]

#: reached without the API token
public_routes = [
    Route("/deploy-results/{token}", deploy_results, methods=["POST"]),
]
