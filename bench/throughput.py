"""Scenarios 2 and 3: deliveries per second to a fast receiver and to a slow one.

Time runs from the first event raised to the last call stored as answered;
every call must be `success`.
"""

from __future__ import annotations

import asyncio
import time

from bench import harness
from bench.common import CpuMeter, Row
from bench.receiver_process import ReceiverProcess

__all__ = ["SLOW_DELAY", "SLOW_IN_FLIGHT", "SLOW_WEBHOOKS", "fast", "slow"]

SLOW_DELAY = 0.05
SLOW_WEBHOOKS = 20
SLOW_IN_FLIGHT = 200  # 10 per webhook


async def _deliver(
    db: str, urls: list[str], events: int, **settings: int
) -> tuple[float, dict[str, int]]:
    async with harness.dispatcher(urls, db=db, settings=settings) as found:
        started = time.perf_counter()
        raising = asyncio.create_task(harness.raise_in_batches(found, events))
        finished = await harness.wait_until_done(found, events * len(urls), timeout=300)
        await raising
        db_ = harness.store_db(found)
        counts = await db_.run(harness.status_counts, db_)
        return finished - started, counts


def _run(
    databases: harness.Databases, urls: list[str], events: int, **settings: int
) -> tuple[float, dict[str, int]]:
    with databases.new() as db:
        return asyncio.run(_deliver(db, urls, events, **settings))


def fast(
    receiver: ReceiverProcess, events: int, ceiling: float, postgres: harness.Databases
) -> tuple[Row, float]:
    urls = [receiver.url(0) + "/fast"]
    cpu = CpuMeter(receiver.pid)
    cpu.start()
    elapsed, counts = _run(harness.Databases(), urls, events)
    receiver_cpu = cpu.percent()
    rate = events / elapsed
    ratio = rate / ceiling
    ok = counts.get("success", 0) == events
    pg_elapsed, pg_counts = _run(postgres, urls, events)
    pg_rate = events / pg_elapsed
    row = Row(
        "2 throughput, fast receiver",
        f"{events:,} events → 1 webhook, stored as success",
        round(rate),
        "deliveries/s",
        ratio=round(ratio, 2),
        against="aiohttp ceiling",
        goal="≥ 50% and ≥ 5,000/s",
        met=ok and ratio >= 0.5 and rate >= 5000,
        note=f"{counts} in {elapsed:.1f} s; receiver CPU {receiver_cpu:.0f}%;"
        f" PostgreSQL: {pg_counts} in {pg_elapsed:.1f} s, ratio {pg_rate / ceiling:.2f}",
        postgresql=round(pg_rate),
    )
    return row, rate


def slow(receiver: ReceiverProcess, events: int, postgres: harness.Databases) -> tuple[Row, float]:
    urls = [receiver.url(i + 1) + f"/slow?delay={SLOW_DELAY}" for i in range(SLOW_WEBHOOKS)]
    limits = {
        "max_in_flight": SLOW_IN_FLIGHT,
        "max_in_flight_per_webhook": SLOW_IN_FLIGHT // SLOW_WEBHOOKS,
    }
    bound = SLOW_IN_FLIGHT / SLOW_DELAY
    elapsed, counts = _run(harness.Databases(), urls, events, **limits)
    pg_elapsed, pg_counts = _run(postgres, urls, events, **limits)
    calls = events * SLOW_WEBHOOKS
    rate = calls / elapsed
    pg_rate = calls / pg_elapsed
    ratio = rate / bound
    row = Row(
        "3 throughput, slow receiver",
        f"{calls:,} calls, {SLOW_WEBHOOKS} webhooks, {SLOW_IN_FLIGHT} in flight,"
        f" {SLOW_DELAY * 1000:.0f} ms answers",
        round(rate),
        "deliveries/s",
        ratio=round(ratio, 2),
        against=f"Little's law {SLOW_IN_FLIGHT}/{SLOW_DELAY} s = {bound:,.0f}/s",
        goal="≥ 80%",
        met=counts.get("success", 0) == calls and ratio >= 0.8,
        note=f"{counts} in {elapsed:.1f} s; PostgreSQL: {pg_counts} in {pg_elapsed:.1f} s,"
        f" ratio {pg_rate / bound:.2f}",
        postgresql=round(pg_rate),
    )
    return row, rate
