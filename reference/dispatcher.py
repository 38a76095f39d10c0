"""The embedding API: one object that holds the store, the sender and the delivery worker.

    dispatcher = Dispatcher(Settings(api_token="secret", db="webhooks.db"))
    async with dispatcher:
        await dispatcher.raise_event(Event("item", "create", {"id": "1", "type": "item"}))

The store is opened when the dispatcher is entered (or started) and closed
when it is left; leaving it is a clean stop (contract §8): no new claims, the
exchanges in flight finish and their outcomes are recorded.

`reference.app.create_api(dispatcher)` is its HTTP API, to mount in another app.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver

from reference.calls import WebhookCall
from reference.content import Content
from reference.delivery import Delivery
from reference.destinations import BlockedDestination
from reference.events import Event
from reference.exceptions import NotFoundError, ValidationError
from reference.metrics import Metrics
from reference.retries import RetrySchedule
from reference.sender import Sender
from reference.settings import Settings
from reference.store import CallQuery, Transaction, create_store
from reference.triggers import matches_any
from reference.webhooks import Webhook

__all__ = ["Clock", "Dispatcher", "utcnow"]

logger = logging.getLogger("reference.dispatcher")

Clock = Callable[[], datetime]
P = ParamSpec("P")
T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Dispatcher:
    """Webhooks, events, calls and their delivery, for one site."""

    def __init__(
        self,
        settings: Settings,
        *,
        resolver: AbstractResolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.settings = settings
        self.clock = clock
        #: where calls may go (contract §8): the sender connects, and saved URLs are checked, by it
        self.policy = settings.destination_policy
        self.store = create_store(settings.db, site_id=settings.site_id, clock=clock)
        self.schedule = RetrySchedule(settings.retry_delays, settings.retry_scale)
        self._sender = Sender(
            deadline=settings.deadline,
            connect_timeout=settings.connect_timeout,
            max_response_bytes=settings.max_response_bytes,
            clock=clock,
            policy=self.policy,
            resolver=resolver,
            ssl_context=ssl_context,
        )
        #: counts for `GET /metrics`; per webhook only when the endpoint has its own token
        self.metrics = Metrics(per_webhook=settings.metrics_token is not None)
        self.delivery = Delivery(
            self.store,
            self._sender,
            schedule=self.schedule,
            clock=clock,
            user_agent=settings.user_agent,
            max_in_flight=settings.max_in_flight,
            max_in_flight_per_webhook=settings.max_in_flight_per_webhook,
            lease=settings.claim_lease,
            secret_grace=settings.signing_secret_grace,
            metrics=self.metrics,
        )
        self.content = Content(
            self.store, self.record_event, clock=clock, cache_tag_window=settings.cache_tag_window
        )
        self._worker: asyncio.Task[None] | None = None
        self._open = False

    @property
    def site_id(self) -> str:
        return self.store.site_id

    # -- lifecycle ---------------------------------------------------------

    async def open(self) -> None:
        """Open and migrate the store, without sending anything yet."""
        if not self._open:
            await self.store.open()
            self._open = True
            self.store.on_calls_stored(self.delivery.wake)
            await self.content.open()

    async def start(self) -> None:
        """Start sending: every call that is due, including those left by a previous run."""
        await self.open()
        if self._worker is None:
            await self._sender.open()  # the certificates load now, not in the first call
            self._worker = asyncio.create_task(self.delivery.run(), name="webhooks-delivery")
            await self.content.start()

    async def stop(self) -> None:
        """Stop sending, cleanly (contract §8): claim nothing more, let the exchanges in
        flight finish within their deadline, record their outcomes, give back the
        calls claimed but not sent. Nothing is sent twice after a clean stop."""
        await self.content.stop()
        worker, self._worker = self._worker, None
        if worker is not None:
            await self.delivery.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        await self._sender.aclose()

    async def close(self) -> None:
        await self.stop()
        if self._open:
            self._open = False
            await self.store.close()

    async def __aenter__(self) -> Dispatcher:
        try:
            await self.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def drain(self, timeout: float = 10.0) -> bool:
        """Wait until no call is in flight or due now and no cache tag waits to be sent;
        False if `timeout` passed first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            # Tags first: once none is left, the invalidate that took the last ones is
            # already stored as a call, which draining delivery then waits for.
            pending = await self.store.transaction(lambda tx: tx.content.oldest_tag_at())
            if pending is None:
                return await self.delivery.drain(max(0.0, deadline - loop.time()))
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0.01)

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
                if self.store.shared:
                    # Another process may be the one sending it.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(0.05):
                            await self.delivery.flushed_after(seen)
                else:
                    await self.delivery.flushed_after(seen)

    # -- events ------------------------------------------------------------

    async def transaction(
        self, fn: Callable[Concatenate[Transaction, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `fn(tx, ...)` in one store transaction, in the store's thread.

        Inside it, `dispatcher.record_event(tx, event)` stores the calls an event
        raises, and `tx.content` changes content: both are committed together,
        or neither is (contract §7), on every backend. Sending starts on commit.
        """
        return await self.store.transaction(fn, *args, **kwargs)

    def matching_webhooks(self, tx: Transaction, event: Event) -> list[str]:
        """contract §3: the enabled webhooks any of whose triggers match; one call each."""
        webhooks = tx.webhooks.all().values()
        return [w.id for w in webhooks if w.enabled and matches_any(w.events, event)]

    async def raise_event(self, event: Event) -> list[str]:
        """Store one call per matching webhook and have them sent; returns the call ids."""
        return await self.store.transaction(self.record_event, event)

    async def raise_events(self, events: list[Event]) -> list[list[str]]:
        """Like `raise_event` for many events, stored in one transaction."""

        def record_all(tx: Transaction) -> list[list[str]]:
            return [self.record_event(tx, event) for event in events]

        return await self.store.transaction(record_all)

    def record_event(self, tx: Transaction, event: Event) -> list[str]:
        """Store the calls for `event` in the transaction `tx` (see `transaction`)."""
        ids = tx.calls.record(event, self.matching_webhooks(tx, event), self.clock())
        if ids:
            tx.on_commit(self.delivery.wake)
        return ids

    # -- webhooks ----------------------------------------------------------

    async def list_webhooks(self) -> list[Webhook]:
        webhooks = await self.store.transaction(lambda tx: list(tx.webhooks.all().values()))
        return sorted(webhooks, key=lambda w: int(w.id))

    async def find_webhook(self, webhook_id: str) -> Webhook | None:
        return await self.store.transaction(lambda tx: tx.webhooks.all().get(webhook_id))

    async def get_webhook(self, webhook_id: str) -> Webhook:
        webhook = await self.find_webhook(webhook_id)
        if webhook is None:
            raise NotFoundError("webhook", webhook_id)
        return webhook

    async def create_webhook(self, attributes: Mapping[str, Any]) -> Webhook:
        now = self.clock()
        self._check_destination(attributes)
        return await self.store.transaction(lambda tx: tx.webhooks.create(attributes, now))

    async def update_webhook(self, webhook_id: str, attributes: Mapping[str, Any]) -> Webhook:
        now = self.clock()
        self._check_destination(attributes)
        return await self.store.transaction(
            lambda tx: tx.webhooks.update(webhook_id, attributes, now)
        )

    def _check_destination(self, attributes: Mapping[str, Any]) -> None:
        """contract §8: a URL at a literal address the policy refuses is refused when saved
        (a URL with Mustache tags, or a name, is checked when a call is sent)."""
        url = attributes.get("url")
        if not isinstance(url, str) or "{{" in url:
            return
        try:
            host = urlsplit(url.strip()).hostname
        except ValueError:
            return  # not a URL: the webhook's own checks say so
        if host is None:
            return
        try:
            self.policy.check_host(host)
        except BlockedDestination as exc:
            raise ValidationError("url", str(exc)) from None

    async def delete_webhook(self, webhook_id: str) -> Webhook:
        return await self.store.transaction(lambda tx: tx.webhooks.delete(webhook_id))

    # -- the activity log --------------------------------------------------

    async def list_calls(self, query: CallQuery) -> tuple[list[WebhookCall], int]:
        return await self.store.transaction(lambda tx: tx.calls.search(query))

    async def get_call(self, call_id: str) -> WebhookCall:
        return await self.store.transaction(lambda tx: tx.calls.get(call_id))

    async def resend(self, call_id: str) -> WebhookCall:
        """contract §8: send the call's event again now with the webhook's current settings."""

        def request(tx: Transaction) -> WebhookCall:
            call = tx.calls.get(call_id)
            if call.webhook_id not in tx.webhooks.all():
                raise ValidationError(
                    "webhook", f"webhook {call.webhook_id} was deleted; its calls cannot be resent"
                )
            return tx.calls.request_resend(call_id)

        call = await self.store.transaction(request)
        self.delivery.wake()
        return call
