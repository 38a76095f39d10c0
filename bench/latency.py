"""Scenarios 4 and 5: latency from event to receiver at a steady rate, alone and
beside a webhook whose receiver hangs on every call, on both backends.

The rate is a fixed share (`SHARE`) of the run's own ceiling (the aiohttp
client's deliveries/s of scenario 1), so that the load means the same on a fast
and on a slow day. The latency of a call is its attempt's end (sent_at +
duration, when the receiver's answer was back) minus the moment the event
happened: an upper bound of the time to reach the receiver, read from the store
afterwards.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from bench import harness
from bench.common import Row, sample_event
from bench.receiver_process import ReceiverProcess
from reference import Dispatcher

__all__ = ["GOAL_MS", "ISOLATION", "SHARE", "measure"]

SHARE = 0.30  # of the run's aiohttp ceiling: the steady rate of events
TICK = 0.005  # seconds between batches of events
GOAL_MS = 25.0  # p99 at that rate
ISOLATION = 1.10  # p99 beside the hung webhook ÷ p99 alone, at most


async def _steady(found: Dispatcher, seconds: float, rate: float) -> int:
    """Raise `rate` events/s for `seconds`, a batch every TICK in its own transaction.

    Each tick raises the events owed by its end (`rate` times the time elapsed, rounded
    down) less those already raised, so the average rate is right even when a
    tick's share is not a whole number of events.
    """
    ticks = round(seconds / TICK)
    loop = asyncio.get_running_loop()
    start = loop.time()
    pending: list[asyncio.Task[list[list[str]]]] = []
    raised = 0
    for tick in range(ticks):
        owed = int(rate * TICK * (tick + 1))
        if owed > raised:
            events = [sample_event(n) for n in range(raised, owed)]
            pending.append(asyncio.create_task(found.raise_events(events)))
            raised = owed
        await asyncio.sleep(max(0.0, start + (tick + 1) * TICK - loop.time()))
    await asyncio.gather(*pending)
    return raised


def _run(databases: harness.Databases, urls: list[str], seconds: float, rate: float) -> list[float]:
    with databases.new() as db:
        return asyncio.run(_latencies(db, urls, seconds, rate))


async def _latencies(db: str, urls: list[str], seconds: float, rate: float) -> list[float]:
    async with harness.dispatcher(urls, db=db) as found:
        raised = await _steady(found, seconds, rate)
        await harness.wait_until_done(found, raised, timeout=max(60.0, 20 * seconds), webhook_id=1)
        store = harness.store_db(found)
        rows = await store.run(harness.attempt_rows, store, 1)
    return sorted(
        (sent_at + duration / 1000 - happened) * 1000 for happened, sent_at, duration in rows
    )


def _percentile(values: list[float], fraction: float) -> float:
    return values[min(len(values) - 1, int(fraction * len(values)))]


class _Backend:
    """One backend's runs: alone and beside the hung webhook, alternating."""

    def __init__(
        self, databases: harness.Databases, healthy: str, hung: str, seconds: float, rate: float
    ) -> None:
        self._databases, self._seconds, self._rate = databases, seconds, rate
        self._healthy, self._hung = healthy, hung
        self.alone: list[list[float]] = []
        self.beside: list[list[float]] = []

    def round(self) -> None:
        """One run alone, then one beside the hung webhook, a pause after each."""
        for urls, runs in ([self._healthy], self.alone), ([self._healthy, self._hung], self.beside):
            runs.append(_run(self._databases, urls, self._seconds, self._rate))
            time.sleep(0.5)

    @property
    def p99s_alone(self) -> list[float]:
        return [_percentile(run, 0.99) for run in self.alone]

    @property
    def p99s_beside(self) -> list[float]:
        return [_percentile(run, 0.99) for run in self.beside]

    @property
    def p99_alone(self) -> float:
        return statistics.median(self.p99s_alone)

    @property
    def p99_beside(self) -> float:
        return statistics.median(self.p99s_beside)

    @property
    def ratio(self) -> float:
        return self.p99_beside / self.p99_alone

    @property
    def every_alone(self) -> list[float]:
        return sorted(v for run in self.alone for v in run)

    @property
    def every_beside(self) -> list[float]:
        return sorted(v for run in self.beside for v in run)


def _ms(values: list[float]) -> str:
    return ", ".join(f"{v:.1f}" for v in values)


def measure(
    receiver: ReceiverProcess,
    seconds: float,
    ceiling: float,
    postgres: harness.Databases,
    rounds: int = 5,
) -> list[Row]:
    """(4) and (5) at SHARE of `ceiling` (scenario 1's aiohttp deliveries/s), on SQLite
    then on PostgreSQL: on each, alone and beside the hung webhook, alternating,
    `rounds` times each. The p99 of a few seconds is the 1%-largest of some
    thousands of latencies and swings by a factor of two from run to run, so each
    figure is the median of its rounds' p99s."""
    rate = SHARE * ceiling
    healthy = receiver.url(0) + "/steady"
    hung = receiver.url(1) + "/hung?hang=1"
    lite = _Backend(harness.Databases(), healthy, hung, seconds, rate)
    pg = _Backend(postgres, healthy, hung, seconds, rate)
    for backend in (lite, pg):
        for _ in range(rounds):
            backend.round()
    events = len(lite.alone[0])
    load = f"{rate:,.0f}/s ({SHARE:.0%} of the aiohttp ceiling, {ceiling:,.0f}/s)"
    runs = f"{rounds} run{'s' if rounds != 1 else ''}"
    figures = f"{events:,} events at {load}, median of {runs}"
    lite_all, pg_all = lite.every_alone, pg.every_alone
    lite_beside, pg_beside = lite.every_beside, pg.every_beside
    return [
        Row(
            "4 latency",
            f"p50 / max, {len(lite_all):,} events at {load} in {runs}",
            round(statistics.median(lite_all), 1),
            "ms p50",
            note=f"max {lite_all[-1]:.1f} ms; PostgreSQL: max {pg_all[-1]:.1f} ms",
            postgresql=round(statistics.median(pg_all), 1),
        ),
        Row(
            "4 latency",
            f"p99, {figures}",
            round(lite.p99_alone, 1),
            "ms",
            goal=f"< {GOAL_MS:.0f} ms, both backends",
            met=lite.p99_alone < GOAL_MS and pg.p99_alone < GOAL_MS,
            note=f"runs: {_ms(lite.p99s_alone)} ms; PostgreSQL runs: {_ms(pg.p99s_alone)} ms",
            postgresql=round(pg.p99_alone, 1),
        ),
        Row(
            "5 isolation",
            f"p99 beside a webhook whose receiver hangs on every call, {figures}",
            round(lite.p99_beside, 1),
            "ms",
            ratio=round(lite.ratio, 2),
            against="p99 of (4), same backend",
            goal=f"within {ISOLATION - 1:.0%} of (4), both backends",
            met=lite.ratio <= ISOLATION and pg.ratio <= ISOLATION,
            note=f"runs: {_ms(lite.p99s_beside)} ms; p50 {statistics.median(lite_beside):.1f} ms,"
            f" max {lite_beside[-1]:.1f} ms; PostgreSQL: ratio {pg.ratio:.2f},"
            f" runs: {_ms(pg.p99s_beside)} ms, p50 {statistics.median(pg_beside):.1f} ms,"
            f" max {pg_beside[-1]:.1f} ms",
            postgresql=round(pg.p99_beside, 1),
        ),
    ]
