"""Payload versions 1-3 and nested blocks (contract §2); changes commit with their calls."""

from __future__ import annotations

from typing import Any

import pytest

from reference.content import records
from reference.content.scope import Scope
from tests.reference.conftest import DispatcherFactory
from tests.reference.content_helpers import (
    EVERYTHING,
    content_site,
    field_body,
    model_body,
    record_body,
)

pytestmark = pytest.mark.anyio


async def test_payload_versions_and_nested_blocks(make_dispatcher: DispatcherFactory) -> None:
    webhooks: list[dict[str, Any]] = [
        {"events": EVERYTHING, "payload_api_version": "1"},
        {"events": EVERYTHING, "payload_api_version": "2"},
        {"events": EVERYTHING},
        {"events": EVERYTHING, "nested_items_in_payload": True},
    ]
    async with content_site(make_dispatcher, webhooks=webhooks) as site:
        v1, v2, v3, nested = site.webhook_ids
        quote = (
            await site.call(
                "POST", "/item-types", expect=201, body=model_body("quote", modular_block=True)
            )
        )["data"]["id"]
        await site.call("POST", f"/item-types/{quote}/fields", expect=201, body=field_body("text"))
        model = (await site.call("POST", "/item-types", expect=201, body=model_body()))["data"][
            "id"
        ]
        for api_key, kind in [("cover", "file"), ("photos", "gallery"), ("body", "rich_text")]:
            await site.call(
                "POST", f"/item-types/{model}/fields", expect=201, body=field_body(api_key, kind)
            )
        upload_body = {"data": {"type": "upload", "attributes": {"path": "/cat.png", "size": 3}}}
        upload = (await site.call("POST", "/uploads", expect=201, body=upload_body))["data"]["id"]
        await site.sent()
        block = {
            "type": "item",
            "attributes": {"text": "hi"},
            "relationships": {"item_type": {"data": {"type": "item_type", "id": quote}}},
        }
        created = await site.call(
            "POST",
            "/items",
            expect=201,
            body=record_body(
                model, cover={"upload_id": upload, "alt": "A cat"}, photos=[upload], body=[block]
            ),
        )
        block_id = created["data"]["attributes"]["body"][0]
        assert isinstance(block_id, str)

        def entity(webhook_id: str, sent: list[Any]) -> dict[str, Any]:
            (one,) = [s for s in sent if s.payload["webhook_id"] == webhook_id]
            attributes: dict[str, Any] = one.payload["entity"]["attributes"]
            return attributes

        sent = await site.sent()
        assert entity(v3, sent)["cover"]["upload_id"] == upload
        assert entity(v3, sent)["cover"]["alt"] == "A cat"
        assert entity(v3, sent)["body"] == [block_id]
        assert entity(v2, sent)["cover"] == upload
        assert entity(v2, sent)["photos"] == [upload]
        assert entity(v1, sent)["cover"]["path"] == "/cat.png"
        assert entity(v1, sent)["photos"][0]["id"] == upload
        (expanded,) = entity(nested, sent)["body"]
        assert expanded["id"] == block_id and expanded["attributes"] == {"text": "hi"}

        # an update keeps the block by id, and previous_entity follows the version too
        change = {"data": {"type": "item", "attributes": {"cover": None, "body": [block_id]}}}
        await site.call("PUT", f"/items/{created['data']['id']}", body=change)
        sent = [s for s in await site.sent() if s.event_type == "update"]
        (v2_update,) = [s for s in sent if s.payload["webhook_id"] == v2]
        assert v2_update.payload["previous_entity"]["attributes"]["cover"] == upload
        assert v2_update.payload["entity"]["attributes"]["cover"] is None
        (nested_update,) = [s for s in sent if s.payload["webhook_id"] == nested]
        assert nested_update.payload["entity"]["attributes"]["body"][0]["attributes"] == {
            "text": "hi"
        }


async def test_a_failed_change_leaves_no_change_and_no_call(
    make_dispatcher: DispatcherFactory,
) -> None:
    async with content_site(make_dispatcher) as site:
        model = (await site.call("POST", "/item-types", expect=201, body=model_body(drafts=False)))[
            "data"
        ]["id"]
        await site.sent()

        def create_then_fail(scope: Scope) -> None:
            records.create_record(scope, {}, record_body(model)["data"]["relationships"])
            assert len(scope.raised) == 2  # create + publish were recorded...
            raise RuntimeError("...and then the change failed")

        with pytest.raises(RuntimeError):
            await site.dispatcher.content.change(None, create_then_fail)
        assert (await site.call("GET", "/items"))["data"] == []
        assert await site.sent() == []
