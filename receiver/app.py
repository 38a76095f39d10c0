"""The app factory: the inspection API under ``/_receiver``, the endpoint everywhere else."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.routing import Mount

from receiver.clock import Clock, system_clock
from receiver.endpoint import Endpoint
from receiver.faults import FaultListener
from receiver.inspection import Inspection
from receiver.recording import RequestLog
from receiver.scripts import INSPECTION_PREFIX, ScriptBook
from receiver.shutdown import Shutdown

__all__ = ["INSPECTION_BODY_LIMIT", "create_app"]

INSPECTION_BODY_LIMIT = 1024 * 1024


def create_app(
    *,
    log: RequestLog | None = None,
    scripts: ScriptBook | None = None,
    shutdown: Shutdown | None = None,
    fault_listener: FaultListener | None = None,
    clock: Clock = system_clock,
) -> Starlette:
    """A receiver app. Pass the log and scripts you want to read from outside.

    The lifespan binds `shutdown` to the event loop and runs `fault_listener`
    (if any) beside the app; ``MockReceiver`` wires all of them together.
    """
    log = log if log is not None else RequestLog(clock=clock)
    scripts = scripts if scripts is not None else ScriptBook()
    shutdown = shutdown if shutdown is not None else Shutdown()
    inspection = Inspection(
        log=log,
        scripts=scripts,
        shutdown=shutdown,
        fault_port=fault_listener.port if fault_listener else None,
    )
    endpoint = Endpoint(log=log, scripts=scripts, shutdown=shutdown, clock=clock)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        shutdown.attach()
        serving = asyncio.create_task(fault_listener.serve()) if fault_listener else None
        try:
            yield
        finally:
            shutdown.trigger()
            if serving is not None:
                serving.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await serving

    return Starlette(
        routes=[
            Mount(
                INSPECTION_PREFIX,
                routes=inspection.routes(),
                max_body_size=INSPECTION_BODY_LIMIT,
            ),
            Mount("", app=endpoint),
        ],
        lifespan=lifespan,
    )
