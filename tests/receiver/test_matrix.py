"""The self-test matrix: each behaviour and fault does to an httpx client what it should."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import anyio
import httpx
import pytest

from receiver import MockReceiver
from receiver.recording import Listener, Outcome

pytestmark = pytest.mark.anyio

READ_TIMEOUT = 0.5  # httpx's per-operation timeout in these tests ...
DRIBBLE = 0.2  # ... is never reached by a piece every 0.2 s ...
DEADLINE = 1.0  # ... but the overall deadline cuts it off


@dataclass(frozen=True)
class Case:
    """A behaviour, the listener that plays it, and what the client sees."""

    params: dict[str, str | int | float] = field(default_factory=dict)
    listener: Listener = "app"
    status: int | None = None
    error: type[BaseException] | None = None
    match: str | None = None
    outcome: Outcome = "answered"
    reads: bool = True


CASES = {
    "status-app": Case({"status": 503, "body": "busy"}, status=503),
    "status-fault": Case({"status": 503, "body": "busy"}, "fault", status=503),
    "gone": Case({"status": 410}, status=410),
    "redirect": Case({"redirect": "/elsewhere"}, status=302),
    "redirect-fault": Case({"redirect": "/elsewhere", "status": 307}, "fault", status=307),
    "hang-app": Case({"hang": 1}, error=httpx.ReadTimeout, outcome="abandoned"),
    "hang-fault": Case({"hang": 1}, "fault", error=httpx.ReadTimeout, outcome="abandoned"),
    "no-read": Case(
        {"fault": "no-read"}, "fault", error=httpx.ReadTimeout, outcome="abandoned", reads=False
    ),
    "dribble-body-app": Case({"dribble": "body"}, error=TimeoutError, outcome="abandoned"),
    "dribble-body-fault": Case(
        {"dribble": "body"}, "fault", error=TimeoutError, outcome="abandoned"
    ),
    "dribble-status": Case({"dribble": "status"}, "fault", error=TimeoutError, outcome="abandoned"),
    "dribble-headers": Case(
        {"dribble": "headers"}, "fault", error=TimeoutError, outcome="abandoned"
    ),
    "close-mid-body-app": Case(
        {"close": "mid-body"},
        error=httpx.RemoteProtocolError,
        match="complete message body",
        outcome="closed",
    ),
    "close-mid-body-fault": Case(
        {"close": "mid-body"}, "fault", error=httpx.RemoteProtocolError, outcome="closed"
    ),
    "close-headers-app": Case(
        {"close": "headers"}, error=httpx.RemoteProtocolError, outcome="closed"
    ),
    "close-headers-fault": Case(
        {"close": "headers"}, "fault", error=httpx.RemoteProtocolError, outcome="closed"
    ),
    "fault-close": Case(
        {"fault": "close"},
        "fault",
        error=httpx.RemoteProtocolError,
        match="without sending",
        outcome="closed",
    ),
    "fault-reset": Case({"fault": "reset"}, "fault", error=httpx.ReadError, outcome="reset"),
    "fault-garbage": Case(
        {"fault": "garbage"},
        "fault",
        error=httpx.RemoteProtocolError,
        match="status line",
        outcome="garbage",
    ),
    "fault-on-app-port": Case({"fault": "reset"}, "app", status=400),
}


async def _post(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=READ_TIMEOUT) as client:
        with anyio.fail_after(DEADLINE):
            response = await client.post(url, json={"event_type": "update"})
            await response.aread()
            return response


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_matrix(mock_receiver: MockReceiver, case: Case) -> None:
    params: dict[str, str | int | float] = {"dribble_interval": DRIBBLE, **case.params}
    url = mock_receiver.url_for("/hook", listener=case.listener, **params)
    started = time.monotonic()
    if case.error is None:
        response = await _post(url)
        assert response.status_code == case.status
    else:
        with pytest.raises(case.error, match=case.match):
            await _post(url)
    elapsed = time.monotonic() - started
    if case.error is TimeoutError:
        # the per-read timeout never fired: only the overall deadline ended it
        assert elapsed == pytest.approx(DEADLINE, abs=0.15)
    [record] = await mock_receiver.wait_for_async(1, path="/hook", done=True)
    assert record.listener == case.listener
    assert record.outcome == case.outcome
    assert record.body == (b'{"event_type":"update"}' if case.reads else b"")
    assert record.body_truncated is not case.reads


async def test_status_headers_and_body_are_sent(mock_receiver: MockReceiver) -> None:
    for listener in ("app", "fault"):
        url = mock_receiver.url_for(
            "/hook",
            listener=listener,
            status=503,
            header=["X-A:1", "X-A:2"],
            retry_after=120,
            body="busy",
        )
        response = await _post(url)
        assert response.status_code == 503
        assert response.headers.get_list("x-a") == ["1", "2"]
        assert response.headers["retry-after"] == "120"
        assert response.text == "busy"


async def test_redirect_location(mock_receiver: MockReceiver) -> None:
    response = await _post(mock_receiver.url_for("/hook", redirect="/elsewhere"))
    assert response.headers["location"] == "/elsewhere"


async def test_retry_after_date_is_an_http_date_ahead(mock_receiver: MockReceiver) -> None:
    response = await _post(mock_receiver.url_for("/hook", status=503, retry_after_date=120))
    when = parsedate_to_datetime(response.headers["retry-after"]).timestamp()
    assert when - time.time() == pytest.approx(120, abs=2)


async def test_delay_before_the_answer(mock_receiver: MockReceiver) -> None:
    started = time.monotonic()
    response = await _post(mock_receiver.url_for("/hook", delay=0.3))
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3
    [record] = mock_receiver.requests()
    assert record.answered_at is not None
    # Recorded on the wall clock; the sleep runs on the monotonic one (the two may
    # differ by a millisecond over 0.3 s while the wall clock is being slewed).
    assert record.answered_at - record.received_at >= 0.3 - 0.005


@pytest.mark.parametrize("listener", ["app", "fault"])
async def test_huge_body_streams(mock_receiver: MockReceiver, listener: Listener) -> None:
    size = 0
    async with (
        httpx.AsyncClient(timeout=5) as client,
        client.stream("GET", mock_receiver.url_for("/big", huge="300MiB", listener=listener)) as r,
    ):
        assert r.headers["content-length"] == str(300 * 2**20)
        async for chunk in r.aiter_raw():
            size += len(chunk)
    assert size == 300 * 2**20
    [record] = await mock_receiver.wait_for_async(1, done=True)
    assert record.outcome == "answered"


@pytest.mark.slow
async def test_dribble_defeats_httpx_timeout_5_but_not_a_5_second_deadline(
    mock_receiver: MockReceiver,
) -> None:
    url = mock_receiver.url_for("/hook", dribble="body", dribble_interval=1)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        async with httpx.AsyncClient(timeout=5) as client:
            with anyio.fail_after(5):
                await client.post(url, content=b"{}")
    assert time.monotonic() - started == pytest.approx(5, abs=0.3)


ABANDONS = {
    "hang-app": ({"hang": 1}, "app"),
    "delay-app": ({"delay": 30}, "app"),
    "dribble-body-app": ({"dribble": "body", "dribble_interval": DRIBBLE}, "app"),
    "hang-fault": ({"hang": 1}, "fault"),
    "no-read-fault": ({"fault": "no-read"}, "fault"),
    "dribble-headers-fault": ({"dribble": "headers", "dribble_interval": DRIBBLE}, "fault"),
}


@pytest.mark.parametrize(("params", "listener"), ABANDONS.values(), ids=ABANDONS.keys())
async def test_abandon_time_is_when_the_client_gave_up(
    mock_receiver: MockReceiver, params: dict[str, str | int | float], listener: Listener
) -> None:
    url = mock_receiver.url_for("/hook", listener=listener, **params)
    with pytest.raises((httpx.TimeoutException, TimeoutError)):
        try:
            await _post(url)
        finally:
            gave_up = time.time()
    [record] = await mock_receiver.wait_for_async(1, done=True)
    assert record.outcome == "abandoned"
    assert record.abandoned_at is not None
    assert abs(record.abandoned_at - gave_up) < 0.1


@pytest.mark.parametrize("listener", ["app", "fault"])
async def test_abandon_while_a_huge_body_is_not_read(
    mock_receiver: MockReceiver, listener: Listener
) -> None:
    url = mock_receiver.url_for("/big", huge="1GiB", listener=listener)
    async with httpx.AsyncClient(timeout=5) as client, client.stream("GET", url) as response:
        assert response.status_code == 200
        with anyio.move_on_after(0.3):  # a sender that reads the head, stalls, gives up
            await anyio.sleep_forever()
    gave_up = time.time()
    [record] = await mock_receiver.wait_for_async(1, done=True)
    assert record.outcome == "abandoned"
    assert record.abandoned_at is not None
    assert abs(record.abandoned_at - gave_up) < 0.1
