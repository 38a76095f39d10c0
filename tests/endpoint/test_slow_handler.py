"""A handler that takes 30 s, behind the dispatcher's real 5 s deadline: every call is a
`success` in the dispatcher's log, because the endpoint answers `202` once the event is
stored, and the handler runs later (contract §10). Both queues in one run, side by side,
so that the 30 s are waited once."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest

from reference import Dispatcher, Event, Settings
from tests.endpoint.handlers import read_runs
from tests.endpoint.servers import EndpointProcess

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

HANDLER_SECONDS = 30
CALLS = 3  # per queue, all running at once (3 workers each)


async def test_a_30_second_handler_leaves_every_call_a_success(
    tmp_path: Path, runs_log: Path, redis_url: str
) -> None:
    common = ["--handler", "tests.endpoint.handlers:scripted", "--workers", str(CALLS)]
    rq = ["--queue", "rq", "--redis-url", redis_url, "--rq-queue", f"slow-{uuid.uuid4().hex[:8]}"]
    servers = [
        EndpointProcess([*common, "--db", str(tmp_path / "events.db")], tmp_path / "sqlite.log"),
        EndpointProcess([*common, *rq], tmp_path / "rq.log"),
    ]
    settings = Settings(api_token="t", db=str(tmp_path / "dispatcher.db"))
    assert settings.deadline == 5.0  # the real one
    try:
        for server in servers:
            server.start()
        async with Dispatcher(settings) as dispatcher:
            for kind, server in zip(("sqlite", "rq"), servers, strict=True):
                await dispatcher.create_webhook(
                    {
                        "name": kind,
                        "url": server.url,
                        "custom_payload": None,
                        "headers": {},
                        "events": [{"entity_type": "item", "event_types": ["create"]}],
                        "http_basic_user": None,
                        "http_basic_password": None,
                    }
                )
            ids: list[str] = []
            started = time.monotonic()
            for n in range(CALLS):
                entity = {
                    "id": str(n),
                    "type": "item",
                    "attributes": {"script": {"log": str(runs_log), "sleep": HANDLER_SECONDS}},
                }
                ids += await dispatcher.raise_event(Event("item", "create", entity))
            calls = await asyncio.gather(*(dispatcher.wait_for_call(i, timeout=10) for i in ids))
            answered = time.monotonic() - started
        assert len(calls) == 2 * CALLS
        for call in calls:
            assert (call.status, call.response_status, call.error) == ("success", 202, None)
            assert [a.duration_ms < 1000 for a in call.attempts] == [True]
        assert answered < 10
        # Meanwhile the handlers run, and each ends once, about 30 s later.
        give_up = started + HANDLER_SECONDS + 30
        while sum(r["phase"] == "done" for r in read_runs(runs_log)) < 2 * CALLS:
            assert time.monotonic() < give_up, [s.output() for s in servers]
            await asyncio.sleep(0.5)
        runs = read_runs(runs_log)
        assert sorted(r["call"] for r in runs if r["phase"] == "done") == sorted(ids)
        assert sorted(r["call"] for r in runs if r["phase"] == "start") == sorted(ids)
        first = min(r["at"] for r in runs if r["phase"] == "start")
        last = max(r["at"] for r in runs if r["phase"] == "done")
        assert last - first >= HANDLER_SECONDS
    finally:
        for server in servers:
            server.close()
