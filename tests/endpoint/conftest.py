"""Fixtures of the receiving kit's tests: a throwaway Redis server, queues of both
backends, payloads, and the repository on the path of every process the tests start
(the CLI and RQ's workers import `tests.endpoint.handlers` by name)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from endpoint import Queue, SqliteQueue

ROOT = Path(__file__).resolve().parents[2]
KINDS = ("sqlite", "rq")
INSTALL = "apt-get install redis-server (Debian's package; nox -s tests installs it)"

QueueFactory = Callable[[], Queue]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def redis_server_binary() -> str:
    """redis-server's path; the test fails (it does not skip) when it is missing."""
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None
    )
    if found is None:
        pytest.fail(f"the RQ backend's tests need redis-server: {INSTALL}")
    return found


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis server of the tests' own, on a free loopback port, its files in a temporary
    folder, stopped at the end of the run."""
    binary = redis_server_binary()
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    command = [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(folder)]
    command += ["--save", "", "--appendonly", "no"]  # memory only: a test's Redis
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        _wait_for_redis(port, process)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def _wait_for_redis(port: int, process: subprocess.Popen[bytes]) -> None:
    give_up = time.monotonic() + 10
    while True:
        assert process.poll() is None, "redis-server exited"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        assert time.monotonic() < give_up, "redis-server did not start"
        time.sleep(0.05)


@pytest.fixture(autouse=True)
def _repository_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Processes the tests start (the CLI, RQ's workers) import the tests' handlers."""
    paths = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(dict.fromkeys(paths)))


@pytest.fixture(params=KINDS)
def queue_kind(request: pytest.FixtureRequest) -> str:
    """Each test that takes it runs on both queues. (Not named `backend`: that fixture is
    the dispatcher's store, tests/conftest.py.)"""
    kind: str = request.param
    return kind


@pytest.fixture
def make_queue(queue_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> QueueFactory:
    """`make_queue()`: a queue of the test's kind, on a fresh store (the same store each
    call within a test, as a restarted process would find it)."""
    name = f"test-{uuid.uuid4().hex[:12]}"

    def make() -> Queue:
        if queue_kind == "sqlite":
            return SqliteQueue(tmp_path / "events.db", shutdown_grace=2.0)
        from endpoint.rq import RqQueue

        url: str = request.getfixturevalue("redis_url")
        return RqQueue(url, name=name, shutdown_grace=2.0, worker_log_level="warning")

    return make


@pytest.fixture
def runs_log(tmp_path: Path) -> Path:
    """The file the tests' handlers write their runs to."""
    return tmp_path / "runs.jsonl"


def payload(call_id: str = "1", **script: Any) -> dict[str, Any]:
    """A default payload (a record update, as the dispatcher writes it) whose handler
    follows `script` (tests/endpoint/handlers.py)."""
    from reference.samples import sample_payload

    body = sample_payload()
    body["webhook_call_id"] = call_id
    body["entity"]["attributes"]["script"] = script
    return body
