"""Delivery: claim due calls, send them, record the outcomes (contract §7, §8).

The store is the queue. A call is claimed (marked in the database with this
process's name and a lease) before it is sent and released when its outcome
is written, so nothing is lost: a dispatcher killed at any moment leaves its
claims behind, and they are sent again on restart (one process on SQLite) or
by another process once their lease runs out (PostgreSQL). While a process
lives it extends its leases, however long its calls wait for a slot.

A clean stop (`stop()`) claims nothing more, lets the exchanges in flight
finish (each within its deadline), records their outcomes and gives back the
calls it claimed but had not started: nothing is sent twice.

Outcomes that the store does not take wait in memory, their calls still
claimed, and are tried again each second. When the store answers but refuses
a batch, each outcome is written on its own, and one refused even then is
written without the texts that came from outside (payload, response): a value
the store cannot hold never stops the rest.

Isolation: at most `max_in_flight` calls are in flight, and at most
`max_in_flight_per_webhook` of them for one webhook, so a hung receiver holds
a bounded share of the slots and never delays the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime

from reference.calls import AttemptTrigger, CallStatus, DueCall, Transition, next_state
from reference.exceptions import StoreUnavailable
from reference.logs import log_fields
from reference.metrics import Metrics
from reference.payloads import CallContext, build_request, masked_headers
from reference.retries import RetrySchedule
from reference.sender import Outcome, OutgoingRequest, Sender
from reference.store import ClaimRequest, Completion, Settlement, Store
from reference.webhooks import Webhook

__all__ = ["Delivery"]

logger = logging.getLogger("reference.delivery")

CLAIM_BATCH = 256
IDLE_RECHECK = 30.0  # seconds: wake up now and then even when nothing is due
#: On a shared database, how often an idle process looks for calls even when no
#: notification came (a lost LISTEN connection, calls freed by a lease).
SHARED_POLL = 5.0
FINAL_FLUSH = 10.0  # seconds a clean stop waits for the store to take the last outcomes
#: The `error_detail` of a failed attempt whose texts the store refused.
UNRECORDED_DETAIL = "the activity log could not keep this attempt's details"


class Delivery:
    """The worker that sends what is due. Start with `run()`, stop by cancelling it."""

    def __init__(
        self,
        store: Store,
        sender: Sender,
        *,
        schedule: RetrySchedule,
        clock: Callable[[], datetime],
        user_agent: str,
        max_in_flight: int,
        max_in_flight_per_webhook: int,
        lease: float,
        secret_grace: float = 86400.0,
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._sender = sender
        self._lease = lease
        self._secret_grace = secret_grace
        self._idle_recheck = SHARED_POLL if store.shared else IDLE_RECHECK
        self._stopping = False
        self._unsent: list[DueCall] = []  # claimed, not started when the stop came
        self._waiting: dict[asyncio.Task[None], DueCall] = {}  # claimed, not yet sending
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
        self._writing = False  # the flusher is writing a batch it took from the lists
        self._wakeup = asyncio.Event()
        self._claiming = asyncio.Lock()  # one claim at a time: the slots are counted once
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
        """Claim and send until `stop()` (a clean stop) or cancellation (in-flight work is
        abandoned: its calls stay claimed and are sent again after a restart or a lease)."""
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        flusher = asyncio.create_task(self._flush_loop(), name="webhooks-flush")
        keeper = asyncio.create_task(self._keep_leases(), name="webhooks-leases")
        try:
            while not self._stopping:
                self._wakeup.clear()
                try:
                    claimed = await self._claim()
                    if not claimed:
                        await self._sleep()
                except Exception as exc:
                    # A store error must not end delivery: the calls stay in the
                    # store and are claimed again once it answers.
                    _store_failed("could not claim due calls; trying again in 1 s", exc)
                    await asyncio.sleep(1.0)
            await self._finish(flusher)
        finally:
            flusher.cancel()
            keeper.cancel()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(flusher, keeper, *self._tasks, return_exceptions=True)
            self._loop = None

    async def stop(self) -> None:
        """Ask `run()` to stop cleanly; it returns once every outcome is recorded."""
        self._stopping = True
        self._wakeup.set()

    async def _finish(self, flusher: asyncio.Task[None]) -> None:
        """The clean stop: unstarted calls go back, started ones finish and are recorded."""
        # Not started: back to the queue. Their tasks may not have run a single step,
        # so the calls are taken from here, not from the cancelled tasks.
        for task, call in list(self._waiting.items()):
            task.cancel()
            self._unsent.append(call)
        self._waiting.clear()
        # Each exchange ends by its own deadline (contract §8).
        await asyncio.gather(*self._tasks, return_exceptions=True)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + FINAL_FLUSH
        while self._finished or self._abandoned or self._unsent or self._writing:
            if flusher.done() or loop.time() > give_up:
                logger.error("stopping with outcomes not recorded; their calls will be sent again")
                return
            self._flush_needed.set()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.1), self._flushed:
                    await self._flushed.wait()

    async def _keep_leases(self) -> None:
        """Extend this process's leases and free those of processes that died."""
        while True:
            await asyncio.sleep(self._lease / 4)
            try:
                freed = await self._store.keep_leases(self._clock(), self._lease)
            except Exception as exc:
                _store_failed("could not extend the claims' leases; trying again", exc)
                continue
            if freed:
                logger.warning("%d calls of a stopped dispatcher are due again", freed)
                self.wake()

    async def drain(self, timeout: float) -> bool:
        """Wait until nothing is in flight and nothing is due (for tests and the demo)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            due = await self._store.next_due_at()
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
        async with self._claiming:
            request = self._claim_request(Counter())
            if request is None:
                return 0
            calls = await self._store.claim(
                request.now, request.limit, request.lease, request.skip_webhooks, request.turn
            )
            self._claimed_up_to = request.now
            self._start(calls)
            return len(calls)

    def _claim_request(self, settling: Counter[str]) -> ClaimRequest | None:
        """The next claim to make, counting the calls of `settling` (webhook id -> calls
        whose outcome is being written) as released; None when no slot is free."""
        if self._stopping:
            return None
        free = self._max_in_flight - (self.in_flight - settling.total())
        if free <= 0:
            return None
        saturated = tuple(
            w for w, n in self._claimed.items() if n - settling[w] >= self._max_per_webhook
        )
        if saturated:  # look the others up one by one, starting with a new one each time
            self._turn += 1
        return ClaimRequest(
            self._clock(), min(free, CLAIM_BATCH), self._lease, saturated, self._turn
        )

    def _start(self, calls: list[DueCall]) -> None:
        for call in calls:
            self._claimed[call.webhook_id] += 1
            if self._stopping:
                # Claimed while a clean stop began: given back unsent, and the stop
                # waits for that to be written (no lease left to run out).
                self._unsent.append(call)
                self._flush_needed.set()
                continue
            task = asyncio.create_task(self._attempt(call))
            self._tasks.add(task)
            self._waiting[task] = call
            task.add_done_callback(self._forget)

    async def _sleep(self) -> None:
        timeout = self._idle_recheck
        if self.in_flight < self._max_in_flight:
            due = await self._store.next_due_at()
            claimed_up_to = self._claimed_up_to
            if due is not None and (claimed_up_to is None or due > claimed_up_to):
                timeout = min(timeout, max(0.0, (due - self._clock()).total_seconds()))
            # Otherwise the last claim saw that call and left it: its webhook is at
            # its limit. Claiming again at once would spin on the store and slow
            # every other webhook (contract §8, isolation); a freed slot wakes us.
        if timeout > 0 and not self._stopping:
            # Not asyncio.wait_for: on 3.11 it can swallow a cancellation that
            # races with the event being set, and stop() would wait forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wakeup.wait()

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._waiting.pop(task, None)

    async def _attempt(self, call: DueCall) -> None:
        limit = self._limits.setdefault(call.webhook_id, asyncio.Semaphore(self._max_per_webhook))
        try:
            async with limit:
                task = asyncio.current_task()
                if task is not None and self._waiting.pop(task, None) is None:
                    return  # a clean stop took the call back (see _finish)
                if self._stopping:
                    self._unsent.append(call)
                    return
                webhook = call.webhook
                if webhook is None:
                    self._abandoned.append(call)
                    return
                done = await self._send(call, webhook)
                # Appended after the await: the flusher swaps the list meanwhile.
                self._finished.append(done)
        finally:
            self._flush_needed.set()

    async def _send(self, call: DueCall, webhook: Webhook) -> Completion:
        # contract §5: 0 on the first attempt; the n-th automatic retry says n.
        retries = call.attempted_auto_retries_count + (call.trigger is AttemptTrigger.AUTO_RETRY)
        now = self._clock()
        context = CallContext(
            call_id=call.id,
            site_id=self._store.site_id,
            attempted_auto_retries_count=retries,
            user_agent=self._user_agent,
            timestamp=int(now.timestamp()),
            signing_secrets=webhook.signing_secrets(now, self._secret_grace),
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
            try:
                outcome = await self._sender.send(request)
            except Exception as exc:
                # A bug, as the sender turns network trouble into outcomes: a failed
                # attempt, retried on the schedule, rather than a call lost to its task.
                logger.exception("the sender failed on call %s", call.id)
                detail = f"the dispatcher failed while sending it ({type(exc).__name__})"
                failed = refused("connection_error", self._clock())
                outcome = dataclasses.replace(failed, error_detail=detail)
        try:
            transition = next_state(
                call, outcome, auto_retry=webhook.auto_retry, schedule=self._schedule
            )
        except Exception:
            # A bug: the attempt is recorded as it went and the call ends failed (a
            # resend tries again), rather than left claimed and unrecorded for good.
            logger.exception("cannot schedule what follows call %s's attempt; it fails", call.id)
            transition = Transition(CallStatus.FAILED, retries, None, None)
        try:
            self._observe(call, outcome, transition)
        except Exception:
            logger.exception("cannot log or count the attempt of call %s", call.id)
        return Completion(
            call=call,
            outcome=outcome,
            transition=transition,
            request_url=request.url,
            request_headers=masked_headers(request.headers),
            request_payload=request.body.decode(),
        )

    def _observe(self, call: DueCall, outcome: Outcome, transition: Transition) -> None:
        """One log line and the metrics for a finished attempt."""
        if self._metrics is not None:
            self._metrics.attempted(call.webhook_id, outcome, transition)
        if not logger.isEnabledFor(logging.INFO):
            return
        answer = f"{outcome.status}" if outcome.error is None else outcome.error
        if outcome.error is not None and outcome.status is not None:
            answer = f"{outcome.status}, then {outcome.error}"
        if outcome.error_detail:
            answer += f" ({outcome.error_detail})"
        logger.info(
            "call %s to webhook %s: %s in %d ms, %s",
            call.id,
            call.webhook_id,
            answer,
            outcome.duration_ms,
            transition.status.value,
            extra=log_fields(
                call_id=call.id,
                webhook_id=call.webhook_id,
                trigger=call.trigger.value,
                status=outcome.status,
                error=outcome.error,
                error_detail=outcome.error_detail,
                duration_ms=outcome.duration_ms,
                call_status=transition.status.value,
                next_retry_at=None
                if transition.next_retry_at is None
                else transition.next_retry_at.isoformat(),
            ),
        )

    async def _flush_loop(self) -> None:
        """Write the outcomes of finished calls and, in the same transaction, claim as
        many calls as they free slots for: one round trip a batch (contract §8)."""
        while True:
            await self._flush_needed.wait()
            self._flush_needed.clear()
            finished, self._finished = self._finished, []
            abandoned, self._abandoned = self._abandoned, []
            unsent, self._unsent = self._unsent, []
            settled = [*(done.call for done in finished), *abandoned, *unsent]
            self._writing = True  # a clean stop waits for this batch too
            claim: ClaimRequest | None = None
            calls: list[DueCall] = []
            try:
                async with self._claiming:
                    if settled:
                        claim = self._claim_request(Counter(c.webhook_id for c in settled))
                        calls = await self._store.settle(
                            Settlement(
                                completions=finished,
                                abandoned=[c.id for c in abandoned],
                                unsent=[c.id for c in unsent],
                                claim=claim,
                            )
                        )
                    for call in settled:
                        self._release(call)
                    if claim is not None:
                        self._claimed_up_to = claim.now
                    self._start(calls)
            except Exception as exc:
                # The outcomes stay in memory and are written on the next try;
                # the calls stay claimed meanwhile, so nothing is sent twice.
                _store_failed(f"could not record {len(finished)} call outcomes; retrying", exc)
                if finished and await self._store_answers():
                    # The store is there but refused the batch: one outcome it can
                    # never take must not hold back the others (nor every later batch).
                    finished = await self._settle_apart(finished)
                self._finished[:0] = finished
                self._abandoned[:0] = abandoned
                self._unsent[:0] = unsent
                self._writing = False
                await asyncio.sleep(1.0)
                self._flush_needed.set()
                continue
            self._writing = False
            # The claimer looks again when this claim may have left calls behind (it
            # was full, or not made), when a call was given back, or when a retry was
            # scheduled (the claimer's sleep must end by its due time).
            if (
                claim is None
                or len(calls) >= claim.limit
                or unsent
                or any(done.transition.due_at is not None for done in finished)
            ):
                self._wakeup.set()
            self._flush_count += 1
            async with self._flushed:
                self._flushed.notify_all()

    async def _store_answers(self) -> bool:
        try:
            await self._store.ping()
        except Exception:
            return False
        return True

    async def _settle_apart(self, finished: list[Completion]) -> list[Completion]:
        """Write each outcome in a transaction of its own; one the store refuses twice,
        without the texts it could not take. The outcomes still not written."""
        left: list[Completion] = []
        async with self._claiming:
            for done in finished:
                if await self._settle_one(done):
                    self._release(done.call)
                else:
                    left.append(done)
        return left

    async def _settle_one(self, done: Completion) -> bool:
        try:
            await self._store.settle(Settlement(completions=[done]))
            return True
        except StoreUnavailable:
            return False  # the connection, not the outcome: kept whole for the next try
        except Exception as exc:
            problem = exc
        try:
            await self._store.settle(Settlement(completions=[_without_texts(done)]))
        except Exception:
            return False
        logger.error(
            "call %s: the store refused its attempt's texts (%s: %s); "
            "recorded it without its payload, response headers and body",
            done.call.id,
            type(problem).__name__,
            problem,
            extra=log_fields(call_id=done.call.id, webhook_id=done.call.webhook_id),
        )
        return True

    def _release(self, call: DueCall) -> None:
        self._claimed[call.webhook_id] -= 1
        if self._claimed[call.webhook_id] <= 0:
            del self._claimed[call.webhook_id]
            self._limits.pop(call.webhook_id, None)


def _store_failed(message: str, exc: Exception) -> None:
    """One line while the database cannot be reached (it says why); a traceback otherwise."""
    if isinstance(exc, StoreUnavailable):
        logger.warning("%s: %s", message, exc)
    else:
        logger.exception(message)


def _without_texts(done: Completion) -> Completion:
    """`done` with only what the dispatcher itself wrote: the status, the error, the
    times and the transition, as the activity log keeps them (contract §7)."""
    outcome = dataclasses.replace(
        done.outcome,
        headers=(),
        body=None,
        error_detail=None if done.outcome.error is None else UNRECORDED_DETAIL,
    )
    return dataclasses.replace(done, outcome=outcome, request_payload=None)


def refused(error: str, now: datetime) -> Outcome:
    """An outcome for a request that was never sent."""
    return Outcome(status=None, headers=(), body=None, error=error, sent_at=now, duration_ms=0)
