"""The sender: one HTTP exchange with a receiver, and what came of it (contract §5, §7, §8).

`Sender.send` posts an `OutgoingRequest` and returns an `Outcome`; it never
raises for a network or HTTP problem, only cancellation propagates. The whole
exchange has one deadline, the first 64 KiB of the answer are kept, and every
failure is named by one of the `error` values of contract §7.

Requests go out through one `aiohttp.ClientSession`, opened by `open()` (or else
by the first `send`, before its deadline starts) and closed by `aclose()`, with
at most `max_connections_per_origin` connections to each origin (scheme, host,
port). Measured with the benchmark, httpx/httpcore spent ~80% of the GIL time
per delivery and capped the dispatcher at a fifth of what the receiver can take.
The session is stripped of what contract §5 does not want between us and the
receiver: no default headers (aiohttp adds only Host and Content-Length), no
redirects, no decompression, no cookie jar, no proxies from the environment, and
no `Authorization` header made of URL credentials.

Tests run this same path: their seam is the `resolver`, under aiohttp, which
can send every name to a local test server.
"""

from __future__ import annotations

import asyncio
import functools
import re
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Final, Self

import aiohttp
import httpx
import yarl
from aiohttp import http_exceptions
from aiohttp.abc import AbstractResolver
from aiohttp.resolver import DefaultResolver

from reference.destinations import BlockedDestination, DestinationPolicy, PolicyResolver
from reference.exceptions import ConfigurationError

__all__ = [
    "ERRORS",
    "Outcome",
    "OutgoingRequest",
    "Sender",
]

#: contract §7: why an attempt failed.
ERRORS: Final = (
    "timeout",
    "connection_refused",
    "connection_error",
    "invalid_response",
    "blocked_destination",
)

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}

# Headers aiohttp adds unless told not to; contract §5 sends only the given ones.
_AUTO_HEADERS: Final = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")

# aiohttp's parser limits default to 8190 bytes a line and 128 headers; h11,
# which httpx uses, accepts a head of up to 16 KiB however it is split up.
_MAX_HEAD_LINE: Final = 16 * 1024
_MAX_HEADERS: Final = 1024

# RFC 9110 §5.1, §5.5 as h11 enforces them before sending: aiohttp only refuses
# CR, LF and NUL, and would put "Bad Name: x" on the wire.
_TOKEN: Final = re.compile(r"[-!#$%&'*+.^_`|~0-9A-Za-z]+")
_FIELD_VALUE: Final = re.compile(
    r"(?:[^\x00-\x20\x7f](?:[^\x00-\x08\x0a-\x1f\x7f]*[^\x00-\x20\x7f])?)?"
)

# httpx accepts hosts such as "exa%20mple.com" and ports such as 99999.
# Host names (after IDNA), IPv4 and IPv6 literals are made of these.
_HOST: Final = re.compile(rb"[A-Za-z0-9_.:\-]+")


@dataclass(frozen=True, slots=True)
class OutgoingRequest:
    """A request as contract §5 builds it: sent exactly like this, headers in order."""

    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt came to, in the terms of the activity log (contract §7).

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
    error_detail: str | None = None
    """One human-readable line on why the attempt failed, beside `error`."""

    @property
    def ok(self) -> bool:
        """contract §8: success is a complete `2xx` answer."""
        return self.error is None and self.status is not None and 200 <= self.status < 300


class _Unsendable(Exception):
    """A header that HTTP/1.1 cannot carry; a failed attempt, as h11 makes it."""


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
        clock: Callable[[], datetime] = _utc_now,
        max_connections_per_origin: int = 64,
        policy: DestinationPolicy | None = None,
        resolver: AbstractResolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """Configure the sender; nothing is opened until `open()` or the first `send`.

        `policy` says which addresses may be connected to (contract §8,
        destinations): a literal address is checked before anything else, a
        name once `resolver` (aiohttp's default one unless given) has resolved
        it, and only the addresses checked are connected to. `ssl_context` verifies
        receivers' certificates (default: the certifi CA bundle).
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
        self._connect_timeout = connect_timeout
        self._clock = clock
        self._per_origin = max_connections_per_origin
        self._policy = policy or DestinationPolicy()
        self._resolver = resolver
        self._ssl_context = ssl_context
        # Per origin, the slots that keep its connection pool from queueing.
        self._origins: dict[tuple[str, str, int], asyncio.Semaphore] = {}
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    async def __aenter__(self) -> Self:
        await self.open()
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
        destination = _destination(request.url)
        if destination is None:
            return Outcome(None, (), None, "blocked_destination", self._clock(), 0)
        url, target = destination
        # Neither opening the session (loading the CA bundle) nor waiting for a free
        # connection is part of the exchange: the deadline starts once the pool can
        # take the request at once.
        session = self._client()
        async with self._slots(url):
            sent_at = self._clock()
            started = time.monotonic()
            answer = _Answer()
            error: str | None = None
            detail: str | None = None
            # contract §8: one deadline over connect, send, status line, headers, body.
            timeout = asyncio.timeout(self._deadline)
            try:
                async with timeout:
                    self._policy.check_host(url.host)
                    await self._exchange(session, target, request, answer)
            except (
                TimeoutError,
                aiohttp.ClientError,
                http_exceptions.HttpProcessingError,
                OSError,
                BlockedDestination,
                _Unsendable,
            ) as exc:
                if timeout.expired():
                    error, detail = "timeout", self._late(answer)
                else:
                    error, detail = _classify(exc), _detail(exc, url, answer)
            duration_ms = round((time.monotonic() - started) * 1000)
        body = None if answer.body is None else answer.body.decode("utf-8", errors="replace")
        return Outcome(answer.status, answer.headers, body, error, sent_at, duration_ms, detail)

    async def open(self) -> None:
        """Open the session now, in the running loop, its certificates loaded in a thread:
        the first `send` then does not hold up the loop while they load."""
        if self._closed:
            raise RuntimeError("the sender is closed")
        if self._session is None:
            context = self._ssl_context
            if context is None:
                context = await asyncio.to_thread(httpx.create_ssl_context)
            if self._session is None:  # another open() may have finished meanwhile
                self._session = self._new_session(context)

    async def aclose(self) -> None:
        """Close every connection; call it once the sends in flight are done."""
        self._closed = True
        self._origins = {}
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def _exchange(
        self,
        session: aiohttp.ClientSession,
        target: yarl.URL,
        request: OutgoingRequest,
        answer: _Answer,
    ) -> None:
        headers = list(_checked_headers(request.headers))
        response = await session.post(
            target, data=request.body, headers=headers, allow_redirects=False
        )
        complete = False
        try:
            answer.status = response.status
            answer.headers = _decode_headers(response.raw_headers)
            answer.body = bytearray()
            complete = await self._read_stream(response.content, answer.body)
        finally:
            # contract §7: a larger body is never read further. An answer read to
            # its end leaves its connection in the pool; any other is closed,
            # which drops the connection (after a cut, a timeout, an error).
            if complete:
                response.release()
            else:
                response.close()

    async def _read_stream(self, content: aiohttp.StreamReader, into: bytearray) -> bool:
        """Read into `into` up to the limit; True if the body ended within it."""
        while chunk := await content.readany():
            room = self._max_bytes - len(into)
            if len(chunk) > room:
                into += chunk[:room]
                return False
            into += chunk
        return True

    def _late(self, answer: _Answer) -> str:
        """Why the deadline cut the exchange off, in one line."""
        if answer.status is None:
            return f"no answer within the {self._deadline:g} s deadline"
        received = len(answer.body or b"")
        return (
            f"the body was still arriving at the {self._deadline:g} s deadline,"
            f" after {received:,} bytes"
        )

    def _slots(self, url: httpx.URL) -> asyncio.Semaphore:
        key = (url.scheme, url.raw_host.decode("ascii"), url.port or _DEFAULT_PORTS[url.scheme])
        slots = self._origins.get(key)
        if slots is None:
            slots = self._origins[key] = asyncio.Semaphore(self._per_origin)
        return slots

    def _client(self) -> aiohttp.ClientSession:
        # Unless open() was awaited, opened on the first send: a session belongs to
        # the running loop.
        if self._session is None:
            self._session = self._new_session(self._ssl_context or httpx.create_ssl_context())
        return self._session

    def _new_session(self, context: ssl.SSLContext) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            # Connects only to the addresses the policy let through.
            resolver=PolicyResolver(self._policy, self._resolver or DefaultResolver()),
            limit=0,
            limit_per_host=self._per_origin,
            # httpx's context: the same CA bundle (certifi) as before.
            ssl=context,
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=_AUTO_HEADERS,
            auto_decompress=False,
            trust_env=False,
            # The deadline is the caller's asyncio.timeout; only connecting
            # has a limit of its own. The slots keep the pool from queueing.
            timeout=aiohttp.ClientTimeout(
                total=None,
                connect=self._connect_timeout,
                sock_connect=self._connect_timeout,
            ),
            max_line_size=_MAX_HEAD_LINE,
            max_field_size=_MAX_HEAD_LINE,
            max_headers=_MAX_HEADERS,
        )


# Parsed once per distinct string: a webhook's calls all go to the same few URLs.
@functools.lru_cache(maxsize=4096)
def _destination(raw: str) -> tuple[httpx.URL, yarl.URL] | None:
    """The URL as httpx and as aiohttp get it, if it is one to send to; else None."""
    url = _parse_url(raw)
    if url is None:
        return None
    # Already normalised and percent-encoded by httpx; yarl must not requote
    # it. Credentials are dropped: aiohttp would send them as `Authorization`.
    return url, yarl.URL(str(url.copy_with(username=None, password=None)), encoded=True)


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


def _checked_headers(headers: tuple[tuple[str, str], ...]) -> Iterator[tuple[str, str]]:
    """The headers, if h11 would have sent them too; aiohttp sends them as UTF-8."""
    for name, value in headers:
        if not _TOKEN.fullmatch(name):
            raise _Unsendable(f"illegal header name {name!r}")
        if not _FIELD_VALUE.fullmatch(value):
            raise _Unsendable(f"illegal header value {value!r}")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate
            raise _Unsendable(f"header value {value!r} is not UTF-8") from exc
        yield name, value


def _decode_headers(raw: tuple[tuple[bytes, bytes], ...]) -> tuple[tuple[str, str], ...]:
    """Names lowercased, as httpx gives them; values ASCII, else UTF-8, else Latin-1."""
    for encoding in ("ascii", "utf-8"):
        try:
            return tuple(
                (name.decode(encoding).lower(), value.decode(encoding)) for name, value in raw
            )
        except UnicodeDecodeError:
            pass
    return tuple((name.decode("latin-1").lower(), value.decode("latin-1")) for name, value in raw)


def _classify(exc: BaseException) -> str:
    """contract §7: the `error` value of a failed exchange (the first matching `_FAILURES` row)."""
    row = _row(exc)
    return "connection_error" if row is None else row.error


def _detail(exc: BaseException, url: httpx.URL, answer: _Answer) -> str:
    """contract §7: one human-readable line beside the `error` value."""
    row = _row(exc)
    if row is None:
        return str(exc) or type(exc).__name__
    return row.describe(exc, url, answer)


def _row(exc: BaseException) -> _Failure | None:
    for row in _FAILURES:
        if isinstance(exc, row.kinds) and row.when(exc):
            return row
    return None


def _where(url: httpx.URL) -> str:
    return f"{url.host}:{url.port or _DEFAULT_PORTS[url.scheme]}"


def _when(answer: _Answer) -> str:
    """At which point of the answer a connection broke."""
    if answer.status is None:
        return "before any answer"
    return f"after {len(answer.body or b''):,} bytes of the body"


def _os_reason(exc: BaseException) -> str:
    os_error = getattr(exc, "os_error", None) or exc
    reason = getattr(os_error, "strerror", None) or str(os_error)
    return str(reason).lower() if reason else type(os_error).__name__


_Describe = Callable[[Any, httpx.URL, _Answer], str]


@dataclass(frozen=True, slots=True)
class _Failure:
    """One row of the error table: what aiohttp (or the sender) raised, the contract §7
    `error` it is, and how to say it in one line."""

    kinds: type[BaseException] | tuple[type[BaseException], ...]
    error: str
    describe: _Describe
    when: Callable[[Any], bool] = lambda exc: True


def _refused(exc: aiohttp.ClientConnectorError) -> bool:
    return isinstance(exc.os_error, ConnectionRefusedError)


#: The error table, most specific first (httpcore's HTTPCORE_EXC_MAP is the model). Each
#: row is proven against real sockets in tests/reference/test_sender.py.
_FAILURES: tuple[_Failure, ...] = (
    _Failure(BlockedDestination, "blocked_destination", lambda exc, url, answer: str(exc)),
    _Failure(
        aiohttp.InvalidURL,
        "blocked_destination",
        lambda exc, url, answer: "not an http(s) URL with a host",
    ),
    _Failure(
        aiohttp.ClientConnectorDNSError,
        "connection_error",
        lambda exc, url, answer: f"{url.host!r} does not resolve ({_os_reason(exc)})",
    ),
    _Failure(
        aiohttp.ClientConnectorCertificateError,
        "connection_error",
        lambda exc, url, answer: (
            f"the TLS certificate of {url.host} is not trusted:"
            f" {getattr(exc, 'certificate_error', exc)}"
        ),
    ),
    _Failure(
        aiohttp.ClientSSLError,
        "connection_error",
        lambda exc, url, answer: f"the TLS handshake with {_where(url)} failed: {_os_reason(exc)}",
    ),
    _Failure(
        aiohttp.ClientConnectorError,
        "connection_refused",
        lambda exc, url, answer: f"{_where(url)} refused the connection",
        when=_refused,
    ),
    _Failure(
        aiohttp.ClientConnectorError,
        "connection_error",
        lambda exc, url, answer: f"cannot connect to {_where(url)}: {_os_reason(exc)}",
    ),
    _Failure(  # connecting took longer than its own limit (aiohttp's ConnectionTimeoutError)
        TimeoutError,
        "timeout",
        lambda exc, url, answer: f"no connection to {_where(url)} within the connect timeout",
    ),
    _Failure(  # a status line or header that does not parse
        (aiohttp.ClientResponseError, http_exceptions.HttpProcessingError),
        "invalid_response",
        lambda exc, url, answer: (
            f"the answer is not valid HTTP: {getattr(exc, 'message', None) or exc}".rstrip(": ")
        ),
    ),
    _Failure(
        aiohttp.ServerDisconnectedError,
        "connection_error",
        lambda exc, url, answer: f"the connection was closed {_when(answer)}",
    ),
    _Failure(
        aiohttp.ClientPayloadError,
        "connection_error",
        lambda exc, url, answer: f"the connection broke off {_when(answer)}",
    ),
    _Failure(
        (aiohttp.ClientOSError, ConnectionResetError),
        "connection_error",
        lambda exc, url, answer: (
            f"the connection was reset {_when(answer)}"
            if isinstance(exc, ConnectionResetError) or "reset" in str(exc).lower()
            else f"the connection failed {_when(answer)}: {_os_reason(exc)}"
        ),
    ),
    _Failure(_Unsendable, "connection_error", lambda exc, url, answer: f"not sent: {exc}"),
)
