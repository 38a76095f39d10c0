"""Scenario 8: the usual alternative, an RQ worker per core on Redis posting each call
with `requests`, on the workloads of (2) and (3).

Redis is given by `REDIS_URL` (the nox session starts `redis-server` on loopback).
Time runs from the first job enqueued to the last worker done (`rq worker --burst`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from redis import Redis
from rq import Queue

from bench.common import Row
from bench.rq_jobs import post
from bench.throughput import SLOW_DELAY, SLOW_IN_FLIGHT, SLOW_WEBHOOKS

__all__ = ["available", "measure"]

BODY = b'{"entity":{"id":"1","attributes":{"title":"' + b"x" * 600 + b'"}}}'
HEADERS = {"Content-Type": "application/json", "x-webhook-id": "1"}
ROOT = Path(__file__).resolve().parent.parent


def available() -> str | None:
    return os.environ.get("REDIS_URL")


def _run(redis_url: str, urls: list[str]) -> float:
    connection = Redis.from_url(redis_url)
    connection.flushdb()
    queue = Queue("bench", connection=connection)
    workers = os.cpu_count() or 1
    started = time.perf_counter()
    jobs = [Queue.prepare_data(post, (url, BODY, HEADERS), result_ttl=60) for url in urls]
    queue.enqueue_many(jobs)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "rq.cli", "worker", "--burst", "--quiet", "--url", redis_url]
    processes = [
        subprocess.Popen([*command, "bench"], env=env, stdout=subprocess.DEVNULL)
        for _ in range(workers)
    ]
    for process in processes:
        process.wait(600)
    elapsed = time.perf_counter() - started
    failed = queue.failed_job_registry.count
    if failed:
        raise RuntimeError(f"{failed} RQ jobs failed")
    return elapsed


def measure(
    redis_url: str,
    fast_url: str,
    slow_urls: list[str],
    fast_calls: int,
    slow_calls: int,
    dispatcher_fast: float,
    dispatcher_slow: float,
) -> list[Row]:
    workers = os.cpu_count() or 1
    fast_rate = fast_calls / _run(redis_url, [fast_url] * fast_calls)
    slow_list = [slow_urls[n % len(slow_urls)] for n in range(slow_calls)]
    slow_rate = slow_calls / _run(redis_url, slow_list)
    return [
        Row(
            "8 RQ + Redis + requests",
            f"workload of (2), {fast_calls:,} calls, {workers} workers",
            round(fast_rate),
            "deliveries/s",
            ratio=round(dispatcher_fast / fast_rate, 1),
            against="dispatcher (2) ÷ RQ",
            note="fork per job (RQ's default worker); Redis without fsync",
        ),
        Row(
            "8 RQ + Redis + requests",
            f"workload of (3), {slow_calls:,} calls to {SLOW_WEBHOOKS} receivers,"
            f" {SLOW_DELAY * 1000:.0f} ms answers",
            round(slow_rate),
            "deliveries/s",
            ratio=round(dispatcher_slow / slow_rate, 1),
            against="dispatcher (3) ÷ RQ",
            note=f"{workers} calls in flight at most (dispatcher: {SLOW_IN_FLIGHT})",
        ),
    ]
