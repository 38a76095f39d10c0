"""The project's own dispatcher sends to `webhooks-endpoint serve`, both queues, over real
sockets with the dispatcher's real 5 s deadline."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reference import Dispatcher, Event, Settings
from reference.matrix import MATRIX
from reference.samples import sample_event_for
from reference.signatures import generate_secret
from tests.endpoint.handlers import read_runs
from tests.endpoint.servers import EndpointProcess

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

USER, PASSWORD = "hook", "s3cr:t"


class Receiving:
    """A running endpoint and how a webhook reaches it."""

    def __init__(self, server: EndpointProcess, secret: str) -> None:
        self.server = server
        self.secret = secret

    def webhook(self, name: str, **changes: Any) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "name": name,
            "url": self.server.url,
            "custom_payload": None,
            "headers": {},
            "events": [{"entity_type": "item", "event_types": ["create", "update"]}],
            "http_basic_user": USER,
            "http_basic_password": PASSWORD,
            "signing_secret": self.secret,
        }
        attributes.update(changes)
        return attributes


def queue_args(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> list[str]:
    if kind == "sqlite":
        return ["--db", str(tmp_path / "events.db")]
    url: str = request.getfixturevalue("redis_url")
    return ["--queue", "rq", "--redis-url", url, "--rq-queue", f"e2e-{uuid.uuid4().hex[:8]}"]


@pytest.fixture
def receiving(
    queue_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Receiving]:
    secret = generate_secret()
    args = ["--handler", "tests.endpoint.handlers:scripted", "--workers", "2"]
    args += ["--basic-auth", f"{USER}:{PASSWORD}", "--signing-secret", secret]
    args += [
        "--retry-scale",
        "0.001",
        "--path",
        "/hooks/dato",
        *queue_args(queue_kind, tmp_path, request),
    ]
    server = EndpointProcess(args, tmp_path / "endpoint.log")
    try:
        server.start()
        yield Receiving(server, secret)
    finally:
        server.close()


def dispatcher_settings(tmp_path: Path) -> Settings:
    # The real deadline (5 s); the dispatcher's own retry schedule shrunk.
    return Settings(api_token="t", db=str(tmp_path / "dispatcher.db"), retry_scale=0.001)


def record(number: int, **script: Any) -> dict[str, Any]:
    return {
        "id": str(number),
        "type": "item",
        "attributes": {"title": f"Record {number}", "script": script},
        "relationships": {},
        "meta": {"status": "draft"},
    }


async def test_the_kit_retries_the_handler_and_the_dispatcher_sees_one_success(
    receiving: Receiving, tmp_path: Path, runs_log: Path
) -> None:
    async with Dispatcher(dispatcher_settings(tmp_path)) as dispatcher:
        await dispatcher.create_webhook(receiving.webhook("kit"))
        ids = []
        for n in range(3):
            event = Event("item", "create", record(n, log=str(runs_log), fail=2))
            ids += await dispatcher.raise_event(event)
        calls = await asyncio.gather(*(dispatcher.wait_for_call(i, timeout=20) for i in ids))
        for call in calls:
            assert call.status == "success", call
            assert [a.response_status for a in call.attempts] == [202]
        # The handler failed twice and ran a third time, each call: retried by the kit.
        give_up = time.monotonic() + 30
        while sum(r["phase"] == "done" for r in read_runs(runs_log)) < 3:
            assert time.monotonic() < give_up, (read_runs(runs_log), receiving.server.output())
            await asyncio.sleep(0.1)
        runs = read_runs(runs_log)
        for call_id in ids:
            assert [r["phase"] for r in runs if r["call"] == call_id] == [
                *["start", "fail"] * 2,
                *["start", "done"],
            ]
        # A resend of a call already handled: answered 202, not run again.
        resent = await dispatcher.resend(ids[0])
        assert resent.id == ids[0]
        again = await dispatcher.wait_for_call(ids[0], "success", attempts=2, timeout=20)
        assert [a.response_status for a in again.attempts] == [202, 202]
        assert '"already_accepted"' in (again.response_payload or "")
        await asyncio.sleep(1.5)  # the run a resend would make has had its time
        assert [r["phase"] for r in read_runs(runs_log) if r["call"] == ids[0]].count("done") == 1


async def test_bad_credentials_and_signatures_are_401_and_custom_payloads_400(
    receiving: Receiving, tmp_path: Path, runs_log: Path
) -> None:
    once = {"auto_retry": False}
    cases: list[tuple[str, dict[str, Any]]] = [
        ("no auth", {"http_basic_user": None, "http_basic_password": None}),
        ("wrong password", {"http_basic_password": "wrong"}),
        ("unsigned", {"signing_secret": None}),
        ("wrong secret", {"signing_secret": generate_secret()}),
        ("custom payload", {"custom_payload": '{"hello": "{{entity.id}}"}'}),
    ]
    async with Dispatcher(dispatcher_settings(tmp_path)) as dispatcher:
        for name, changes in cases:
            await dispatcher.create_webhook(receiving.webhook(name, **changes, **once))
        ids = await dispatcher.raise_event(Event("item", "create", record(1, log=str(runs_log))))
        calls = await asyncio.gather(*(dispatcher.wait_for_call(i, timeout=20) for i in ids))
    statuses = [(c.status, c.response_status) for c in calls]
    assert statuses == [("failed", 401)] * 4 + [("failed", 400)]
    assert '"field":"entity_type"' in (calls[4].response_payload or "")
    assert read_runs(runs_log) == []  # nothing was stored, so nothing ran


async def test_every_pair_in_every_payload_version_is_accepted(
    receiving: Receiving, tmp_path: Path
) -> None:
    everything = [{"entity_type": e, "event_types": list(r.event_types)} for e, r in MATRIX.items()]
    async with Dispatcher(dispatcher_settings(tmp_path)) as dispatcher:
        for version, nested in [("1", False), ("2", False), ("3", False), ("3", True)]:
            await dispatcher.create_webhook(
                receiving.webhook(
                    f"v{version}{'+nested' if nested else ''}",
                    events=everything,
                    payload_api_version=version,
                    nested_items_in_payload=nested,
                )
            )
        events = [sample_event_for(e, v) for e, r in MATRIX.items() for v in r.event_types]
        ids = [i for found in await dispatcher.raise_events(events) for i in found]
        calls = await asyncio.gather(*(dispatcher.wait_for_call(i, timeout=30) for i in ids))
    assert len(calls) == 4 * len(events)
    assert {(c.status, c.response_status) for c in calls} == {("success", 202)}
