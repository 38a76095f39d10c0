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


def _run(urls: list[str], seconds: float) -> list[float]:
    with harness.Databases().new() as db:
        return asyncio.run(_latencies(db, urls, seconds))


async def _latencies(db: str, urls: list[str], seconds: float) -> list[float]:
    async with harness.dispatcher(urls, db=db) as found:
        raised = await _steady(found, seconds)
        await harness.wait_until_done(found, raised, timeout=60, webhook_id=1)
        store = harness.store_db(found)
        rows = await store.run(harness.attempt_rows, store, 1)
    return sorted(
        (sent_at + duration / 1000 - happened) * 1000 for happened, sent_at, duration in rows
    )


def _percentile(values: list[float], fraction: float) -> float:
    return values[min(len(values) - 1, int(fraction * len(values)))]


def measure(receiver: ReceiverProcess, seconds: float, rounds: int = 3) -> list[Row]:
    """(4) and (5), alternating, `rounds` times each: the p99 of a few seconds is
    the 50th-largest of some thousands of latencies, so one run's p99 swings by a
    factor of two; each figure is the median of its rounds' p99s."""
    healthy = receiver.url(0) + "/steady"
    hung = receiver.url(1) + "/hung?hang=1"
    alone: list[list[float]] = []
    beside: list[list[float]] = []
    for _ in range(rounds):
        alone.append(_run([healthy], seconds))
        time.sleep(0.5)
        beside.append(_run([healthy, hung], seconds))
        time.sleep(0.5)
    p99s_alone = [_percentile(run, 0.99) for run in alone]
    p99s_beside = [_percentile(run, 0.99) for run in beside]
    p99_alone, p99_beside = statistics.median(p99s_alone), statistics.median(p99s_beside)
    every_alone = sorted(v for run in alone for v in run)
    every_beside = sorted(v for run in beside for v in run)
    figures = f"{len(alone[0]):,} events at {RATE:,}/s, median of {rounds} runs"
    rows = [
        Row(
            "4 latency",
            f"p50 / max, {len(every_alone):,} events at {RATE:,}/s in {rounds} runs",
            round(statistics.median(every_alone), 1),
            "ms p50",
            note=f"max {every_alone[-1]:.1f} ms",
        ),
        Row(
            "4 latency",
            f"p99, {figures}",
            round(p99_alone, 1),
            "ms",
            goal="< 50 ms",
            met=p99_alone < 50,
            note=f"runs: {', '.join(f'{v:.1f}' for v in p99s_alone)} ms",
        ),
        Row(
            "5 isolation",
            f"p99 beside a webhook whose receiver hangs on every call, {figures}",
            round(p99_beside, 1),
            "ms",
            ratio=round(p99_beside / p99_alone, 2),
            against="p99 of (4)",
            goal="within 10% of (4)",
            met=p99_beside <= 1.1 * p99_alone,
            note=f"runs: {', '.join(f'{v:.1f}' for v in p99s_beside)} ms;"
            f" p50 {statistics.median(every_beside):.1f} ms, max {every_beside[-1]:.1f} ms",
        ),
    ]
    return rows
