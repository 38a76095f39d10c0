from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest

from receiver.exceptions import WaitTimeout
from receiver.recording import RecordedRequest, RequestLog


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _request(path: str = "/hook", method: str = "POST", body: bytes = b"{}") -> RecordedRequest:
    return RecordedRequest(
        seq=0,
        connection=1,
        listener="app",
        method=method,
        path=path,
        query="",
        headers=(("x-a", "1"), ("x-a", "2")),
        body=body,
        body_size=len(body),
        body_truncated=False,
        client=("127.0.0.1", 5000),
        received_at=1000.0,
    )


def test_sequence_numbers_go_on_after_clear() -> None:
    log = RequestLog()
    assert log.record(_request()) == 1
    assert log.record(_request()) == 2
    log.clear()
    assert log.requests() == []
    assert log.record(_request()) == 3
    assert [record.seq for record in log.requests()] == [3]


def test_filters() -> None:
    log = RequestLog()
    log.record(_request("/a", "POST"))
    log.record(_request("/b", "GET"))
    log.record(_request("/a", "GET"))
    assert [r.seq for r in log.requests(path="/a")] == [1, 3]
    assert [r.seq for r in log.requests(method="get")] == [2, 3]
    assert [r.seq for r in log.requests(path="/a", since=1)] == [3]
    assert log.count(path="/a", method="POST") == 1


def test_the_first_outcome_stays_with_its_time() -> None:
    clock = FakeClock()
    log = RequestLog(clock=clock)
    seq = log.record(_request())
    clock.now = 1001.5
    log.finish(seq, "abandoned", status=200)
    clock.now = 1003.0
    log.finish(seq, "stopped")
    [record] = log.requests()
    assert (record.outcome, record.abandoned_at, record.answered_at) == ("abandoned", 1001.5, None)
    assert record.status == 200
    log.finish(99, "answered")  # unknown (cleared) requests are ignored


def test_headers_keep_order_and_duplicates() -> None:
    log = RequestLog()
    log.record(_request())
    [record] = log.requests()
    assert record.header_values("X-A") == ["1", "2"]
    assert record.header("x-a") == "1"
    assert record.header("missing") is None


def test_json_form_uses_base64_for_binary_bodies() -> None:
    text = _request(body='{"é": 1}'.encode()).to_json()
    assert (text["body"], text["body_encoding"]) == ('{"é": 1}', "utf-8")
    assert text["headers"] == [["x-a", "1"], ["x-a", "2"]]
    binary = _request(body=b"\xff\x00").to_json()
    assert (binary["body"], binary["body_encoding"]) == ("/wA=", "base64")


def test_lean_mode_counts_without_keeping_requests() -> None:
    log = RequestLog(lean=True)
    assert log.body_limit == 0
    seq = log.record(_request("/a"))
    log.record(_request("/b"))
    assert log.requests() == []
    assert log.count() == 2
    assert log.count(path="/a") == 1
    assert log.count(done=True) == 0
    log.finish(seq, "answered")
    assert log.count(path="/a", done=True) == 1
    started = time.monotonic()
    assert log.wait_for(2, timeout=5) == []  # an empty list is success: no waiting
    assert time.monotonic() - started < 1
    with pytest.raises(WaitTimeout):
        log.wait_for(3, timeout=0)


def test_connections_are_numbered_by_client_address() -> None:
    log = RequestLog()
    first = log.connection_for(("127.0.0.1", 5000))
    assert log.connection_for(("127.0.0.1", 5000)) == first
    second = log.connection_for(("127.0.0.1", 5001))
    assert second != first
    assert log.new_connection() not in (first, second)


def test_wait_for_wakes_when_a_thread_records() -> None:
    log = RequestLog()
    recorder = threading.Timer(0.05, lambda: log.record(_request()))
    recorder.start()
    try:
        [record] = log.wait_for(1, path="/hook", timeout=5)
    finally:
        recorder.join()
    assert record.seq == 1


def test_wait_for_done_waits_for_the_outcome() -> None:
    log = RequestLog()
    seq = log.record(_request())
    with pytest.raises(WaitTimeout, match="finished request"):
        log.wait_for(1, done=True, timeout=0.01)
    log.finish(seq, "answered")
    assert len(log.wait_for(1, done=True, timeout=0)) == 1


def test_wait_for_times_out_with_what_it_saw() -> None:
    log = RequestLog()
    log.record(_request())
    with pytest.raises(WaitTimeout) as caught:
        log.wait_for(2, path="/hook", method="POST", timeout=0.01)
    assert (caught.value.expected, caught.value.seen) == (2, 1)
    assert "POST /hook" in str(caught.value)


def test_wait_for_async_is_woken_from_another_thread() -> None:
    log = RequestLog()

    async def main() -> list[RecordedRequest]:
        loop = asyncio.get_running_loop()
        loop.call_later(
            0.05, lambda: threading.Thread(target=log.record, args=(_request(),)).start()
        )
        return await log.wait_for_async(1, timeout=5)

    assert len(asyncio.run(main())) == 1

    async def too_few() -> None:
        await log.wait_for_async(2, timeout=0.01)

    with pytest.raises(WaitTimeout):
        asyncio.run(too_few())


def test_each_finished_request_is_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    import httpx

    from receiver import MockReceiver

    caplog.set_level(logging.INFO, logger="receiver")
    with MockReceiver() as receiver:
        httpx.post(receiver.url_for("/hook", status=503), content=b"{}")
        receiver.wait_for(1, done=True)
    lines = [r for r in caplog.records if r.name == "receiver"]
    assert [r.getMessage() for r in lines] == ["request 1: POST /hook 503 (answered)"]
    assert getattr(lines[0], "fields")["status"] == 503  # noqa: B009
