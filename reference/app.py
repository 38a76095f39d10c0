"""The app factories: `create_app` serves the API and the admin pages with the
dispatcher running in the app's lifespan; `create_api` is the API alone, for
mounting in another app (whose lifespan then enters the dispatcher)."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from aiohttp.abc import AbstractResolver
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router

from reference.admin import create_admin
from reference.api import PUBLIC_ROUTES, ROUTES
from reference.api.access_log import AccessLog
from reference.api.auth import BearerAuth
from reference.api.errors import exception_handlers
from reference.dispatcher import Clock, Dispatcher, utcnow
from reference.files import Files
from reference.settings import Settings

__all__ = ["create_api", "create_app", "dispatcher_routes"]


def create_app(
    settings: Settings,
    *,
    resolver: AbstractResolver | None = None,
    ssl_context: ssl.SSLContext | None = None,
    clock: Clock = utcnow,
    on_start: Callable[[Dispatcher], None] | None = None,
) -> Starlette:
    """A Starlette app serving the API and, under `/admin`, the admin pages.

    The dispatcher is at `app.state.dispatcher`.

    The store is opened when the lifespan starts (then `on_start` is called),
    delivery runs through it, and its end is a clean stop (contract §8).
    """
    dispatcher = Dispatcher(settings, resolver=resolver, ssl_context=ssl_context, clock=clock)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with dispatcher:
            if on_start is not None:
                on_start(dispatcher)
            yield

    app = Starlette(
        routes=dispatcher_routes(dispatcher),
        lifespan=lifespan,
        middleware=[Middleware(AccessLog)],
        # a path no route takes (the API's mount takes none with a line break) is
        # answered as the API answers it: a JSON:API 404
        exception_handlers=exception_handlers,
    )
    app.state.dispatcher = dispatcher
    return app


def dispatcher_routes(dispatcher: Dispatcher) -> list[BaseRoute]:
    """The admin pages under `/admin` and the API at `/`, for a running dispatcher."""

    async def admin_home(request: Request) -> Response:
        return RedirectResponse("/admin/", status_code=307)

    return [
        Route("/admin", admin_home),  # the API below would answer it otherwise
        Mount("/admin", app=create_admin(dispatcher, mount_path="/admin")),
        Mount("/", app=create_api(dispatcher)),
    ]


def create_api(dispatcher: Dispatcher) -> Starlette:
    """The HTTP API of `dispatcher` as an app of its own, without a lifespan:

        async with dispatcher:  # or enter it in the host app's lifespan
            host = Starlette(routes=[Mount("/hooks-api", app=create_api(dispatcher))])

    Every route wants the API token but the public ones, whose URL is the secret.
    """
    settings = dispatcher.settings
    behind_token = Router(routes=ROUTES)
    app = Starlette(
        routes=[
            *PUBLIC_ROUTES,
            Mount("/", app=BearerAuth(behind_token, token=settings.api_token)),
        ],
        exception_handlers=exception_handlers,
    )
    app.state.dispatcher = dispatcher
    app.state.files = Files(settings.uploads_folder, settings.max_upload_bytes)
    return app
