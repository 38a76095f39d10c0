from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from reference.app import create_api
from reference.dispatcher import Dispatcher
from reference.settings import Settings
from tests.conftest import NewDatabase
from tests.network import FakeNetwork

Handler = Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]
TOKEN = "test-token"


class Recorder:
    """A handler of the fake network (tests/network.py): records the requests and answers
    `status` (or the next of `statuses`)."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.status = 200
        self.statuses: list[int] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        status = self.statuses.pop(0) if self.statuses else self.status
        return httpx.Response(status, headers={"X-Receiver": "yes"}, text=f"answer {status}")

    def payloads(self) -> list[dict[str, Any]]:
        import json

        return [json.loads(r.content) for r in self.requests]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


DispatcherFactory = Callable[..., Any]


@pytest.fixture
def make_dispatcher(new_db: NewDatabase, tmp_path: Path) -> DispatcherFactory:
    """`async with make_dispatcher(handler, **settings) as dispatcher:` on a fresh database
    of the test's backend (`db` names it: the same name, the same database)."""

    @asynccontextmanager
    async def make(
        handler: Handler | None = None, *, db: str = "webhooks.db", **settings: Any
    ) -> AsyncIterator[Dispatcher]:
        values: dict[str, Any] = {
            "api_token": TOKEN,
            "db": new_db(db),
            "files_dir": str(tmp_path / f"{db}-files"),
            "site_id": "4242",
            "retry_scale": 0.001,
        }
        values.update(settings)
        if handler is None:  # the real network: tests point webhooks at a mock receiver
            async with Dispatcher(Settings(**values)) as dispatcher:
                yield dispatcher
            return
        async with (
            FakeNetwork(handler) as network,
            Dispatcher(
                Settings(**values), resolver=network.resolver, ssl_context=network.ssl_context
            ) as dispatcher,
        ):
            yield dispatcher

    return make


def api_client(dispatcher: Dispatcher, token: str = TOKEN) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_api(dispatcher)),
        base_url="http://dispatcher",
        headers={"Authorization": f"Bearer {token}"},
    )
