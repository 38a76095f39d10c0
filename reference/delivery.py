"""Delivery: claim due calls, send them, record the outcomes (SPEC §7, §8).

The store is the queue. A call is claimed (marked in the database) before it
is sent and released when its outcome is written, so a dispatcher killed at
any moment finds, on restart, every call that was due and not answered.

Isolation: at most `max_in_flight` calls are in flight, and at most
`max_in_flight_per_webhook` of them for one webhook, so a hung receiver holds
a bounded share of the slots and never delays the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime

from reference.calls import AttemptTrigger, DueCall, next_state
from reference.payloads import CallContext, build_request, masked_headers
from reference.retries import RetrySchedule
from reference.sender import Outcome, OutgoingRequest, Sender
from reference.store import Completion, Store
from reference.webhooks import Webhook

__all__ = ["Delivery"]

logger = logging.getLogger("reference.delivery")

CLAIM_BATCH = 256
IDLE_RECHECK = 30.0  # seconds: wake up now and then even when nothing is due


class Delivery:
    """The worker that sends what is due. Start with `run()`, stop by cancelling it."""

    def __init__(
        self,
        store: Store,
        sender: Sender,
        *,
        webhooks: Callable[[str], Webhook | None],
        webhook_ids: Callable[[], list[str]],
        schedule: RetrySchedule,
        clock: Callable[[], datetime],
        user_agent: str,
        max_in_flight: int,
        max_in_flight_per_webhook: int,
    ) -> None:
        self._store = store
        self._sender = sender
        self._webhooks = webhooks
        self._webhook_ids = webhook_ids
        self._turn = 0  # where the next per-webhook claim starts, for fairness
        self._schedule = schedule
        self._clock = clock
        self._user_agent = user_agent
        self._max_in_flight = max_in_flight
        self._max_per_webhook = max_in_flight_per_webhook
        self._claimed: Counter[str] = Counter()  # webhook id -> claimed calls
        self._limits: dict[str, asyncio.Semaphore] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._finished: list[Completion] = []
        self._abandoned: list[DueCall] = []
        self._wakeup = asyncio.Event()
        self._flush_needed = asyncio.Event()
        self._flushed = asyncio.Condition()
        self._flush_count = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._claimed_up_to: datetime | None = None  # the `now` of the last claim

    @property
    def in_flight(self) -> int:
        return sum(self._claimed.values())

    def wake(self) -> None:
        """Look for due calls now. Safe to call from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            if asyncio.get_running_loop() is loop:
                self._wakeup.set()
                return
        except RuntimeError:
            pass
        loop.call_soon_threadsafe(self._wakeup.set)

    async def run(self) -> None:
        """Claim and send until cancelled; on cancellation, in-flight work is abandoned
        (its calls stay claimed in the store and are released on the next start)."""
        self._loop = asyncio.get_running_loop()
        await self._store.db.run(self._store.calls.release_claims)
        flusher = asyncio.create_task(self._flush_loop(), name="webhooks-flush")
        try:
            while True:
                self._wakeup.clear()
                try:
                    claimed = await self._claim()
                    if not claimed:
                        await self._sleep()
                except Exception:
                    # A store error must not end delivery: the calls stay in the
                    # store and are claimed again once it answers.
                    logger.exception("could not claim due calls; trying again in 1 s")
                    await asyncio.sleep(1.0)
        finally:
            flusher.cancel()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(flusher, *self._tasks, return_exceptions=True)
            self._loop = None

    async def drain(self, timeout: float) -> bool:
        """Wait until nothing is in flight and nothing is due (for tests and the demo)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            due = await self._store.db.run(self._store.calls.next_due_at)
            idle = self.in_flight == 0 and not self._finished
            if idle and (due is None or due > self._clock()):
                return True
            if loop.time() >= deadline:
                return False
            self.wake()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.05), self._flushed:
                    await self._flushed.wait()

    @property
    def flush_count(self) -> int:
        """How many batches of outcomes have been written so far."""
        return self._flush_count

    async def flushed_after(self, count: int) -> None:
        """Return once more than `count` batches of outcomes have been written."""
        async with self._flushed:
            await self._flushed.wait_for(lambda: self._flush_count > count)

    async def _claim(self) -> int:
        free = self._max_in_flight - self.in_flight
        if free <= 0:
            return 0
        saturated = [w for w, n in self._claimed.items() if n >= self._max_per_webhook]
        now = self._clock()
        webhooks: list[str] = []
        if saturated:  # look the others up one by one, starting with a new one each time
            ids = self._webhook_ids()
            self._turn = (self._turn + 1) % max(1, len(ids))
            webhooks = ids[self._turn :] + ids[: self._turn]
        calls = await self._store.db.run(
            self._store.calls.claim, now, min(free, CLAIM_BATCH), saturated, webhooks
        )
        self._claimed_up_to = now
        for call in calls:
            self._claimed[call.webhook_id] += 1
            task = asyncio.create_task(self._attempt(call))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(calls)

    async def _sleep(self) -> None:
        timeout = IDLE_RECHECK
        if self.in_flight < self._max_in_flight:
            due = await self._store.db.run(self._store.calls.next_due_at)
            claimed_up_to = self._claimed_up_to
            if due is not None and (claimed_up_to is None or due > claimed_up_to):
                timeout = min(timeout, max(0.0, (due - self._clock()).total_seconds()))
            # Otherwise the last claim saw that call and left it: its webhook is at
            # its limit. Claiming again at once would spin on the store and slow
            # every other webhook (SPEC §8, isolation); a freed slot wakes us.
        if timeout > 0:
            # Not asyncio.wait_for: on 3.11 it can swallow a cancellation that
            # races with the event being set, and stop() would wait forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wakeup.wait()

    async def _attempt(self, call: DueCall) -> None:
        limit = self._limits.setdefault(call.webhook_id, asyncio.Semaphore(self._max_per_webhook))
        async with limit:
            webhook = self._webhooks(call.webhook_id)
            if webhook is None:
                self._abandoned.append(call)
            else:
                done = await self._send(call, webhook)
                # Appended after the await: the flusher swaps the list meanwhile.
                self._finished.append(done)
        self._flush_needed.set()

    async def _send(self, call: DueCall, webhook: Webhook) -> Completion:
        # SPEC §5: 0 on the first attempt; the n-th automatic retry says n.
        retries = call.attempted_auto_retries_count + (call.trigger is AttemptTrigger.AUTO_RETRY)
        context = CallContext(
            call_id=call.id,
            site_id=self._store.site_id,
            attempted_auto_retries_count=retries,
            user_agent=self._user_agent,
        )
        try:
            request = build_request(call.event, webhook, context)
        except Exception:
            # Templates are checked when the webhook is saved, so this is a bug;
            # the call is recorded as refused rather than lost or retried hot.
            logger.exception("cannot build the request of call %s", call.id)
            request = OutgoingRequest(url=webhook.url, headers=(), body=b"")
            outcome = refused("blocked_destination", self._clock())
        else:
            outcome = await self._sender.send(request)
        transition = next_state(
            call, outcome, auto_retry=webhook.auto_retry, schedule=self._schedule
        )
        return Completion(
            call=call,
            outcome=outcome,
            transition=transition,
            request_url=request.url,
            request_headers=masked_headers(request.headers),
            request_payload=request.body.decode(),
        )

    async def _flush_loop(self) -> None:
        while True:
            await self._flush_needed.wait()
            self._flush_needed.clear()
            finished, self._finished = self._finished, []
            abandoned, self._abandoned = self._abandoned, []
            try:
                if finished:
                    await self._store.db.run(self._store.calls.complete, finished)
                if abandoned:
                    await self._store.db.run(self._store.calls.abandon, [c.id for c in abandoned])
            except Exception:
                # The outcomes stay in memory and are written on the next try;
                # the calls stay claimed meanwhile, so nothing is sent twice.
                logger.exception("could not record %d call outcomes; retrying", len(finished))
                self._finished[:0] = finished
                self._abandoned[:0] = abandoned
                await asyncio.sleep(1.0)
                self._flush_needed.set()
                continue
            for done in finished:
                self._release(done.call)
            for call in abandoned:
                self._release(call)
            self._wakeup.set()
            self._flush_count += 1
            async with self._flushed:
                self._flushed.notify_all()

    def _release(self, call: DueCall) -> None:
        self._claimed[call.webhook_id] -= 1
        if self._claimed[call.webhook_id] <= 0:
            del self._claimed[call.webhook_id]
            self._limits.pop(call.webhook_id, None)


def refused(error: str, now: datetime) -> Outcome:
    """An outcome for a request that was never sent."""
    return Outcome(status=None, headers=(), body=None, error=error, sent_at=now, duration_ms=0)
