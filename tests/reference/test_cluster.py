"""Three dispatcher processes on one PostgreSQL, one of them stopped mid-stream.

2,000 records are created through two of them while the mock receiver answers each
call after a short delay, so that every process has calls in flight. The third
delivers too, until it is killed (SIGKILL: the calls it had in flight are sent
again by the others once their lease runs out, each repeat an extra attempt) or
stopped (SIGTERM: it finishes what it sends and records it; nothing repeats).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from receiver import MockReceiver
from tests.postgres import PostgresServer
from tests.reference.content_helpers import model_body, record_body

EVENTS = 2000
TOKEN = "cluster-token"
LEASE = 6  # seconds: how long the calls of a killed process wait for another
STOP_AFTER = 400  # calls answered before the third process is stopped

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Cluster:
    """Dispatcher processes serving the API and delivering, all on one database."""

    def __init__(self, db: str, size: int, *, options: Sequence[str] = ()) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []
        self.apis: list[httpx.Client] = []
        for _ in range(size):
            port = _free_port()
            command = [sys.executable, "-m", "reference", "serve", "--db", db]
            command += ["--port", str(port), "--api-token", TOKEN, "--claim-lease", str(LEASE)]
            command += options
            self.processes.append(subprocess.Popen(command, stderr=subprocess.DEVNULL))
            self.apis.append(
                httpx.Client(
                    base_url=f"http://127.0.0.1:{port}",
                    headers={"Authorization": f"Bearer {TOKEN}"},
                    timeout=30,
                )
            )
        for api in self.apis:
            self._wait_ready(api)

    @staticmethod
    def _wait_ready(api: httpx.Client) -> None:
        give_up = time.monotonic() + 30
        while True:
            try:
                if api.get("/webhooks").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > give_up:
                raise AssertionError(f"{api.base_url} did not start")
            time.sleep(0.1)

    def close(self) -> None:
        for api in self.apis:
            api.close()
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def receiver() -> Iterator[MockReceiver]:
    with MockReceiver() as receiver:
        yield receiver


@pytest.fixture
def cluster(postgres_server: PostgresServer) -> Iterator[Cluster]:
    cluster = Cluster(postgres_server.create_database(), 3)
    try:
        yield cluster
    finally:
        cluster.close()


def _post(api: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(path, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _run(cluster: Cluster, receiver: MockReceiver, stop: signal.Signals) -> list[dict[str, Any]]:
    """Raise the events through the first two processes, stop the third mid-stream, and
    return every call once all have succeeded."""
    first, second, third = cluster.apis
    url = receiver.url_for("/hook", delay=0.1)
    webhook: dict[str, Any] = {
        "name": "cluster",
        "url": url,
        "custom_payload": None,
        "headers": {},
        "events": [{"entity_type": "item", "event_types": ["create"]}],
        "http_basic_user": None,
        "http_basic_password": None,
    }
    _post(first, "/webhooks", {"data": {"type": "webhook", "attributes": webhook}})
    model = _post(first, "/item-types", model_body(drafts=False))["data"]["id"]
    assert third.get("/webhooks").json()["data"], "the webhook is seen by every process"

    stopped_at: list[int] = []

    def create(n: int) -> None:
        _post((first, second)[n % 2], "/items", record_body(model))

    with ThreadPoolExecutor(8) as pool:
        for _ in pool.map(create, range(EVENTS)):
            if not stopped_at and receiver.count(path="/hook") >= STOP_AFTER:
                os.kill(cluster.processes[2].pid, stop)
                stopped_at.append(receiver.count(path="/hook"))
    assert stopped_at, "the third process was stopped mid-stream"
    if stop == signal.SIGTERM:
        # uvicorn ends by raising the signal again once the lifespan is over.
        assert cluster.processes[2].wait(timeout=20) in (0, -signal.SIGTERM)

    give_up = time.monotonic() + 120
    while True:
        done = first.get(
            "/webhook_calls",
            params={"filter[fields][status][eq]": "success", "page[limit]": "1"},
        ).json()["meta"]["total_count"]
        if done == EVENTS:
            break
        assert time.monotonic() < give_up, f"only {done} of {EVENTS} calls succeeded"
        time.sleep(0.25)

    calls: list[dict[str, Any]] = []
    while len(calls) < EVENTS:
        page = second.get(
            "/webhook_calls", params={"page[offset]": str(len(calls)), "page[limit]": "500"}
        ).json()
        assert page["data"], "every call is listed"
        calls += page["data"]
    return calls


def _received(receiver: MockReceiver) -> Counter[str]:
    """How many requests the receiver got for each webhook call id."""
    return Counter(
        json.loads(request.body)["webhook_call_id"] for request in receiver.requests(path="/hook")
    )


def test_a_killed_process_loses_no_call_and_only_its_calls_in_flight_repeat(
    cluster: Cluster, receiver: MockReceiver
) -> None:
    calls = _run(cluster, receiver, signal.SIGKILL)
    received = _received(receiver)
    assert len(calls) == EVENTS and len({c["id"] for c in calls}) == EVENTS
    interrupted = 0
    for call in calls:
        attempts = [(a["response_status"], a["error"]) for a in call["attributes"]["attempts"]]
        if attempts == [(200, None)]:
            assert received[call["id"]] == 1, call["id"]
        else:
            # It was in flight on the killed process: maybe sent, never recorded there;
            # sent again, with the same webhook_call_id, by another process.
            assert attempts == [(None, "interrupted"), (200, None)], attempts
            assert received[call["id"]] in (1, 2), call["id"]
            interrupted += 1
    assert interrupted, "the killed process had calls in flight"
    assert set(received) == {c["id"] for c in calls}
    repeats = sum(n - 1 for n in received.values())
    assert repeats <= interrupted


def test_a_stopped_process_finishes_its_calls_and_nothing_repeats(
    cluster: Cluster, receiver: MockReceiver
) -> None:
    calls = _run(cluster, receiver, signal.SIGTERM)
    received = _received(receiver)
    assert len(calls) == EVENTS
    for call in calls:
        attempts = [(a["response_status"], a["error"]) for a in call["attributes"]["attempts"]]
        assert attempts == [(200, None)], attempts
    assert set(received) == {c["id"] for c in calls}
    assert set(received.values()) == {1}
