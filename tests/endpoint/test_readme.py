"""README's "Receiving webhooks": the example app and the commands, run as they are shown
(ports aside), with the project's own dispatcher sending to them."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from reference import Dispatcher, Event, Settings
from tests.endpoint.conftest import ROOT, free_port
from tests.test_readme import block


def _wait_for(
    output: Path, words: str, process: subprocess.Popen[bytes], timeout: float = 30
) -> None:
    give_up = time.monotonic() + timeout
    while words not in output.read_text(errors="replace"):
        assert process.poll() is None, output.read_text(errors="replace")
        assert time.monotonic() < give_up, output.read_text(errors="replace")
        time.sleep(0.05)


def _wait_until_ready(port: int) -> None:
    give_up = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health?ready=1", timeout=2):
                return
        except OSError:
            assert time.monotonic() < give_up, "the endpoint is not ready"
            time.sleep(0.05)


async def _publish_through_a_dispatcher(tmp_path: Path, port: int) -> str:
    """The README's "Create a webhook" webhook (basic auth hook / s3cr:t), pointed at
    `port`, and one record published; the call's status and HTTP status."""
    settings = Settings(api_token="t", db=str(tmp_path / "dispatcher.db"))
    async with Dispatcher(settings) as dispatcher:
        await dispatcher.create_webhook(
            {
                "name": "Rebuild the site",
                "url": f"http://127.0.0.1:{port}/hooks/rebuild",
                "custom_payload": None,
                "headers": {"X-Source": "cms"},
                "events": [{"entity_type": "item", "event_types": ["publish", "unpublish"]}],
                "http_basic_user": "hook",
                "http_basic_password": "s3cr:t",
            }
        )
        record = {"id": "42", "type": "item", "attributes": {"title": "Hello"}}
        (call_id,) = await dispatcher.raise_event(Event("item", "publish", record))
        call = await dispatcher.wait_for_call(call_id, timeout=10)
    return f"{call.status} {call.response_status}"


def test_the_example_app_receives_the_readmes_webhook(tmp_path: Path) -> None:
    (tmp_path / "example.py").write_text(block("python", "from endpoint import Endpoint"))
    port = free_port()
    output = tmp_path / "uvicorn.log"
    with output.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "example:app", "--port", str(port)],
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(output, "Uvicorn running", process)
        assert asyncio.run(_publish_through_a_dispatcher(tmp_path, port)) == "success 202"
        _wait_for(output, "rebuild: record 42 publish", process)
    finally:
        process.terminate()
        process.wait(20)
    assert (tmp_path / "events.db").exists()


def _commands(marker: str, port: int, **replace: str) -> str:
    """The README's `webhooks-endpoint serve` command of the block holding `marker`."""
    text = block("sh", marker)
    commands: list[str] = re.findall(r"webhooks-endpoint serve .*?(?<!\\)\n", text, flags=re.DOTALL)
    (command,) = commands
    command = command.replace("\\\n", " ").replace("--port 9000", f"--port {port}")
    for old, new in replace.items():
        command = command.replace(old, new)
    return command.strip()


@pytest.mark.parametrize("queue", ["sqlite", "rq"])
def test_the_serve_commands_work(
    queue: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    (tmp_path / "example.py").write_text(block("python", "from endpoint import Endpoint"))
    port = free_port()
    if queue == "sqlite":
        command = _commands("--db events.db", port)
    else:
        url: str = request.getfixturevalue("redis_url")
        name = f"readme-{uuid.uuid4().hex[:8]}"
        command = _commands("--queue rq", port, **{"redis://127.0.0.1:6379/0": url})
        command += f" --rq-queue {name}"
    output = tmp_path / "endpoint.log"
    executable = Path(sys.executable).with_name("webhooks-endpoint")
    prefix = str(executable) if executable.exists() else f"{sys.executable} -m endpoint"
    with output.open("wb") as out:
        process = subprocess.Popen(
            ["bash", "-c", "exec " + command.replace("webhooks-endpoint", prefix, 1)],
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={"PATH": str(executable.parent) + ":/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        )
    try:
        _wait_for(output, f"webhooks-endpoint on http://127.0.0.1:{port}/hooks/rebuild", process)
        _wait_until_ready(port)  # bound, then listening once the queue is open
        assert asyncio.run(_publish_through_a_dispatcher(tmp_path, port)) == "success 202"
        _wait_for(output, "rebuild: record 42 publish", process)
    finally:
        process.terminate()
        process.wait(20)
