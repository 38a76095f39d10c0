"""The endpoint: an ASGI app that takes webhook calls in as the DatoCMS guide tells
receivers to (contract §10), for Starlette, FastAPI or uvicorn alone.

For each `POST` to its path, in this order:

1. basic auth (constant time) and the Standard Webhooks signature, each when
   configured: `401`, nothing stored;
2. the body parsed into an `Event` (`parse_payload`, or the parser given for custom
   payloads): `400` with a JSON error naming what is wrong, nothing stored;
3. the event stored durably by the queue, then `202`. A call already accepted (the
   same site and `webhook_call_id`) is answered `202` and not queued again, unless
   `every_delivery` is set.

Workers run the handler later, at least once per accepted event, with retries.
`GET /health` answers without auth; `?ready=1` also asks the queue's storage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from endpoint.auth import DEFAULT_TOLERANCE, BasicAuth, SignatureCheck
from endpoint.events import Event, PayloadParser, parse_payload
from endpoint.exceptions import ConfigurationError, PayloadError, Unauthorized
from endpoint.handlers import Handler
from endpoint.queue import Queue
from endpoint.retries import RetrySchedule
from endpoint.sqlite import DEFAULT_DB, SqliteQueue

__all__ = ["DEFAULT_MAX_BODY", "DEFAULT_WORKERS", "READY_TIMEOUT", "Endpoint"]

DEFAULT_WORKERS = 4
DEFAULT_MAX_BODY = 16 * 1024 * 1024  # bytes: a record with its nested blocks fits easily
READY_TIMEOUT = 2.0  # seconds `?ready=1` waits for the queue's storage
_log = logging.getLogger("endpoint.access")


class Endpoint:
    """The receiving endpoint, an ASGI app.

    `handler(event)` (plain or `async`) does the real work, later, in a worker. The
    queue is the embedded SQLite one in `db` unless `queue` gives another
    (`RqQueue`). The app's lifespan opens the queue and starts `workers` workers;
    mounted where lifespans do not reach (a Starlette `Mount`), it starts on its first
    request, or pass `lifespan=endpoint.lifespan` to the outer app.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        db: str | os.PathLike[str] = DEFAULT_DB,
        queue: Queue | None = None,
        path: str = "/",
        basic_auth: BasicAuth | tuple[str, str] | str | None = None,
        signing_secret: str | None = None,
        tolerance: float = DEFAULT_TOLERANCE,
        parser: PayloadParser | None = None,
        every_delivery: bool = False,
        workers: int = DEFAULT_WORKERS,
        retry: RetrySchedule | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY,
    ) -> None:
        if not path.startswith("/"):
            raise ConfigurationError(f"the path must start with '/', got {path!r}")
        if workers < 0:
            raise ConfigurationError(f"workers must be 0 or more, got {workers}")
        self.handler = handler
        self.queue: Queue = queue if queue is not None else SqliteQueue(db)
        self.path = path
        self.basic_auth = _basic_auth(basic_auth)
        self.signature = (
            None if signing_secret is None else SignatureCheck(signing_secret, tolerance=tolerance)
        )
        self.parser: PayloadParser = parser or parse_payload
        self.every_delivery = every_delivery
        self.workers = workers
        self.retry = retry or RetrySchedule()
        self.max_body_bytes = max_body_bytes
        self._started = False
        self._start_lock = asyncio.Lock()
        self._app = Starlette(
            routes=[
                Route(path, self._receive, methods=["POST"]),
                Route("/health", self._health, methods=["GET"]),
            ],
            lifespan=lambda app: self.lifespan(app),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    @contextlib.asynccontextmanager
    async def lifespan(self, app: object = None) -> AsyncIterator[None]:
        """Open the queue and start the workers; on the way out, stop and close them."""
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    async def start(self) -> None:
        async with self._start_lock:
            if self._started:
                return
            await self.queue.open(self.handler, self.retry)
            try:
                await self.queue.start_workers(self.workers)
            except BaseException:
                await self.queue.close()
                raise
            self._started = True

    async def stop(self) -> None:
        async with self._start_lock:
            if self._started:
                self._started = False
                await self.queue.close()

    async def _receive(self, request: Request) -> Response:
        started = time.perf_counter()
        response, event, note = await self._take(request)
        took = (time.perf_counter() - started) * 1000
        call = (
            f" call {event.webhook_call_id} ({event.entity_type}.{event.event_type})"
            if event
            else ""
        )
        _log.info(
            "POST %s %d%s %s in %.1f ms",
            request.url.path,
            response.status_code,
            call,
            note,
            took,
            extra={
                "fields": {
                    "path": request.url.path,
                    "status": response.status_code,
                    "outcome": note,
                    "call_id": event.webhook_call_id if event else None,
                    "site_id": event.site_id if event else None,
                    "duration_ms": round(took, 1),
                }
            },
        )
        return response

    async def _take(self, request: Request) -> tuple[Response, Event | None, str]:
        """The answer, the event when there is one, and a word on the outcome."""
        if not self._started:
            try:
                await self.start()
            except Exception as exc:  # the queue cannot open: the sender tries again later
                _log.exception("cannot start the endpoint")
                message = f"the endpoint cannot start: {type(exc).__name__}"
                return _error(503, "unavailable", message), None, "not started"
        try:
            if self.basic_auth is not None:
                self.basic_auth.check(request.headers.get("authorization"))
            body = await self._body(request)
            if body is None:
                return (
                    _error(413, "too_large", f"the body is over {self.max_body_bytes} bytes"),
                    None,
                    "too large",
                )
            headers = {name: value for name, value in request.headers.items()}
            if self.signature is not None:
                self.signature.check(headers, body)
        except Unauthorized as exc:
            response = _error(401, "unauthorized", exc.reason)
            if self.basic_auth is not None:
                response.headers["WWW-Authenticate"] = 'Basic realm="webhooks"'
            return response, None, f"refused: {exc.reason}"
        except ClientDisconnect:
            return Response(status_code=400), None, "the client went away"
        try:
            event = self.parser(body, headers)
        except PayloadError as exc:
            return _error(400, "invalid_payload", str(exc), exc.field), None, f"invalid: {exc}"
        except (ValueError, KeyError, TypeError) as exc:
            message = f"{type(exc).__name__}: {exc}"
            return _error(400, "invalid_payload", message), None, f"invalid: {message}"
        if not isinstance(event, Event):
            _log.error("the payload parser returned %r, not an Event", type(event).__name__)
            return (
                _error(500, "parser_error", "the payload parser returned no Event"),
                None,
                "parser error",
            )
        try:
            queued = await self.queue.accept(event, dedupe=not self.every_delivery)
        except Exception as exc:  # the storage failed: the sender must try again later
            _log.exception("cannot store call %s", event.webhook_call_id)
            return (
                _error(503, "unavailable", f"cannot store the event: {type(exc).__name__}"),
                event,
                "not stored",
            )
        body_out = {
            "status": "queued" if queued else "already_accepted",
            "webhook_call_id": event.webhook_call_id,
        }
        return JSONResponse(body_out, status_code=202), event, body_out["status"].replace("_", " ")

    async def _body(self, request: Request) -> bytes | None:
        """The body, or None when it is over the limit (not read further)."""
        declared = request.headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > self.max_body_bytes:
            return None
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    async def _health(self, request: Request) -> Response:
        """Liveness; with `?ready=1`, readiness too: the queue's storage answers."""
        if request.query_params.get("ready") in (None, "", "0"):
            return JSONResponse({"status": "ok"})
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                if not self._started:
                    await self.start()
                await self.queue.ping()
        except Exception as exc:  # any failure to reach the storage means "not ready"
            problem = "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
            return JSONResponse({"status": "unavailable", "queue": problem}, status_code=503)
        return JSONResponse({"status": "ok", "queue": "ok"})


def _basic_auth(value: BasicAuth | tuple[str, str] | str | None) -> BasicAuth | None:
    if value is None or isinstance(value, BasicAuth):
        return value
    if isinstance(value, str):
        return BasicAuth.parse(value)
    return BasicAuth(*value)


def _error(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    document: dict[str, Any] = {"error": code, "message": message}
    if field is not None:
        document["field"] = field
    return JSONResponse(document, status_code=status)
