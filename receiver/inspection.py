"""The inspection API under ``/_receiver``: read and clear the log, wait, set scripts.

JSON in and out. Bad query parameters answer ``400``, a body that is not JSON
``400``, a script that does not parse ``422``; each error is ``{"error": ...,
"field": ...}``. Inspection requests are never recorded.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from functools import wraps

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from receiver.behaviours import FAULTS, PARAMETERS
from receiver.exceptions import ScriptError, WaitTimeout
from receiver.recording import OUTCOMES, RecordedRequest, RequestLog
from receiver.scripts import ScriptBook, parse_route, parse_routes
from receiver.shutdown import Shutdown
from receiver.signatures import SIGNATURES

__all__ = ["MAX_WAIT", "Inspection"]

MAX_WAIT = 300.0
Endpoint = Callable[[Request], Awaitable[Response]]


class _BadInput(Exception):
    """Input the API refuses; never leaves this module (answered as JSON)."""

    def __init__(self, status: int, field: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        self.message = message


def _answers_errors(endpoint: Endpoint) -> Endpoint:
    @wraps(endpoint)
    async def wrapper(request: Request) -> Response:
        try:
            return await endpoint(request)
        except _BadInput as exc:
            return _error(exc.status, exc.message, exc.field)
        except ScriptError as exc:
            return _error(422, exc.message, exc.field)

    return wrapper


def _error(status: int, message: str, field: str = "", **extra: object) -> JSONResponse:
    return JSONResponse({"error": message, "field": field, **extra}, status_code=status)


def _number(request: Request, name: str, default: float, low: float, high: float) -> float:
    text = request.query_params.get(name)
    if text is None:
        return default
    try:
        value = float(text) if text.isascii() else math.nan  # ASCII digits only, as in a URL
    except ValueError:
        value = math.nan
    if not low <= value <= high:
        raise _BadInput(400, name, f"must be a number from {low:g} to {high:g}, got {text!r}")
    return value


def _integer(request: Request, name: str, default: int, low: int, high: int) -> int:
    value = _number(request, name, default, low, high)
    if value != int(value):
        raise _BadInput(400, name, f"must be an integer, got {request.query_params[name]!r}")
    return int(value)


def _flag(request: Request, name: str) -> bool:
    text = request.query_params.get(name, "0").lower()
    if text not in ("", "0", "1", "true", "false"):
        raise _BadInput(400, name, f"must be 1, true, 0 or false, got {text!r}")
    return text in ("", "1", "true")


async def _json_body(request: Request) -> object:
    try:
        return json.loads(await request.body())
    except ValueError as exc:
        raise _BadInput(400, "", f"the body is not JSON: {exc}") from None


def _listing(count: int, records: list[RecordedRequest], lean: bool) -> dict[str, object]:
    return {"count": count, "lean": lean, "requests": [record.to_json() for record in records]}


class Inspection:
    """The endpoints of the inspection API, wired to one log and one script book."""

    def __init__(
        self, *, log: RequestLog, scripts: ScriptBook, shutdown: Shutdown, fault_port: int | None
    ) -> None:
        self.log = log
        self.scripts = scripts
        self.shutdown = shutdown
        self.fault_port = fault_port

    def routes(self) -> list[BaseRoute]:
        """The routes, to mount under ``/_receiver``."""
        return [
            Route("/requests", _answers_errors(self.requests), methods=["GET", "DELETE"]),
            Route("/wait", _answers_errors(self.wait), methods=["GET"]),
            Route(
                "/routes",
                _answers_errors(self.scripts_api),
                methods=["GET", "PUT", "POST", "DELETE"],
            ),
            Route("/info", self.info, methods=["GET"]),
        ]

    def _filters(self, request: Request) -> tuple[str | None, str | None]:
        return request.query_params.get("path"), request.query_params.get("method")

    async def requests(self, request: Request) -> Response:
        """``GET``: the requests (filters ``path``, ``method``, ``since``); ``DELETE``: forget."""
        if request.method == "DELETE":
            self.log.clear()
            return Response(status_code=204)
        path, method = self._filters(request)
        since = _integer(request, "since", 0, 0, 2**53)
        count = self.log.count(path=path, method=method)
        records = self.log.requests(path=path, method=method, since=since)
        return JSONResponse(_listing(count, records, self.log.lean))

    async def wait(self, request: Request) -> Response:
        """Long poll until ``count`` requests match (``done=1``: finished), or ``timeout``."""
        path, method = self._filters(request)
        count = _integer(request, "count", 1, 0, 2**31)
        done = _flag(request, "done")
        timeout = _number(request, "timeout", 5.0, 0.0, MAX_WAIT)
        outcome: list[RecordedRequest] | WaitTimeout | None = None
        async with anyio.create_task_group() as group:

            async def stop_early() -> None:
                await self.shutdown.wait()
                group.cancel_scope.cancel()

            group.start_soon(stop_early)
            try:
                outcome = await self.log.wait_for_async(
                    count, path=path, method=method, done=done, timeout=timeout
                )
            except WaitTimeout as exc:
                outcome = exc
            group.cancel_scope.cancel()
        seen = self.log.count(path=path, method=method, done=done)
        if isinstance(outcome, WaitTimeout):
            return _error(408, str(outcome), count=seen)
        if outcome is None:
            return _error(503, "the mock receiver is stopping", count=seen)
        return JSONResponse(_listing(seen, outcome, self.log.lean))

    async def scripts_api(self, request: Request) -> Response:
        """The scripts: ``GET`` all, ``PUT`` all, ``POST`` one, ``DELETE`` all or one."""
        if request.method == "PUT":
            self.scripts.replace_all(parse_routes(await _json_body(request)))
        elif request.method == "POST":
            route = parse_route(await _json_body(request))
            self.scripts.set(route)
            listed = [
                r
                for r in self.scripts.to_json()
                if (r["method"], r["path"]) == (route.method, route.path)
            ]
            return JSONResponse(listed[0], status_code=201)
        elif request.method == "DELETE":
            path, method = self._filters(request)
            if path is None:
                self.scripts.replace_all([])
            elif not self.scripts.remove(path, method or "*"):
                return _error(404, f"no route for {method or '*'} {path}", "path")
            return Response(status_code=204)
        return JSONResponse({"routes": self.scripts.to_json()})

    async def info(self, request: Request) -> Response:
        """Where the fault listener is, and the tables this receiver understands."""
        host = request.url.hostname or "127.0.0.1"
        host = f"[{host}]" if ":" in host else host
        port = self.fault_port
        return JSONResponse(
            {
                "fault_port": port,
                "fault_url": f"http://{host}:{port}" if port is not None else None,
                "lean": self.log.lean,
                "body_limit": self.log.body_limit,
                "parameters": {p.name: p.summary for p in PARAMETERS},
                "faults": {name: fault.description for name, fault in FAULTS.items()},
                "outcomes": dict(OUTCOMES),
                "signatures": dict(SIGNATURES),
            }
        )
