"""Binding the server's socket before anything else runs, so that a busy port is a
clear error at once and port 0 shows the port it got, then serving on it.

The socket is bound but not listening until the server starts: until then a client
is refused at once rather than left waiting."""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Coroutine
from typing import Any, TypeVar

import uvicorn
from starlette.types import ASGIApp

from reference.exceptions import ConfigurationError

__all__ = ["bind", "bound_url", "run", "serve"]

T = TypeVar("T")


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to `host:port` (0: any free port); the server listens on it."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConfigurationError(f"--host {host!r}: {exc.strerror}") from None
    except ValueError:  # UnicodeError: a label over 63 characters; or a NUL
        raise ConfigurationError(f"--host {host!r}: not a host name or address") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRNOTAVAIL:  # not an address of this machine
            raise ConfigurationError(
                f"--host {host!r}: cannot listen on it: {exc.strerror}"
            ) from None
        raise ConfigurationError(
            f"--port {port}: cannot listen on {host}: {exc.strerror}"
        ) from None
    sock.setblocking(False)
    return sock


def bound_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


async def serve(app: ASGIApp, sock: socket.socket) -> None:
    """Serve `app` on the bound socket until SIGINT or SIGTERM (uvicorn's own handling;
    the app's lifespan end is the dispatcher's clean stop)."""
    config = uvicorn.Config(app, log_level="warning", access_log=False, log_config=None)
    await uvicorn.Server(config).serve(sockets=[sock])


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` to its end on uvloop when it is installed, as uvicorn does when it
    picks the loop itself, else on asyncio's own loop. `nox -s bench` runs the
    dispatcher on both: the delivery path's time is in Python code, and the two
    loops deliver at the same rate."""
    try:
        import uvloop
    except ImportError:  # not built for this platform (Windows)
        return asyncio.run(main)
    return uvloop.run(main)
