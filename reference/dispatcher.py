"""The embedding API: one object that holds the store, the sender and the delivery worker.

    dispatcher = Dispatcher(Settings(api_token="secret", db_path="webhooks.db"))
    async with dispatcher:
        await dispatcher.raise_event(Event("item", "create", {"id": "1", "type": "item"}))

`dispatcher.app` is the HTTP API as a Starlette app that can be mounted in
another app (whose lifespan then enters the dispatcher).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import httpx
from starlette.types import ASGIApp

from reference.calls import WebhookCall
from reference.content import Content
from reference.delivery import Delivery
from reference.events import Event
from reference.exceptions import NotFoundError, ValidationError
from reference.retries import RetrySchedule
from reference.sender import Sender
from reference.settings import Settings
from reference.store import CallQuery, Store
from reference.triggers import matches_any
from reference.webhooks import Webhook

__all__ = ["Clock", "Dispatcher", "utcnow"]

logger = logging.getLogger("reference.dispatcher")

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Dispatcher:
    """Webhooks, events, calls and their delivery, for one site."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.store = Store(settings.db_path, site_id=settings.site_id)
        self.schedule = RetrySchedule(settings.retry_delays, settings.retry_scale)
        self._webhooks: dict[str, Webhook] = {w.id: w for w in self.store.webhooks.all()}
        self._sender = Sender(
            deadline=settings.deadline,
            connect_timeout=settings.connect_timeout,
            max_response_bytes=settings.max_response_bytes,
            transport=transport,
            clock=clock,
        )
        self.delivery = Delivery(
            self.store,
            self._sender,
            webhooks=self._webhooks.get,
            webhook_ids=lambda: list(self._webhooks),
            schedule=self.schedule,
            clock=clock,
            user_agent=settings.user_agent,
            max_in_flight=settings.max_in_flight,
            max_in_flight_per_webhook=settings.max_in_flight_per_webhook,
        )
        self.content = Content(self, clock=clock, cache_tag_window=settings.cache_tag_window)
        self._worker: asyncio.Task[None] | None = None
        self._app: ASGIApp | None = None

    @property
    def site_id(self) -> str:
        return self.store.site_id

    @property
    def app(self) -> ASGIApp:
        """The HTTP API (SPEC §1, §2, §7) and the content API (SPEC §4)."""
        if self._app is None:
            from reference.api import create_api

            self._app = create_api(self)
        return self._app

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        """Start sending: every call that is due, including those left by a previous run."""
        if self._worker is None:
            self._worker = asyncio.create_task(self.delivery.run(), name="webhooks-delivery")
            await self.content.start()

    async def stop(self) -> None:
        """Stop sending. Calls in flight are abandoned and sent again on the next start."""
        await self.content.stop()
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        await self._sender.aclose()

    async def close(self) -> None:
        await self.stop()
        self.store.close()

    async def __aenter__(self) -> Dispatcher:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def drain(self, timeout: float = 10.0) -> bool:
        """Wait until no call is in flight or due now; False if `timeout` passed first."""
        return await self.delivery.drain(timeout)

    async def wait_for_call(
        self, call_id: str, *statuses: str, attempts: int = 1, timeout: float = 10.0
    ) -> WebhookCall:
        """Wait until the call has one of `statuses` (any but pending when none given)
        and at least `attempts` attempts; raises TimeoutError after `timeout` seconds."""
        wanted = set(statuses) or {"pending", "success", "rescheduled", "failed"}
        async with asyncio.timeout(timeout):
            while True:
                seen = self.delivery.flush_count
                call = await self.get_call(call_id)
                if call.status in wanted and len(call.attempts) >= attempts:
                    return call
                await self.delivery.flushed_after(seen)

    # -- events ------------------------------------------------------------

    def matching_webhooks(self, event: Event) -> list[str]:
        """SPEC §3: the enabled webhooks any of whose triggers match; one call each."""
        return [w.id for w in self._webhooks.values() if w.enabled and matches_any(w.events, event)]

    async def raise_event(self, event: Event) -> list[str]:
        """Store one call per matching webhook and have them sent; returns the call ids."""
        return await self.store.db.run(self.record_event, event)

    async def raise_events(self, events: list[Event]) -> list[list[str]]:
        """Like `raise_event` for many events, stored in one transaction."""

        def record_all() -> list[list[str]]:
            with self.store.db.transaction():
                return [self.record_event(event) for event in events]

        return await self.store.db.run(record_all)

    def record_event(self, event: Event) -> list[str]:
        """Store the calls for `event` in the current transaction (database thread only).

        Use it inside `dispatcher.store.db.transaction()` so that a change and
        the calls it raises are committed together or not at all; sending
        starts once the transaction commits.
        """
        ids = self.store.calls.record(event, self.matching_webhooks(event), self.clock())
        if ids:
            self.store.db.on_commit(self.delivery.wake)
        return ids

    # -- webhooks ----------------------------------------------------------

    def list_webhooks(self) -> list[Webhook]:
        return sorted(self._webhooks.values(), key=lambda w: int(w.id))

    def find_webhook(self, webhook_id: str) -> Webhook | None:
        return self._webhooks.get(webhook_id)

    def get_webhook(self, webhook_id: str) -> Webhook:
        webhook = self._webhooks.get(webhook_id)
        if webhook is None:
            raise NotFoundError("webhook", webhook_id)
        return webhook

    async def create_webhook(self, attributes: Mapping[str, Any]) -> Webhook:
        webhook = await self.store.db.run(self.store.webhooks.create, attributes, self.clock())
        self._webhooks[webhook.id] = webhook
        return webhook

    async def update_webhook(self, webhook_id: str, attributes: Mapping[str, Any]) -> Webhook:
        self.get_webhook(webhook_id)
        webhook = await self.store.db.run(self.store.webhooks.update, webhook_id, attributes)
        self._webhooks[webhook.id] = webhook
        return webhook

    async def delete_webhook(self, webhook_id: str) -> Webhook:
        self.get_webhook(webhook_id)

        def abandon(conn: Any) -> None:
            self.store.calls.abandon_webhook(conn, webhook_id)

        webhook = await self.store.db.run(self.store.webhooks.delete, webhook_id, abandon)
        del self._webhooks[webhook.id]
        return webhook

    # -- the activity log --------------------------------------------------

    async def list_calls(self, query: CallQuery) -> tuple[list[WebhookCall], int]:
        return await self.store.db.run(self.store.calls.search, query)

    async def get_call(self, call_id: str) -> WebhookCall:
        return await self.store.db.run(self.store.calls.get, call_id)

    async def resend(self, call_id: str) -> WebhookCall:
        """SPEC §8: send the call's event again now with the webhook's current settings."""
        call = await self.get_call(call_id)
        if call.webhook_id not in self._webhooks:
            raise ValidationError(
                "webhook", f"webhook {call.webhook_id} was deleted; its calls cannot be resent"
            )
        call = await self.store.db.run(self.store.calls.request_resend, call_id)
        self.delivery.wake()
        return call
