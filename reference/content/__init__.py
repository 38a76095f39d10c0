"""The content API: environments, models, fields, records, uploads, build triggers,
maintenance mode and SSO users, whose changes raise the events of contract §4.

Each request runs in one database transaction with the events it raises, so a
change and its calls are committed together or not at all, and a request that
fails validation raises nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from reference.content.cache_tags import CacheTagFlusher
from reference.content.scope import EventRecorder, Scope
from reference.exceptions import NotFoundError
from reference.store import Store, Transaction

__all__ = ["Content"]

T = TypeVar("T")


class Content:
    """The content of one site, kept in `store`; its changes raise events through
    `record_event` (the dispatcher's), in the transaction that makes them."""

    def __init__(
        self,
        store: Store,
        record_event: EventRecorder,
        *,
        clock: Callable[[], datetime],
        cache_tag_window: float,
    ) -> None:
        self.store = store
        self.record_event = record_event
        self.clock = clock
        self.cache_tags = CacheTagFlusher(store, record_event, window=cache_tag_window, clock=clock)
        self._flusher: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """contract §4: the primary environment is `main` at first."""
        now = self.clock()
        await self.store.transaction(lambda tx: tx.content.ensure_primary(now))

    async def start(self) -> None:
        if self._flusher is None:
            self._flusher = asyncio.create_task(self.cache_tags.run(), name="webhooks-cache-tags")

    async def stop(self) -> None:
        flusher, self._flusher = self._flusher, None
        if flusher is not None:
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)

    async def change(self, environment: str | None, action: Callable[..., T], *args: Any) -> T:
        """Run `action(scope, *args)` in one transaction in the store's thread.

        `environment` None is the primary environment; an unknown one is 404.
        """
        return await self.store.transaction(self._in_transaction, environment, action, args)

    def _in_transaction(
        self,
        tx: Transaction,
        environment: str | None,
        action: Callable[..., T],
        args: tuple[Any, ...],
    ) -> T:
        scope = self.scope(tx, environment)
        result = action(scope, *args)
        for changed in scope.changed:
            tx.content.touch(changed, scope.now)
        if scope.tagged:
            tx.on_commit(self.cache_tags.wake)
        return result

    def scope(self, tx: Transaction, environment: str | None) -> Scope:
        """A scope on `environment` in the transaction `tx`."""
        rows = tx.content
        name = rows.primary() if environment is None else environment
        primary = rows.environment(name)
        if primary is None:
            raise NotFoundError("environment", name)
        return Scope(tx, self.record_event, self.clock(), name, primary, self.store.site_id)
