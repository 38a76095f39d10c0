"""CDA cache tags: tags invalidated within one window (at most 1 s) go out as one
`invalidate` event per environment (contract §4).

Tags are stored with the change that invalidates them, so a restart within a
window still sends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from reference.content.scope import EventRecorder
from reference.events import Event
from reference.store import Store, Transaction
from reference.timefmt import from_epoch, to_epoch

__all__ = ["CacheTagFlusher"]

logger = logging.getLogger("reference.content.cache_tags")

IDLE_RECHECK = 5.0  # seconds: look for tags now and then even when not woken


class CacheTagFlusher:
    def __init__(
        self,
        store: Store,
        record_event: EventRecorder,
        *,
        window: float,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._record_event = record_event
        self._window = window
        self._clock = clock
        self._wakeup = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        """New tags were committed. Safe to call from any thread."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wakeup.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        store = self._store
        try:
            while True:
                self._wakeup.clear()
                oldest = await store.transaction(lambda tx: tx.content.oldest_tag_at())
                if oldest is None:
                    # Another process may store tags and stop before sending them.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(IDLE_RECHECK):
                            await self._wakeup.wait()
                    continue
                wait = oldest + self._window - to_epoch(self._clock())
                if wait > 0:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(wait):
                            await asyncio.Event().wait()
                try:
                    await store.transaction(self._flush, oldest + self._window)
                except Exception:
                    # The tags stay in the store; the next round sends them.
                    logger.exception("could not send cache tag invalidations; retrying in 1 s")
                    await asyncio.sleep(1.0)
        finally:
            self._loop = None

    def _flush(self, tx: Transaction, until: float) -> None:
        for environment, tags in tx.content.take_tags(until).items():
            primary = tx.content.environment(environment)
            self._record_event(
                tx,
                Event(
                    entity_type="cda_cache_tags",
                    event_type="invalidate",
                    entity={
                        "id": "cda_cache_tags",
                        "type": "cda_cache_tags",
                        "attributes": {"tags": tags},
                        "relationships": {},
                        "meta": {},
                    },
                    environment=environment,
                    is_environment_primary=bool(primary),
                    happened_at=from_epoch(min(until, to_epoch(self._clock()))),
                ),
            )
