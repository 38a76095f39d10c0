"""The stop signal: set from any thread, awaited by every request in flight.

uvicorn waits for in-flight responses before it stops; a hung request has no
end of its own, so each one also waits for this signal and gives up at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

__all__ = ["Shutdown"]


class Shutdown:
    """A one-way flag: `trigger()` from any thread, `await wait()` in the event loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event = asyncio.Event()
        self._triggered = False

    @property
    def triggered(self) -> bool:
        """Whether `trigger()` was called."""
        return self._triggered

    def attach(self) -> None:
        """Bind to the running event loop (the app's lifespan calls this)."""
        with self._lock:
            self._loop = asyncio.get_running_loop()
            if self._triggered:
                self._event.set()

    def trigger(self) -> None:
        """Ask every request in flight to stop; safe from any thread, idempotent."""
        with self._lock:
            self._triggered = True
            loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # a closed loop has nothing in flight
            loop.call_soon_threadsafe(self._event.set)

    async def wait(self) -> None:
        """Return once `trigger()` was called."""
        await self._event.wait()
