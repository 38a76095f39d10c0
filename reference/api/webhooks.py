"""`/webhooks`: create, list, show, update and delete (SPEC §2)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reference.api.documents import read_resource
from reference.api.resources import webhook_resource
from reference.dispatcher import Dispatcher

__all__ = ["webhook_routes"]


def webhook_routes(dispatcher: Dispatcher) -> list[Route]:
    limit = dispatcher.settings.max_request_body_bytes

    async def index(request: Request) -> Response:
        return JSONResponse(
            {"data": [webhook_resource(w) for w in await dispatcher.list_webhooks()]}
        )

    async def create(request: Request) -> Response:
        attributes = await read_resource(request, "webhook", limit)
        webhook = await dispatcher.create_webhook(attributes)
        return JSONResponse({"data": webhook_resource(webhook)}, status_code=201)

    async def show(request: Request) -> Response:
        webhook = await dispatcher.get_webhook(request.path_params["webhook_id"])
        return JSONResponse({"data": webhook_resource(webhook)})

    async def update(request: Request) -> Response:
        webhook_id = request.path_params["webhook_id"]
        await dispatcher.get_webhook(webhook_id)  # 404 before reading the body
        attributes = await read_resource(request, "webhook", limit, webhook_id)
        webhook = await dispatcher.update_webhook(webhook_id, attributes)
        return JSONResponse({"data": webhook_resource(webhook)})

    async def destroy(request: Request) -> Response:
        webhook = await dispatcher.delete_webhook(request.path_params["webhook_id"])
        return JSONResponse({"data": webhook_resource(webhook)})

    return [
        Route("/webhooks", index, methods=["GET"]),
        Route("/webhooks", create, methods=["POST"]),
        Route("/webhooks/{webhook_id}", show, methods=["GET"]),
        Route("/webhooks/{webhook_id}", update, methods=["PUT", "PATCH"]),
        Route("/webhooks/{webhook_id}", destroy, methods=["DELETE"]),
    ]
