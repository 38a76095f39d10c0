"""contract §4 record lifecycles, driven through the HTTP content API."""

from __future__ import annotations

from typing import Any

import pytest

from tests.reference.conftest import DispatcherFactory
from tests.reference.content_helpers import (
    ContentSite,
    content_site,
    field_body,
    model_body,
    record_body,
)

pytestmark = pytest.mark.anyio


async def _model(site: ContentSite, *, drafts: bool) -> str:
    model = await site.call("POST", "/item-types", expect=201, body=model_body(drafts=drafts))
    model_id: str = model["data"]["id"]
    await site.call("POST", f"/item-types/{model_id}/fields", expect=201, body=field_body("title"))
    await site.sent()  # forget the model's own events
    return model_id


async def test_with_drafts(make_dispatcher: DispatcherFactory) -> None:
    async with content_site(make_dispatcher) as site:
        model_id = await _model(site, drafts=True)
        created = await site.call(
            "POST", "/items", expect=201, body=record_body(model_id, title="A")
        )
        record_id = created["data"]["id"]
        assert created["data"]["meta"]["status"] == "draft"
        sent = await site.sent()
        assert [(s.entity_type, s.event_type) for s in sent] == [("item", "create")]
        payload = sent[0].payload
        assert payload["entity"]["attributes"] == {"title": "A"}
        assert [r["type"] for r in payload["related_entities"]] == ["item_type", "account"]
        assert payload["entity"]["relationships"]["item_type"]["data"]["id"] == model_id
        assert sent[0].headers["x-environment"] == "main"

        await site.call("PUT", f"/items/{record_id}/publish")
        published = await site.sent()
        assert (published[0].entity_type, published[0].event_type) == ("item", "publish")
        assert published[0].payload["entity"]["meta"]["status"] == "published"

        updated = await site.call(
            "PUT",
            f"/items/{record_id}",
            body={"data": {"type": "item", "id": record_id, "attributes": {"title": "B"}}},
        )
        assert updated["data"]["meta"]["status"] == "updated"
        (update,) = [s for s in await site.sent() if s.entity_type == "item"]
        assert update.event_type == "update"
        assert update.payload["previous_entity"]["attributes"]["title"] == "A"
        assert update.payload["entity"]["attributes"]["title"] == "B"

        await site.call("PUT", f"/items/{record_id}/unpublish")
        assert ("item", "unpublish") in await site.kinds()
        await site.call("PUT", f"/items/{record_id}/publish")
        await site.sent()
        await site.call("DELETE", f"/items/{record_id}")
        assert [k for k in await site.kinds() if k[0] == "item"] == [
            ("item", "unpublish"),
            ("item", "delete"),
        ]


async def test_draft_records_delete_with_one_event(make_dispatcher: DispatcherFactory) -> None:
    async with content_site(make_dispatcher) as site:
        model_id = await _model(site, drafts=True)
        record_id = (await site.call("POST", "/items", expect=201, body=record_body(model_id)))[
            "data"
        ]["id"]
        await site.sent()
        await site.call("DELETE", f"/items/{record_id}")
        assert await site.kinds() == [("item", "delete")]


async def test_without_drafts(make_dispatcher: DispatcherFactory) -> None:
    async with content_site(make_dispatcher) as site:
        model_id = await _model(site, drafts=False)
        created = await site.call(
            "POST", "/items", expect=201, body=record_body(model_id, title="A")
        )
        record_id = created["data"]["id"]
        assert created["data"]["meta"]["status"] == "published"
        assert [k for k in await site.kinds() if k[0] == "item"] == [
            ("item", "create"),
            ("item", "publish"),
        ]
        body: dict[str, Any] = {"data": {"type": "item", "attributes": {"title": "B"}}}
        await site.call("PUT", f"/items/{record_id}", body=body)
        assert [k for k in await site.kinds() if k[0] == "item"] == [
            ("item", "update"),
            ("item", "publish"),
        ]
        await site.call("DELETE", f"/items/{record_id}")
        assert [k for k in await site.kinds() if k[0] == "item"] == [
            ("item", "unpublish"),
            ("item", "delete"),
        ]


async def test_cache_tags_go_out_in_one_invalidate(make_dispatcher: DispatcherFactory) -> None:
    async with content_site(make_dispatcher, cache_tag_window=0.3) as site:
        model_id = await _model(site, drafts=False)
        first = await site.call("POST", "/items", expect=201, body=record_body(model_id, title="A"))
        second = await site.call(
            "POST", "/items", expect=201, body=record_body(model_id, title="B")
        )
        # Draining waits for the window to close and the invalidate to be answered.
        sent = [s for s in await site.sent() if s.entity_type == "cda_cache_tags"]
        (invalidate,) = sent
        tags = invalidate.payload["entity"]["attributes"]["tags"]
        assert set(tags) >= {
            f"item:{first['data']['id']}",
            f"item:{second['data']['id']}",
            f"item_type:{model_id}",
        }
        assert invalidate.headers["x-environment"] == "main"


@pytest.mark.parametrize(
    ("attributes", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"title": 7}, "title"),
        ({"count": "seven"}, "count"),
        ({"count": True}, "count"),
        ({"when": "yesterday"}, "when"),
        ({"picture": {"upload_id": "999"}}, "picture"),
        ({"related": ["999"]}, "related"),
        ({"title": None}, "title"),
    ],
)
async def test_bad_records_are_refused_and_raise_nothing(
    make_dispatcher: DispatcherFactory, attributes: dict[str, Any], field: str
) -> None:
    async with content_site(make_dispatcher) as site:
        model_id = await _model(site, drafts=True)
        await site.call(
            "PUT",
            f"/fields/{await _field_id(site, model_id, 'title')}",
            body={"data": {"type": "field", "attributes": {"validators": {"required": {}}}}},
        )
        for api_key, kind in [
            ("count", "integer"),
            ("when", "date"),
            ("picture", "file"),
            ("related", "links"),
        ]:
            await site.call(
                "POST", f"/item-types/{model_id}/fields", expect=201, body=field_body(api_key, kind)
            )
        await site.sent()
        body = record_body(model_id, title="ok")
        body["data"]["attributes"].update(attributes)
        response = await site.api.post("/items", json=body)
        assert response.status_code == 422, response.text
        assert response.json()["data"][0]["attributes"]["details"]["field"] == field
        assert await site.sent() == []
        assert (await site.call("GET", "/items"))["data"] == []


async def _field_id(site: ContentSite, model_id: str, api_key: str) -> str:
    fields = (await site.call("GET", f"/item-types/{model_id}/fields"))["data"]
    return str(next(f["id"] for f in fields if f["attributes"]["api_key"] == api_key))


async def test_unknown_model_and_deleted_record(make_dispatcher: DispatcherFactory) -> None:
    async with content_site(make_dispatcher) as site:
        response = await site.api.post("/items", json=record_body("999", title="x"))
        assert response.status_code == 422
        assert response.json()["data"][0]["attributes"]["details"]["field"] == "item_type"
        model_id = await _model(site, drafts=True)
        record_id = (await site.call("POST", "/items", expect=201, body=record_body(model_id)))[
            "data"
        ]["id"]
        await site.call("DELETE", f"/items/{record_id}")
        await site.sent()
        assert (await site.api.put(f"/items/{record_id}/publish")).status_code == 404
        assert (await site.api.put(f"/items/{record_id}/unpublish")).status_code == 404
        assert await site.sent() == []
