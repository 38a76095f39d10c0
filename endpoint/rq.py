"""The RQ backend (the guide's example for Python): events become RQ jobs in Redis,
run by RQ workers.

Accepting a call is one Redis transaction (`MULTI`/`EXEC`, watched): the call's
dedupe key and the job are written together or not at all, so a call is never
marked seen without its job, nor queued twice by two deliveries at once. The job
runs `endpoint.rq.perform`, which imports the handler by `module:function` and
calls it with the `Event`: the same handler as on the SQLite backend. A failing
handler is retried by RQ (`Retry`, the schedule's gaps rounded up to whole
seconds, RQ's resolution); the scheduler that puts retries back in the queue runs
in the endpoint's process, under RQ's own scheduler lock.

`start_workers(n)` starts `n` worker processes (`python -m endpoint.rq`, RQ's
`SimpleWorker`: the handler runs in the worker, which dies with the endpoint).
Workers on other machines can take the same queue: `rq worker -w
rq.SimpleWorker --url URL webhooks-endpoint`. On a restart, the jobs that workers
of this machine left started when they died are queued again at once; RQ's own
maintenance does that for the others (after their heartbeat runs out).

What a `202` promises on this backend is what the Redis server promises: run it
with `appendonly yes` and `appendfsync always` for the guarantee of the SQLite
backend.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import functools
import hashlib
import logging
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from redis import Redis
from redis.exceptions import RedisError, WatchError
from rq import Queue as RedisQueue
from rq import Retry, SimpleWorker, get_current_job
from rq.executions import Execution
from rq.job import Job
from rq.registry import StartedJobRegistry
from rq.scheduler import SCHEDULER_KEY_TEMPLATE, SCHEDULER_LOCKING_KEY_TEMPLATE, RQScheduler

from endpoint.events import Event
from endpoint.exceptions import QueueError
from endpoint.handlers import Handler, call_handler, handler_spec, load_handler
from endpoint.retries import RetrySchedule
from endpoint.worker import describe_error

__all__ = ["DEFAULT_QUEUE_NAME", "DEFAULT_REDIS_URL", "RqQueue", "perform"]

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_QUEUE_NAME = "webhooks-endpoint"
#: how long a call's dedupe key is kept: resends come days later, not months
DEFAULT_RETENTION = 30 * 86400
#: RQ's limit on one run of the handler; a run that takes longer fails and is retried
DEFAULT_JOB_TIMEOUT = 3600
SCHEDULER_INTERVAL = 0.5  # seconds between looks for retries that are due
_log = logging.getLogger("endpoint.queue")
_worker_log = logging.getLogger("endpoint.worker")


class RqQueue:
    """Events as RQ jobs on `redis_url`, queue `name` (see the module's documentation)."""

    kind = "rq"

    def __init__(
        self,
        redis_url: str = DEFAULT_REDIS_URL,
        *,
        name: str = DEFAULT_QUEUE_NAME,
        retention: float = DEFAULT_RETENTION,
        job_timeout: int = DEFAULT_JOB_TIMEOUT,
        shutdown_grace: float = 10.0,
        worker_log_level: str = "info",
        worker_log_format: str = "text",
    ) -> None:
        self.redis_url = redis_url
        self.name = name
        self.retention = retention
        self.job_timeout = job_timeout
        self.shutdown_grace = shutdown_grace
        self.worker_log = (worker_log_level, worker_log_format)
        self._redis: Redis | None = None
        self._queue: RedisQueue | None = None
        self._spec = ""
        self._retry: Retry | None = None
        self._workers: list[subprocess.Popen[bytes]] = []
        self._scheduler: _Scheduler | None = None

    async def open(self, handler: Handler, retry: RetrySchedule) -> None:
        self._spec = handler_spec(handler)
        self._retry = _rq_retry(retry)
        try:
            self._redis = Redis.from_url(self.redis_url, socket_connect_timeout=5)
        except ValueError as exc:
            raise QueueError(f"{self.redis_url!r}: {exc}") from None
        self._queue = RedisQueue(self.name, connection=self._redis)
        try:
            recovered = await asyncio.to_thread(self._open)
        except RedisError as exc:
            self._redis.close()
            self._redis = None
            raise QueueError(f"{self.redis_url!r}: {_one_line(exc)}") from None
        if recovered:
            _log.warning(
                "%d job(s) that workers of this machine left started when they died are"
                " queued again",
                recovered,
                extra={"fields": {"recovered": recovered}},
            )

    def _open(self) -> int:
        assert self._redis is not None and self._queue is not None
        self._redis.ping()
        recovered = _recover(self._redis, self._queue)
        self._scheduler = _Scheduler(self._redis, self.name)
        self._scheduler.start()
        return recovered

    async def accept(self, event: Event, *, dedupe: bool) -> bool:
        return await asyncio.to_thread(self._accept, event, dedupe)

    def _accept(self, event: Event, dedupe: bool) -> bool:
        if self._redis is None or self._queue is None:
            raise QueueError("the queue is not open")
        queue = self._queue
        job = queue.create_job(
            perform,
            args=(self._spec, event.to_json()),
            timeout=self.job_timeout,
            retry=self._retry,
            description=f"webhook call {event.webhook_call_id}"
            f" ({event.entity_type}.{event.event_type})",
            result_ttl=3600,
            meta={"endpoint_retries": 0 if self._retry is None else self._retry.max},
        )
        if not dedupe:
            queue.enqueue_job(job)
            return True
        seen = _seen_key(self.name, event)
        with self._redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(seen)  # type: ignore[no-untyped-call]
                    if pipe.exists(seen):
                        return False
                    pipe.multi()
                    pipe.set(seen, job.id, ex=max(1, int(self.retention)))
                    queue.enqueue_job(job, pipeline=pipe)
                    pipe.execute()
                    return True
                except WatchError:  # another delivery of the call got there first: look again
                    continue

    async def ping(self) -> None:
        if self._redis is None:
            raise QueueError("the queue is not open")
        await asyncio.to_thread(self._redis.ping)

    async def start_workers(self, count: int) -> None:
        level, log_format = self.worker_log
        command = [sys.executable, "-m", "endpoint.rq", "--redis-url", self.redis_url]
        command += ["--queue", self.name, "--log-level", level, "--log-format", log_format]
        command += ["--parent", str(os.getpid())]
        await asyncio.to_thread(self._spawn, command, count)

    def _spawn(self, command: list[str], count: int) -> None:
        for _ in range(count):
            self._workers.append(subprocess.Popen(command))

    async def close(self) -> None:
        await asyncio.to_thread(self._close)

    def _close(self) -> None:
        for worker in self._workers:
            with contextlib.suppress(ProcessLookupError):
                worker.send_signal(signal.SIGTERM)  # RQ's warm shutdown: the job in hand ends
        give_up = time.monotonic() + self.shutdown_grace
        for worker in self._workers:
            try:
                worker.wait(max(0.0, give_up - time.monotonic()))
            except subprocess.TimeoutExpired:
                # Its job is left started; the next start queues it again.
                worker.kill()
                worker.wait()
        self._workers = []
        if self._scheduler is not None:
            self._scheduler.stop()
            self._scheduler = None
        if self._redis is not None:
            self._redis.close()
            self._redis = None

    async def counts(self) -> dict[str, int]:
        """Jobs by state: queued, started, scheduled (retries waiting), failed."""
        if self._queue is None:
            raise QueueError("the queue is not open")
        queue = self._queue

        def count() -> dict[str, int]:
            return {
                "queued": queue.count,
                "started": queue.started_job_registry.count,
                "scheduled": queue.scheduled_job_registry.count,
                "failed": queue.failed_job_registry.count,
                "done": queue.finished_job_registry.count,
            }

        return await asyncio.to_thread(count)


def perform(spec: str, event: dict[str, Any]) -> None:
    """The RQ job: run the handler `spec` names on the event."""
    handler = _handler(spec)
    typed = Event.from_json(event)
    job = get_current_job()
    run = 1 if job is None else _run_number(job)
    started = time.perf_counter()
    fields: dict[str, object] = {
        "call_id": typed.webhook_call_id,
        "site_id": typed.site_id,
        "entity_type": typed.entity_type,
        "event_type": typed.event_type,
        "run": run,
    }
    try:
        call_handler(handler, typed)
    except Exception as exc:
        took = time.perf_counter() - started
        left = 0 if job is None else (job.retries_left or 0)
        what = f"RQ runs it again ({left} retries left)" if left else "no retry left: failed"
        _worker_log.warning(
            "call %s (%s.%s): the handler raised %s after %.1f s, run %d; %s",
            typed.webhook_call_id,
            typed.entity_type,
            typed.event_type,
            describe_error(exc),
            took,
            run,
            what,
            extra={"fields": {**fields, "outcome": "retry" if left else "failed"}},
        )
        raise
    took = time.perf_counter() - started
    _worker_log.info(
        "call %s (%s.%s): handled in %.1f ms, run %d",
        typed.webhook_call_id,
        typed.entity_type,
        typed.event_type,
        took * 1000,
        run,
        extra={"fields": {**fields, "outcome": "done", "duration_ms": round(took * 1000, 1)}},
    )


@functools.cache
def _handler(spec: str) -> Handler:
    return load_handler(spec)


def _run_number(job: Job) -> int:
    if job.retry_intervals is None or job.retries_left is None:
        return 1
    total = job.meta.get("endpoint_retries")
    return 1 + (int(total) - job.retries_left if isinstance(total, int) else 0)


def _rq_retry(retry: RetrySchedule) -> Retry | None:
    """RQ's retry for the schedule: whole seconds (RQ's resolution), rounded up."""
    gaps = [math.ceil(gap) if gap > 0 else 0 for gap in retry.scaled()]
    if not gaps:
        return None
    return Retry(max=len(gaps), interval=gaps)


def _seen_key(queue_name: str, event: Event) -> str:
    digest = hashlib.sha256(f"{event.site_id}\0{event.webhook_call_id}".encode()).hexdigest()
    return f"{queue_name}:seen:{digest[:32]}"


class _Scheduler:
    """RQ's scheduler (retries that are due go back in the queue), run in a thread of
    this process rather than in the process RQ would fork for it."""

    def __init__(self, redis: Redis, queue_name: str) -> None:
        name = f"webhooks-endpoint.{socket.gethostname()}.{os.getpid()}"
        self._scheduler = RQScheduler([queue_name], connection=redis, name=name)
        self._scheduler.log.setLevel(logging.WARNING)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="endpoint-rq-scheduler", daemon=True)

    def start(self) -> None:
        self._scheduler.register_birth()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        with contextlib.suppress(RedisError):
            self._scheduler.stop()  # type: ignore[no-untyped-call]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self._scheduler.should_reacquire_locks:
                    self._scheduler.acquire_locks()  # type: ignore[no-untyped-call]
                if self._scheduler.acquired_locks:
                    self._scheduler.heartbeat()  # type: ignore[no-untyped-call]
                    self._scheduler.enqueue_scheduled_jobs()  # type: ignore[no-untyped-call]
            except RedisError as exc:
                _log.warning("the RQ scheduler cannot reach Redis: %s", _one_line(exc))
            self._stop.wait(SCHEDULER_INTERVAL)


def _recover(redis: Redis, queue: RedisQueue) -> int:
    """Queue again the jobs that workers of this machine left started when they died
    (their process is gone), and free the scheduler lock a dead process of this machine
    held. Workers elsewhere are left to RQ's own maintenance."""
    host = socket.gethostname()
    dead_workers: set[str] = set()
    for worker in SimpleWorker.all(connection=redis, queue=queue):
        if worker.hostname == host and worker.pid and not _alive(worker.pid):
            dead_workers.add(worker.name)
            worker.register_death()  # type: ignore[no-untyped-call]
    registry = StartedJobRegistry(queue=queue)
    recovered = 0
    for job_id, execution_id in registry.get_job_and_execution_ids(cleanup=False):
        try:
            execution = Execution.fetch(execution_id, job_id, connection=redis)
        except ValueError:  # gone: RQ's maintenance deals with the entry
            continue
        if execution.worker_name not in dead_workers:
            continue
        job = Job.fetch(job_id, connection=redis)
        # Queued first, then out of the started jobs: a crash in between leaves a queued
        # job that RQ's maintenance passes over (it is no longer `started`), never none.
        queue.enqueue_job(job, at_front=True)
        with redis.pipeline() as pipe:
            registry.remove_execution(execution, pipeline=pipe)
            pipe.delete(execution.key)
            pipe.execute()
        recovered += 1
    holder: Any = redis.get(SCHEDULER_LOCKING_KEY_TEMPLATE % queue.name)
    if isinstance(holder, bytes):
        info: Any = redis.hgetall(SCHEDULER_KEY_TEMPLATE % holder.decode())
        pid = int(info.get(b"pid", b"0") or 0)
        if info.get(b"hostname", b"") == host.encode() and pid and not _alive(pid):
            redis.delete(SCHEDULER_LOCKING_KEY_TEMPLATE % queue.name)
    return recovered


def _alive(pid: int) -> bool:
    """Whether process `pid` of this machine runs (a zombie does not)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except FileNotFoundError:
        return False
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


# -- the worker process: python -m endpoint.rq --redis-url URL --queue NAME -----------------


def _die_with_parent(parent: int) -> None:
    """Linux: this process gets SIGKILL when the endpoint that started it dies."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if parent and os.getppid() != parent:  # it died before the line above
        os._exit(1)


class _NoJobTracebacks(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "exception raised while executing" not in record.getMessage()


def worker_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m endpoint.rq", description="an RQ worker")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--queue", default=DEFAULT_QUEUE_NAME)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--log-format", default="text", choices=("text", "json"))
    parser.add_argument("--parent", type=int, default=0, help="die with this process")
    args = parser.parse_args(argv)
    _die_with_parent(args.parent)
    from endpoint.logs import configure_logging

    configure_logging(args.log_level, args.log_format)
    redis = Redis.from_url(args.redis_url)
    name = f"webhooks-endpoint.{socket.gethostname()}.{os.getpid()}.worker"
    worker = SimpleWorker([RedisQueue(args.queue, connection=redis)], connection=redis, name=name)
    # A failing handler is one line of ours (endpoint.worker), not RQ's traceback too.
    worker.log.addFilter(_NoJobTracebacks())
    worker.work(with_scheduler=False, logging_level="WARNING")
    return 0


if __name__ == "__main__":
    sys.exit(worker_main())
