"""`GET /health` and `GET /metrics`: for load balancers and Prometheus, without the API
token (the metrics behind their own token when `metrics_token` is set)."""

from __future__ import annotations

import asyncio
import hmac

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reference.api.context import dispatcher_of
from reference.api.errors import error_response
from reference.metrics import CONTENT_TYPE

__all__ = ["routes"]

#: how long `?ready=1` waits for the database
READY_TIMEOUT = 2.0


async def health(request: Request) -> Response:
    """Liveness: the process answers. With `?ready=1`, readiness too: the store answers."""
    if request.query_params.get("ready") not in (None, "", "0"):
        dispatcher = dispatcher_of(request)
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                await dispatcher.store.ping()
        except Exception as exc:  # any failure to reach the store means "not ready"
            problem = "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
            return JSONResponse({"status": "unavailable", "store": problem}, status_code=503)
        return JSONResponse({"status": "ok", "store": "ok"})
    return JSONResponse({"status": "ok"})


async def metrics(request: Request) -> Response:
    dispatcher = dispatcher_of(request)
    token = dispatcher.settings.metrics_token
    if token is not None:
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, f"Bearer {token}".encode()):
            response = error_response(
                401, "UNAUTHORIZED", "missing or wrong metrics token (Authorization: Bearer ...)"
            )
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
    now = dispatcher.clock()
    queue = await dispatcher.store.queue(now)
    body = dispatcher.metrics.exposition(queue, dispatcher.delivery.in_flight, now)
    return Response(body, media_type=CONTENT_TYPE)


routes = [
    Route("/health", health, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]
