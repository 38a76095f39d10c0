"""Helpers of the endpoint's tests: serving an endpoint in-process, waiting for runs."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from endpoint import Endpoint, Queue
from tests.endpoint.handlers import read_runs

Runs = list[dict[str, Any]]


@asynccontextmanager
async def serving(endpoint: Endpoint) -> AsyncIterator[httpx.AsyncClient]:
    """The endpoint started (its lifespan) and a client that talks to it in-process."""
    async with endpoint.lifespan():
        transport = httpx.ASGITransport(app=endpoint)
        async with httpx.AsyncClient(transport=transport, base_url="http://endpoint") as client:
            yield client


async def post(client: httpx.AsyncClient, body: Any, **kwargs: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await client.post("/", content=content, **kwargs)


async def wait_for_runs(log: Path, done: Callable[[Runs], bool], timeout: float = 15.0) -> Runs:
    """The runs in `log` once `done(runs)` holds; AssertionError after `timeout`."""
    give_up = time.monotonic() + timeout
    while True:
        runs = read_runs(log)
        if done(runs):
            return runs
        assert time.monotonic() < give_up, f"timed out; runs: {runs}"
        await asyncio.sleep(0.05)


def finished(runs: Runs, *calls: str) -> bool:
    """Every call of `calls` has a run that ended well."""
    return {r["call"] for r in runs if r["phase"] == "done"} >= set(calls)


def phases(runs: Runs, call: str) -> list[str]:
    return [r["phase"] for r in runs if r["call"] == call]


async def stored(queue: Queue) -> int:
    """Events the queue holds, in any state."""
    return sum((await queue.counts()).values())
