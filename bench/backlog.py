"""Scenario 6: a backlog of due calls, stored first, then drained by a fresh dispatcher.

`python -m bench.backlog DB` (run by `measure`) starts a dispatcher on the
stored calls, waits until none is left, and prints its peak RSS and the time.
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import time

from bench import harness
from bench.common import Row
from bench.receiver_process import ReceiverProcess
from reference import Dispatcher, Settings

__all__ = ["measure"]


async def _fill(db: str, url: str, calls: int) -> None:
    async with harness.dispatcher([url], db=db, start=False) as found:
        await harness.raise_in_batches(found, calls)


async def _drain(db: str) -> dict[str, float]:
    found = Dispatcher(Settings(api_token="bench", db=db))
    await found.open()
    store = harness.store_db(found)
    (calls,) = await store.run(store.one, "SELECT COUNT(*) FROM webhook_calls")
    started = time.perf_counter()
    await found.start()
    try:
        await harness.wait_until_done(found, calls, timeout=600)
    finally:
        elapsed = time.perf_counter() - started
        await found.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"calls": calls, "seconds": elapsed, "peak_rss_mb": peak}


def _measure_one(
    receiver: ReceiverProcess, databases: harness.Databases, calls: int
) -> dict[str, float]:
    with databases.new() as db:
        asyncio.run(_fill(db, receiver.url(0) + "/backlog", calls))
        output = subprocess.run(
            [sys.executable, "-m", "bench.backlog", db],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        result: dict[str, float] = json.loads(output)
        return result


def measure(
    receiver: ReceiverProcess, small: int, large: int, postgres: harness.Databases
) -> list[Row]:
    first = _measure_one(receiver, harness.Databases(), small)
    second = _measure_one(receiver, harness.Databases(), large)
    growth = (second["seconds"] / first["seconds"]) / (large / small)
    pg_first = _measure_one(receiver, postgres, small)
    pg_second = _measure_one(receiver, postgres, large)
    pg_growth = (pg_second["seconds"] / pg_first["seconds"]) / (large / small)
    return [
        Row(
            "6 backlog",
            f"{small:,} due calls: peak RSS / drain time",
            round(first["peak_rss_mb"], 1),
            "MB",
            note=f"drained in {first['seconds']:.1f} s ({small / first['seconds']:,.0f}/s);"
            f" PostgreSQL: {pg_first['seconds']:.1f} s ({small / pg_first['seconds']:,.0f}/s)",
            postgresql=round(pg_first["peak_rss_mb"], 1),
        ),
        Row(
            "6 backlog",
            f"{large:,} due calls: peak RSS",
            round(second["peak_rss_mb"], 1),
            "MB",
            goal="< 200 MB",
            met=second["peak_rss_mb"] < 200 and pg_second["peak_rss_mb"] < 200,
            note=f"drained in {second['seconds']:.1f} s ({large / second['seconds']:,.0f}/s);"
            f" PostgreSQL: {pg_second['seconds']:.1f} s"
            f" ({large / pg_second['seconds']:,.0f}/s)",
            postgresql=round(pg_second["peak_rss_mb"], 1),
        ),
        Row(
            "6 backlog",
            f"drain time {large:,} vs {small:,}, per call",
            round(growth, 2),
            "x linear",
            goal="linear (≈ 1.0)",
            met=growth <= 1.25 and pg_growth <= 1.25,
            note=f"{second['seconds']:.1f} s vs {first['seconds']:.1f} s for"
            f" {large // small} times the calls",
            postgresql=round(pg_growth, 2),
        ),
    ]


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_drain(sys.argv[1]))))
