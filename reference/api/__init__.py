"""The dispatcher's HTTP API: JSON:API over Starlette (contract §1, §2, §7), the
webhook routes and the content API's, spelled as DatoCMS's Content Management API.

Endpoints are module-level functions that find the dispatcher in the app's state
(`request.app.state.dispatcher`); `reference.app.create_api` assembles them.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from reference.api import (
    build_triggers,
    environments,
    health,
    item_types,
    items,
    openapi,
    site,
    uploads,
    webhook_calls,
    webhooks,
)

__all__ = ["PUBLIC_ROUTES", "ROUTES"]

#: the routes behind the API token
ROUTES: list[BaseRoute] = [
    *webhooks.routes,
    *webhook_calls.routes,
    *environments.routes,
    *item_types.routes,
    *items.routes,
    *uploads.routes,
    *build_triggers.routes,
    *site.routes,
]

#: the routes whose URL is their own secret: a build's report, an upload's file; and the
#: API's OpenAPI description
PUBLIC_ROUTES: list[BaseRoute] = [
    *build_triggers.public_routes,
    *uploads.public_routes,
    *openapi.public_routes,
    *health.routes,
]
