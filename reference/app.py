"""The app factory: the dispatcher's API served with the dispatcher running in its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount

from reference.dispatcher import Clock, Dispatcher, utcnow
from reference.settings import Settings

__all__ = ["create_app"]


def create_app(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock = utcnow,
) -> Starlette:
    """A Starlette app serving the API; the dispatcher is at `app.state.dispatcher`.

    The store is opened here; delivery starts with the lifespan and stops with it.
    """
    dispatcher = Dispatcher(settings, transport=transport, clock=clock)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with dispatcher:
            yield

    app = Starlette(routes=[Mount("/", app=dispatcher.app)], lifespan=lifespan)
    app.state.dispatcher = dispatcher
    return app
