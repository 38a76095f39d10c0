"""The store on a SQL database: the rows of `webhooks`, `calls` and `content` over one
`Database`, whichever backend it runs on."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Concatenate, ParamSpec, TypeVar

from reference.calls import DueCall
from reference.store.calls import CallRows
from reference.store.content import ContentRows
from reference.store.database import Backend, Database
from reference.store.protocol import QueueState, Settlement, Transaction
from reference.store.webhooks import WebhookRows

__all__ = ["SQLStore"]

P = ParamSpec("P")
T = TypeVar("T")


class SQLStore:
    """The `Store` of SQLite and PostgreSQL (see `reference.store.protocol`)."""

    def __init__(
        self,
        backend: Backend,
        *,
        site_id: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._db = Database(backend)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._wanted_site_id = site_id
        self._site_id: str | None = None
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.webhooks = WebhookRows(self._db)
        self.calls = CallRows(self._db, self.owner)
        self.content = ContentRows(self._db)
        self._listeners: list[Callable[[], None]] = []
        self._stop_listening: Callable[[], None] | None = None

    # -- Transaction -------------------------------------------------------

    def on_commit(self, callback: Callable[[], None]) -> None:
        self._db.on_commit(callback)

    # -- Store -------------------------------------------------------------

    @property
    def backend(self) -> str:
        return self._db.backend.name

    @property
    def shared(self) -> bool:
        return self._db.backend.shared

    @property
    def site_id(self) -> str:
        if self._site_id is None:
            raise RuntimeError("the store is not open: enter the dispatcher first")
        return self._site_id

    async def open(self) -> None:
        await self._db.open()
        self._site_id = await self._db.run(self._take_site_id)
        if not self.shared:
            # Nobody else can use the database: claims left by a stopped run are stale.
            await self._db.run(self.calls.release_all, self._clock())
        self._stop_listening = self._db.backend.listen(self._notified)

    def _take_site_id(self) -> str:
        """contract §5: one site id, generated on first start and kept; processes starting
        together on one database agree on it."""
        with self._db.transaction():
            if self._wanted_site_id is not None:
                self._db.execute(
                    "INSERT INTO meta (key, value) VALUES ('site_id', ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (self._wanted_site_id,),
                )
            else:
                self._db.execute(
                    "INSERT INTO meta (key, value) VALUES ('site_id', ?)"
                    " ON CONFLICT (key) DO NOTHING",
                    (str(secrets.randbelow(900_000) + 100_000),),
                )
            (site_id,) = self._db.one("SELECT value FROM meta WHERE key = 'site_id'")
            return str(site_id)

    async def close(self) -> None:
        stop, self._stop_listening = self._stop_listening, None
        if stop is not None:
            stop()
        await self._db.close()

    async def transaction(
        self,
        fn: Callable[Concatenate[Transaction, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        def in_transaction() -> T:
            with self._db.transaction():
                return fn(self, *args, **kwargs)

        return await self._db.run(in_transaction)

    def on_calls_stored(self, callback: Callable[[], None]) -> None:
        self._listeners.append(callback)

    def _notified(self) -> None:
        for callback in self._listeners:
            callback()

    # -- the delivery queue --------------------------------------------------

    async def claim(
        self, now: datetime, limit: int, lease: float, skip_webhooks: Iterable[str], turn: int
    ) -> list[DueCall]:
        return await self._db.run(self._claim, now, limit, lease, list(skip_webhooks), turn)

    def _claim(
        self, now: datetime, limit: int, lease: float, skip: list[str], turn: int
    ) -> list[DueCall]:
        webhooks = self.webhooks.all()
        return self.calls.claim(now, limit, lease, webhooks, skip, turn)

    async def settle(self, settlement: Settlement) -> list[DueCall]:
        return await self._db.run(self._settle, settlement)

    def _settle(self, settlement: Settlement) -> list[DueCall]:
        with self._db.transaction():
            if settlement.completions:
                self.calls.complete(settlement.completions)
            if settlement.abandoned:
                self.calls.abandon(settlement.abandoned)
            if settlement.unsent:
                self.calls.release(settlement.unsent)
            claim = settlement.claim
            if claim is None or claim.limit <= 0:
                return []
            return self._claim(
                claim.now, claim.limit, claim.lease, list(claim.skip_webhooks), claim.turn
            )

    async def release(self, call_ids: Sequence[str]) -> None:
        await self._db.run(self.calls.release, call_ids)

    async def keep_leases(self, now: datetime, lease: float) -> int:
        return await self._db.run(self.calls.keep_leases, now, lease)

    async def next_due_at(self) -> datetime | None:
        return await self._db.run(self.calls.next_due_at)

    async def queue(self, now: datetime) -> QueueState:
        return await self._db.run(self.calls.queue, now)

    async def ping(self) -> None:
        await self._db.run(self._db.one, "SELECT 1")
