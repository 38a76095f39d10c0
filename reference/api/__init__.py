"""The dispatcher's HTTP API: JSON:API over Starlette (SPEC §1, §2, §7)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.middleware import Middleware

from reference.api.auth import BearerAuth
from reference.api.errors import exception_handlers
from reference.api.webhook_calls import call_routes
from reference.api.webhooks import webhook_routes

if TYPE_CHECKING:
    from reference.dispatcher import Dispatcher

__all__ = ["create_api"]


def create_api(dispatcher: Dispatcher) -> Starlette:
    """The API app. It has no lifespan: whoever serves it enters the dispatcher."""
    from reference.content.routes import content_routes

    limit = dispatcher.settings.max_request_body_bytes
    return Starlette(
        routes=[
            *webhook_routes(dispatcher),
            *call_routes(dispatcher),
            *content_routes(dispatcher.content, limit),
        ],
        middleware=[Middleware(BearerAuth, token=dispatcher.settings.api_token)],
        exception_handlers=exception_handlers,
    )
