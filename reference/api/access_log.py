"""One `reference.access` log line per HTTP request the server answers."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reference.logs import log_fields

__all__ = ["AccessLog"]

access_logger = logging.getLogger("reference.access")


class AccessLog:
    """ASGI middleware: one `reference.access` line per HTTP request, after the answer
    (method, path, status, duration); the query string is left out (it may hold ids)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            if access_logger.isEnabledFor(logging.INFO):
                path = scope["path"]
                duration_ms = round((time.perf_counter() - started) * 1000, 1)
                access_logger.info(
                    "%s %s %d in %.1f ms",
                    scope["method"],
                    path,
                    status,
                    duration_ms,
                    extra=log_fields(
                        method=scope["method"], path=path, status=status, duration_ms=duration_ms
                    ),
                )
