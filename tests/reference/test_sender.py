"""Tests of `reference.sender`: one exchange, one deadline, every failure named (contract §8).

Every test runs the production path (aiohttp, real sockets). Most send over a fake
network (tests/network.py: every name resolves to a local test server that a function
answers); the failure modes that only exist on a wire (refused, reset, dribbled, hung)
use small raw TCP servers on 127.0.0.1, port 0, written here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import socket
import struct
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import suppress
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from receiver import MockReceiver
from reference.destinations import DestinationPolicy, parse_networks
from reference.exceptions import ConfigurationError
from reference.sender import ERRORS, Outcome, OutgoingRequest, Sender
from tests.network import FakeNetwork, slow_certificates

pytestmark = pytest.mark.anyio

DEADLINE = 1.0
CONNECT_TIMEOUT = 0.5
SLACK = 0.3
HEADERS = (
    ("Accept", "*/*"),
    ("User-Agent", "datocms-webhooks/0.1.0"),
    ("Content-Type", "application/json"),
    ("x-site-id", "site-1"),
    ("x-webhook-id", "wh-1"),
)
BODY = b'{"webhook_call_id":"c1"}'
NOON = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def anyio_backend() -> str:
    """The sender's deadline is `asyncio.timeout`: asyncio only."""
    return "asyncio"


def fast_sender() -> Sender:
    """A sender with a short deadline, to keep the real-socket tests quick."""
    return Sender(deadline=DEADLINE, connect_timeout=CONNECT_TIMEOUT)


def post(url: str, headers: tuple[tuple[str, str], ...] = HEADERS) -> OutgoingRequest:
    return OutgoingRequest(url=url, headers=headers, body=BODY)


async def timed_send(sender: Sender, request: OutgoingRequest) -> tuple[Outcome, float]:
    started = time.monotonic()
    async with asyncio.timeout(10):  # a broken deadline fails the test instead of hanging it
        outcome = await sender.send(request)
    return outcome, time.monotonic() - started


class NetworkedSender(Sender):
    """The production sender over a fake network (tests/network.py), which it starts and
    stops with itself."""

    def __init__(self, network: FakeNetwork, **options: Any) -> None:
        super().__init__(resolver=network.resolver, ssl_context=network.ssl_context, **options)
        self.network = network

    async def __aenter__(self) -> NetworkedSender:
        await self.network.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await super().__aexit__(exc_type, exc, tb)
        await self.network.__aexit__(exc_type, exc, tb)


def mock_sender(
    handler: Callable[[httpx.Request], httpx.Response], **options: Any
) -> tuple[Sender, list[httpx.Request]]:
    """A sender whose every destination is a test server answering with `handler`; the
    requests as they came off the wire."""
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    sender = NetworkedSender(FakeNetwork(record), clock=lambda: NOON, **options)
    return sender, seen


def answer(status: int = 200, content: bytes = b"ok") -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, content=content)


# ---------------------------------------------------------------------------
# Over the fake network


async def test_headers_are_sent_in_order_with_no_client_defaults() -> None:
    sender, seen = mock_sender(answer())
    async with sender:
        await sender.send(post("https://example.com/hooks?a=1"))
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == "https://example.com/hooks?a=1"
    assert request.content == BODY
    # contract §5: our headers, as written, in order; httpx adds only Host and Content-Length.
    assert request.headers.raw == [
        (b"Host", b"example.com"),
        *((name.encode(), value.encode()) for name, value in HEADERS),
        (b"Content-Length", str(len(BODY)).encode()),
    ]


async def test_url_credentials_do_not_become_an_authorization_header() -> None:
    sender, seen = mock_sender(answer())
    async with sender:
        await sender.send(post("https://user:secret@example.com/"))
    assert "authorization" not in seen[0].headers


async def test_non_ascii_header_values_are_sent_as_utf8() -> None:
    sender, seen = mock_sender(answer())
    async with sender:
        outcome = await sender.send(post("http://example.com/", (("X-Name", "Zoë"),)))
    assert outcome.ok
    assert seen[0].headers.raw[1] == (b"X-Name", "Zoë".encode())


async def test_status_headers_and_body_are_captured() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = [("X-One", "1"), ("Set-Cookie", "a=1"), ("set-cookie", "b=2")]
        return httpx.Response(201, headers=headers, content="créé".encode())

    sender, _ = mock_sender(handler)
    async with sender:
        outcome = await sender.send(post("http://example.com/"))
    added = {"date", "server", "content-type"}  # by the test server (tests/network.py)
    outcome = dataclasses.replace(
        outcome, headers=tuple(h for h in outcome.headers if h[0] not in added)
    )
    assert outcome == Outcome(
        status=201,
        headers=(
            ("x-one", "1"),
            ("set-cookie", "a=1"),
            ("set-cookie", "b=2"),
            ("content-length", "6"),
        ),
        body="créé",
        error=None,
        sent_at=NOON,
        duration_ms=outcome.duration_ms,
    )
    assert outcome.ok


async def test_a_redirect_is_a_status_and_is_not_followed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "http://example.com/elsewhere"})

    sender, seen = mock_sender(handler)
    async with sender:
        outcome = await sender.send(post("http://example.com/"))
    assert (outcome.status, outcome.error, outcome.ok) == (302, None, False)
    assert len(seen) == 1


@pytest.mark.parametrize(
    ("status", "ok"),
    [
        *((status, True) for status in (200, 201, 204, 299)),
        *((status, False) for status in (300, 304, 400, 404, 410, 500, 503)),
    ],
)
async def test_only_2xx_is_ok(status: int, ok: bool) -> None:
    sender, _ = mock_sender(answer(status))
    async with sender:
        outcome = await sender.send(post("http://example.com/"))
    assert (outcome.status, outcome.error, outcome.ok) == (status, None, ok)


async def test_the_body_is_cut_to_max_response_bytes_and_decoded_leniently() -> None:
    body = b"\xff" + b"a" * 20

    sender, _ = mock_sender(answer(content=body), max_response_bytes=10)
    async with sender:
        outcome = await sender.send(post("http://example.com/"))
    assert outcome.body == "\ufffd" + "a" * 9


@pytest.mark.parametrize(
    "url",
    [
        "",
        "example.com/hook",
        "/relative/path",
        "//example.com/hook",
        "ftp://example.com/",
        "file:///etc/passwd",
        "mailto:ops@example.com",
        "http://",
        "http:///path",
        "http://exa mple.com/",
        "http://[::1/",
        "http://example.com:99999/",
        "http://example.com:0/",
        "http://ex%20ample.com/",
    ],
)
async def test_a_url_that_is_not_absolute_http_is_blocked(url: str) -> None:
    sender, seen = mock_sender(answer())
    async with sender:
        outcome = await sender.send(post(url))
    assert (outcome.status, outcome.body, outcome.error) == (None, None, "blocked_destination")
    assert outcome.sent_at == NOON
    assert seen == []


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/",
        "https://10.0.0.1:8443/hook",
        "http://[::ffff:10.0.0.1]/",
        "http://[fd00::1]/",
    ],
)
async def test_a_literal_address_the_policy_refuses_is_never_sent_to(url: str) -> None:
    # Public destinations only, but the test server (127.0.0.1) let through.
    policy = DestinationPolicy(public_only=True, allowed=parse_networks(["127.0.0.1/32"]))
    sender, seen = mock_sender(answer(), policy=policy)
    async with sender:
        outcome = await sender.send(post(url))
        allowed = await sender.send(post("http://allowed.example.com/"))
    assert outcome.error == "blocked_destination"
    assert outcome.error_detail is not None and "(blocked: public destinations only)" in (
        outcome.error_detail
    )
    assert allowed.ok
    assert [str(request.url) for request in seen] == ["http://allowed.example.com/"]


@given(url=st.one_of(st.text(), st.from_regex(r"\Ahttps?://[^/]{0,20}/?.{0,20}\Z")))
@settings(max_examples=200, deadline=None)
async def test_send_never_raises_whatever_the_url(url: str) -> None:
    # Names reach the test server; a literal address is connected to for real, so
    # only the loopback one is let through (the others would wait on the network).
    policy = DestinationPolicy(public_only=True, allowed=parse_networks(["127.0.0.0/8"]))
    sender, seen = mock_sender(answer(), policy=policy, deadline=1.0, connect_timeout=0.5)
    async with sender:
        outcome = await sender.send(post(url))
    assert outcome.error in (None, *ERRORS)
    assert (outcome.error is None) == (len(seen) == 1)


@pytest.mark.parametrize(
    "options",
    [
        {"deadline": 0},
        {"deadline": float("nan")},
        {"connect_timeout": 0},
        {"deadline": 1.0, "connect_timeout": 2.0},
        {"max_response_bytes": -1},
        {"max_connections_per_origin": 0},
    ],
)
def test_settings_that_cannot_work_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        Sender(**options)


async def test_a_closed_sender_refuses_to_send() -> None:
    sender, _ = mock_sender(answer())
    await sender.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await sender.send(post("http://example.com/"))


def test_errors_are_those_of_the_spec() -> None:
    assert ERRORS == (
        "timeout",
        "connection_refused",
        "connection_error",
        "invalid_response",
        "blocked_destination",
    )


# ---------------------------------------------------------------------------
# With real sockets

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawServer:
    """A TCP server on 127.0.0.1 that runs `handler` on each connection.

    `hung_up` is set when a connection's client goes away while the handler
    still reads or writes: that is how a test sees the sender let go.
    """

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self.connections = 0
        self.hung_up = asyncio.Event()
        self.port = 0

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def wait_hung_up(self) -> None:
        """Wait (at most a second) until a client hangs up."""
        async with asyncio.timeout(1.0):
            await self.hung_up.wait()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            await self._handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            self.hung_up.set()
        finally:
            writer.close()
            with suppress(ConnectionError):
                await writer.wait_closed()
            self._tasks.discard(task)


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """One request, head and body; raises IncompleteReadError at end of stream."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head + await reader.readexactly(length)


async def dribble(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: Iterable[int]
) -> None:
    """Send `data` one byte every 0.1 s until it ends or the client hangs up."""
    for byte in data:
        if reader.at_eof():
            raise ConnectionResetError("the client hung up")
        writer.write(bytes((byte,)))
        await writer.drain()
        await asyncio.sleep(0.1)


def respond(payload: bytes, *, delay: float = 0.0) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(delay)
        writer.write(payload)
        await writer.drain()

    return handler


def dribbling(head: bytes, data: Iterable[int]) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(head)
        await dribble(reader, writer, data)

    return handler


def forever(pattern: bytes) -> Iterator[int]:
    return itertools.cycle(pattern)


OK_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


async def test_the_wire_carries_exactly_our_headers() -> None:
    received: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await read_request(reader))
        writer.write(OK_RESPONSE)
        await writer.drain()

    async with RawServer(handler) as server, fast_sender() as sender:
        outcome = await sender.send(post(server.url("/hook?x=1")))
    assert outcome.ok
    assert received == [
        b"POST /hook?x=1 HTTP/1.1\r\n"
        + f"Host: 127.0.0.1:{server.port}\r\n".encode()
        + b"".join(f"{name}: {value}\r\n".encode() for name, value in HEADERS)
        + f"Content-Length: {len(BODY)}\r\n\r\n".encode()
        + BODY
    ]


async def test_a_closed_port_is_connection_refused_at_once() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with fast_sender() as sender:
        outcome, elapsed = await timed_send(sender, post(f"http://127.0.0.1:{port}/"))
    assert (outcome.status, outcome.error) == (None, "connection_refused")
    assert outcome.error_detail == f"127.0.0.1:{port} refused the connection"
    assert elapsed < 0.3


async def test_a_failed_tls_handshake_is_a_connection_error_that_says_so() -> None:
    async def plain_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # A plain HTTP server answering the TLS ClientHello: not TLS at all.
        await reader.read(1)
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    async with RawServer(plain_http) as server, fast_sender() as sender:
        outcome = await sender.send(post(server.url().replace("http://", "https://")))
    assert (outcome.status, outcome.error) == (None, "connection_error")
    assert outcome.error_detail is not None
    assert outcome.error_detail.startswith("the TLS handshake with 127.0.0.1:"), outcome


async def test_a_certificate_from_an_unknown_authority_is_a_connection_error() -> None:
    # The fake network's names, but not its CA: the receiver's certificate is not trusted.
    network = FakeNetwork(answer())
    sender = Sender(deadline=DEADLINE, connect_timeout=CONNECT_TIMEOUT, resolver=network.resolver)
    async with network, sender:
        outcome = await sender.send(post("https://hooks.example.com/"))
    assert (outcome.status, outcome.error) == (None, "connection_error")
    assert outcome.error_detail is not None
    assert outcome.error_detail.startswith(
        "the TLS certificate of hooks.example.com is not trusted"
    )


async def test_a_name_that_does_not_resolve_is_a_connection_error_that_says_so() -> None:
    async with fast_sender() as sender:
        outcome = await sender.send(post("http://nohost.invalid/"))
    assert (outcome.status, outcome.error) == (None, "connection_error")
    assert outcome.error_detail is not None
    assert outcome.error_detail.startswith("'nohost.invalid' does not resolve")


async def accept_and_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    pass


async def read_and_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)


async def read_and_reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    # SO_LINGER 0: close() sends RST instead of FIN.
    linger = struct.pack("ii", 1, 0)
    writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)


@pytest.mark.parametrize(
    ("handler", "detail"),
    [
        (accept_and_close, "the connection was closed before any answer"),
        (read_and_close, "the connection was closed before any answer"),
        (read_and_reset, "the connection was reset before any answer"),
        (respond(b"HTTP/1.1 200 OK\r\nContent-"), "the connection was closed before any answer"),
    ],
    ids=["accept-close", "read-close", "reset", "close-in-headers"],
)
async def test_a_connection_broken_before_the_response_is_connection_error(
    handler: Handler, detail: str
) -> None:
    async with RawServer(handler) as server, fast_sender() as sender:
        outcome = await sender.send(post(server.url()))
    assert (outcome.status, outcome.body, outcome.error) == (None, None, "connection_error")
    assert outcome.error_detail == detail


async def test_a_connection_broken_in_the_body_keeps_what_arrived() -> None:
    handler = respond(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    async with RawServer(handler) as server, fast_sender() as sender:
        outcome = await sender.send(post(server.url()))
    assert (outcome.status, outcome.body, outcome.error) == (200, "abc", "connection_error")
    assert outcome.error_detail == "the connection broke off after 3 bytes of the body"
    assert not outcome.ok


@pytest.mark.parametrize(
    "payload",
    [
        b"garbage\r\n\r\n",
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: many\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
    ],
    ids=["garbage", "bad-status", "bad-content-length", "bad-header"],
)
async def test_an_answer_that_is_not_http_is_invalid_response(payload: bytes) -> None:
    async with RawServer(respond(payload)) as server, fast_sender() as sender:
        outcome = await sender.send(post(server.url()))
    assert (outcome.status, outcome.error) == (None, "invalid_response")
    assert outcome.error_detail is not None
    assert outcome.error_detail.startswith("the answer is not valid HTTP")


async def test_a_header_h11_refuses_to_send_is_a_failure_not_an_exception() -> None:
    async with RawServer(respond(OK_RESPONSE)) as server, fast_sender() as sender:
        outcome = await sender.send(post(server.url(), (("Bad Name", "x"),)))
    assert outcome.error == "connection_error"
    assert outcome.error_detail == "not sent: illegal header name 'Bad Name'"


async def test_a_receiver_that_never_answers_times_out_at_the_deadline() -> None:
    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await reader.readexactly(1)  # until the client hangs up

    async with RawServer(hang) as server, fast_sender() as sender:
        outcome, elapsed = await timed_send(sender, post(server.url()))
        await server.wait_hung_up()
    assert (outcome.status, outcome.error) == (None, "timeout")
    assert outcome.error_detail == f"no answer within the {DEADLINE:g} s deadline"
    assert DEADLINE <= elapsed <= DEADLINE + SLACK
    assert DEADLINE * 1000 <= outcome.duration_ms <= (DEADLINE + SLACK) * 1000


@pytest.mark.skipif(sys.platform != "linux", reason="relies on Linux dropping SYNs to a full queue")
async def test_connecting_is_cut_off_at_the_connect_timeout() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = [socket.socket() for _ in range(4)]
        try:
            for filler in fillers:  # fill the accept queue; later SYNs are dropped
                filler.setblocking(False)
                filler.connect_ex(("127.0.0.1", port))
            async with fast_sender() as sender:
                outcome, elapsed = await timed_send(sender, post(f"http://127.0.0.1:{port}/"))
        finally:
            for filler in fillers:
                filler.close()
    assert outcome.error == "timeout"
    assert CONNECT_TIMEOUT <= elapsed <= CONNECT_TIMEOUT + SLACK


@pytest.mark.parametrize(
    ("head", "data", "status"),
    [
        (b"", itertools.chain(b"HTTP/1.1 200 ", forever(b"O")), None),
        (b"HTTP/1.1 200 OK\r\n", forever(b"X-Pad: a\r\n"), None),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n", forever(b"a"), 200),
    ],
    ids=["status-line", "headers", "body"],
)
async def test_a_receiver_that_dribbles_is_cut_off_at_the_deadline(
    head: bytes, data: Iterator[int], status: int | None
) -> None:
    async with RawServer(dribbling(head, data)) as server, fast_sender() as sender:
        outcome, elapsed = await timed_send(sender, post(server.url()))
        # The cut-off connection is closed, not left in the pool.
        await server.wait_hung_up()
    assert (outcome.status, outcome.error, outcome.ok) == (status, "timeout", False)
    assert DEADLINE <= elapsed <= DEADLINE + SLACK
    if status is not None:
        assert outcome.body is not None
        assert 5 <= len(outcome.body) <= 11
        assert outcome.error_detail == (
            f"the body was still arriving at the {DEADLINE:g} s deadline,"
            f" after {len(outcome.body)} bytes"
        )
    else:
        assert outcome.error_detail == f"no answer within the {DEADLINE:g} s deadline"


@pytest.mark.slow
async def test_the_default_deadline_is_five_seconds_for_a_dribbled_body() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n"
    async with RawServer(dribbling(head, forever(b"a"))) as server, Sender() as sender:
        outcome, elapsed = await timed_send(sender, post(server.url()))
        await server.wait_hung_up()
    assert (outcome.status, outcome.error) == (200, "timeout")
    assert 5.0 <= elapsed <= 5.0 + SLACK


async def test_an_answer_within_the_deadline_succeeds() -> None:
    async with (
        RawServer(respond(OK_RESPONSE, delay=0.8 * DEADLINE)) as server,
        fast_sender() as sender,
    ):
        outcome, elapsed = await timed_send(sender, post(server.url()))
    assert (outcome.status, outcome.body, outcome.error) == (200, "ok", None)
    assert 0.8 * DEADLINE <= elapsed < DEADLINE


async def test_a_huge_body_is_cut_at_64_kib_and_never_read_further() -> None:
    total = 64 * 1024 * 1024  # far more than the kernel buffers hold (~4 MiB here)
    sent = 0

    async def huge(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal sent
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % total)
        chunk = b"a" * 65536
        while sent < total:
            writer.write(chunk)
            await writer.drain()
            sent += len(chunk)
        await reader.readexactly(1)  # until the client hangs up

    async with RawServer(huge) as server, fast_sender() as sender:
        outcome, elapsed = await timed_send(sender, post(server.url()))
        await server.wait_hung_up()
    assert (outcome.status, outcome.error, outcome.ok) == (200, None, True)
    assert outcome.body == "a" * 65536
    assert sent < total
    assert elapsed < 0.5


async def test_waiting_for_a_free_connection_does_not_count_against_the_deadline() -> None:
    slow = respond(OK_RESPONSE, delay=0.6 * DEADLINE)
    sender = Sender(
        deadline=DEADLINE, connect_timeout=CONNECT_TIMEOUT, max_connections_per_origin=1
    )
    async with RawServer(slow) as server, sender:
        outcomes = await asyncio.gather(*(sender.send(post(server.url())) for _ in range(2)))
    assert [outcome.error for outcome in outcomes] == [None, None]


async def test_opening_the_session_on_the_first_send_is_not_part_of_its_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slow_certificates(monkeypatch, 0.5 * DEADLINE)
    held: list[float] = []

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        arrived = time.monotonic()
        try:
            await reader.readexactly(1)  # until the client hangs up
        finally:
            held.append(time.monotonic() - arrived)

    sender = fast_sender()  # not entered: the first send opens the session
    try:
        async with RawServer(hang) as server:
            outcome, _ = await timed_send(sender, post(server.url()))
            await server.wait_hung_up()
    finally:
        await sender.aclose()
    assert outcome.error == "timeout"
    # The receiver had the request for the whole deadline (less connecting and writing
    # it, on a busy machine up to a tenth or so), not the half the loading left.
    assert held[0] >= DEADLINE - 0.2, held


async def test_open_loads_the_certificates_without_holding_up_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loaded = slow_certificates(monkeypatch, 1.0)
    ticks: list[float] = []

    async def tick() -> None:
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    try:
        async with RawServer(respond(OK_RESPONSE)) as server, fast_sender() as sender:
            assert len(loaded) == 1  # entering opened the session
            outcome = await sender.send(post(server.url()))
    finally:
        ticker.cancel()
    assert outcome.ok
    assert len(loaded) == 1  # and the send used it
    # Held up as long as the loading takes (1 s) were it done in the loop.
    assert max(b - a for a, b in itertools.pairwise(ticks)) < 0.5


async def test_a_hung_receiver_does_not_delay_another() -> None:
    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await reader.readexactly(1)

    async with (
        RawServer(hang) as hung,
        RawServer(respond(OK_RESPONSE)) as healthy,
        fast_sender() as sender,
    ):
        stuck = asyncio.create_task(sender.send(post(hung.url())))
        await asyncio.sleep(0)
        outcome, elapsed = await timed_send(sender, post(healthy.url()))
        assert (await stuck).error == "timeout"
    assert outcome.ok
    assert elapsed < 0.2


async def test_connections_to_an_origin_are_kept_alive_across_sends() -> None:
    requests = 0

    async def keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal requests
        while True:
            await read_request(reader)
            requests += 1
            writer.write(OK_RESPONSE)
            await writer.drain()

    async with RawServer(keep_alive) as server, fast_sender() as sender:
        outcomes = [await sender.send(post(server.url())) for _ in range(3)]
    assert [outcome.ok for outcome in outcomes] == [True, True, True]
    assert (server.connections, requests) == (1, 3)


async def test_aclose_closes_every_origins_connections() -> None:
    async def keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader)
            writer.write(OK_RESPONSE)
            await writer.drain()

    async with RawServer(keep_alive) as first, RawServer(keep_alive) as second:
        sender = fast_sender()
        assert (await sender.send(post(first.url()))).ok
        assert (await sender.send(post(second.url()))).ok
        await sender.aclose()
        await first.wait_hung_up()
        await second.wait_hung_up()


# ---------------------------------------------------------------------------
# With pytest-httpserver


async def test_a_plain_exchange_with_a_real_http_server(httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/hook", method="POST", data=BODY, headers={"x-webhook-id": "wh-1"}
    ).respond_with_data("received", status=202, headers={"X-Receiver": "pytest"})
    async with fast_sender() as sender:
        outcome = await sender.send(post(httpserver.url_for("/hook")))
    httpserver.check_assertions()
    assert (outcome.status, outcome.body, outcome.error, outcome.ok) == (
        202,
        "received",
        None,
        True,
    )
    assert ("x-receiver", "pytest") in outcome.headers


@pytest.mark.parametrize(
    ("behaviour", "error", "detail"),
    [
        ({"fault": "close"}, "connection_error", "the connection was closed before any answer"),
        ({"fault": "reset"}, "connection_error", "the connection was reset before any answer"),
        ({"fault": "garbage"}, "invalid_response", "the answer is not valid HTTP"),
        (
            {"close": "headers"},
            "connection_error",
            "the connection broke off after 0 bytes of the body",
        ),
        (
            {"close": "mid-body", "body": "x" * 2000},
            "connection_error",
            "the connection broke off after",
        ),
        (
            {"dribble": "headers", "dribble_interval": 0.2},
            "timeout",
            f"no answer within the {DEADLINE:g} s deadline",
        ),
    ],
    ids=["close", "reset", "garbage", "close-after-headers", "close-mid-body", "dribbled-headers"],
)
async def test_the_mock_receivers_faults_are_named(
    behaviour: dict[str, object], error: str, detail: str
) -> None:
    """The error table, entry by entry, against the mock receiver's own faults."""
    with MockReceiver() as receiver:
        url = receiver.url_for("/fault", **behaviour)  # type: ignore[arg-type]
        async with fast_sender() as sender:
            outcome = await sender.send(post(url))
    assert outcome.error == error
    assert outcome.error_detail is not None and outcome.error_detail.startswith(detail), outcome
