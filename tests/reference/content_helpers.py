"""A dispatcher with a webhook that wants every event, and a way to read what it sent."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from reference import CallQuery, Dispatcher
from reference.matrix import MATRIX
from tests.reference.conftest import DispatcherFactory, Recorder, api_client
from tests.reference.factories import webhook_attributes

EVERYTHING = [
    {"entity_type": entity, "event_types": list(rule.event_types)}
    for entity, rule in MATRIX.items()
]


@dataclass
class Sent:
    entity_type: str
    event_type: str
    payload: dict[str, Any]
    headers: dict[str, str]


@dataclass
class ContentSite:
    dispatcher: Dispatcher
    api: httpx.AsyncClient
    recorder: Recorder
    seen: int = 0
    webhook_ids: list[str] = field(default_factory=list)

    async def call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        environment: str | None = None,
        expect: int = 200,
    ) -> Any:
        headers = {"X-Environment": environment} if environment else {}
        response = await self.api.request(method, path, json=body, headers=headers)
        assert response.status_code == expect, response.text
        return response.json() if response.content else None

    async def sent(self, webhook_id: str | None = None) -> list[Sent]:
        """The calls made since the last look, in event order, once they are answered."""
        assert await self.dispatcher.drain(timeout=10)
        calls, _ = await self.dispatcher.list_calls(
            CallQuery(limit=500, order_field="created_at", descending=False)
        )
        calls = sorted(calls, key=lambda c: int(c.id))
        fresh = [c for c in calls if int(c.id) > self.seen]
        if calls:
            self.seen = max(int(c.id) for c in calls)
        if webhook_id is not None:
            fresh = [c for c in fresh if c.webhook_id == webhook_id]
        return [
            Sent(
                c.entity_type,
                c.event_type,
                json.loads(c.request_payload or "{}"),
                dict(c.request_headers or {}),
            )
            for c in fresh
        ]

    async def kinds(self, webhook_id: str | None = None) -> list[tuple[str, str]]:
        return [(s.entity_type, s.event_type) for s in await self.sent(webhook_id)]


def model_body(api_key: str = "article", *, drafts: bool = True, **more: Any) -> dict[str, Any]:
    return {
        "data": {
            "type": "item_type",
            "attributes": {
                "name": api_key.title(),
                "api_key": api_key,
                "draft_mode_active": drafts,
                **more,
            },
        }
    }


def field_body(api_key: str, field_type: str = "string", **more: Any) -> dict[str, Any]:
    return {
        "data": {
            "type": "field",
            "attributes": {
                "label": api_key.title(),
                "api_key": api_key,
                "field_type": field_type,
                **more,
            },
        }
    }


def record_body(model_id: str, **attributes: Any) -> dict[str, Any]:
    return {
        "data": {
            "type": "item",
            "attributes": attributes,
            "relationships": {"item_type": {"data": {"type": "item_type", "id": model_id}}},
        }
    }


@asynccontextmanager
async def content_site(
    make_dispatcher: DispatcherFactory,
    *,
    webhooks: list[dict[str, Any]] | None = None,
    **settings: Any,
) -> AsyncIterator[ContentSite]:
    recorder = Recorder()
    settings.setdefault("cache_tag_window", 0.05)
    async with make_dispatcher(recorder, **settings) as dispatcher, api_client(dispatcher) as api:
        site = ContentSite(dispatcher, api, recorder)
        everything = [{"events": EVERYTHING}]
        for i, attributes in enumerate(everything if webhooks is None else webhooks):
            webhook = await dispatcher.create_webhook(
                webhook_attributes(name=f"hook {i}", **attributes)
            )
            site.webhook_ids.append(webhook.id)
        yield site
