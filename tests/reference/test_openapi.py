"""`GET /openapi.json`: an OpenAPI 3.1 description of exactly the API the app serves."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route, Router

from reference.api import PUBLIC_ROUTES, openapi
from reference.api.auth import BearerAuth
from reference.app import create_api
from reference.content import builds, schema, site, uploads
from reference.webhooks import ATTRIBUTES
from tests.reference.conftest import DispatcherFactory

pytestmark = pytest.mark.anyio

Operation = tuple[str, str]


def served(routes: list[BaseRoute]) -> Iterator[Operation]:
    """(method, path) of every route, into mounts and the token check; HEAD, which
    Starlette adds to every GET, left out; `{path:path}` written `{path}`."""
    for route in routes:
        if isinstance(route, Route):
            path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
            yield from ((method, path) for method in route.methods or () if method != "HEAD")
        elif isinstance(route, Mount):
            inner = route.app.app if isinstance(route.app, BearerAuth) else route.app
            assert isinstance(inner, Router | Starlette), inner
            prefix = route.path
            yield from ((m, prefix + p) for m, p in served(list(inner.routes)))


def described(document: dict[str, Any]) -> set[Operation]:
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item}


async def test_it_lists_exactly_the_apps_routes_and_methods(
    make_dispatcher: DispatcherFactory,
) -> None:
    async with make_dispatcher() as dispatcher:
        app = create_api(dispatcher)
    routes = list(served(list(app.routes)))
    assert len(routes) == len(set(routes)), "a route is served twice"
    assert described(openapi.description()) == set(routes)


def test_it_is_valid_openapi_3_1() -> None:
    document = openapi.description()
    assert document["openapi"].startswith("3.1.")
    errors = [str(error) for error in OpenAPIV31SpecValidator(document).iter_errors()]
    assert errors == []


def test_only_the_public_routes_want_no_token() -> None:
    document = openapi.description()
    assert document["security"] == [{"bearer": []}]
    ids, without_token = [], set()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            ids.append(operation["operationId"])
            if operation.get("security") == []:
                without_token.add((method.upper(), path))
            else:
                assert "401" in operation["responses"], (method, path)
    assert len(ids) == len(set(ids)), "operation ids are not unique"
    assert without_token == set(served(PUBLIC_ROUTES))


def properties(body: dict[str, Any]) -> set[str]:
    """The attribute names a request document takes."""
    return set(body["properties"]["data"]["properties"]["attributes"]["properties"])


def test_bodies_take_the_attributes_the_api_takes() -> None:
    bodies = openapi.description()["components"]["schemas"]
    expected = {
        "create_webhook": set(ATTRIBUTES),
        "update_webhook": set(ATTRIBUTES),
        "create_model": set(schema.MODEL_ATTRIBUTES),
        "create_field": set(schema.FIELD_ATTRIBUTES),
        "update_field": set(schema.FIELD_ATTRIBUTES),
        "create_upload": set(uploads._ATTRIBUTES),
        "update_upload": set(uploads._ATTRIBUTES),
        "create_build_trigger": set(builds._ATTRIBUTES),
        "update_build_trigger": set(builds._ATTRIBUTES),
        "update_site": set(site._SITE_DEFAULTS),
        "create_sso_user": set(site._SSO_ATTRIBUTES),
    }
    for name, attributes in expected.items():
        assert properties(bodies[name]) == attributes, name
    required = bodies["create_webhook"]["properties"]["data"]["properties"]["attributes"]
    assert set(required["required"]) == {name for name, needed in ATTRIBUTES.items() if needed}


@pytest.mark.parametrize(
    ("mount", "public_url", "server"),
    [
        ("", None, "/"),
        ("/hooks-api", None, "/hooks-api"),
        ("/hooks-api", "https://hooks.example.com/api/", "https://hooks.example.com/api"),
    ],
)
async def test_it_is_served_without_the_token_for_where_the_api_is(
    make_dispatcher: DispatcherFactory, mount: str, public_url: str | None, server: str
) -> None:
    async with make_dispatcher(public_url=public_url) as dispatcher:
        host = Starlette(routes=[Mount(mount or "/", app=create_api(dispatcher))])
        transport = httpx.ASGITransport(app=host)
        async with httpx.AsyncClient(transport=transport, base_url="http://dispatcher") as client:
            response = await client.get(f"{mount}/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    assert document["servers"] == [{"url": server}]
    assert document == openapi.description(server)
