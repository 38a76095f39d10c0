from __future__ import annotations

import contextlib
import socket
import time
from pathlib import Path

import anyio
import httpx
import pytest

from receiver import MockReceiver, ScriptError, ServerError, WaitTimeout
from receiver.exceptions import ConfigurationError

pytestmark = pytest.mark.anyio


def test_binds_loopback_ports_and_stops_idempotently() -> None:
    receiver = MockReceiver()
    receiver.stop()  # not started: nothing to do
    with receiver:
        assert receiver.url == f"http://127.0.0.1:{receiver.port}"
        assert receiver.fault_url == f"http://127.0.0.1:{receiver.fault_port}"
        assert receiver.port != receiver.fault_port != 0
        assert httpx.get(receiver.url + "/").status_code == 200
        with pytest.raises(ServerError, match="already started"):
            receiver.start()
    receiver.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(receiver.url + "/")


def test_a_busy_port_is_a_server_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        with pytest.raises(ServerError, match=f"port {port}"):
            MockReceiver(port=port).start()
        with pytest.raises(ServerError, match=f"port {port}"):
            MockReceiver(fault_port=port).start()


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="port"):
        MockReceiver(port=70000)
    with pytest.raises(ConfigurationError, match="body_limit"):
        MockReceiver(body_limit=-1)


def test_url_for_builds_queries_and_picks_the_listener(mock_receiver: MockReceiver) -> None:
    url = mock_receiver.url_for("/hook", status=503, header=["A:1", "B:2"], hang=True)
    assert url == mock_receiver.url + "/hook?status=503&header=A%3A1&header=B%3A2&hang=1"
    assert mock_receiver.url_for("/x", fault="reset").startswith(mock_receiver.fault_url)
    assert mock_receiver.url_for("/x", dribble="status").startswith(mock_receiver.fault_url)
    assert mock_receiver.url_for("/x", dribble="body").startswith(mock_receiver.url)
    assert mock_receiver.url_for(listener="fault") == mock_receiver.fault_url + "/"


def test_fail_twice_then_succeed_from_python(mock_receiver: MockReceiver) -> None:
    mock_receiver.script("/hook", [{"status": 500, "times": 2}, {"status": 200}], method="POST")
    statuses = [httpx.post(mock_receiver.url + "/hook").status_code for _ in range(3)]
    statuses.append(httpx.post(mock_receiver.fault_url + "/hook").status_code)
    assert statuses == [500, 500, 200, 200]
    assert [r.script_step for r in mock_receiver.requests()] == [0, 0, 1, 1]
    with pytest.raises(ScriptError, match="times"):
        mock_receiver.script("/hook", [{"status": 500, "times": -1}])


async def test_the_step_counter_is_atomic_under_concurrent_requests(
    mock_receiver: MockReceiver,
) -> None:
    mock_receiver.script("/hook", [{"status": 500, "times": 30}, {"status": 200}])
    statuses: list[int] = []
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(limits=limits) as client, anyio.create_task_group() as group:

        async def post(url: str) -> None:
            statuses.append((await client.post(url)).status_code)

        for index in range(100):
            group.start_soon(
                post, (mock_receiver.url, mock_receiver.fault_url)[index % 2] + "/hook"
            )
    assert statuses.count(500) == 30
    assert statuses.count(200) == 70


def test_script_file_is_loaded_at_start(tmp_path: Path) -> None:
    script = tmp_path / "script.yaml"
    script.write_text("routes:\n  - path: /hook\n    steps: [{status: 410}]\n")
    with MockReceiver(script=script) as receiver:
        assert httpx.post(receiver.url + "/hook").status_code == 410
    script.write_text("routes: [{path: /hook}]")
    with pytest.raises(ScriptError, match="steps"):
        MockReceiver(script=script)


def test_lean_mode_counts_only(tmp_path: Path) -> None:
    with MockReceiver(lean=True) as receiver:
        for _ in range(3):
            httpx.post(receiver.url + "/hook", content=b"x" * 1000)
        httpx.post(receiver.fault_url + "/other", content=b"x")
        assert receiver.wait_for(3, path="/hook", done=True) == []
        assert receiver.requests() == []
        assert (receiver.count(), receiver.count(path="/other")) == (4, 1)
        listing = httpx.get(receiver.url + "/_receiver/requests").json()
        assert listing == {"count": 4, "lean": True, "requests": []}


def test_wait_for_times_out(mock_receiver: MockReceiver) -> None:
    started = time.monotonic()
    with pytest.raises(WaitTimeout, match="saw 0"):
        mock_receiver.wait_for(1, timeout=0.1)
    assert time.monotonic() - started < 1


def test_clear_and_reset(mock_receiver: MockReceiver) -> None:
    mock_receiver.script("/hook", [{"status": 500}])
    httpx.post(mock_receiver.url + "/hook")
    mock_receiver.clear()
    assert mock_receiver.requests() == []
    assert httpx.post(mock_receiver.url + "/hook").status_code == 500
    mock_receiver.reset()
    assert mock_receiver.requests() == []
    assert httpx.post(mock_receiver.url + "/hook").status_code == 200


def test_times_come_from_the_clock() -> None:
    with MockReceiver(clock=lambda: 1234.5) as receiver:
        httpx.post(receiver.url + "/hook?retry_after_date=60&status=503")
        [record] = receiver.wait_for(1, done=True)
    assert (record.received_at, record.answered_at) == (1234.5, 1234.5)


async def test_many_hung_requests_do_not_slow_a_plain_one(mock_receiver: MockReceiver) -> None:
    hung = {
        "app": ["hang=1", "dribble=body&dribble_interval=0.05"],
        "fault": ["hang=1", "dribble=headers&dribble_interval=0.05"],
    }
    urls = [
        f"{mock_receiver.url if listener == 'app' else mock_receiver.fault_url}/hung?{query}"
        for listener, queries in hung.items()
        for query in queries
    ]
    limits = httpx.Limits(max_connections=200)
    async with (
        httpx.AsyncClient(timeout=10, limits=limits) as hanging,
        httpx.AsyncClient() as plain,
        anyio.create_task_group() as group,
    ):

        async def hang(url: str) -> None:
            # the app answers 503 when it stops; the fault listener hangs up
            with contextlib.suppress(httpx.HTTPError):
                assert (await hanging.post(url)).status_code == 503

        for index in range(100):
            group.start_soon(hang, urls[index % len(urls)])
        await mock_receiver.wait_for_async(100, path="/hung")
        for _ in range(3):
            started = time.monotonic()
            response = await plain.post(mock_receiver.url + "/plain")
            assert response.status_code == 200
            assert time.monotonic() - started < 0.1
        started = time.monotonic()
        await anyio.to_thread.run_sync(mock_receiver.stop)
        assert time.monotonic() - started < 2
    outcomes = {record.outcome for record in mock_receiver.requests(path="/hung")}
    assert outcomes == {"stopped"}
