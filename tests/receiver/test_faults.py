from __future__ import annotations

import socket
from collections.abc import Iterator

import anyio
import httpx
import pytest

from receiver import MockReceiver

pytestmark = pytest.mark.anyio


def _exchange(receiver: MockReceiver, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", receiver.fault_port), timeout=5) as sock:
        sock.sendall(data)  # no half-close: like uvicorn, the listener takes EOF as hang-up
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_plain_request_is_answered_and_closed(mock_receiver: MockReceiver) -> None:
    answer = _exchange(mock_receiver, b"GET /hook?status=201&body=ok HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 201 Created\r\nDate: ")
    assert answer.endswith(b"Content-Length: 2\r\nConnection: close\r\n\r\nok")
    [record] = mock_receiver.requests()
    assert (record.listener, record.method, record.path, record.status) == (
        "fault",
        "GET",
        "/hook",
        201,
    )


def test_a_chunked_body_is_decoded(mock_receiver: MockReceiver) -> None:
    def body() -> Iterator[bytes]:
        yield b'{"a":'
        yield b" 1}"

    response = httpx.post(mock_receiver.fault_url + "/hook", content=body())
    assert response.status_code == 200
    [record] = mock_receiver.requests()
    assert record.header("transfer-encoding") == "chunked"
    assert (record.body, record.body_size) == (b'{"a": 1}', 8)


UNREADABLE = {
    "request-line": (b"NONSENSE\r\n\r\n", b"400"),
    "content-length": (b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", b"400"),
    "head-too-long": (b"GET / HTTP/1.1\r\nX: " + b"a" * 70_000, b"431"),
    "chunk-size": (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", b"400"),
    "bad-behaviour": (b"GET /?fault=explode HTTP/1.1\r\n\r\n", b"400"),
}


@pytest.mark.parametrize(("data", "status"), UNREADABLE.values(), ids=UNREADABLE.keys())
def test_unreadable_requests_get_an_error(
    mock_receiver: MockReceiver, data: bytes, status: bytes
) -> None:
    assert _exchange(mock_receiver, data).startswith(b"HTTP/1.1 " + status)


def test_no_read_leaves_the_body_unread(mock_receiver: MockReceiver) -> None:
    declared = 256 * 2**20
    head = f"POST /hook?fault=no-read HTTP/1.1\r\nContent-Length: {declared}\r\n\r\n"
    with socket.create_connection(("127.0.0.1", mock_receiver.fault_port)) as sock:
        sock.sendall(head.encode())
        mock_receiver.wait_for(1)
        sock.setblocking(False)
        sent, block = 0, b"x" * 2**20
        try:
            while sent < declared:
                sent += sock.send(block)
        except BlockingIOError:  # the buffers are full: nobody reads
            pass
        assert sent < declared
        [record] = mock_receiver.requests()
        assert (record.outcome, record.body, record.body_truncated) == ("pending", b"", True)
    # The sender's FIN now waits behind the unread bytes: TCP cannot tell the
    # receiver that it left, so the request stays pending until the receiver stops.
    mock_receiver.stop()
    [record] = mock_receiver.requests()
    assert record.outcome == "stopped"


def test_each_connection_gets_its_own_id(mock_receiver: MockReceiver) -> None:
    for _ in range(2):
        _exchange(mock_receiver, b"GET / HTTP/1.1\r\n\r\n")
    first, second = mock_receiver.requests()
    assert first.connection != second.connection


def test_a_connection_without_a_request_is_not_recorded(mock_receiver: MockReceiver) -> None:
    socket.create_connection(("127.0.0.1", mock_receiver.fault_port)).close()
    _exchange(mock_receiver, b"GET /after HTTP/1.1\r\n\r\n")
    assert [record.path for record in mock_receiver.requests()] == ["/after"]


async def test_stopping_closes_hung_connections(mock_receiver: MockReceiver) -> None:
    errors: list[Exception] = []
    async with httpx.AsyncClient(timeout=5) as client, anyio.create_task_group() as group:

        async def hang() -> None:
            try:
                await client.post(mock_receiver.url_for("/hook", hang=1, listener="fault"))
            except httpx.RemoteProtocolError as exc:
                errors.append(exc)

        group.start_soon(hang)
        await mock_receiver.wait_for_async(1)
        await anyio.to_thread.run_sync(mock_receiver.stop)
    assert len(errors) == 1
    [record] = mock_receiver.requests()
    assert record.outcome == "stopped"


def test_head_gets_no_body_and_expect_continue_is_honoured(mock_receiver: MockReceiver) -> None:
    answer = _exchange(mock_receiver, b"HEAD /?body=abc HTTP/1.1\r\n\r\n")
    assert answer.endswith(b"Content-Length: 3\r\nConnection: close\r\n\r\n")
    with socket.create_connection(("127.0.0.1", mock_receiver.fault_port), timeout=5) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"{}")
        assert sock.recv(100).startswith(b"HTTP/1.1 200 OK")
    assert mock_receiver.requests()[-1].body == b"{}"


def test_a_fault_comes_after_the_delay(mock_receiver: MockReceiver) -> None:
    with pytest.raises(httpx.ReadError):
        httpx.post(mock_receiver.url_for("/hook", fault="reset", delay=0.2))
    [record] = mock_receiver.wait_for(1, done=True)
    assert record.answered_at is not None
    assert record.answered_at - record.received_at >= 0.2
