"""`webhooks-dispatcher demo`: a dispatcher, a receiver, a few events, and the activity log."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from reference.dispatcher import Dispatcher
from reference.events import Event
from reference.settings import Settings
from reference.store import CallQuery

__all__ = ["run_demo"]

TEMPLATE = (
    '{"message": "{{event_type}} event triggered on {{entity_type}}!",'
    ' "entity_id": "{{#entity}}{{id}}{{/entity}}"}'
)


async def run_demo(settings: Settings, *, serve_port: int | None = None) -> int:
    """Run the demo; with `serve_port`, keep the API up afterwards until Ctrl-C."""
    received: list[str] = []
    async with _receiver(received) as receiver_url, Dispatcher(settings) as dispatcher:
        api = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=dispatcher.app),
            base_url="http://dispatcher",
            headers={"Authorization": f"Bearer {settings.api_token}"},
        )
        async with api:
            await _webhook(api, "Demo: every record", f"{receiver_url}/hook", None)
            await _webhook(api, "Demo: custom payload", f"{receiver_url}/custom", TEMPLATE)
            await _webhook(api, "Demo: failing receiver", f"{receiver_url}/fail", None)
            for event in _events():
                await dispatcher.raise_event(event)
            await dispatcher.drain(timeout=15)
            calls, total = await dispatcher.list_calls(CallQuery(limit=12))
        _print_log(calls, total, dispatcher, received)
        if serve_port is not None:
            await _serve(dispatcher, settings, serve_port)
    return 0


async def _webhook(api: httpx.AsyncClient, name: str, url: str, template: str | None) -> None:
    """Create the webhook, or point an existing one from an earlier run at this receiver."""
    attributes: dict[str, Any] = {
        "name": name,
        "url": url,
        "custom_payload": template,
        "headers": {"X-Demo": "yes"},
        "events": [{"entity_type": "item", "event_types": ["create", "update", "publish"]}],
        "http_basic_user": "demo",
        "http_basic_password": "s3cret",
    }
    existing = [
        w for w in (await api.get("/webhooks")).json()["data"] if w["attributes"]["name"] == name
    ]
    if existing:
        response = await api.put(
            f"/webhooks/{existing[0]['id']}",
            json={"data": {"type": "webhook", "attributes": attributes}},
        )
    else:
        response = await api.post(
            "/webhooks", json={"data": {"type": "webhook", "attributes": attributes}}
        )
    response.raise_for_status()


def _events() -> list[Event]:
    model = {
        "id": "1",
        "type": "item_type",
        "attributes": {"name": "Article", "api_key": "article"},
    }
    links = {"item_type": {"data": {"id": "1", "type": "item_type"}}}

    def record(title: str, status: str) -> dict[str, Any]:
        return {
            "id": "42",
            "type": "item",
            "attributes": {"title": title},
            "relationships": links,
            "meta": {"status": status},
        }

    return [
        Event("item", "create", record("Hello", "draft"), related_entities=(model,)),
        Event(
            "item",
            "update",
            record("Hello, world", "draft"),
            previous_entity=record("Hello", "draft"),
            related_entities=(model,),
        ),
        Event("item", "publish", record("Hello, world", "published"), related_entities=(model,)),
    ]


def _print_log(calls: list[Any], total: int, dispatcher: Dispatcher, received: list[str]) -> None:
    out = sys.stdout
    out.write(
        f"The receiver got {len(received)} requests. Activity log ({total} calls in all):\n\n"
    )
    out.write(f"{'call':>5}  {'webhook':<24} {'event':<14} {'status':<12} {'HTTP':>4}  retries\n")
    for call in calls:
        webhook = dispatcher.find_webhook(call.webhook_id)
        name = webhook.name if webhook else f"(deleted {call.webhook_id})"
        event = f"{call.entity_type}.{call.event_type}"
        answer = call.response_status or call.error or "-"
        out.write(
            f"{call.id:>5}  {name[:24]:<24} {event:<14} {call.status:<12} {answer:>4}  "
            f"{call.attempted_auto_retries_count}\n"
        )
    out.write(f"\nsite id {dispatcher.site_id}, database {dispatcher.settings.db_path}\n")


async def _serve(dispatcher: Dispatcher, settings: Settings, port: int) -> None:
    base = f"http://127.0.0.1:{port}"
    sys.stdout.write(
        f"\nThe API is up at {base} (Ctrl-C to stop). Try:\n"
        f"  curl -H 'Authorization: Bearer {settings.api_token}' {base}/webhooks\n"
        f"  curl -H 'Authorization: Bearer {settings.api_token}' {base}/webhook_calls\n"
    )
    sys.stdout.flush()
    server = uvicorn.Server(
        uvicorn.Config(dispatcher.app, host="127.0.0.1", port=port, log_level="warning")
    )
    await server.serve()


@contextlib.asynccontextmanager
async def _receiver(received: list[str]) -> AsyncIterator[str]:
    """A minimal receiver on a free loopback port: `/fail` answers 503, the rest 200."""

    async def hook(request: Request) -> Response:
        received.append(request.url.path)
        await request.body()
        if request.url.path == "/fail":
            return PlainTextResponse("try again later", status_code=503)
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/{path:path}", hook, methods=["POST"])])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # connections wait in the backlog until the server accepts them
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()
