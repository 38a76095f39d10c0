"""The sender: one HTTP exchange with a receiver, and what came of it (SPEC §5, §7, §8).

`Sender.send` posts an `OutgoingRequest` and returns an `Outcome`; it never
raises for a network or HTTP problem, only cancellation propagates. The whole
exchange has one deadline, the first 64 KiB of the answer are kept, and every
failure is named by one of the `error` values of SPEC §7.

Each origin (scheme, host, port) gets its own small connection pools (8
connections each), created on first use and closed by `aclose()`: one large
pool scans all its connections on every request and collapses at high
concurrency (encode/httpx#3215).

The pools are httpx transports used directly rather than `httpx.AsyncClient`s:
a client merges its default headers, reads proxies from the environment, turns
URL credentials into an `Authorization` header, keeps a cookie jar and logs
every request, none of which SPEC §5 wants between us and the receiver.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Final, Self

import httpx

from reference.exceptions import ConfigurationError

__all__ = [
    "ERRORS",
    "IPNetwork",
    "Outcome",
    "OutgoingRequest",
    "Sender",
]

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: SPEC §7: why an attempt failed.
ERRORS: Final = (
    "timeout",
    "connection_refused",
    "connection_error",
    "invalid_response",
    "blocked_destination",
)

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}

# Connections per httpx pool; an origin gets as many pools as its limit needs.
_POOL_SIZE: Final = 8

# httpx accepts hosts such as "exa%20mple.com" and ports such as 99999.
# Host names (after IDNA), IPv4 and IPv6 literals are made of these.
_HOST: Final = re.compile(rb"[A-Za-z0-9_.:\-]+")

# What h11 and httpcore say when the peer hung up, as opposed to when it
# answered something that is not HTTP; both arrive as RemoteProtocolError.
_DISCONNECT_MESSAGES: Final = (
    "server disconnected",
    "peer closed connection",
    "peer unexpectedly closed connection",
)


@dataclass(frozen=True, slots=True)
class OutgoingRequest:
    """A request as SPEC §5 builds it: sent exactly like this, headers in order."""

    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt came to, in the terms of the activity log (SPEC §7).

    `status`, `headers` and `body` are None when no response arrived. When the
    body broke off after the status line and headers, they are kept along with
    the part of the body that was read, and `error` says why it broke off.
    """

    status: int | None
    headers: tuple[tuple[str, str], ...]
    body: str | None
    error: str | None
    sent_at: datetime
    duration_ms: int

    @property
    def ok(self) -> bool:
        """SPEC §8: success is a complete `2xx` answer."""
        return self.error is None and self.status is not None and 200 <= self.status < 300


class _Blocked(Exception):
    """The destination is refused before connecting."""


@dataclass(slots=True)
class _Origin:
    """The connection pools of one origin, and the slots that keep them from queueing.

    `busy[i]` counts the exchanges on `transports[i]`; a send takes the least
    busy pool, so no pool ever holds more than its share of the slots.
    """

    transports: list[httpx.AsyncBaseTransport]
    slots: asyncio.Semaphore
    busy: list[int]

    def take(self) -> int:
        index = self.busy.index(min(self.busy))
        self.busy[index] += 1
        return index


@dataclass(slots=True)
class _Answer:
    """What has arrived so far; filled in as the exchange progresses."""

    status: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: bytearray | None = None


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Sender:
    """Sends webhook requests, one exchange per `send`; one sender serves all tasks."""

    def __init__(
        self,
        *,
        deadline: float = 5.0,
        connect_timeout: float = 2.0,
        max_response_bytes: int = 65536,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] = _utc_now,
        max_connections_per_origin: int = 64,
        blocked_networks: tuple[IPNetwork, ...] = (),
    ) -> None:
        """Configure the sender; nothing is opened until the first `send`.

        `transport`, when given, serves every origin (a test seam such as
        `httpx.MockTransport`); `aclose()` closes it, as `httpx.AsyncClient`
        would. `blocked_networks` refuses destinations whose literal or resolved
        address falls inside one of them. The name is resolved again when
        connecting, so a name that changes its answer in between is not caught.
        """
        if not deadline > 0:
            raise ConfigurationError(f"deadline must be positive, got {deadline!r}")
        if not 0 < connect_timeout <= deadline:
            raise ConfigurationError(
                f"connect_timeout must be in (0, deadline={deadline!r}], got {connect_timeout!r}"
            )
        if max_response_bytes < 0:
            raise ConfigurationError(
                f"max_response_bytes must not be negative, got {max_response_bytes!r}"
            )
        if max_connections_per_origin < 1:
            raise ConfigurationError(
                f"max_connections_per_origin must be at least 1, got {max_connections_per_origin!r}"
            )
        self._deadline = deadline
        self._max_bytes = max_response_bytes
        self._transport = transport
        self._clock = clock
        self._per_origin = max_connections_per_origin
        self._blocked = blocked_networks
        # SPEC §8: connecting has its own, shorter limit; everything else is
        # bounded by the one deadline around the exchange, not per read.
        self._extensions: dict[str, object] = {
            "timeout": {"connect": connect_timeout, "read": None, "write": None, "pool": None}
        }
        self._origins: dict[tuple[str, str, int], _Origin] = {}
        self._ssl_context: ssl.SSLContext | None = None
        self._closed = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def send(self, request: OutgoingRequest) -> Outcome:
        """POST `request` and classify what came of it; never raises for network trouble."""
        if self._closed:
            raise RuntimeError("the sender is closed")
        url = _parse_url(request.url)
        if url is None:
            return Outcome(None, (), None, "blocked_destination", self._clock(), 0)
        origin = self._origin(url)
        # Waiting for a free connection is not part of the exchange: the
        # deadline starts once the pool can take the request at once.
        async with origin.slots:
            pool = origin.take()
            sent_at = self._clock()
            started = time.monotonic()
            answer = _Answer()
            error: str | None = None
            # SPEC §8: one deadline over connect, send, status line, headers, body.
            timeout = asyncio.timeout(self._deadline)
            try:
                async with timeout:
                    await self._exchange(origin.transports[pool], url, request, answer)
            except (TimeoutError, httpx.TransportError, OSError, _Blocked) as exc:
                error = "timeout" if timeout.expired() else _classify(exc)
            finally:
                origin.busy[pool] -= 1
            duration_ms = round((time.monotonic() - started) * 1000)
        body = None if answer.body is None else answer.body.decode("utf-8", errors="replace")
        return Outcome(answer.status, answer.headers, body, error, sent_at, duration_ms)

    async def aclose(self) -> None:
        """Close every connection pool; call it once the sends in flight are done."""
        self._closed = True
        origins, self._origins = list(self._origins.values()), {}
        for origin in origins:
            for transport in origin.transports:
                if transport is not self._transport:
                    await transport.aclose()
        if self._transport is not None:
            await self._transport.aclose()

    async def _exchange(
        self,
        transport: httpx.AsyncBaseTransport,
        url: httpx.URL,
        request: OutgoingRequest,
        answer: _Answer,
    ) -> None:
        if self._blocked:
            await self._refuse_blocked(url)
        outgoing = httpx.Request(
            "POST",
            url,
            headers=list(_encode_headers(request.headers)),
            content=request.body,
            extensions=self._extensions,
        )
        response = await transport.handle_async_request(outgoing)
        try:
            answer.status = response.status_code
            answer.headers = tuple(response.headers.multi_items())
            answer.body = bytearray()
            await self._read_body(response, answer.body)
        finally:
            # SPEC §7: a larger body is never read further; closing a response
            # that is not finished discards its connection.
            await response.aclose()

    async def _read_body(self, response: httpx.Response, into: bytearray) -> None:
        stream = response.stream
        if not isinstance(stream, httpx.AsyncByteStream):
            raise TypeError(f"the transport returned a sync stream: {stream!r}")
        # The raw stream, not `aiter_raw()`: a MockTransport response holds its
        # body already read, and then `aiter_raw()` refuses to run.
        async for chunk in stream:
            room = self._max_bytes - len(into)
            if len(chunk) > room:
                into += chunk[:room]
                return
            into += chunk

    async def _refuse_blocked(self, url: httpx.URL) -> None:
        for address in await _addresses(url):
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
                address = address.ipv4_mapped
            if any(address in network for network in self._blocked):
                raise _Blocked(f"{url.host!r} resolves to {address}, which is blocked")

    def _origin(self, url: httpx.URL) -> _Origin:
        key = (url.scheme, url.raw_host.decode("ascii"), url.port or _DEFAULT_PORTS[url.scheme])
        origin = self._origins.get(key)
        if origin is None:
            if self._transport is not None:
                transports = [self._transport]
            else:
                # Several small pools rather than one large one: httpcore scans
                # every connection of a pool on each request, so one pool of 64
                # sends ~400 requests/s on loopback where 8 pools of 8 send ~2,000.
                shares = -(-self._per_origin // _POOL_SIZE)
                transports = [self._new_transport() for _ in range(shares)]
            origin = _Origin(transports, asyncio.Semaphore(self._per_origin), [0] * len(transports))
            self._origins[key] = origin
        return origin

    def _new_transport(self) -> httpx.AsyncHTTPTransport:
        # One TLS context for all origins: building one loads the CA bundle.
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context()
        size = min(self._per_origin, _POOL_SIZE)
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        return httpx.AsyncHTTPTransport(
            verify=self._ssl_context,
            limits=limits,
            trust_env=False,
        )


def _parse_url(raw: str) -> httpx.URL | None:
    """The URL if it is an absolute http(s) URL with a host, else None."""
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, TypeError):
        return None
    if url.scheme not in _DEFAULT_PORTS or not _HOST.fullmatch(url.raw_host):
        return None
    if url.port is not None and not 0 < url.port < 65536:
        return None
    return url


def _encode_headers(headers: tuple[tuple[str, str], ...]) -> Iterator[tuple[bytes, bytes]]:
    # UTF-8 rather than httpx's ASCII, so that an odd value reaches the wire
    # (or h11's validation) instead of raising UnicodeEncodeError here.
    for name, value in headers:
        yield name.encode("utf-8", "surrogatepass"), value.encode("utf-8", "surrogatepass")


async def _addresses(url: httpx.URL) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    host = url.raw_host.decode("ascii")
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    port = url.port or _DEFAULT_PORTS[url.scheme]
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # A link-local IPv6 answer carries its zone ("fe80::1%eth0").
    return [ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in infos]


def _classify(exc: BaseException) -> str:
    """SPEC §7: the `error` value of a failed exchange."""
    if isinstance(exc, _Blocked | httpx.UnsupportedProtocol):
        return "blocked_destination"
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        refused = any(isinstance(cause, ConnectionRefusedError) for cause in _causes(exc))
        return "connection_refused" if refused else "connection_error"
    if isinstance(exc, httpx.RemoteProtocolError):
        message = str(exc).lower()
        if not any(marker in message for marker in _DISCONNECT_MESSAGES):
            return "invalid_response"
    return "connection_error"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what caused it, and the members of any group on the way."""
    pending, seen = [exc], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
