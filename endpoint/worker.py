"""The embedded queue's workers: they claim due events, run the handler on each, at
most `count` at a time, and record the outcome; a handler that raises is run again
after the next gap of the retry schedule.

A plain handler runs in a thread of its own (a daemon: a handler that hangs never
keeps the process from exiting), an `async` one on the event loop. Stopping stops
claiming and waits for the running handlers up to a grace period; whatever is still
running then stays `running` in the store and is run again at the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from endpoint.events import Event
from endpoint.handlers import Handler, call_handler, is_async
from endpoint.retries import RetrySchedule

__all__ = ["POLL", "Job", "Jobs", "Workers", "describe_error"]

POLL = 1.0  # seconds: the longest a worker sleeps before looking for due events again
_log = logging.getLogger("endpoint.worker")


@dataclass(frozen=True, slots=True)
class Job:
    """One event claimed by a worker; `run` counts the handler's runs, this one included."""

    id: str
    event: Event
    run: int


class Jobs(Protocol):
    """Where the workers take events from and record outcomes (the SQLite queue)."""

    async def claim(self, limit: int) -> list[Job]: ...
    async def next_due(self) -> float | None: ...
    async def done(self, job: Job) -> None: ...
    async def failed(self, job: Job, error: str, retry_at: float | None) -> None: ...
    def now(self) -> float: ...


class Workers:
    """`count` handler slots fed from `jobs`."""

    def __init__(self, jobs: Jobs, handler: Handler, *, count: int, retry: RetrySchedule) -> None:
        self._jobs = jobs
        self._handler = handler
        self._async = is_async(handler)
        self.count = count
        self.retry = retry
        self._wake = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._claim_loop(), name="endpoint-workers")

    def wake(self) -> None:
        """An event was queued: look now rather than at the next poll."""
        self._wake.set()

    async def stop(self, grace: float) -> None:
        self._stopping = True
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        if self._running:
            _, late = await asyncio.wait(self._running, timeout=grace)
            if late:
                _log.warning(
                    "stopping with %d handler(s) still running: they run again at the next start",
                    len(late),
                )
            for task in late:
                task.cancel()

    async def _claim_loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            free = self.count - len(self._running)
            claimed: list[Job] = []
            if free > 0:
                try:
                    claimed = await self._jobs.claim(free)
                except Exception:
                    _log.exception("cannot claim events; trying again")
                for job in claimed:
                    task = asyncio.create_task(self._run(job), name=f"endpoint-job-{job.id}")
                    self._running.add(task)
                    task.add_done_callback(self._finished)
                if len(claimed) == free:
                    continue  # maybe more are due: claim again once a slot is free
            timeout = POLL
            if free > len(claimed):
                due = await self._next_due()
                if due is not None:
                    timeout = min(POLL, max(0.0, due - self._jobs.now()))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()

    async def _next_due(self) -> float | None:
        try:
            return await self._jobs.next_due()
        except Exception:
            return None

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._wake.set()

    async def _run(self, job: Job) -> None:
        try:
            await self._run_handler(job)
        except asyncio.CancelledError:
            raise
        except Exception:  # the store failed us: the event stays running, run at the next start
            _log.exception("call %s: cannot record the outcome", job.event.webhook_call_id)

    async def _run_handler(self, job: Job) -> None:
        event = job.event
        started = time.perf_counter()
        try:
            if self._async:
                await call_async(self._handler, event)
            else:
                await _in_thread(self._handler, event)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._failed(job, exc, time.perf_counter() - started)
            return
        took = time.perf_counter() - started
        await self._jobs.done(job)
        _log.info(
            "call %s (%s.%s): handled in %s, run %d",
            event.webhook_call_id,
            event.entity_type,
            event.event_type,
            _duration(took),
            job.run,
            extra={"fields": _fields(job, "done", took)},
        )

    async def _failed(self, job: Job, exc: Exception, took: float) -> None:
        event = job.event
        error = describe_error(exc)
        delay = self.retry.delay_after(job.run)
        retry_at = None if delay is None else self._jobs.now() + delay
        await self._jobs.failed(job, error, retry_at)
        what = "no retry left: failed" if delay is None else f"runs again in {_duration(delay)}"
        _log.warning(
            "call %s (%s.%s): the handler raised %s after %s, run %d; %s",
            event.webhook_call_id,
            event.entity_type,
            event.event_type,
            error,
            _duration(took),
            job.run,
            what,
            extra={
                "fields": {
                    **_fields(job, "failed" if delay is None else "retry", took),
                    "error": error,
                    "retry_in_s": delay,
                }
            },
        )


async def call_async(handler: Handler, event: Event) -> None:
    result = handler(event)
    if result is not None:
        await result


async def _in_thread(handler: Handler, event: Event) -> None:
    """Run a plain handler in a daemon thread of its own and wait for it."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()

    def settle(error: BaseException | None) -> None:
        if future.done():
            return
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)

    def work() -> None:
        try:
            call_handler(handler, event)
        except BaseException as exc:  # handed to the loop, which decides
            error: BaseException | None = exc
        else:
            error = None
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
            loop.call_soon_threadsafe(settle, error)

    threading.Thread(target=work, name=f"handler-{event.webhook_call_id}", daemon=True).start()
    await future


def describe_error(exc: BaseException) -> str:
    """`ValueError: the message`, on one line and at most 500 characters."""
    text = " ".join(str(exc).split())
    line = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return line if len(line) <= 500 else line[:497] + "..."


def _fields(job: Job, outcome: str, took: float) -> dict[str, object]:
    return {
        "call_id": job.event.webhook_call_id,
        "site_id": job.event.site_id,
        "entity_type": job.event.entity_type,
        "event_type": job.event.event_type,
        "run": job.run,
        "outcome": outcome,
        "duration_ms": round(took * 1000, 1),
    }


def _duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
