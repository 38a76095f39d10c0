"""`webhooks-dispatcher demo`: a dispatcher, the mock receiver, a few events, the activity log."""

from __future__ import annotations

import socket
import sys
from typing import Any

import httpx
from starlette.applications import Starlette

from receiver import MockReceiver
from reference.api.access_log import AccessLog
from reference.app import create_api, dispatcher_routes
from reference.dispatcher import Dispatcher
from reference.serving import bound_url, serve
from reference.settings import Settings
from reference.store import CallQuery

__all__ = ["run_demo"]

TEMPLATE = (
    '{"message": "{{event_type}} event triggered on {{entity_type}}!",'
    ' "entity_id": "{{#entity}}{{id}}{{/entity}}"}'
)


async def run_demo(settings: Settings, *, serve_on: socket.socket | None = None) -> int:
    """Run the demo; with `serve_on` (a bound socket), keep the API up on it afterwards
    until Ctrl-C."""
    with MockReceiver() as receiver:
        async with Dispatcher(settings) as dispatcher:
            api = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=create_api(dispatcher)),
                base_url="http://dispatcher",
                headers={"Authorization": f"Bearer {settings.api_token}"},
            )
            async with api:
                await _webhook(api, "Demo: every record", receiver.url_for("/hook"), None)
                await _webhook(api, "Demo: custom payload", receiver.url_for("/custom"), TEMPLATE)
                await _webhook(
                    api, "Demo: failing receiver", receiver.url_for("/fail", status=503), None
                )
                await _content_changes(api)
                await dispatcher.drain(timeout=15)
                calls, total = await dispatcher.list_calls(CallQuery(limit=12))
            await _print_log(calls, total, dispatcher, len(receiver.requests()))
            if serve_on is not None:
                sys.stdout.write(f"What the receiver got: {receiver.url}/_receiver/requests\n")
                await _serve(dispatcher, settings, serve_on)
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


async def _content_changes(api: httpx.AsyncClient) -> None:
    """A model with drafts, then a record created, updated and published."""

    async def send(method: str, path: str, data: dict[str, Any]) -> dict[str, Any]:
        response = await api.request(method, path, json={"data": data})
        response.raise_for_status()
        body: dict[str, Any] = response.json()["data"]
        return body

    models = (await api.get("/item-types")).json()["data"]
    existing = [m for m in models if m["attributes"]["api_key"] == "demo_article"]
    if existing:  # a database from an earlier run
        model = existing[0]
    else:
        attributes = {"name": "Article", "api_key": "demo_article", "draft_mode_active": True}
        model = await send("POST", "/item-types", {"type": "item_type", "attributes": attributes})
        title = {"label": "Title", "api_key": "title", "field_type": "string"}
        await send(
            "POST", f"/item-types/{model['id']}/fields", {"type": "field", "attributes": title}
        )
    record = await send(
        "POST",
        "/items",
        {
            "type": "item",
            "attributes": {"title": "Hello"},
            "relationships": {"item_type": {"data": {"type": "item_type", "id": model["id"]}}},
        },
    )
    await send(
        "PUT", f"/items/{record['id']}", {"type": "item", "attributes": {"title": "Hello, world"}}
    )
    await send("PUT", f"/items/{record['id']}/publish", {"type": "item"})


async def _print_log(calls: list[Any], total: int, dispatcher: Dispatcher, received: int) -> None:
    out = sys.stdout
    out.write(f"The receiver got {received} requests. Activity log ({total} calls in all):\n\n")
    out.write(f"{'call':>5}  {'webhook':<24} {'event':<14} {'status':<12} {'HTTP':>4}  retries\n")
    for call in calls:
        webhook = await dispatcher.find_webhook(call.webhook_id)
        name = webhook.name if webhook else f"(deleted {call.webhook_id})"
        event = f"{call.entity_type}.{call.event_type}"
        answer = call.response_status or call.error or "-"
        out.write(
            f"{call.id:>5}  {name[:24]:<24} {event:<14} {call.status:<12} {answer:>4}  "
            f"{call.attempted_auto_retries_count}\n"
        )
    out.write(f"\nsite id {dispatcher.site_id}, database {dispatcher.settings.db}\n")


async def _serve(dispatcher: Dispatcher, settings: Settings, sock: socket.socket) -> None:
    base = bound_url(sock)
    sys.stdout.write(
        f"\nThe API is up at {base} (Ctrl-C to stop). Try:\n"
        f"  curl -H 'Authorization: Bearer {settings.api_token}' {base}/webhooks\n"
        f"  curl -H 'Authorization: Bearer {settings.api_token}' {base}/webhook_calls\n"
        f"or open {base}/admin in a browser and sign in with the API token.\n"
    )
    sys.stdout.flush()
    await serve(AccessLog(Starlette(routes=dispatcher_routes(dispatcher))), sock)
