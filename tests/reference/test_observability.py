"""What the servers say: a log line per request and per attempt, `/health`, `/metrics`."""

from __future__ import annotations

import io
import json
import logging
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from reference import Dispatcher, Event, Settings, create_api, create_app
from reference.logs import configure_logging
from tests.reference.conftest import TOKEN, DispatcherFactory, Recorder, api_client
from tests.reference.factories import webhook_attributes

pytestmark = pytest.mark.anyio


async def _one_call(dispatcher: Dispatcher, url: str) -> str:
    """One call to a new webhook (no retries), answered; the webhook is then deleted."""
    webhook = await dispatcher.create_webhook(
        webhook_attributes(name=f"to {url}", url=url, auto_retry=False)
    )
    (call_id,) = await dispatcher.raise_event(
        Event("item", "create", {"id": "1", "type": "item", "attributes": {}})
    )
    await dispatcher.wait_for_call(call_id)
    await dispatcher.delete_webhook(webhook.id)
    return call_id


async def test_health_needs_no_token_and_ready_checks_the_store(tmp_path: Path) -> None:
    settings = Settings(api_token=TOKEN, db=str(tmp_path / "w.db"))
    dispatcher = Dispatcher(settings)
    transport = httpx.ASGITransport(app=create_api(dispatcher))
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        # The store is not open yet: alive, not ready.
        assert (await client.get("/health")).json() == {"status": "ok"}
        closed = await client.get("/health?ready=1")
        assert closed.status_code == 503
        assert closed.json()["status"] == "unavailable"
        async with dispatcher:
            ready = await client.get("/health?ready=1")
            assert (ready.status_code, ready.json()) == (200, {"status": "ok", "store": "ok"})


async def test_metrics_count_attempts_by_outcome_and_error(
    make_dispatcher: DispatcherFactory,
) -> None:
    recorder = Recorder()
    recorder.statuses = [200]
    recorder.status = 503
    async with make_dispatcher(recorder) as dispatcher, api_client(dispatcher, "") as client:
        await _one_call(dispatcher, "https://ok.example.com/secret-path")
        await _one_call(dispatcher, "https://down.example.com/")
        response = await client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        text = response.text
        assert 'webhooks_delivery_attempts_total{error="",outcome="success"} 1.0' in text
        assert 'webhooks_delivery_attempts_total{error="",outcome="failure"} 1.0' in text
        assert "webhooks_attempt_duration_seconds_count 2.0" in text
        assert "webhooks_calls_in_flight 0.0" in text
        assert "webhooks_calls_due " in text
        assert "webhooks_oldest_due_call_age_seconds " in text
        assert 'webhooks_calls_finished_total{status="success"} 1.0' in text
        assert 'webhooks_calls_finished_total{status="failed"} 1.0' in text
        # counts only: no URLs, no webhook ids, no token
        assert "example.com" not in text and "secret" not in text and "webhook=" not in text


async def test_metrics_behind_their_own_token_have_per_webhook_series(
    make_dispatcher: DispatcherFactory,
) -> None:
    async with (
        make_dispatcher(Recorder(), metrics_token="m3trics") as dispatcher,
        api_client(dispatcher, "") as client,
    ):
        await _one_call(dispatcher, "https://ok.example.com/")
        refused = await client.get("/metrics")
        assert refused.status_code == 401
        assert refused.json()["data"][0]["attributes"]["code"] == "UNAUTHORIZED"
        wrong = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert wrong.status_code == 401
        shown = await client.get("/metrics", headers={"Authorization": "Bearer m3trics"})
        assert 'outcome="success",webhook="1"} 1.0' in shown.text


async def test_each_attempt_is_one_log_line(
    make_dispatcher: DispatcherFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="reference.delivery")
    recorder = Recorder()
    recorder.status = 503
    async with make_dispatcher(recorder) as dispatcher:
        call_id = await _one_call(dispatcher, "https://down.example.com/")
    (line,) = [r for r in caplog.records if r.name == "reference.delivery"]
    fields = getattr(line, "fields")  # noqa: B009
    took = fields["duration_ms"]
    assert line.getMessage() == f"call {call_id} to webhook 1: 503 in {took} ms, failed"
    assert (fields["call_id"], fields["webhook_id"], fields["status"]) == (call_id, "1", 503)
    assert (fields["error"], fields["call_status"], fields["trigger"]) == (None, "failed", "event")


async def test_each_request_is_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="reference.access")
    app = create_app(Settings(api_token=TOKEN, db=str(tmp_path / "w.db")))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://x") as client,
    ):
        await client.get("/webhooks?page[limit]=1", headers={"Authorization": f"Bearer {TOKEN}"})
        await client.get("/items")
    lines = [r for r in caplog.records if r.name == "reference.access"]
    assert [r.getMessage().rsplit(" in ", 1)[0] for r in lines] == [
        "GET /webhooks 200",
        "GET /items 401",
    ]
    assert "page" not in lines[0].getMessage()  # query strings are left out


def test_json_log_lines(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "json")
    logging.getLogger("reference.delivery").info(
        "call 1 to webhook 2: 200", extra={"fields": {"call_id": "1", "status": 200}}
    )
    logging.getLogger("reference.delivery").debug("not at info")
    (line,) = capsys.readouterr().err.splitlines()
    document = json.loads(line)
    assert document["level"] == "info" and document["logger"] == "reference.delivery"
    assert (document["message"], document["call_id"], document["status"]) == (
        "call 1 to webhook 2: 200",
        "1",
        200,
    )


def test_configuring_twice_keeps_one_handler(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "text")
    configure_logging("warning", "text")
    logging.getLogger("reference.access").warning("once")
    assert capsys.readouterr().err.count("once") == 1


def _serve(*args: str, cwd: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "reference", *args, "--api-token", TOKEN]
    return subprocess.Popen(command, cwd=cwd, stderr=subprocess.PIPE, text=True)


def test_serve_prints_the_port_it_got(tmp_path: Path) -> None:
    server = _serve("serve", "--port", "0", cwd=tmp_path)
    with server:
        assert server.stderr is not None
        first = server.stderr.readline()
        assert first.startswith("webhooks-dispatcher on http://127.0.0.1:")
        port = int(first.rsplit(":", 1)[1])
        assert port != 0
        assert httpx.get(f"http://127.0.0.1:{port}/health").json() == {"status": "ok"}
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.parametrize("command", [["serve"], ["demo", "--serve"]])
def test_a_busy_port_is_a_one_line_error_at_once(tmp_path: Path, command: list[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        run = subprocess.run(
            [sys.executable, "-m", "reference", *command, "--port", str(port)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert run.returncode == 2
    assert run.stderr.strip() == (
        f"webhooks-dispatcher: --port {port}: cannot listen on 127.0.0.1: Address already in use"
    )
    assert run.stdout == ""  # the demo did not run
    assert time.monotonic() - started < 10


def test_log_lines_go_to_stderr_as_it_is_when_they_are_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A host (or a test runner) that swaps stderr and closes the old one gets the lines,
    and nothing is written to the closed stream."""
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging("info", "text")
    first.close()
    monkeypatch.setattr(sys, "stderr", second)
    logging.getLogger("reference.access").info("after the swap")
    assert second.getvalue().count("after the swap") == 1
    assert "Logging error" not in second.getvalue()
