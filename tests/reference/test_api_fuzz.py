"""Any body, however wrong, gets a precise 4xx and changes nothing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference import Dispatcher, Settings, create_app
from tests.reference.conftest import TOKEN, DispatcherFactory, api_client
from tests.reference.factories import webhook_attributes

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
keys = st.sampled_from([*webhook_attributes().keys(), "enabled", "auto_retry", "other"])


@settings(
    max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(
    body=st.one_of(
        json_values,
        st.dictionaries(keys, json_values).map(
            lambda attrs: {
                "data": {"type": "webhook", "attributes": {**webhook_attributes(), **attrs}}
            }
        ),
    )
)
def test_random_bodies_never_crash_or_change_state(tmp_path: Path, body: Any) -> None:
    async def run() -> None:
        dispatcher = Dispatcher(Settings(api_token=TOKEN, db=":memory:"))
        async with dispatcher, api_client(dispatcher) as api:
            response = await api.post("/webhooks", content=json.dumps(body))
            assert response.status_code in (201, 422), response.text
            webhooks = (await api.get("/webhooks")).json()["data"]
            if response.status_code == 422:
                errors = response.json()["data"]
                assert errors  # one per wrong attribute
                for error in errors:
                    assert error["attributes"]["code"] in ("INVALID_FIELD", "INVALID_FORMAT")
                    assert error["attributes"]["details"]["message"]
                assert webhooks == []
            else:
                assert webhooks == [response.json()["data"]]

    asyncio.run(run())


# -- what the schemathesis fuzz (test_api_schemathesis.py) and its review found ----------------


def fields_of(response: httpx.Response) -> list[str | None]:
    """The `details.field` of each error of a JSON:API error document."""
    return [e["attributes"]["details"].get("field") for e in response.json()["data"]]


@pytest.mark.anyio
@pytest.mark.parametrize(
    "path",
    ["/items", "/item-types", "/uploads", "/upload-requests", "/build-triggers", "/sso-users"],
)
async def test_data_that_is_a_list_is_a_422_naming_data(
    make_dispatcher: DispatcherFactory, path: str
) -> None:
    async with make_dispatcher() as dispatcher, api_client(dispatcher) as api:
        response = await api.post(path, json={"data": [1]})
        assert response.status_code == 422, response.text
        assert fields_of(response) == ["data"]


@pytest.mark.anyio
@pytest.mark.parametrize("link", ["1", {"data": "1"}, {"data": {"type": "item_type", "id": 1}}])
async def test_a_record_whose_model_link_is_not_a_link_is_a_422_naming_item_type(
    make_dispatcher: DispatcherFactory, link: object
) -> None:
    async with make_dispatcher() as dispatcher, api_client(dispatcher) as api:
        model = {"data": {"type": "item_type", "attributes": {"name": "A", "api_key": "a"}}}
        assert (await api.post("/item-types", json=model)).status_code == 201
        body = {"data": {"type": "item", "attributes": {}, "relationships": {"item_type": link}}}
        response = await api.post("/items", json=body)
        assert response.status_code == 422, response.text
        assert fields_of(response) == ["item_type"]
        assert (await api.get("/items")).json()["data"] == []


LONE = "\ud800"  # a lone surrogate: JSON spells it "\ud800"; UTF-8 cannot


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/webhooks", {"type": "webhook", "attributes": webhook_attributes(name=LONE)}, "name"),
        (
            "/webhooks",
            {"type": "webhook", "attributes": webhook_attributes(url=f"https://{LONE}.com/")},
            "url",
        ),
        (
            "/webhooks",
            {"type": "webhook", "attributes": webhook_attributes(headers={"X-A": LONE})},
            "headers.X-A",
        ),
        ("/sso-users", {"type": "sso_user", "attributes": {"username": LONE}}, "username"),
        ("/item-types", {"type": "item_type", "attributes": {LONE: 1}}, "attributes"),
        ("/build-triggers", {"type": "build_trigger", "attributes": {"name": LONE}}, "name"),
        ("/uploads", {"type": "upload", "attributes": {"path": LONE}}, "path"),
        ("/environments/main/fork", {"type": "environment", "id": LONE}, "data.id"),
        ("/item-types", {"type": LONE}, "data.type"),
    ],
)
async def test_a_lone_surrogate_is_a_422_naming_its_field_and_is_not_kept(
    make_dispatcher: DispatcherFactory, path: str, body: dict[str, Any], field: str
) -> None:
    """It was stored, then every answer showing it was a 500 (UTF-8 cannot encode it)."""
    async with make_dispatcher() as dispatcher, api_client(dispatcher) as api:
        response = await api.post(path, content=json.dumps({"data": body}))
        assert response.status_code == 422, response.text
        assert fields_of(response) == [field]
        assert "\\ud800" in response.json()["data"][0]["attributes"]["details"]["message"]
        for listed in ("/webhooks", "/sso-users", "/item-types", "/build-triggers", "/uploads"):
            answer = await api.get(listed)
            assert answer.status_code == 200
            assert answer.json()["data"] == []
        assert len((await api.get("/environments")).json()["data"]) == 1


@pytest.mark.anyio
async def test_a_build_report_at_a_url_with_non_ascii_is_a_404(
    make_dispatcher: DispatcherFactory,
) -> None:
    """The token was compared as text, which compare_digest refuses past ASCII: a 500."""
    async with make_dispatcher() as dispatcher, api_client(dispatcher) as api:
        trigger = {"type": "build_trigger", "attributes": {"name": "CI", "adapter": "custom"}}
        created = await api.post("/build-triggers", json={"data": trigger})
        token = created.json()["data"]["attributes"]["webhook_token"]
        del api.headers["Authorization"]
        response = await api.post("/deploy-results/%C2%80", json={"status": "success"})
        assert response.status_code == 404, response.text
        response = await api.post(f"/deploy-results/{token}", json={"status": "success"})
        assert response.status_code == 204


@pytest.mark.anyio
async def test_a_webhook_token_is_ascii_letters_and_digits(
    make_dispatcher: DispatcherFactory,
) -> None:
    async with make_dispatcher() as dispatcher, api_client(dispatcher) as api:
        attributes = {"name": "CI", "adapter": "custom", "webhook_token": "é" * 16}
        trigger = {"type": "build_trigger", "attributes": attributes}
        response = await api.post("/build-triggers", json={"data": trigger})
        assert response.status_code == 422, response.text
        assert fields_of(response) == ["webhook_token"]


@pytest.mark.anyio
@pytest.mark.parametrize("path", ["/webhook_calls", "/items", "/uploads"])
@pytest.mark.parametrize(("offset", "status"), [(2**63 - 1, 200), (2**63, 422), ("٣", 422)])
async def test_a_page_offset_past_what_the_database_takes_is_a_422(
    make_dispatcher: DispatcherFactory, path: str, offset: object, status: int
) -> None:
    """2**63 reached SQLite as an OFFSET it cannot hold: a 500. Digits are ASCII ones."""
    async with make_dispatcher() as dispatcher, api_client(dispatcher) as api:
        response = await api.get(path, params={"page[offset]": str(offset)})
        assert response.status_code == status, response.text
        if status == 422:
            assert fields_of(response) == ["page[offset]"]


@pytest.mark.anyio
@pytest.mark.parametrize("meta", [[], 1, "x"])
async def test_data_meta_is_an_object(make_dispatcher: DispatcherFactory, meta: object) -> None:
    async with make_dispatcher() as dispatcher, api_client(dispatcher) as api:
        user = {"type": "sso_user", "attributes": {"username": "someone"}, "meta": meta}
        response = await api.post("/sso-users", json={"data": user})
        assert response.status_code == 422, response.text
        assert fields_of(response) == ["meta"]


@pytest.mark.anyio
async def test_a_path_no_route_takes_is_a_json_api_404(tmp_path: Path) -> None:
    """The API's mount matches no path with a line break: the app's own 404 answered it,
    as text."""
    settings = Settings(api_token=TOKEN, db=str(tmp_path / "webhooks.db"))
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://dispatcher") as client:
        response = await client.get("/items/a%0Ab")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    (error,) = response.json()["data"]
    assert error["attributes"]["code"] == "NOT_FOUND"


@pytest.mark.anyio
@pytest.mark.parametrize("field_type", [[], {}, ["string"]])
async def test_a_field_type_that_is_not_a_string_is_a_422(
    make_dispatcher: DispatcherFactory, field_type: object
) -> None:
    """`[] in FIELD_TYPES` (a mapping) raised TypeError: a 500."""
    async with make_dispatcher() as dispatcher, api_client(dispatcher) as api:
        model = {"data": {"type": "item_type", "attributes": {"name": "A", "api_key": "a"}}}
        model_id = (await api.post("/item-types", json=model)).json()["data"]["id"]
        attributes = {"label": "T", "api_key": "t", "field_type": field_type}
        field = {"data": {"type": "field", "attributes": attributes}}
        response = await api.post(f"/item-types/{model_id}/fields", json=field)
        assert response.status_code == 422, response.text
        assert fields_of(response) == ["field_type"]


@pytest.mark.anyio
@pytest.mark.parametrize("status", [[], {}, ["success"]])
async def test_a_build_report_whose_status_is_not_a_string_is_a_422(
    make_dispatcher: DispatcherFactory, status: object
) -> None:
    """`[] in _OUTCOMES` (a dict) raised TypeError: a 500."""
    async with make_dispatcher() as dispatcher, api_client(dispatcher) as api:
        trigger = {"type": "build_trigger", "attributes": {"name": "CI", "adapter": "custom"}}
        created = await api.post("/build-triggers", json={"data": trigger})
        url = created.json()["data"]["attributes"]["webhook_url"]
        response = await api.post(url, json={"status": status})
        assert response.status_code == 422, response.text
        assert fields_of(response) == ["status"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("change", "field"),
    [({"localized": True}, "localized"), ({"field_type": "string"}, "field_type")],
)
async def test_a_field_renamed_in_the_same_change_still_cannot_change_kind_under_values(
    make_dispatcher: DispatcherFactory, change: dict[str, Any], field: str
) -> None:
    """With `api_key` changed too, the check looked for values under the new key, found
    none, and let the change through: the record's plain 1 under a localized field was a
    500 on every read of the records."""
    async with make_dispatcher() as dispatcher, api_client(dispatcher) as api:
        model = {"data": {"type": "item_type", "attributes": {"name": "A", "api_key": "a"}}}
        model_id = (await api.post("/item-types", json=model)).json()["data"]["id"]
        attributes = {"label": "Count", "api_key": "count", "field_type": "integer"}
        created = await api.post(
            f"/item-types/{model_id}/fields",
            json={"data": {"type": "field", "attributes": attributes}},
        )
        field_id = created.json()["data"]["id"]
        link = {"item_type": {"data": {"type": "item_type", "id": model_id}}}
        record = {"data": {"type": "item", "attributes": {"count": 1}, "relationships": link}}
        assert (await api.post("/items", json=record)).status_code == 201
        body = {"data": {"type": "field", "attributes": {"api_key": "total", **change}}}
        response = await api.put(f"/fields/{field_id}", json=body)
        assert response.status_code == 422, response.text
        assert fields_of(response) == [field]
        listed = await api.get("/items")
        assert listed.status_code == 200
        assert [r["attributes"] for r in listed.json()["data"]] == [{"count": 1}]
        shown = (await api.get(f"/fields/{field_id}")).json()["data"]["attributes"]
        assert (shown["api_key"], shown["field_type"], shown["localized"]) == (
            "count",
            "integer",
            False,
        )


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.anyio
@pytest.mark.parametrize("depth", [70, 995, 100_000])
async def test_a_body_nested_too_deep_is_a_422(
    make_dispatcher: DispatcherFactory, depth: int
) -> None:
    """Past ~990 levels json.loads raised RecursionError: a 500. Under it, such a value
    met every recursive walk of the code (copies, the store's JSON) with the same risk."""
    async with make_dispatcher() as dispatcher, api_client(dispatcher) as api:
        user = '{"data": {"type": "sso_user", "attributes": {"username": ' + nested(depth) + "}}}"
        response = await api.post("/sso-users", content=user)
        assert response.status_code == 422, response.text
        if depth < 900:  # read: the field is named, down to where it goes too deep
            (field,) = fields_of(response)
            assert field is not None and field.startswith("username[0][0]")
        trigger = {"type": "build_trigger", "attributes": {"name": "CI", "adapter": "custom"}}
        created = await api.post("/build-triggers", json={"data": trigger})
        url = created.json()["data"]["attributes"]["webhook_url"]
        assert (await api.post(url, content=nested(depth))).status_code == 422
        assert (await api.get("/sso-users")).json()["data"] == []


@pytest.mark.anyio
async def test_a_json_value_nested_within_the_limit_is_kept(
    make_dispatcher: DispatcherFactory,
) -> None:
    async with make_dispatcher() as dispatcher, api_client(dispatcher) as api:
        model = {"data": {"type": "item_type", "attributes": {"name": "A", "api_key": "a"}}}
        model_id = (await api.post("/item-types", json=model)).json()["data"]["id"]
        attributes = {"label": "Blob", "api_key": "blob", "field_type": "json"}
        field = {"data": {"type": "field", "attributes": attributes}}
        assert (await api.post(f"/item-types/{model_id}/fields", json=field)).status_code == 201
        value = json.loads(nested(60))
        link = {"item_type": {"data": {"type": "item_type", "id": model_id}}}
        record = {"data": {"type": "item", "attributes": {"blob": value}, "relationships": link}}
        assert (await api.post("/items", json=record)).status_code == 201
        listed = await api.get("/items")
        assert listed.status_code == 200
        assert listed.json()["data"][0]["attributes"]["blob"] == value


@pytest.mark.anyio
@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"])
async def test_a_number_that_is_not_finite_is_a_422_naming_its_field_and_is_not_kept(
    make_dispatcher: DispatcherFactory, number: str
) -> None:
    """Python's JSON reads these; no answer can write them (allow_nan=False), so the
    record was kept, and every read of the records after it was a 500."""
    async with make_dispatcher() as dispatcher, api_client(dispatcher) as api:
        model = {"data": {"type": "item_type", "attributes": {"name": "A", "api_key": "a"}}}
        model_id = (await api.post("/item-types", json=model)).json()["data"]["id"]
        attributes = {"label": "Blob", "api_key": "blob", "field_type": "json"}
        field = {"data": {"type": "field", "attributes": attributes}}
        assert (await api.post(f"/item-types/{model_id}/fields", json=field)).status_code == 201
        link = json.dumps({"item_type": {"data": {"type": "item_type", "id": model_id}}})
        record = '{"data": {"type": "item", "attributes": {"blob": [%s]}, "relationships": %s}}'
        response = await api.post("/items", content=record % (number, link))
        assert response.status_code == 422, response.text
        assert fields_of(response) == ["blob[0]"]
        listed = await api.get("/items")
        assert listed.status_code == 200
        assert listed.json()["data"] == []


@pytest.mark.anyio
async def test_a_number_past_what_python_reads_is_a_422(make_dispatcher: DispatcherFactory) -> None:
    """json.loads refuses integers of more than 4,300 digits with a ValueError that is not
    a JSONDecodeError: a 500."""
    async with make_dispatcher() as dispatcher, api_client(dispatcher) as api:
        body = '{"data": {"type": "sso_user", "attributes": {"username": %s}}}' % ("9" * 5000)
        response = await api.post("/sso-users", content=body)
        assert response.status_code == 422, response.text
        assert response.json()["data"][0]["attributes"]["code"] == "INVALID_FORMAT"
