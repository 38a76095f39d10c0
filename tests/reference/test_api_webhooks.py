from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.reference.conftest import DispatcherFactory, api_client
from tests.reference.factories import webhook_attributes

pytestmark = pytest.mark.anyio


def document(**attributes: Any) -> dict[str, Any]:
    return {"data": {"type": "webhook", "attributes": attributes}}


def error_of(response: httpx.Response) -> dict[str, Any]:
    (error,) = response.json()["data"]
    assert error["type"] == "api_error"
    assert error["id"]
    attributes: dict[str, Any] = error["attributes"]
    return attributes


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic dGVzdC10b2tlbg==", "test-token"])
async def test_every_call_needs_the_token(
    make_dispatcher: DispatcherFactory, header: str | None
) -> None:
    async with make_dispatcher() as dispatcher, api_client(dispatcher) as api:
        headers = {} if header is None else {"Authorization": header}
        api.headers.pop("Authorization")
        for method, path in [
            ("GET", "/webhooks"),
            ("POST", "/webhooks"),
            ("GET", "/webhook_calls"),
            ("POST", "/webhook_calls/1/resend_webhook"),
        ]:
            response = await api.request(method, path, headers=headers)
            assert response.status_code == 401
            assert error_of(response)["code"] == "UNAUTHORIZED"


async def test_create_show_list_update_delete(make_dispatcher: DispatcherFactory) -> None:
    async with make_dispatcher() as dispatcher, api_client(dispatcher) as api:
        created = await api.post("/webhooks", json=document(**webhook_attributes()))
        assert created.status_code == 201
        data = created.json()["data"]
        assert (data["type"], data["id"]) == ("webhook", "1")
        assert data["attributes"]["enabled"] is True
        assert data["attributes"]["payload_api_version"] == "3"
        assert (await api.get("/webhooks/1")).json()["data"] == data
        assert (await api.get("/webhooks")).json()["data"] == [data]

        updated = await api.put(
            "/webhooks/1",
            json={"data": {"type": "webhook", "id": "1", "attributes": {"enabled": False}}},
        )
        assert updated.status_code == 200
        attributes = updated.json()["data"]["attributes"]
        assert attributes == {**data["attributes"], "enabled": False}

        deleted = await api.delete("/webhooks/1")
        assert deleted.status_code == 200
        assert deleted.json()["data"]["attributes"]["enabled"] is False
        assert (await api.get("/webhooks/1")).status_code == 404
        assert (await api.get("/webhooks")).json()["data"] == []
        again = await api.post("/webhooks", json=document(**webhook_attributes()))
        assert again.json()["data"]["id"] == "2"  # ids are never reused


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        (b"{not json", "INVALID_FORMAT", None),
        (b"[]", "INVALID_FORMAT", "data"),
        (b'{"data": {"type": "hook", "attributes": {}}}', "INVALID_FORMAT", "data.type"),
        (b'{"data": {"type": "webhook", "attributes": [], "x": 1}}', "INVALID_FORMAT", "data.x"),
        (b'{"data": {"type": "webhook", "id": "5", "attributes": {}}}', "INVALID_FIELD", "data.id"),
        (b"\xff\xfe", "INVALID_FORMAT", None),
    ],
)
async def test_malformed_documents(
    make_dispatcher: DispatcherFactory, body: bytes, code: str, field: str | None
) -> None:
    async with make_dispatcher() as dispatcher, api_client(dispatcher) as api:
        response = await api.post("/webhooks", content=body)
        assert response.status_code == 422
        error = error_of(response)
        assert error["code"] == code
        assert error["details"].get("field") == field
        assert (await api.get("/webhooks")).json()["data"] == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"url": "mailto:x@example.com"}, "url"),
        ({"custom_payload": "{{#a}}"}, "custom_payload"),
        ({"headers": {"x-site-id": "1"}}, "headers"),
        (
            {"events": [{"entity_type": "upload", "event_types": ["publish"]}]},
            "events[0].event_types",
        ),
        ({"colour": "red"}, "colour"),
        ({"payload_api_version": "9"}, "payload_api_version"),
        ({"signing_secret": "whsec_c2hvcnQ="}, "signing_secret"),
        ({"signing_secret": "hunter2"}, "signing_secret"),
        ({"headers": {"webhook-signature": "v1,forged"}}, "headers"),
    ],
)
async def test_invalid_attributes_are_422_and_change_nothing(
    make_dispatcher: DispatcherFactory, changes: dict[str, Any], field: str
) -> None:
    async with make_dispatcher() as dispatcher, api_client(dispatcher) as api:
        response = await api.post("/webhooks", json=document(**webhook_attributes(**changes)))
        assert response.status_code == 422
        error = error_of(response)
        assert (error["code"], error["details"]["field"]) == ("INVALID_FIELD", field)
        assert error["details"]["message"]
        assert (await api.get("/webhooks")).json()["data"] == []

        await api.post("/webhooks", json=document(**webhook_attributes()))
        before = (await api.get("/webhooks/1")).json()
        update = await api.put("/webhooks/1", json=document(enabled=False, **changes))
        assert update.status_code == 422
        assert (await api.get("/webhooks/1")).json() == before


async def test_every_wrong_attribute_is_named_in_one_answer(
    make_dispatcher: DispatcherFactory,
) -> None:
    async with make_dispatcher() as dispatcher, api_client(dispatcher) as api:
        response = await api.post(
            "/webhooks",
            json=document(name="", url="ftp://x", colour=1, events=[], custom_payload=None),
        )
        assert response.status_code == 422
        fields = {e["attributes"]["details"]["field"] for e in response.json()["data"]}
        assert fields == {
            "name",
            "url",
            "colour",
            "headers",
            "http_basic_user",
            "http_basic_password",
        }
        assert len({e["id"] for e in response.json()["data"]}) == len(fields)
        assert (await api.get("/webhooks")).json()["data"] == []
        model = await api.post(
            "/item-types",
            json={"data": {"type": "item_type", "attributes": {"colour": 1, "tree": True}}},
        )
        fields = {e["attributes"]["details"]["field"] for e in model.json()["data"]}
        assert fields == {"colour", "name", "api_key"}


async def test_names_are_unique_ignoring_case(make_dispatcher: DispatcherFactory) -> None:
    async with make_dispatcher() as dispatcher, api_client(dispatcher) as api:
        await api.post("/webhooks", json=document(**webhook_attributes(name="Deploy")))
        clash = await api.post("/webhooks", json=document(**webhook_attributes(name="dEPLOY")))
        assert clash.status_code == 422
        assert error_of(clash)["details"]["field"] == "name"
        other = await api.post("/webhooks", json=document(**webhook_attributes(name="Other")))
        renamed = await api.put(
            f"/webhooks/{other.json()['data']['id']}", json=document(name="DEPLOY")
        )
        assert renamed.status_code == 422
        same = await api.put("/webhooks/1", json=document(name="deploy"))
        assert same.status_code == 200


async def test_unknown_ids_are_404(make_dispatcher: DispatcherFactory) -> None:
    async with make_dispatcher() as dispatcher, api_client(dispatcher) as api:
        for method, path in [
            ("GET", "/webhooks/9"),
            ("PUT", "/webhooks/9"),
            ("DELETE", "/webhooks/abc"),
            ("GET", "/webhook_calls/9"),
            ("POST", "/webhook_calls/x/resend_webhook"),
            ("GET", "/nowhere"),
        ]:
            response = await api.request(method, path, json=document())
            assert response.status_code == 404, path
            assert error_of(response)["code"] == "NOT_FOUND"


async def test_bodies_over_one_mib_are_refused_unread(make_dispatcher: DispatcherFactory) -> None:
    sent = 0

    async def endless() -> Any:
        nonlocal sent
        chunk = b" " * 65536
        for _ in range(1000):  # 64 MiB if it were read whole
            sent += len(chunk)
            yield chunk

    async with make_dispatcher() as dispatcher, api_client(dispatcher) as api:
        response = await api.post("/webhooks", content=endless())
        assert response.status_code == 413
        assert error_of(response)["code"] == "PAYLOAD_TOO_LARGE"
        assert sent <= 2 * 1024 * 1024
        declared = await api.post(
            "/webhooks",
            content=b"x" * (1024 * 1024 + 1),
            headers={"Content-Type": "application/json"},
        )
        assert declared.status_code == 413
        assert (await api.get("/webhooks")).json()["data"] == []
