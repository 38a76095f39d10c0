"""The content API's routes (JSON:API, same auth and errors as the webhook API).

Environment-scoped resources (models, fields, records, uploads) honour the
`X-Environment` header; without it they use the primary environment.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reference.api.documents import read_body, read_data, read_resource
from reference.api.errors import ApiError
from reference.content import Content, builds, environments, records, schema, site, uploads
from reference.content.fields import present
from reference.content.scope import SITE, Scope
from reference.events import Resource
from reference.exceptions import NotFoundError

__all__ = ["content_routes"]

Endpoint = Callable[[Request], Awaitable[Response]]


def content_routes(content: Content, limit: int) -> list[Route]:
    def env(request: Request) -> str | None:
        return request.headers.get("x-environment") or None

    def one(resource: Resource, status: int = 200) -> Response:
        return JSONResponse({"data": resource}, status_code=status)

    def many(resources: list[Resource]) -> Response:
        return JSONResponse({"data": resources})

    def path(request: Request, name: str = "id") -> str:
        return str(request.path_params[name])

    # -- reading ---------------------------------------------------------------

    def listing(kind: str, *, site_level: bool = False) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            def read(scope: Scope) -> list[Resource]:
                rows = scope.rows.all(SITE if site_level else scope.environment, kind)
                return [_shown(scope, r) for r in rows]

            return many(await content.change(None if site_level else env(request), read))

        return endpoint

    def showing(kind: str, *, site_level: bool = False) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            def read(scope: Scope) -> Resource:
                found = scope.get(kind, path(request), environment=SITE if site_level else None)
                return _shown(scope, found)

            return one(await content.change(None if site_level else env(request), read))

        return endpoint

    async def list_records(request: Request) -> Response:
        wanted = request.query_params.get("filter[type]")

        def read(scope: Scope) -> list[Resource]:
            found = scope.rows.all(scope.environment, "item")
            if wanted:
                models = {
                    m["id"]
                    for m in scope.rows.all(scope.environment, "item_type")
                    if wanted in (m["id"], m["attributes"]["api_key"])
                }
                found = [
                    r for r in found if r["relationships"]["item_type"]["data"]["id"] in models
                ]
            return [_shown(scope, r) for r in found]

        return many(await content.change(env(request), read))

    async def list_fields(request: Request) -> Response:
        def read(scope: Scope) -> list[Resource]:
            return schema.model_fields(scope, scope.get("item_type", path(request)))

        return many(await content.change(env(request), read))

    # -- writing -----------------------------------------------------------------

    def creating(
        kind: str, action: Callable[..., Resource], *, site_level: bool = False
    ) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            attributes = await read_resource(request, kind, limit)
            environment = None if site_level else env(request)
            done = await content.change(environment, _presented(action), attributes)
            return one(done, 201)

        return endpoint

    def updating(
        kind: str, action: Callable[..., Resource], *, site_level: bool = False
    ) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            attributes = await read_resource(request, kind, limit, path(request))
            environment = None if site_level else env(request)
            done = await content.change(environment, _presented(action), path(request), attributes)
            return one(done)

        return endpoint

    def acting(action: Callable[..., Resource], *, site_level: bool = False) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            environment = None if site_level else env(request)
            return one(await content.change(environment, _presented(action), path(request)))

        return endpoint

    async def create_field(request: Request) -> Response:
        attributes = await read_resource(request, "field", limit)
        return one(
            await content.change(env(request), schema.create_field, path(request), attributes), 201
        )

    async def create_record(request: Request) -> Response:
        data = await read_data(request, "item", limit)
        done = await content.change(
            env(request),
            _presented(records.create_record),
            data.get("attributes", {}),
            data.get("relationships", {}),
        )
        return one(done, 201)

    async def update_record(request: Request) -> Response:
        data = await read_data(request, "item", limit, path(request))
        if data.get("relationships"):
            raise ApiError(422, "INVALID_FIELD", "a record's model cannot change", "relationships")
        return one(
            await content.change(
                env(request),
                _presented(records.update_record),
                path(request),
                data.get("attributes", {}),
            )
        )

    def renaming_or_forking(action: Callable[..., Resource], status: int) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            data = await read_data(request, "environment", limit, check_id=False)
            return one(await content.change(None, action, path(request), data.get("id")), status)

        return endpoint

    async def deploy_results(request: Request) -> Response:
        body = await read_body(request, limit)
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ApiError(422, "INVALID_FORMAT", f"the body is not valid JSON: {exc}") from None
        if not isinstance(document, dict):
            raise ApiError(422, "INVALID_FORMAT", 'the body must be {"status": ...}')
        status = document.get(
            "status", (document.get("data") or {}).get("attributes", {}).get("status")
        )
        return one(await content.change(None, builds.report_build, path(request), status))

    def maintenance(active: bool | None) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            if active is None:
                return one(await content.change(None, site.maintenance_mode))
            return one(await content.change(None, site.set_maintenance_mode, active))

        return endpoint

    async def list_environments(request: Request) -> Response:
        def read(scope: Scope) -> list[Resource]:
            return [environments.environment_resource(i, p) for i, p in scope.rows.environments()]

        return many(await content.change(None, read))

    async def show_environment(request: Request) -> Response:
        def read(scope: Scope) -> Resource:
            primary = scope.rows.environment(path(request))
            if primary is None:
                raise NotFoundError("environment", path(request))
            return environments.environment_resource(path(request), primary)

        return one(await content.change(None, read))

    return [
        Route("/environments", list_environments, methods=["GET"]),
        Route("/environments/{id}", show_environment, methods=["GET"]),
        Route(
            "/environments/{id}/rename",
            renaming_or_forking(environments.rename, 200),
            methods=["PUT"],
        ),
        Route(
            "/environments/{id}",
            acting(environments.delete_environment, site_level=True),
            methods=["DELETE"],
        ),
        Route(
            "/environments/{id}/fork", renaming_or_forking(environments.fork, 201), methods=["POST"]
        ),
        Route(
            "/environments/{id}/promote",
            acting(environments.promote, site_level=True),
            methods=["PUT"],
        ),
        Route("/item-types", listing("item_type"), methods=["GET"]),
        Route("/item-types", creating("item_type", schema.create_model), methods=["POST"]),
        Route("/item-types/{id}", showing("item_type"), methods=["GET"]),
        Route("/item-types/{id}", updating("item_type", schema.update_model), methods=["PUT"]),
        Route("/item-types/{id}", acting(schema.delete_model), methods=["DELETE"]),
        Route("/item-types/{id}/fields", list_fields, methods=["GET"]),
        Route("/item-types/{id}/fields", create_field, methods=["POST"]),
        Route("/fields/{id}", showing("field"), methods=["GET"]),
        Route("/fields/{id}", updating("field", schema.update_field), methods=["PUT"]),
        Route("/fields/{id}", acting(schema.delete_field), methods=["DELETE"]),
        Route("/items", list_records, methods=["GET"]),
        Route("/items", create_record, methods=["POST"]),
        Route("/items/{id}", showing("item"), methods=["GET"]),
        Route("/items/{id}", update_record, methods=["PUT"]),
        Route("/items/{id}", acting(records.delete_record), methods=["DELETE"]),
        Route("/items/{id}/publish", acting(records.publish_record), methods=["PUT"]),
        Route("/items/{id}/unpublish", acting(records.unpublish_record), methods=["PUT"]),
        Route("/uploads", listing("upload"), methods=["GET"]),
        Route("/uploads", creating("upload", uploads.create_upload), methods=["POST"]),
        Route("/uploads/{id}", showing("upload"), methods=["GET"]),
        Route("/uploads/{id}", updating("upload", uploads.update_upload), methods=["PUT"]),
        Route("/uploads/{id}", acting(uploads.delete_upload), methods=["DELETE"]),
        Route("/build-triggers", listing("build_trigger", site_level=True), methods=["GET"]),
        Route(
            "/build-triggers",
            creating("build_trigger", builds.create_build_trigger, site_level=True),
            methods=["POST"],
        ),
        Route("/build-triggers/{id}", showing("build_trigger", site_level=True), methods=["GET"]),
        Route(
            "/build-triggers/{id}",
            updating("build_trigger", builds.update_build_trigger, site_level=True),
            methods=["PUT"],
        ),
        Route(
            "/build-triggers/{id}",
            acting(builds.delete_build_trigger, site_level=True),
            methods=["DELETE"],
        ),
        Route(
            "/build-triggers/{id}/trigger",
            acting(builds.trigger_build, site_level=True),
            methods=["POST"],
        ),
        Route("/build-triggers/{id}/deploy_results", deploy_results, methods=["POST"]),
        Route("/maintenance-mode", maintenance(None), methods=["GET"]),
        Route("/maintenance-mode/activate", maintenance(True), methods=["PUT"]),
        Route("/maintenance-mode/deactivate", maintenance(False), methods=["PUT"]),
        Route("/sso-users", listing("sso_user", site_level=True), methods=["GET"]),
        Route(
            "/sso-users",
            creating("sso_user", site.create_sso_user, site_level=True),
            methods=["POST"],
        ),
    ]


def _presented(action: Callable[..., Resource]) -> Callable[..., Resource]:
    """`action`, with a record in its answer written as the API shows records."""

    def run(scope: Scope, *args: Any) -> Resource:
        return _shown(scope, action(scope, *args))

    return run


def _shown(scope: Scope, resource: Resource) -> Resource:
    """Records as payload version 3 writes them (blocks as ids); the rest as stored."""
    if resource["type"] != "item":
        return resource
    model = scope.get("item_type", resource["relationships"]["item_type"]["data"]["id"])
    fields = {f["attributes"]["api_key"]: f for f in schema.model_fields(scope, model)}

    def upload(upload_id: str) -> Resource | None:
        return scope.rows.get(scope.environment, "upload", upload_id)

    return present(resource, fields, upload, version="3", nested=False)
