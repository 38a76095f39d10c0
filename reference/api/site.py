"""Site-wide resources: `/site`, `/maintenance-mode` and `/sso-users`.

`POST /sso-users` is an extension: DatoCMS adds SSO users over SCIM; here the
API adds them, raising the `create` event of contract §4.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reference.api.context import body_limit, content_of, dispatcher_of, many, one, path_id
from reference.api.documents import read_resource
from reference.content import site
from reference.content.scope import SITE, Scope
from reference.events import Resource

__all__ = ["routes"]


async def show_site(request: Request) -> Response:
    return one(await content_of(request).change(None, site.site, _site_id(request)))


async def update_site(request: Request) -> Response:
    attributes = await read_resource(request, "site", body_limit(request), _site_id(request))
    done = await content_of(request).change(None, site.update_site, _site_id(request), attributes)
    return one(done)


async def show_maintenance_mode(request: Request) -> Response:
    return one(await content_of(request).change(None, site.maintenance_mode))


async def activate_maintenance_mode(request: Request) -> Response:
    return one(await content_of(request).change(None, site.set_maintenance_mode, True))


async def deactivate_maintenance_mode(request: Request) -> Response:
    return one(await content_of(request).change(None, site.set_maintenance_mode, False))


async def list_sso_users(request: Request) -> Response:
    def read(scope: Scope) -> list[Resource]:
        return scope.rows.all(SITE, "sso_user")

    return many(await content_of(request).change(None, read))


async def show_sso_user(request: Request) -> Response:
    def read(scope: Scope) -> Resource:
        return scope.get("sso_user", path_id(request), environment=SITE)

    return one(await content_of(request).change(None, read))


async def create_sso_user(request: Request) -> Response:
    attributes = await read_resource(request, "sso_user", body_limit(request))
    return one(await content_of(request).change(None, site.create_sso_user, attributes), 201)


def _site_id(request: Request) -> str:
    return dispatcher_of(request).site_id


routes = [
    Route("/site", show_site, methods=["GET"]),
    Route("/site", update_site, methods=["PUT"]),
    Route("/maintenance-mode", show_maintenance_mode, methods=["GET"]),
    Route("/maintenance-mode/activate", activate_maintenance_mode, methods=["PUT"]),
    Route("/maintenance-mode/deactivate", deactivate_maintenance_mode, methods=["PUT"]),
    Route("/sso-users", list_sso_users, methods=["GET"]),
    Route("/sso-users", create_sso_user, methods=["POST"]),
    Route("/sso-users/{id}", show_sso_user, methods=["GET"]),
]
