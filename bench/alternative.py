"""Scenario 8: two rivals built as each tool advises for I/O-bound work, as durable as
the dispatcher, on the workloads of (2) and (3).

- Celery on Redis: one worker process with a gevent pool of 200 green threads
  (`celery -A bench.celery_jobs worker -P gevent -c 200`), late acknowledgement,
  prefetch multiplier 1.
- RQ on Redis: its `SimpleWorker` (no fork per job), one worker process per core.

Every job posts its call with `requests` (keep-alive connections, 5 s timeout) and
pushes a record of the attempt to a Redis list before it returns (`bench.rival_log`),
so a job is acknowledged (Celery) or marked finished (RQ) only after its attempt is
recorded. `nox -s bench` runs Redis with `appendfsync always`: Redis answers a write
only once its append-only file is fsynced, as durable as the dispatcher's stores
(SQLite `synchronous=FULL`, PostgreSQL `fsync`); the rows say what the Redis of the run
was set to.

Redis is given by `REDIS_URL`. For each run the Redis database is flushed, the workers
are started and sent warm-up jobs until they answer, then the calls are enqueued in
bulk; time runs from just before the first job is enqueued to the moment the last
attempt is seen recorded (polled every 10 ms, as the dispatcher's scenarios do). The
latency of a call is its record's `finished - enqueued` (`time.time()` on both sides,
one machine).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO

from redis import Redis
from rq import Queue, Worker

from bench import rival_log, rq_jobs
from bench.common import Row
from bench.throughput import SLOW_DELAY, SLOW_IN_FLIGHT, SLOW_WEBHOOKS
from reference.settings import Settings

__all__ = ["available", "measure"]

BODY = b'{"entity":{"id":"1","attributes":{"title":"' + b"x" * 600 + b'"}}}'
HEADERS = {"Content-Type": "application/json", "x-webhook-id": "1"}
ROOT = Path(__file__).resolve().parent.parent
#: every wait of a run (workers ready, calls recorded, workers stopped) ends by then
TIMEOUT = 600.0
#: a run with no new record for this long has lost a job (a call gives up after 5 s)
STALL = 60.0
#: jobs enqueued per Redis round trip (RQ) and per timestamp, as (2) raises its events
BATCH = 1000
RQ_QUEUE = "bench"
#: threads publishing Celery messages at once
PUBLISHERS = 8


def available() -> str | None:
    return os.environ.get("REDIS_URL")


@dataclass(frozen=True, slots=True)
class _Run:
    calls: int
    seconds: float
    p99_ms: float
    duplicates: int

    @property
    def rate(self) -> float:
        return self.calls / self.seconds


class _Rival:
    """How to start one rival's workers, see them ready and enqueue its jobs."""

    name: str
    workers: int
    in_flight: int
    detail: str

    def start(self, redis_url: str, log: IO[bytes]) -> list[subprocess.Popen[bytes]]:
        raise NotImplementedError

    def enqueue(self, redis_url: str, calls: list[tuple[int, str]]) -> None:
        raise NotImplementedError

    def ready(self, redis: Redis) -> bool:
        """Whether every worker process is listening (the warm-up jobs do the rest)."""
        return True

    def warm_up_calls(self) -> int:
        return 1


def _env(redis_url: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "REDIS_URL": redis_url}


class _Celery(_Rival):
    def __init__(self) -> None:
        import celery

        from bench import celery_jobs

        self._jobs = celery_jobs
        self.name = f"Celery {celery.__version__} + gevent pool {celery_jobs.POOL}"
        self.workers = 1
        self.in_flight = celery_jobs.POOL
        self.detail = (
            f"1 worker process, gevent pool {celery_jobs.POOL}, prefetch multiplier"
            f" {celery_jobs.PREFETCH}, acks late"
        )

    def start(self, redis_url: str, log: IO[bytes]) -> list[subprocess.Popen[bytes]]:
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "bench.celery_jobs",
            "worker",
            "-P",
            "gevent",
            "-c",
            str(self._jobs.POOL),
            "--loglevel",
            "WARNING",
            # One worker alone: nothing to synchronise with other workers.
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        return [subprocess.Popen(command, env=_env(redis_url), stdout=log, stderr=log, cwd=ROOT)]

    def enqueue(self, redis_url: str, calls: list[tuple[int, str]]) -> None:
        """Celery publishes one message per Redis command (no batch); several threads
        publishing at once let Redis fsync their messages together, as one batch."""
        app, post = self._jobs.app, self._jobs.post
        app.conf.broker_url = redis_url

        def publish(part: list[tuple[int, str]]) -> None:
            with app.producer_or_acquire() as producer:
                for call, url in part:
                    post.apply_async((call, url, BODY, HEADERS, time.time()), producer=producer)

        threads = min(PUBLISHERS, len(calls))
        with ThreadPoolExecutor(threads) as pool:
            for done in [pool.submit(publish, calls[n::threads]) for n in range(threads)]:
                done.result()


class _RQ(_Rival):
    def __init__(self) -> None:
        import rq

        self.workers = os.cpu_count() or 1
        self.name = f"RQ {rq.__version__}, SimpleWorker in {self.workers} processes"
        self.in_flight = self.workers
        self.detail = f"{self.workers} worker processes (one per core), one call at a time each"

    def start(self, redis_url: str, log: IO[bytes]) -> list[subprocess.Popen[bytes]]:
        command = [
            sys.executable,
            "-m",
            "rq.cli",
            "worker",
            "--worker-class",
            "rq.SimpleWorker",
            "--quiet",
            "--url",
            redis_url,
            RQ_QUEUE,
        ]
        env = _env(redis_url)
        return [
            subprocess.Popen(command, env=env, stdout=log, stderr=log, cwd=ROOT)
            for _ in range(self.workers)
        ]

    def enqueue(self, redis_url: str, calls: list[tuple[int, str]]) -> None:
        queue = Queue(RQ_QUEUE, connection=Redis.from_url(redis_url))
        for offset in range(0, len(calls), BATCH):
            enqueued = time.time()
            queue.enqueue_many(
                [
                    Queue.prepare_data(
                        rq_jobs.post, (call, url, BODY, HEADERS, enqueued), result_ttl=600
                    )
                    for call, url in calls[offset : offset + BATCH]
                ]
            )

    def ready(self, redis: Redis) -> bool:
        return Worker.count(connection=redis) >= self.workers

    def warm_up_calls(self) -> int:
        # Enough 50 ms calls that every worker process takes some.
        return 10 * self.workers


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _tail(log: IO[bytes]) -> str:
    log.flush()
    log.seek(0)
    return log.read().decode(errors="replace")[-3000:]


def _wait(
    what: str,
    done: Callable[[], bool],
    deadline: float,
    processes: list[subprocess.Popen[bytes]],
    log: IO[bytes],
    progress: Callable[[], int] | None = None,
) -> float:
    """Poll `done` every 10 ms; the moment (perf_counter) it was seen true."""
    last, moved = -1, time.perf_counter()
    while True:
        if done():
            return time.perf_counter()
        now = time.perf_counter()
        if now > deadline:
            raise RuntimeError(f"scenario 8: {what} not done within {TIMEOUT:.0f} s\n{_tail(log)}")
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(
                    f"scenario 8: a worker exited ({process.returncode}) while waiting for"
                    f" {what}\n{_tail(log)}"
                )
        if progress is not None:
            count = progress()
            if count != last:
                last, moved = count, now
            elif now - moved > STALL:
                raise RuntimeError(
                    f"scenario 8: {what}: no attempt recorded for {STALL:.0f} s"
                    f" ({count} so far)\n{_tail(log)}"
                )
        time.sleep(0.01)


def _recorded(redis: Redis, count: int) -> bool:
    return int(redis.llen(rival_log.ATTEMPTS)) >= count


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.perf_counter() + 10
    for process in processes:
        try:
            process.wait(max(0.0, deadline - time.perf_counter()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def _workers(
    rival: _Rival, redis_url: str, redis: Redis, warm_url: str, log: IO[bytes]
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """The rival's workers, started on a flushed database and warmed up."""
    redis.flushdb()
    deadline = time.perf_counter() + TIMEOUT
    processes = rival.start(redis_url, log)
    try:
        _wait("the workers to start", lambda: rival.ready(redis), deadline, processes, log)
        warm = rival.warm_up_calls()
        rival.enqueue(redis_url, [(-1 - n, warm_url) for n in range(warm)])
        _wait(
            "the warm-up jobs",
            partial(_recorded, redis, warm),
            deadline,
            processes,
            log,
        )
        failed = [a for a in rival_log.read(redis) if not a.ok]
        if failed:
            raise RuntimeError(f"scenario 8: {rival.name}: warm-up call failed: {failed[0]}")
        redis.delete(rival_log.ATTEMPTS)
        yield processes
    finally:
        _stop(processes)


def _run(rival: _Rival, redis_url: str, urls: list[str], warm_url: str) -> _Run:
    redis = Redis.from_url(redis_url)
    calls = list(enumerate(urls))
    sent = set(range(len(calls)))
    with (
        tempfile.TemporaryFile(prefix="bench-rival-") as log,
        _workers(rival, redis_url, redis, warm_url, log) as processes,
    ):
        started = time.perf_counter()
        rival.enqueue(redis_url, calls)
        # One record per attempt: a job run twice (a message delivered again) leaves
        # two, so the records are counted until every call has one.
        expected = len(calls)
        while True:
            finished = _wait(
                f"{rival.name}: {len(calls):,} calls",
                partial(_recorded, redis, expected),
                started + TIMEOUT,
                processes,
                log,
                progress=lambda: int(redis.llen(rival_log.ATTEMPTS)),
            )
            attempts = rival_log.read(redis)
            first: dict[int, rival_log.Attempt] = {}
            for attempt in sorted(attempts, key=lambda a: a.finished):
                first.setdefault(attempt.call, attempt)
            if len(first) >= len(calls):
                break
            expected = len(calls) + len(attempts) - len(first)
    redis.flushdb()
    failed = [attempt for attempt in attempts if not attempt.ok]
    if failed:
        examples = "; ".join(f"{a.call}: {a.error or a.status}" for a in failed[:3])
        raise RuntimeError(
            f"scenario 8: {rival.name}: {len(failed)} of {len(calls):,} calls failed ({examples})"
        )
    if set(first) != sent:
        raise RuntimeError(
            f"scenario 8: {rival.name}: calls recorded that were not sent:"
            f" {sorted(set(first) - sent)[:5]}"
        )
    return _Run(
        calls=len(calls),
        seconds=finished - started,
        p99_ms=_percentile([attempt.latency_ms for attempt in first.values()], 0.99),
        duplicates=len(attempts) - len(first),
    )


def _durability(redis_url: str) -> str:
    config = Redis.from_url(redis_url, decode_responses=True)
    appendonly = config.config_get("appendonly").get("appendonly")
    appendfsync = config.config_get("appendfsync").get("appendfsync")
    if appendonly == "yes" and appendfsync == "always":
        return (
            "each attempt recorded in Redis (RPUSH) before the job returns; Redis with"
            " appendfsync always fsyncs every write before answering it, as durable as the"
            " dispatcher's stored outcomes (SQLite synchronous=FULL)"
        )
    return (
        "each attempt recorded in Redis (RPUSH) before the job returns; this Redis is"
        f" NOT durable as the dispatcher is (appendonly {appendonly}, appendfsync"
        f" {appendfsync})"
    )


def measure(
    redis_url: str,
    fast_url: str,
    slow_urls: list[str],
    fast_calls: int,
    slow_calls: int,
    dispatcher_fast: tuple[float, float],
    dispatcher_slow: tuple[float, float],
) -> list[Row]:
    """One row per rival and workload; `dispatcher_*` are (deliveries/s, p99 ms) of
    the dispatcher's scenarios 2 and 3 on SQLite."""
    durability = _durability(redis_url)
    settings = Settings()
    fast_list = [fast_url] * fast_calls
    slow_list = [slow_urls[n % len(slow_urls)] for n in range(slow_calls)]
    workloads = [
        (
            f"workload of (2), {fast_calls:,} calls",
            "(2)",
            fast_list,
            fast_url,
            dispatcher_fast,
            f"{min(settings.max_in_flight, settings.max_in_flight_per_webhook)} to its one webhook",
        ),
        (
            f"workload of (3), {slow_calls:,} calls to {len(slow_urls)} receivers,"
            f" {SLOW_DELAY * 1000:.0f} ms answers",
            "(3)",
            slow_list,
            slow_urls[0],
            dispatcher_slow,
            f"{SLOW_IN_FLIGHT}, {SLOW_IN_FLIGHT // SLOW_WEBHOOKS} per webhook",
        ),
    ]
    rows: list[Row] = []
    for rival in (_Celery(), _RQ()):
        for figure, scenario, urls, warm_url, (rate, p99), limit in workloads:
            run = _run(rival, redis_url, urls, warm_url)
            duplicates = f"; {run.duplicates} calls sent twice" if run.duplicates else ""
            rows.append(
                Row(
                    "8 rivals",
                    f"{rival.name}, {figure}",
                    round(run.rate),
                    "deliveries/s",
                    ratio=round(rate / run.rate, 2),
                    against=f"dispatcher {scenario} ÷ rival",
                    goal="dispatcher faster, lower p99",
                    met=rate > run.rate and p99 < run.p99_ms,
                    note=f"p99 {run.p99_ms:,.1f} ms (dispatcher {p99:,.1f} ms);"
                    f" {run.calls:,} calls in {run.seconds:.1f} s{duplicates};"
                    f" {rival.in_flight} calls in flight at most ({rival.detail}),"
                    f" dispatcher {limit}; {durability}",
                )
            )
    return rows
