"""Scenarios 2 and 3: deliveries per second to a fast receiver and to a slow one, on
SQLite and on PostgreSQL, with the CPU each delivery costs.

Time runs from the first event raised to the last call stored as answered;
every call must be `success`. The dispatcher runs in this process on the loop
`serve` runs on (`reference.serving.run`: uvloop when installed), so the
process's CPU time over the run is the dispatcher's: raising and storing the
events, claiming, sending, recording. A call's latency is its attempt's end
minus its event's moment, read from the store afterwards.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from bench import harness
from bench.common import CpuMeter, Row
from bench.receiver_process import ReceiverProcess
from reference.serving import run

__all__ = [
    "SLOW_DELAY",
    "SLOW_IN_FLIGHT",
    "SLOW_WEBHOOKS",
    "Run",
    "fast",
    "fast_run",
    "slow",
    "slow_run",
]

SLOW_DELAY = 0.05
SLOW_WEBHOOKS = 20
SLOW_IN_FLIGHT = 200  # 10 per webhook

FAST_GOAL = {"SQLite": 0.85, "PostgreSQL": 0.7}
SLOW_GOAL = 0.85

Runner = Callable[[Coroutine[Any, Any, "Run"]], "Run"]


@dataclass(frozen=True, slots=True)
class Run:
    """One scenario run on one backend."""

    calls: int
    seconds: float
    counts: dict[str, int]
    cpu_seconds: float  # this process's, over the run
    p99_ms: float  # of the calls' latencies

    @property
    def rate(self) -> float:
        return self.calls / self.seconds

    @property
    def cpu_ms(self) -> float:
        """CPU milliseconds per delivery."""
        return 1000 * self.cpu_seconds / self.calls

    @property
    def ok(self) -> bool:
        return self.counts == {"success": self.calls}


async def _deliver(db: str, urls: list[str], events: int, **settings: int) -> Run:
    async with harness.dispatcher(urls, db=db, settings=settings) as found:
        cpu = time.process_time()
        started = time.perf_counter()
        raising = asyncio.create_task(harness.raise_in_batches(found, events))
        finished = await harness.wait_until_done(found, events * len(urls), timeout=300)
        await raising
        cpu = time.process_time() - cpu
        store = harness.store_db(found)
        counts = await store.run(harness.status_counts, store)
        latencies: list[float] = []
        for webhook in range(1, len(urls) + 1):
            rows = await store.run(harness.attempt_rows, store, webhook)
            latencies += (sent + duration / 1000 - happened for happened, sent, duration in rows)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] * 1000
    return Run(events * len(urls), finished - started, counts, cpu, p99)


def _run(
    databases: harness.Databases,
    urls: list[str],
    events: int,
    settings: dict[str, int] | None = None,
    runner: Runner = run,
) -> Run:
    with databases.new() as db:
        return runner(_deliver(db, urls, events, **(settings or {})))


def fast_run(receiver: ReceiverProcess, events: int) -> Run:
    """(2)'s workload alone, on SQLite: the measure the rivals of (8) are held to."""
    return _run(harness.Databases(), [receiver.url(0) + "/fast"], events)


def slow_run(receiver: ReceiverProcess, events: int) -> Run:
    """(3)'s workload alone, on SQLite."""
    return _run(harness.Databases(), _slow_urls(receiver), events, _SLOW_LIMITS)


def _slow_urls(receiver: ReceiverProcess) -> list[str]:
    return [receiver.url(i + 1) + f"/slow?delay={SLOW_DELAY}" for i in range(SLOW_WEBHOOKS)]


_SLOW_LIMITS = {
    "max_in_flight": SLOW_IN_FLIGHT,
    "max_in_flight_per_webhook": SLOW_IN_FLIGHT // SLOW_WEBHOOKS,
}


def _asyncio(main: Coroutine[Any, Any, Run]) -> Run:
    return asyncio.run(main)


def fast(
    receiver: ReceiverProcess, events: int, ceiling: float, postgres: harness.Databases
) -> tuple[list[Row], Run]:
    """(2): one webhook, a receiver answering at once."""
    urls = [receiver.url(0) + "/fast"]
    cpu = CpuMeter(receiver.pid)
    cpu.start()
    lite = _run(harness.Databases(), urls, events)
    receiver_cpu = cpu.percent()
    pg = _run(postgres, urls, events)
    plain = _run(harness.Databases(), urls, events, runner=_asyncio)
    ratio, pg_ratio = lite.rate / ceiling, pg.rate / ceiling
    goal = FAST_GOAL
    rows = [
        Row(
            "2 throughput, fast receiver",
            f"{events:,} events → 1 webhook, every call stored as success",
            round(lite.rate),
            "deliveries/s",
            ratio=round(ratio, 2),
            against="aiohttp ceiling (1)",
            goal=f"≥ {goal['SQLite']} of the ceiling (SQLite), ≥ {goal['PostgreSQL']} (PostgreSQL)",
            met=lite.ok and pg.ok and ratio >= goal["SQLite"] and pg_ratio >= goal["PostgreSQL"],
            note=f"SQLite {lite.counts} in {lite.seconds:.1f} s, receiver CPU {receiver_cpu:.0f}%;"
            f" PostgreSQL {pg.counts} in {pg.seconds:.1f} s, ratio {pg_ratio:.2f}",
            postgresql=round(pg.rate),
        ),
        Row(
            "2 throughput, fast receiver",
            "dispatcher CPU per delivery (its process's CPU time ÷ calls)",
            round(lite.cpu_ms, 3),
            "ms",
            note=f"SQLite {lite.cpu_seconds:.1f} s, PostgreSQL {pg.cpu_seconds:.1f} s of CPU for"
            f" {events:,} calls, raising and storing the events included; the PostgreSQL"
            " server's own CPU is not counted (see (9))",
            postgresql=round(pg.cpu_ms, 3),
        ),
        Row(
            "2 throughput, fast receiver",
            "p99 of a call's latency (event → answer back) over the run",
            round(lite.p99_ms, 1),
            "ms",
            note=f"{events:,} events raised in batches of 1,000 as fast as they are stored, so"
            " most calls wait in the queue: the rivals of (8) are measured the same way",
            postgresql=round(pg.p99_ms, 1),
        ),
        Row(
            "2 throughput, fast receiver",
            "the same on asyncio's own event loop instead of uvloop (SQLite)",
            round(plain.rate),
            "deliveries/s",
            ratio=round(plain.rate / lite.rate, 2),
            against="uvloop (the first row)",
            note=f"{plain.counts} in {plain.seconds:.1f} s; CPU per delivery"
            f" {plain.cpu_ms:.3f} ms (uvloop: {lite.cpu_ms:.3f} ms)",
        ),
    ]
    return rows, lite


def slow(receiver: ReceiverProcess, events: int, postgres: harness.Databases) -> tuple[Row, Run]:
    urls, limits = _slow_urls(receiver), _SLOW_LIMITS
    bound = SLOW_IN_FLIGHT / SLOW_DELAY
    lite = _run(harness.Databases(), urls, events, limits)
    pg = _run(postgres, urls, events, limits)
    ratio, pg_ratio = lite.rate / bound, pg.rate / bound
    row = Row(
        "3 throughput, slow receiver",
        f"{lite.calls:,} calls, {SLOW_WEBHOOKS} webhooks, {SLOW_IN_FLIGHT} in flight,"
        f" {SLOW_DELAY * 1000:.0f} ms answers",
        round(lite.rate),
        "deliveries/s",
        ratio=round(ratio, 2),
        against=f"Little's law {SLOW_IN_FLIGHT}/{SLOW_DELAY} s = {bound:,.0f}/s",
        goal=f"≥ {SLOW_GOAL} on both",
        met=lite.ok and pg.ok and ratio >= SLOW_GOAL and pg_ratio >= SLOW_GOAL,
        note=f"SQLite {lite.counts} in {lite.seconds:.1f} s, p99 {lite.p99_ms:.0f} ms,"
        f" CPU per delivery {lite.cpu_ms:.3f} ms; PostgreSQL {pg.counts} in {pg.seconds:.1f} s,"
        f" ratio {pg_ratio:.2f}, p99 {pg.p99_ms:.0f} ms, CPU per delivery {pg.cpu_ms:.3f} ms",
        postgresql=round(pg.rate),
    )
    return row, lite
