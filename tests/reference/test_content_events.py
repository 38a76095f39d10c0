"""Every other row of contract §3 and sequence of §4, driven through the HTTP content API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.reference.conftest import DispatcherFactory
from tests.reference.content_helpers import (
    content_site,
    field_body,
    model_body,
    record_body,
)

pytestmark = pytest.mark.anyio


def env_body(new_id: str) -> dict[str, Any]:
    return {"data": {"type": "environment", "id": new_id}}


async def test_models_and_fields(make_dispatcher: DispatcherFactory) -> None:
    async with content_site(make_dispatcher) as site:
        model = (await site.call("POST", "/item-types", expect=201, body=model_body()))["data"]
        sent = await site.sent()
        assert [(s.entity_type, s.event_type) for s in sent] == [("item_type", "create")]
        assert sent[0].headers["x-environment"] == "main"
        field = (
            await site.call(
                "POST", f"/item-types/{model['id']}/fields", expect=201, body=field_body("title")
            )
        )["data"]
        assert [k for k in await site.kinds() if k[0] == "item_type"] == [("item_type", "update")]
        await site.call(
            "PUT",
            f"/fields/{field['id']}",
            body={"data": {"type": "field", "attributes": {"label": "T"}}},
        )
        assert [k for k in await site.kinds() if k[0] == "item_type"] == [("item_type", "update")]
        await site.call(
            "PUT",
            f"/item-types/{model['id']}",
            body={"data": {"type": "item_type", "attributes": {"name": "Post"}}},
        )
        (update,) = [s for s in await site.sent() if s.entity_type == "item_type"]
        assert update.payload["entity"]["attributes"]["name"] == "Post"
        assert [r["type"] for r in update.payload["related_entities"]] == ["field"]
        await site.call("DELETE", f"/fields/{field['id']}")
        assert [k for k in await site.kinds() if k[0] == "item_type"] == [("item_type", "update")]
        await site.call("DELETE", f"/item-types/{model['id']}")
        assert [k for k in await site.kinds() if k[0] == "item_type"] == [("item_type", "delete")]


async def test_model_validation(make_dispatcher: DispatcherFactory) -> None:
    async with content_site(make_dispatcher) as site:
        model = (await site.call("POST", "/item-types", expect=201, body=model_body()))["data"]
        await site.call(
            "POST", f"/item-types/{model['id']}/fields", expect=201, body=field_body("title")
        )
        await site.sent()
        for path, body, field in [
            ("/item-types", model_body(), "api_key"),
            ("/item-types", model_body("Bad Key"), "api_key"),
            (
                "/item-types",
                {"data": {"type": "item_type", "attributes": {"api_key": "x"}}},
                "name",
            ),
            (f"/item-types/{model['id']}/fields", field_body("title"), "api_key"),
            (f"/item-types/{model['id']}/fields", field_body("body", "html"), "field_type"),
            (f"/item-types/{model['id']}/fields", field_body("body", validators=[]), "validators"),
        ]:
            response = await site.api.post(path, json=body)
            assert response.status_code == 422, (path, response.text)
            assert response.json()["data"][0]["attributes"]["details"]["field"] == field
        assert await site.sent() == []


async def test_uploads(make_dispatcher: DispatcherFactory) -> None:
    async with content_site(make_dispatcher) as site:
        attributes = {
            "path": "/a/cat.png",
            "size": 1024,
            "format": "png",
            "width": 10,
            "height": 20,
        }
        upload = (
            await site.call(
                "POST",
                "/uploads",
                expect=201,
                body={"data": {"type": "upload", "attributes": attributes}},
            )
        )["data"]
        assert upload["attributes"]["alt"] is None
        await site.call(
            "PUT",
            f"/uploads/{upload['id']}",
            body={"data": {"type": "upload", "attributes": {"alt": "A cat"}}},
        )
        await site.call("DELETE", f"/uploads/{upload['id']}")
        kinds = [k for k in await site.kinds() if k[0] == "upload"]
        assert kinds == [("upload", "create"), ("upload", "update"), ("upload", "delete")]
        bad = await site.api.post(
            "/uploads", json={"data": {"type": "upload", "attributes": {"size": -1, "path": "x"}}}
        )
        assert bad.status_code == 422


async def test_build_triggers(make_dispatcher: DispatcherFactory) -> None:
    async with content_site(make_dispatcher) as site:
        attributes = {"name": "Netlify", "adapter": "custom", "adapter_settings": {}}
        trigger = (
            await site.call(
                "POST",
                "/build-triggers",
                expect=201,
                body={"data": {"type": "build_trigger", "attributes": attributes}},
            )
        )["data"]
        assert await site.kinds() == []
        url = trigger["attributes"]["webhook_url"]
        token = trigger["attributes"]["webhook_token"]
        assert url == f"http://dispatcher/deploy-results/{token}"
        no_token = {"Authorization": ""}  # the URL is the build's only credential

        async def report(status: str) -> httpx.Response:
            return await site.api.post(url, json={"status": status}, headers=no_token)

        await site.call("POST", f"/build-triggers/{trigger['id']}/trigger", expect=204)
        assert (await report("success")).status_code == 204
        await site.call("POST", f"/build-triggers/{trigger['id']}/trigger", expect=204)
        assert (await report("error")).status_code == 204
        sent = await site.sent()
        assert [(s.entity_type, s.event_type) for s in sent] == [
            ("build_trigger", "deploy_started"),
            ("build_trigger", "deploy_succeeded"),
            ("build_trigger", "deploy_started"),
            ("build_trigger", "deploy_failed"),
        ]
        assert all("x-environment" not in s.headers for s in sent)
        assert sent[0].payload["environment"] == "main"
        shown = (await site.call("GET", f"/build-triggers/{trigger['id']}"))["data"]
        assert shown["attributes"]["build_status"] == "error"
        assert shown["attributes"]["last_build_completed_at"] is not None
        bad = await report("ok")
        assert bad.status_code == 422
        assert bad.json()["data"][0]["attributes"]["details"]["field"] == "status"
        wrong = await site.api.post(
            url.replace(token, "0" * 32), json={"status": "success"}, headers=no_token
        )
        assert wrong.status_code == 404
        read_only = await site.api.put(
            f"/build-triggers/{trigger['id']}",
            json={"data": {"type": "build_trigger", "attributes": {"webhook_url": "http://x"}}},
        )
        assert read_only.status_code == 422
        assert await site.sent() == []


async def test_maintenance_mode_changes_only_on_change(make_dispatcher: DispatcherFactory) -> None:
    async with content_site(make_dispatcher) as site:
        assert (await site.call("GET", "/maintenance-mode"))["data"]["attributes"][
            "active"
        ] is False
        await site.call("PUT", "/maintenance-mode/activate")
        await site.call("PUT", "/maintenance-mode/activate")
        await site.call("PUT", "/maintenance-mode/deactivate")
        sent = await site.sent()
        assert [(s.entity_type, s.event_type) for s in sent] == [("maintenance_mode", "change")] * 2
        assert [s.payload["entity"]["attributes"]["active"] for s in sent] == [True, False]
        assert sent[0].payload["entity"]["id"] == "maintenance_mode"


async def test_sso_users(make_dispatcher: DispatcherFactory) -> None:
    async with content_site(make_dispatcher) as site:
        await site.call(
            "POST",
            "/sso-users",
            expect=201,
            body={"data": {"type": "sso_user", "attributes": {"username": "ada"}}},
        )
        assert await site.kinds() == [("sso_user", "create")]
        assert len((await site.call("GET", "/sso-users"))["data"]) == 1
        again = await site.api.post(
            "/sso-users", json={"data": {"type": "sso_user", "attributes": {"username": "ADA"}}}
        )
        assert again.status_code == 422
        assert await site.sent() == []


async def test_environments(make_dispatcher: DispatcherFactory) -> None:
    async with content_site(make_dispatcher) as site:
        model = (await site.call("POST", "/item-types", expect=201, body=model_body()))["data"]
        await site.sent()
        await site.call("POST", "/environments/main/fork", expect=201, body=env_body("staging"))
        (fork,) = await site.sent()
        assert (fork.entity_type, fork.event_type) == ("environment", "create")
        assert (fork.payload["environment"], fork.payload["is_environment_primary"]) == (
            "staging",
            False,
        )
        assert "x-environment" not in fork.headers
        # the fork copied the model; changes there carry its environment
        copied = await site.call("GET", f"/item-types/{model['id']}", environment="staging")
        assert copied["data"]["attributes"]["api_key"] == "article"
        await site.call(
            "POST", "/items", environment="staging", expect=201, body=record_body(model["id"])
        )
        (created,) = await site.sent()
        assert created.headers["x-environment"] == "staging"
        assert created.payload["is_environment_primary"] is False
        assert (await site.call("GET", "/items"))["data"] == []  # main is untouched

        await site.call("PUT", "/environments/staging/rename", body=env_body("preview"))
        await site.call("PUT", "/environments/preview/promote")
        await site.call("DELETE", "/environments/main")
        sent = await site.sent()
        assert [(s.event_type, s.payload["environment"]) for s in sent] == [
            ("update", "preview"),
            ("promote", "preview"),
            ("delete", "main"),
        ]
        assert sent[1].payload["is_environment_primary"] is True
        listed = (await site.call("GET", "/environments"))["data"]
        assert [(e["id"], e["meta"]["primary"]) for e in listed] == [("preview", True)]
        (preview,) = listed
        assert preview["attributes"] == {}
        assert preview["meta"]["status"] == "ready"
        assert preview["meta"]["forked_from"] == "main"
        assert preview["meta"]["read_only_mode"] is False
        # the record created in it changed its data after it was made
        assert preview["meta"]["last_data_change_at"] > preview["meta"]["created_at"]


async def test_environment_errors_raise_nothing(make_dispatcher: DispatcherFactory) -> None:
    async with content_site(make_dispatcher) as site:
        await site.call("POST", "/environments/main/fork", expect=201, body=env_body("staging"))
        await site.sent()
        for method, path, body, status in [
            ("DELETE", "/environments/main", None, 422),
            ("POST", "/environments/main/fork", env_body("staging"), 409),
            ("POST", "/environments/main/fork", env_body("Bad Name"), 422),
            ("POST", "/environments/nowhere/fork", env_body("x"), 404),
            ("PUT", "/environments/nowhere/promote", None, 404),
            ("GET", "/items", None, 404),
        ]:
            headers = {"X-Environment": "nowhere"} if path == "/items" else {}
            response = await site.api.request(method, path, json=body, headers=headers)
            assert response.status_code == status, (method, path, response.text)
        assert await site.sent() == []


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ([{"entity_type": "item", "entity_ids": ["RECORD"]}], 2),  # a fork keeps ids
        (
            [
                {"entity_type": "item", "entity_ids": ["RECORD"]},
                {"entity_type": "environment", "entity_ids": ["main"]},
            ],
            1,
        ),
        ([{"entity_type": "item_type", "entity_ids": ["MODEL"]}], 2),
        ([{"entity_type": "item_type", "entity_ids": ["999"]}], 0),
        ([{"entity_type": "environment", "entity_ids": ["staging"]}], 1),
        ([{"entity_type": "environment_type", "entity_ids": ["sandbox"]}], 1),
        ([{"entity_type": "environment_type", "entity_ids": ["primary"]}], 1),
    ],
)
async def test_record_filters(
    make_dispatcher: DispatcherFactory, filters: list[dict[str, Any]], expected: int
) -> None:
    async with content_site(make_dispatcher) as site:
        model = (await site.call("POST", "/item-types", expect=201, body=model_body()))["data"]
        record = (await site.call("POST", "/items", expect=201, body=record_body(model["id"])))[
            "data"
        ]
        await site.call("POST", "/environments/main/fork", expect=201, body=env_body("staging"))
        for f in filters:
            f["entity_ids"] = [
                {"RECORD": record["id"], "MODEL": model["id"]}.get(i, i) for i in f["entity_ids"]
            ]
        webhook = await site.dispatcher.create_webhook(
            {
                "name": "filtered",
                "url": "https://filtered.example.com/",
                "custom_payload": None,
                "headers": {},
                "events": [{"entity_type": "item", "event_types": ["update"], "filters": filters}],
                "http_basic_user": None,
                "http_basic_password": None,
            }
        )
        await site.sent()
        change = {"data": {"type": "item", "attributes": {}}}
        await site.call("PUT", f"/items/{record['id']}", body=change)
        await site.call("PUT", f"/items/{record['id']}", environment="staging", body=change)
        assert len(await site.sent(webhook.id)) == expected


async def test_build_trigger_filter(make_dispatcher: DispatcherFactory) -> None:
    async with content_site(make_dispatcher, webhooks=[]) as site:
        ids = []
        for name in "AB":
            body = {
                "data": {"type": "build_trigger", "attributes": {"name": name, "adapter": "custom"}}
            }
            ids.append(
                (await site.call("POST", "/build-triggers", expect=201, body=body))["data"]["id"]
            )
        first, second = ids
        await site.dispatcher.create_webhook(
            {
                "name": "only A",
                "url": "https://a.example.com/",
                "custom_payload": None,
                "headers": {},
                "events": [
                    {
                        "entity_type": "build_trigger",
                        "event_types": ["deploy_started"],
                        "filters": [{"entity_type": "build_trigger", "entity_ids": [first]}],
                    }
                ],
                "http_basic_user": None,
                "http_basic_password": None,
            }
        )
        await site.call("POST", f"/build-triggers/{first}/trigger", expect=204)
        await site.call("POST", f"/build-triggers/{second}/trigger", expect=204)
        sent = await site.sent()
        assert [s.payload["entity"]["id"] for s in sent] == [first]
