"""A fake network under the sender's production path: every name resolves to one HTTP
server on 127.0.0.1 whose answers a Python function gives.

    async with FakeNetwork(handler) as network:
        sender = Sender(resolver=network.resolver, ssl_context=network.ssl_context)

`handler(request: httpx.Request) -> httpx.Response` (or a coroutine of one) sees each
request as it came off the wire: method, the URL it was sent to (scheme, host and port
as the sender wrote them), headers in order and case, and the body. A handler that
raises makes the server drop the connection without an answer. The answer carries the
handler's status, headers and body, and the `Date`, `Server` and (when the handler set
none) `Content-Type` that aiohttp's server adds. The sender itself runs
unchanged: aiohttp, its connector, its parser, real sockets, TLS for `https` URLs (a
certificate from a test CA, `trustme`, for every name used); only name resolution and
the trusted CA are replaced, through the seams production fills with the system's.
"""

from __future__ import annotations

import asyncio
import inspect
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import httpx
import pytest
import trustme
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

__all__ = ["FakeNetwork", "Handler"]

Handler = Callable[[httpx.Request], "httpx.Response | Awaitable[httpx.Response]"]


class _Resolver(AbstractResolver):
    """Every name, on every port, is the fake server."""

    def __init__(self, network: FakeNetwork) -> None:
        self._network = network

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        network = self._network
        return [
            ResolveResult(
                hostname=host,
                host="127.0.0.1",
                port=network.tls_port if port == 443 else network.port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        pass


#: The names test URLs use; the test CA's certificate covers them.
NAMES = ("example.com", "*.example.com", "example.org", "*.example.org", "localhost")


class FakeNetwork:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.port = 0  # plain HTTP; every port but 443
        self.tls_port = 0  # https, port 443
        self.resolver: AbstractResolver = _Resolver(self)
        authority = trustme.CA()
        self.ssl_context = ssl.create_default_context()
        authority.configure_trust(self.ssl_context)
        self._server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        authority.issue_cert(*NAMES).configure_cert(self._server_context)
        self._runner: web.ServerRunner | None = None

    async def __aenter__(self) -> FakeNetwork:
        server = web.Server(self._serve, access_log=None)
        # Handlers that hang (a receiver that never answers) are cancelled at the end.
        self._runner = web.ServerRunner(server, shutdown_timeout=0.1)
        await self._runner.setup()
        plain = web.TCPSite(self._runner, "127.0.0.1", 0)
        tls = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self._server_context)
        await plain.start()
        await tls.start()
        self.port = _port(plain)
        self.tls_port = _port(tls)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _serve(self, incoming: web.BaseRequest) -> web.StreamResponse:
        body = await incoming.read()
        host = incoming.headers.get("Host", f"127.0.0.1:{self.port}")
        scheme = "https" if incoming.secure else "http"
        request = httpx.Request(
            incoming.method,
            f"{scheme}://{host}{incoming.raw_path}",
            headers=list(incoming.raw_headers),  # bytes, as they came
            content=body,
        )
        try:
            answer = self.handler(request)
            response = await answer if inspect.isawaitable(answer) else answer
            assert isinstance(response, httpx.Response)
            content = await response.aread()
        except (Exception, asyncio.CancelledError):
            # No answer: the connection is dropped, as a crashed receiver would.
            if incoming.transport is not None:
                incoming.transport.abort()
            raise
        out = web.Response(status=response.status_code, body=content)
        out.headers.clear()
        for name, value in response.headers.multi_items():
            if name.lower() not in ("content-length", "transfer-encoding"):
                out.headers.add(name, value)
        return out


def _port(site: web.TCPSite) -> int:
    server = site._server  # the listening asyncio server, once started
    assert isinstance(server, asyncio.base_events.Server)
    port: int = server.sockets[0].getsockname()[1]
    return port


def slow_certificates(monkeypatch: pytest.MonkeyPatch, seconds: float) -> list[float]:
    """Loading the CA bundle takes `seconds` (it blocks, as on a busy machine); returns
    the moments it was loaded."""
    real = httpx.create_ssl_context
    loaded: list[float] = []

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(seconds)
        loaded.append(time.monotonic())
        return real(*args, **kwargs)

    monkeypatch.setattr(httpx, "create_ssl_context", slow)
    return loaded
