"""Every operation of the API's OpenAPI description, fuzzed with schemathesis against a
live in-process app on a fresh SQLite dispatcher (contract §1):

- no input is answered with a 5xx, and answers match the description (status, media
  type, document shape);
- every 4xx is a JSON:API error document, whose `details.field` names the attribute
  or parameter at fault when the fault is in the body or the query (a body that is not
  JSON has none; 401, 404, 405 and 413 are about the request as a whole);
- a request answered 4xx leaves the store as it was: every content list, the webhooks
  and the number of calls.

The app runs with its lifespan (the dispatcher started) in schemathesis's own event
loop thread; names resolve nowhere, so the calls the fuzzed webhooks make fail at once.
Path ids and the `X-Environment` header are half the time ones that exist, so the
fuzzer reaches past the 404s.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any, cast

import pytest
import requests
import schemathesis
from aiohttp.abc import AbstractResolver, ResolveResult
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.python import asgi
from starlette.applications import Starlette

from reference.api.openapi import description
from reference.app import create_app
from reference.matrix import MATRIX
from reference.settings import Settings

Case = schemathesis.Case[Any]

TOKEN = "fuzz-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

CONFIG = schemathesis.Config.from_dict(
    {
        "headers": AUTH,
        "generation": {
            "max-examples": 40,
            "deterministic": True,
            "database": "none",
            "with-security-parameters": False,
        },
        "phases": {"stateful": {"enabled": False}},
        "checks": {
            "enabled": False,
            "not_a_server_error": {"enabled": True},
            "status_code_conformance": {"enabled": True},
            "content_type_conformance": {"enabled": True},
            "response_schema_conformance": {"enabled": True},
            "response_headers_conformance": {"enabled": True},
            "negative_data_rejection": {"enabled": True},
        },
    }
)
schema = schemathesis.openapi.from_dict(description(), config=CONFIG)


class _Nowhere(AbstractResolver):
    """No name resolves: a fuzzed webhook's call fails without leaving the machine."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        raise OSError(f"{host}: no network in this test")

    async def close(self) -> None:
        pass


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Starlette]:
    """A fresh, seeded app for each operation (schemathesis ends an app's lifespan with
    the test that started it)."""
    folder = tmp_path
    settings = Settings(
        api_token=TOKEN,
        db=str(folder / "webhooks.db"),
        files_dir=str(folder / "files"),
        site_id="4242",
        retry_scale=0.001,
    )
    application = create_app(settings, resolver=_Nowhere())
    with client_of(application) as client:  # starts the lifespan: the dispatcher runs
        _seed(Api(client))
    yield application
    asgi.shutdown_lifespans()


def client_of(app: Starlette) -> asgi.ASGIClient:
    """A `requests` session on the app, in schemathesis's event loop thread, with the token."""
    # Starlette's ASGI types are Mutable/Mapping where schemathesis's are dicts: the same app.
    client = asgi.get_client(cast(Any, app))
    client.headers.update(AUTH)
    return client


class Api:
    """Plain calls to the app, to seed it and to read its state."""

    def __init__(self, client: requests.Session) -> None:
        self.client = client

    def call(self, method: str, path: str, body: Any = None, environment: str | None = None) -> Any:
        headers = {"X-Environment": environment} if environment else {}
        response = self.client.request(method, path, json=body, headers=headers)
        assert response.status_code < 300, (method, path, response.text)
        return response.json() if response.content else None

    def data(self, path: str, environment: str | None = None) -> Any:
        return self.call("GET", path, environment=environment)["data"]

    def create(self, path: str, kind: str, attributes: dict[str, Any], **more: Any) -> str:
        body = {"data": {"type": kind, "attributes": attributes, **more}}
        return str(self.call("POST", path, body)["data"]["id"])


def _seed(api: Api) -> None:
    """One of each resource, so that the fuzzer finds things to show, change and delete."""
    api.create(
        "/webhooks",
        "webhook",
        {
            "name": "everything",
            "url": "https://receiver.invalid/hook",
            "custom_payload": None,
            "headers": {},
            "events": [
                {"entity_type": entity, "event_types": events}
                for entity, events in {
                    "item": ["create", "update", "delete", "publish", "unpublish"],
                    "item_type": ["create", "update", "delete"],
                    "upload": ["create", "update", "delete"],
                    "environment": ["create", "update", "promote", "delete"],
                }.items()
            ],
            "http_basic_user": None,
            "http_basic_password": None,
        },
    )
    block = api.create(
        "/item-types", "item_type", {"name": "Block", "api_key": "block", "modular_block": True}
    )
    api.create(
        f"/item-types/{block}/fields",
        "field",
        {"label": "Text", "api_key": "text", "field_type": "string"},
    )
    model = api.create(
        "/item-types",
        "item_type",
        {"name": "Article", "api_key": "article", "draft_mode_active": True},
    )
    for key, kind in [
        ("title", "string"),
        ("count", "integer"),
        ("cover", "file"),
        ("body", "rich_text"),
    ]:
        api.create(
            f"/item-types/{model}/fields",
            "field",
            {"label": key, "api_key": key, "field_type": kind},
        )
    requested = api.call(
        "POST",
        "/upload-requests",
        {"data": {"type": "upload_request", "attributes": {"filename": "a.txt"}}},
    )
    url = requested["data"]["attributes"]["url"]
    path = requested["data"]["id"]
    assert api.client.put(url, data=b"hello").status_code == 200
    upload = api.create("/uploads", "upload", {"path": path})
    link = {"item_type": {"data": {"type": "item_type", "id": model}}}
    api.create("/items", "item", {"title": "One", "count": 1, "cover": upload}, relationships=link)
    api.create("/items", "item", {"title": "Two"}, relationships=link)
    api.create("/build-triggers", "build_trigger", {"name": "CI", "adapter": "custom"})
    api.create("/sso-users", "sso_user", {"username": "someone"})
    api.call("POST", "/environments/main/fork", {"data": {"type": "environment", "id": "sandbox"}})


def snapshot(api: Api) -> dict[str, Any]:
    """What a refused request must not change: every list the API has, and the number of
    calls (but those of CDA cache tags, which a background task raises on its own time)."""
    state: dict[str, Any] = {
        path: api.data(path)
        for path in ("/webhooks", "/environments", "/build-triggers", "/sso-users", "/site")
    }
    state["maintenance"] = api.data("/maintenance-mode")
    count = "/webhook_calls?page[limit]=1&filter[fields][entity_type][eq]="
    state["calls"] = {
        entity: api.call("GET", count + entity)["meta"]["total_count"]
        for entity in MATRIX
        if entity != "cda_cache_tags"
    }
    for environment in (e["id"] for e in state["/environments"]):
        models = api.data("/item-types", environment)
        state[f"{environment}: models"] = models
        for model in models:
            fields = api.data(f"/item-types/{model['id']}/fields", environment)
            state[f"{environment}: fields of {model['id']}"] = fields
        for path in ("/items", "/uploads"):
            state[f"{environment}: {path}"] = api.data(f"{path}?page[limit]=500", environment)
    return state


def known(api: Api, path: str, environment: str | None) -> list[str]:
    """The values of the path parameter of `path` that name something that exists."""
    head = path.split("/")[1]
    if head == "environments":
        return [e["id"] for e in api.data("/environments")]
    if head == "deploy-results":
        return [t["attributes"]["webhook_token"] for t in api.data("/build-triggers")]
    if head in ("webhooks", "webhook_calls", "build-triggers", "sso-users"):
        return [r["id"] for r in api.data(f"/{head}")]
    try:
        if head == "fields":
            models = api.data("/item-types", environment)
            return [f["id"] for m in models for f in m["relationships"]["fields"]["data"]]
        if head == "files":
            uploads = api.data("/uploads", environment)
            return [u["attributes"]["path"].lstrip("/") for u in uploads]
        return [r["id"] for r in api.data(f"/{head}", environment)]
    except AssertionError:  # an environment that does not exist
        return []


def _existing(case: Case, api: Api, data: st.DataObject) -> None:
    """Half the time, the environment, the path's id and a record's model are ones that
    exist. (An index is drawn, not an element of the list, whose length changes: the
    strategy stays the same from one example to the next.)"""

    def pick(values: list[str], label: str) -> str | None:
        if not data.draw(st.booleans(), f"existing {label}"):
            return None
        index = data.draw(st.integers(min_value=0, max_value=1000), label)
        return values[index % len(values)] if values else None

    headers: MutableMapping[str, Any] = case.headers or {}
    if "X-Environment" in headers:
        environment = pick([e["id"] for e in api.data("/environments")], "environment")
        headers["X-Environment"] = environment or headers["X-Environment"]
    environment = headers.get("X-Environment")
    for name in case.path_parameters or {}:
        value = pick(known(api, case.path, environment), name)
        case.path_parameters[name] = value or case.path_parameters[name]
    model = _model_link(case.body)
    if model is not None:
        models = known(api, "/item-types", environment)
        model["id"] = pick(models, "model") or model["id"]


def _model_link(body: object) -> dict[str, Any] | None:
    """The `{"type": "item_type", "id": ...}` of a record's body, if it has one."""
    for key in ("data", "relationships", "item_type", "data"):
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body if isinstance(body, dict) and "id" in body else None


def _unreadable(case: Case, body: object) -> bool:
    """Whether the operation reads a body and this one is not JSON (or not at all)."""
    if not case.operation.body:
        return False
    try:
        json.loads(body if isinstance(body, bytes | str) else b"")
    except (ValueError, RecursionError):
        return True
    return False


def check_error(case: Case, response: schemathesis.Response) -> None:
    """A 4xx is a JSON:API error document; in a 409 or 422, each error names the field at
    fault (an attribute, a parameter), unless the body could not be read at all."""
    document = response.json()
    assert document["data"], document
    for error in document["data"]:
        assert error["type"] == "api_error", document
        attributes = error["attributes"]
        assert attributes["code"], document
        assert attributes["details"]["message"], document
        if response.status_code in (409, 422) and not _unreadable(case, response.request.body):
            # (an attribute may be named "", and is named so)
            assert isinstance(attributes["details"].get("field"), str), f"no field: {document}"


@schema.parametrize()
@schema.given(data=st.data())
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_operation(case: Case, data: st.DataObject, app: Starlette) -> None:
    with client_of(app) as client:
        api = Api(client)
        _existing(case, api, data)
        writes = case.method.upper() != "GET"
        before = snapshot(api) if writes else None
        response = case.call(app=app)
        case.validate_response(response)
        if 400 <= response.status_code < 500:
            check_error(case, response)
            if before is not None:
                assert snapshot(api) == before, "a refused request changed the store"
