"""Scenarios 4 and 5: latency from event to receiver at a steady rate, alone and
beside a webhook whose receiver hangs on every call.

The latency of a call is its attempt's end (sent_at + duration, when the
receiver's answer was back) minus the moment the event happened: an upper
bound of the time to reach the receiver, read from the store afterwards.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from bench import harness
from bench.common import Row, sample_event
from bench.receiver_process import ReceiverProcess
from reference import Dispatcher

__all__ = ["RATE", "measure"]

RATE = 1000  # events per second
TICK = 0.005  # seconds between batches: 5 events every 5 ms


async def _steady(found: Dispatcher, seconds: float) -> int:
    """Raise RATE events/s for `seconds`, each batch in its own transaction."""
    per_tick = round(RATE * TICK)
    ticks = round(seconds / TICK)
    loop = asyncio.get_running_loop()
    start = loop.time()
    pending: list[asyncio.Task[list[list[str]]]] = []
    for tick in range(ticks):
        events = [sample_event(tick * per_tick + n) for n in range(per_tick)]
        pending.append(asyncio.create_task(found.raise_events(events)))
        await asyncio.sleep(max(0.0, start + (tick + 1) * TICK - loop.time()))
    await asyncio.gather(*pending)
    return ticks * per_tick


async def _run(urls: list[str], seconds: float) -> list[float]:
    async with harness.dispatcher(urls) as found:
        raised = await _steady(found, seconds)
        await harness.wait_until_done(found, raised, timeout=60, webhook_id=1)
        rows = await found.store.db.run(harness.attempt_rows, found.store.db.conn, 1)
    return sorted(
        (sent_at + duration / 1000 - happened) * 1000 for happened, sent_at, duration in rows
    )


def _percentile(values: list[float], fraction: float) -> float:
    return values[min(len(values) - 1, int(fraction * len(values)))]


def measure(receiver: ReceiverProcess, seconds: float) -> list[Row]:
    healthy = receiver.url(0) + "/steady"
    hung = receiver.url(1) + "/hung?hang=1"
    alone = asyncio.run(_run([healthy], seconds))
    time.sleep(0.5)
    beside = asyncio.run(_run([healthy, hung], seconds))
    p99_alone, p99_beside = _percentile(alone, 0.99), _percentile(beside, 0.99)
    figures = f"{len(alone):,} events at {RATE:,}/s"
    rows = [
        Row(
            "4 latency",
            f"p50 / max, {figures}",
            round(statistics.median(alone), 1),
            "ms p50",
            note=f"max {alone[-1]:.1f} ms",
        ),
        Row(
            "4 latency",
            f"p99, {figures}",
            round(p99_alone, 1),
            "ms",
            goal="< 50 ms",
            met=p99_alone < 50,
        ),
        Row(
            "5 isolation",
            "p99 beside a webhook whose receiver hangs on every call",
            round(p99_beside, 1),
            "ms",
            ratio=round(p99_beside / p99_alone, 2),
            against="p99 of (4)",
            goal="within 10% of (4)",
            met=p99_beside <= 1.1 * p99_alone,
            note=f"p50 {statistics.median(beside):.1f} ms, max {beside[-1]:.1f} ms",
        ),
    ]
    return rows
