from __future__ import annotations

import socket

import anyio
import httpx
import pytest

from receiver import MockReceiver, create_app
from receiver.recording import RequestLog

pytestmark = pytest.mark.anyio


async def test_the_app_answers_through_the_asgi_transport() -> None:
    log = RequestLog()
    transport = httpx.ASGITransport(app=create_app(log=log))
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as client:
        response = await client.post("/hook?status=503&body=busy", content=b"{}")
    assert (response.status_code, response.text) == (503, "busy")
    [record] = log.requests()
    assert (record.path, record.query, record.outcome, record.status) == (
        "/hook",
        "status=503&body=busy",
        "answered",
        503,
    )


async def test_everything_about_the_request_is_recorded(mock_receiver: MockReceiver) -> None:
    async with httpx.AsyncClient() as client:
        await client.post(
            mock_receiver.url + "/hooks/a%20b?status=201&id=7",
            content=b'{"a": 1}',
            headers=[("X-Dup", "1"), ("x-dup", "2"), ("Authorization", "Basic eDp5")],
        )
    [record] = mock_receiver.requests()
    assert (record.seq, record.method, record.path) == (1, "POST", "/hooks/a b")
    assert record.query == "status=201&id=7"
    names = [name for name, _ in record.headers]
    assert names[-4:] == ["x-dup", "x-dup", "authorization", "content-length"]
    assert record.header_values("X-Dup") == ["1", "2"]
    assert (record.body, record.body_size, record.body_truncated) == (b'{"a": 1}', 8, False)
    assert record.client is not None and record.client[0] == "127.0.0.1"
    assert record.answered_at is not None and record.answered_at >= record.received_at
    assert (record.outcome, record.status, record.listener) == ("answered", 201, "app")


@pytest.mark.mock_receiver(body_limit=4)
async def test_bodies_are_capped(mock_receiver: MockReceiver) -> None:
    async with httpx.AsyncClient() as client:
        await client.post(mock_receiver.url + "/hook", content=b"0123456789")
    [record] = mock_receiver.requests()
    assert (record.body, record.body_size, record.body_truncated) == (b"0123", 10, True)


async def test_connection_ids_show_reuse(mock_receiver: MockReceiver) -> None:
    async with httpx.AsyncClient() as first:
        await first.get(mock_receiver.url + "/a")
        await first.get(mock_receiver.url + "/b")
    async with httpx.AsyncClient() as second:
        await second.get(mock_receiver.url + "/c")
    a, b, c = mock_receiver.requests()
    assert a.connection == b.connection != c.connection


async def test_a_bad_parameter_is_a_400_naming_it(mock_receiver: MockReceiver) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(mock_receiver.url + "/hook?status=abc")
    assert response.status_code == 400
    assert response.json()["field"] == "status"
    assert "'abc'" in response.json()["error"]
    [record] = mock_receiver.requests()
    assert (record.outcome, record.status) == ("answered", 400)


async def test_raw_socket_behaviours_point_to_the_fault_listener(
    mock_receiver: MockReceiver,
) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(mock_receiver.url + "/hook?dribble=headers")
    assert response.status_code == 400
    assert "fault_url" in response.json()["error"]


async def test_a_sender_leaving_during_the_body_is_recorded(mock_receiver: MockReceiver) -> None:
    with socket.create_connection(("127.0.0.1", mock_receiver.port)) as sock:
        sock.sendall(b"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
        await mock_receiver.wait_for_async(0)  # nothing is recorded before the body is whole
        assert mock_receiver.count() == 0
    [record] = await mock_receiver.wait_for_async(1, done=True)
    assert (record.outcome, record.body, record.body_size) == ("abandoned", b"0123456789", 10)


async def test_stopping_answers_hung_requests_503(mock_receiver: MockReceiver) -> None:
    async with httpx.AsyncClient(timeout=5) as client, anyio.create_task_group() as group:
        responses: list[httpx.Response] = []

        async def hang() -> None:
            responses.append(await client.post(mock_receiver.url + "/hook?hang=1"))

        group.start_soon(hang)
        await mock_receiver.wait_for_async(1)
        await anyio.to_thread.run_sync(mock_receiver.stop)
    assert [response.status_code for response in responses] == [503]
    [record] = mock_receiver.requests()
    assert (record.outcome, record.status) == ("stopped", 503)
