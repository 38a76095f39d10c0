"""The content API as the CMA has it: the site, SSO users, paging with
`meta.total_count`, the CMA's model and field attributes, and uploads of real
files through `/upload-requests`."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from tests.reference.conftest import DispatcherFactory
from tests.reference.content_helpers import (
    content_site,
    field_body,
    model_body,
    record_body,
)

pytestmark = pytest.mark.anyio


def _error_field(response: Any) -> str:
    (error,) = response.json()["data"]
    return str(error["attributes"]["details"].get("field"))


async def test_the_site_is_found_and_updated(make_dispatcher: DispatcherFactory) -> None:
    async with content_site(make_dispatcher) as site:
        model = (await site.call("POST", "/item-types", expect=201, body=model_body()))["data"]
        found = (await site.call("GET", "/site"))["data"]
        assert (found["id"], found["type"]) == ("4242", "site")
        assert found["attributes"]["locales"] == ["en"]
        assert found["relationships"]["item_types"]["data"] == [
            {"type": "item_type", "id": model["id"]}
        ]
        assert found["meta"]["created_at"]
        body = {"data": {"type": "site", "attributes": {"name": "Blog", "locales": ["en", "it"]}}}
        updated = (await site.call("PUT", "/site", body=body))["data"]
        assert (updated["attributes"]["name"], updated["attributes"]["locales"]) == (
            "Blog",
            ["en", "it"],
        )
        assert (await site.call("GET", "/site"))["data"]["attributes"]["name"] == "Blog"
        for attributes, field in (
            ({"locales": []}, "locales"),
            ({"no_index": "yes"}, "no_index"),
            ({"domain": "example.com"}, "domain"),
            ({"colour": 1}, "colour"),
        ):
            bad = await site.api.put(
                "/site", json={"data": {"type": "site", "attributes": attributes}}
            )
            assert bad.status_code == 422, attributes
            assert _error_field(bad) == field
        assert (await site.call("GET", "/site"))["data"]["attributes"]["locales"] == ["en", "it"]


async def test_an_sso_user_is_found_by_id(make_dispatcher: DispatcherFactory) -> None:
    async with content_site(make_dispatcher) as site:
        body = {"data": {"type": "sso_user", "attributes": {"username": "ada@example.com"}}}
        created = (await site.call("POST", "/sso-users", expect=201, body=body))["data"]
        found = (await site.call("GET", f"/sso-users/{created['id']}"))["data"]
        assert found == created
        assert found["relationships"] == {"groups": {"data": []}, "role": {"data": None}}
        assert (await site.api.get("/sso-users/999")).status_code == 404
        listed = await site.call("GET", "/sso-users")
        assert listed["meta"] == {"total_count": 1}


async def test_records_and_uploads_are_paged(make_dispatcher: DispatcherFactory) -> None:
    async with content_site(make_dispatcher) as site:
        model = (await site.call("POST", "/item-types", expect=201, body=model_body(drafts=False)))[
            "data"
        ]
        ids = [
            (await site.call("POST", "/items", expect=201, body=record_body(model["id"])))["data"][
                "id"
            ]
            for _ in range(5)
        ]
        page = await site.call("GET", "/items?page[offset]=1&page[limit]=2")
        assert [r["id"] for r in page["data"]] == ids[1:3]
        assert page["meta"] == {"total_count": 5}
        everything = await site.call("GET", "/items")
        assert [r["id"] for r in everything["data"]] == ids
        chosen = await site.call("GET", f"/items?filter[ids]={ids[0]},{ids[4]}")
        assert [r["id"] for r in chosen["data"]] == [ids[0], ids[4]]
        assert chosen["meta"] == {"total_count": 2}
        for query, field in (
            ("page[limit]=0", "page[limit]"),
            ("page[limit]=501", "page[limit]"),
            ("page[offset]=-1", "page[offset]"),
            ("page[size]=2", "page[size]"),
        ):
            bad = await site.api.get(f"/items?{query}")
            assert bad.status_code == 422, query
            assert _error_field(bad) == field
        for i in range(3):
            await site.call(
                "POST",
                "/uploads",
                expect=201,
                body={"data": {"type": "upload", "attributes": {"path": f"/u/{i}.png"}}},
            )
        uploads = await site.call("GET", "/uploads?page[limit]=2")
        assert (len(uploads["data"]), uploads["meta"]) == (2, {"total_count": 3})
        for path in ("/item-types", "/environments", "/build-triggers", "/webhooks"):
            assert "total_count" in (await site.call("GET", path))["meta"], path


async def test_models_and_fields_keep_the_cma_attributes(
    make_dispatcher: DispatcherFactory,
) -> None:
    async with content_site(make_dispatcher) as site:
        model = (
            await site.call(
                "POST",
                "/item-types",
                expect=201,
                body=model_body(tree=True, ordering_direction="desc", hint="Posts"),
            )
        )["data"]
        assert model["attributes"]["tree"] is True
        assert model["attributes"]["ordering_direction"] == "desc"
        assert model["attributes"]["collection_appearance"] == "compact"
        assert model["relationships"]["title_field"] == {"data": None}
        assert model["meta"]["has_singleton_item"] is False
        field = (
            await site.call(
                "POST",
                f"/item-types/{model['id']}/fields",
                expect=201,
                body=field_body("title", hint="The headline", appearance={"editor": "x"}),
            )
        )["data"]
        assert field["attributes"]["hint"] == "The headline"
        assert field["attributes"]["position"] == 0
        assert field["relationships"]["fieldset"] == {"data": None}
        title = {"data": {"type": "field", "id": field["id"]}}
        body = {
            "data": {
                "type": "item_type",
                "id": model["id"],
                "attributes": {},
                "relationships": {"title_field": title},
            }
        }
        updated = (await site.call("PUT", f"/item-types/{model['id']}", body=body))["data"]
        assert updated["relationships"]["title_field"] == title
        await site.sent()
        for attributes, relationships, field_name in (
            ({"ordering_direction": "up"}, {}, "ordering_direction"),
            ({"tree": "yes"}, {}, "tree"),
            ({}, {"title_field": {"data": {"type": "field", "id": "999"}}}, "title_field"),
            ({}, {"title_field": "1"}, "title_field"),
            ({}, {"fields": {"data": []}}, "fields"),
        ):
            bad = await site.api.put(
                f"/item-types/{model['id']}",
                json={
                    "data": {
                        "type": "item_type",
                        "attributes": attributes,
                        "relationships": relationships,
                    }
                },
            )
            assert bad.status_code == 422, (attributes, relationships)
            assert _error_field(bad) == field_name
        assert await site.sent() == []


async def test_an_upload_is_made_from_a_file_put_to_its_request(
    make_dispatcher: DispatcherFactory,
) -> None:
    async with content_site(make_dispatcher, max_upload_bytes=1000) as site:
        request = (
            await site.call(
                "POST",
                "/upload-requests",
                expect=201,
                body={"data": {"type": "upload_request", "attributes": {"filename": "a b.png"}}},
            )
        )["data"]
        path, url = request["id"], request["attributes"]["url"]
        assert path.endswith("/a-b.png")
        assert url == f"http://dispatcher/files{path}"
        assert request["attributes"]["request_headers"] == {}
        content = b"\x89PNG not really" * 10
        no_token = {"Authorization": ""}
        put = await site.api.put(url, content=content, headers=no_token)
        assert put.status_code == 200, put.text
        body = {"data": {"type": "upload", "attributes": {"path": path, "author": "Ada"}}}
        upload = (await site.call("POST", "/uploads", expect=201, body=body))["data"]
        attributes = upload["attributes"]
        assert attributes["size"] == len(content)
        assert attributes["md5"] == hashlib.md5(content).hexdigest()
        assert (attributes["mime_type"], attributes["is_image"]) == ("image/png", True)
        assert (attributes["filename"], attributes["basename"], attributes["format"]) == (
            "a-b.png",
            "a-b",
            "png",
        )
        assert (attributes["url"], attributes["author"]) == (url, "Ada")
        served = await site.api.get(url, headers=no_token)
        assert (served.status_code, served.content) == (200, content)
        assert [k for k in await site.kinds()] == [("upload", "create")]

        update = {"data": {"type": "upload", "attributes": {"tags": ["x"], "notes": "n"}}}
        changed = (await site.call("PUT", f"/uploads/{upload['id']}", body=update))["data"]
        assert (changed["attributes"]["tags"], changed["attributes"]["notes"]) == (["x"], "n")
        assert ("upload", "update") in await site.kinds()

        # past the limit: 413, nothing kept
        second = (
            await site.call(
                "POST",
                "/upload-requests",
                expect=201,
                body={"data": {"type": "upload_request", "attributes": {}}},
            )
        )["data"]
        too_big = await site.api.put(
            second["attributes"]["url"], content=b"x" * 1001, headers=no_token
        )
        assert too_big.status_code == 413
        assert too_big.json()["data"][0]["attributes"]["code"] == "FILE_TOO_LARGE"
        assert "1000 bytes" in too_big.text
        assert (await site.api.get(second["attributes"]["url"])).status_code == 404
        missing = await site.api.post(
            "/uploads",
            json={"data": {"type": "upload", "attributes": {"path": second["id"]}}},
        )
        assert missing.status_code == 422
        assert _error_field(missing) == "path"
        # a path nobody requested cannot be written
        stray = url.replace(path.split("/")[1], "0" * 32)
        assert (await site.api.put(stray, content=b"x", headers=no_token)).status_code == 404
        assert (await site.api.put(url + "/../x", content=b"x")).status_code == 404
        for attributes, field in (
            ({"tags": "x"}, "tags"),
            ({"author": 1}, "author"),
            ({"url": "http://x"}, "url"),
        ):
            bad = await site.api.put(
                f"/uploads/{upload['id']}",
                json={"data": {"type": "upload", "attributes": attributes}},
            )
            assert bad.status_code == 422, attributes
            assert _error_field(bad) == field
        assert await site.sent() == []


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/items", {"data": [1]}, "data"),
        ("/item-types", {"data": [1]}, "data"),
        ("/uploads", {"data": "x"}, "data"),
        (
            "/items",
            {"data": {"type": "item", "attributes": {}, "relationships": {"item_type": "1"}}},
            "item_type",
        ),
        (
            "/items",
            {"data": {"type": "item", "relationships": {"item_type": {"data": "1"}}}},
            "item_type",
        ),
    ],
)
async def test_malformed_bodies_are_422_naming_the_field(
    make_dispatcher: DispatcherFactory, path: str, body: Any, field: str
) -> None:
    async with content_site(make_dispatcher) as site:
        response = await site.api.post(path, json=body)
        assert response.status_code == 422, response.text
        assert _error_field(response) == field
        assert await site.sent() == []


async def test_handed_out_urls_follow_the_public_url_setting(
    make_dispatcher: DispatcherFactory,
) -> None:
    async with content_site(make_dispatcher, public_url="https://hooks.example.com/cms/") as site:
        body = {"data": {"type": "upload_request", "attributes": {"filename": "a.txt"}}}
        request = (await site.call("POST", "/upload-requests", expect=201, body=body))["data"]
        assert request["attributes"]["url"] == f"https://hooks.example.com/cms/files{request['id']}"
        attributes = {"name": "CI", "adapter": "custom"}
        trigger = (
            await site.call(
                "POST",
                "/build-triggers",
                expect=201,
                body={"data": {"type": "build_trigger", "attributes": attributes}},
            )
        )["data"]
        assert trigger["attributes"]["webhook_url"].startswith(
            "https://hooks.example.com/cms/deploy-results/"
        )
