"""A dispatcher killed with SIGKILL loses no call: the next start (or, on a shared
database, another process once the lease runs out) sends what was due, and the attempt
the killed process had in flight shows as `interrupted`."""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import NewDatabase

EVENTS = 20
TOKEN = "restart-token"
#: the claims' lease: on a shared database the calls of the killed process wait this long
LEASE = 6

RAISE = textwrap.dedent(
    """
    import asyncio, sys
    from reference.dispatcher import Dispatcher
    from reference.events import Event
    from reference.settings import Settings

    async def main(db, url, count):
        settings = Settings(api_token="t", db=db, claim_lease=LEASE)
        async with Dispatcher(settings) as dispatcher:
            await dispatcher.create_webhook({
                "name": "restart", "url": url, "custom_payload": None, "headers": {},
                "events": [{"entity_type": "item", "event_types": ["create"]}],
                "http_basic_user": None, "http_basic_password": None,
            })
            for i in range(count):
                await dispatcher.raise_event(
                    Event("item", "create", {"id": str(i), "type": "item"})
                )
            while dispatcher.delivery.in_flight < count:  # every call is being sent
                await asyncio.sleep(0.01)
            print("raised", flush=True)
            await asyncio.Event().wait()

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
    """
).replace("LEASE", str(LEASE))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Server(http.server.ThreadingHTTPServer):
    request_queue_size = 128  # the dispatcher opens many connections at once


class _Counter(http.server.BaseHTTPRequestHandler):
    bodies: list[dict[str, Any]]
    done: threading.Event

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.bodies.append(json.loads(body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
        if len(self.bodies) >= EVENTS:
            self.done.set()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def port() -> int:
    return _free_port()


@pytest.fixture
def receiver(port: int) -> Iterator[type[_Counter]]:
    """A receiver on `port` that starts only when the test asks (`.start()`)."""
    handler = type("Handler", (_Counter,), {"bodies": [], "done": threading.Event()})
    servers: list[_Server] = []

    def start() -> None:
        server = _Server(("127.0.0.1", port), handler)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()

    handler.start = staticmethod(start)  # type: ignore[attr-defined]
    yield handler
    for server in servers:
        server.shutdown()
        server.server_close()


def _get(url: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


@pytest.mark.every_backend
def test_calls_in_flight_at_sigkill_are_sent_after_restart(
    tmp_path: Path, port: int, receiver: Any, new_db: NewDatabase
) -> None:
    db = new_db()
    url = f"http://127.0.0.1:{port}/hook"
    # Phase 1: a listener that never accepts, so every call hangs in flight.
    black_hole = socket.socket()
    black_hole.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    black_hole.bind(("127.0.0.1", port))
    black_hole.listen(64)
    script = tmp_path / "raise.py"
    script.write_text(RAISE)
    first = subprocess.Popen(
        [sys.executable, str(script), db, url, str(EVENTS)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert first.stdout is not None
        assert first.stdout.readline().strip() == "raised"
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        if first.stdout:
            first.stdout.close()
    black_hole.close()

    # Phase 2: the receiver answers; a new dispatcher on the same database.
    receiver.start()
    api_port = _free_port()
    second = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reference",
            "serve",
            "--db",
            db,
            "--port",
            str(api_port),
            "--api-token",
            TOKEN,
            "--claim-lease",
            str(LEASE),
        ],
        stderr=subprocess.DEVNULL,
    )
    try:
        assert receiver.done.wait(timeout=30), f"only {len(receiver.bodies)} calls arrived"
        listing = f"http://127.0.0.1:{api_port}/webhook_calls?page[limit]=100"
        calls = _get(listing)
        # Outcomes are written in a batch just after the answers; the API has no wait.
        for _ in range(200):
            if all(c["attributes"]["status"] == "success" for c in calls["data"]):
                break
            threading.Event().wait(0.05)
            calls = _get(listing)
    finally:
        second.terminate()
        second.wait(timeout=10)
    assert calls["meta"]["total_count"] == EVENTS
    assert sorted(int(b["entity"]["id"]) for b in receiver.bodies) == list(range(EVENTS))
    for call in calls["data"]:
        attempts = call["attributes"]["attempts"]
        # The attempt in flight when the process died, then the one that was answered.
        assert [(a["trigger"], a["response_status"], a["error"]) for a in attempts] == [
            ("event", None, "interrupted"),
            ("event", 200, None),
        ]
