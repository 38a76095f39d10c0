"""`/webhooks`: create, list, show, update and delete (contract §2)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reference.api.context import body_limit, dispatcher_of, many
from reference.api.documents import read_resource
from reference.api.resources import webhook_resource

__all__ = ["routes"]


async def list_webhooks(request: Request) -> Response:
    webhooks = await dispatcher_of(request).list_webhooks()
    return many([webhook_resource(w) for w in webhooks])


async def create_webhook(request: Request) -> Response:
    attributes = await read_resource(request, "webhook", body_limit(request))
    webhook = await dispatcher_of(request).create_webhook(attributes)
    return JSONResponse({"data": webhook_resource(webhook)}, status_code=201)


async def show_webhook(request: Request) -> Response:
    webhook = await dispatcher_of(request).get_webhook(request.path_params["webhook_id"])
    return JSONResponse({"data": webhook_resource(webhook)})


async def update_webhook(request: Request) -> Response:
    dispatcher = dispatcher_of(request)
    webhook_id = request.path_params["webhook_id"]
    await dispatcher.get_webhook(webhook_id)  # 404 before reading the body
    attributes = await read_resource(request, "webhook", body_limit(request), webhook_id)
    webhook = await dispatcher.update_webhook(webhook_id, attributes)
    return JSONResponse({"data": webhook_resource(webhook)})


async def delete_webhook(request: Request) -> Response:
    webhook = await dispatcher_of(request).delete_webhook(request.path_params["webhook_id"])
    return JSONResponse({"data": webhook_resource(webhook)})


routes = [
    Route("/webhooks", list_webhooks, methods=["GET"]),
    Route("/webhooks", create_webhook, methods=["POST"]),
    Route("/webhooks/{webhook_id}", show_webhook, methods=["GET"]),
    Route("/webhooks/{webhook_id}", update_webhook, methods=["PUT", "PATCH"]),
    Route("/webhooks/{webhook_id}", delete_webhook, methods=["DELETE"]),
]
