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


async def _deliver(urls: list[str], events: int, **settings: int) -> tuple[float, dict[str, int]]:
    async with harness.dispatcher(urls, settings=settings) as found:
        started = time.perf_counter()
        raising = asyncio.create_task(harness.raise_in_batches(found, events))
        finished = await harness.wait_until_done(found, events * len(urls), timeout=300)
        await raising
        counts = await harness.store_db(found).run(
            harness.status_counts, harness.store_db(found).conn
        )
        return finished - started, counts


def fast(receiver: ReceiverProcess, events: int, ceiling: float) -> tuple[Row, float]:
    cpu = CpuMeter(receiver.pid)
    cpu.start()
    elapsed, counts = asyncio.run(_deliver([receiver.url(0) + "/fast"], events))
    rate = events / elapsed
    ratio = rate / ceiling
    ok = counts.get("success", 0) == events
    row = Row(
        "2 throughput, fast receiver",
        f"{events:,} events → 1 webhook, stored as success",
        round(rate),
        "deliveries/s",
        ratio=round(ratio, 2),
        against="aiohttp ceiling",
        goal="≥ 50% and ≥ 5,000/s",
        met=ok and ratio >= 0.5 and rate >= 5000,
        note=f"{counts} in {elapsed:.1f} s; receiver CPU {cpu.percent():.0f}%",
    )
    return row, rate


def slow(receiver: ReceiverProcess, events: int) -> tuple[Row, float]:
    urls = [receiver.url(i + 1) + f"/slow?delay={SLOW_DELAY}" for i in range(SLOW_WEBHOOKS)]
    per_webhook = SLOW_IN_FLIGHT // SLOW_WEBHOOKS
    bound = SLOW_IN_FLIGHT / SLOW_DELAY
    elapsed, counts = asyncio.run(
        _deliver(
            urls,
            events,
            max_in_flight=SLOW_IN_FLIGHT,
            max_in_flight_per_webhook=per_webhook,
        )
    )
    calls = events * SLOW_WEBHOOKS
    rate = calls / elapsed
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
        note=f"{counts} in {elapsed:.1f} s",
    )
    return row, rate
