"""Scenario 7: calls to a receiver that dribbles its body are cut off at the deadline."""

from __future__ import annotations

import asyncio

from bench import harness
from bench.common import Row
from bench.receiver_process import ReceiverProcess

__all__ = ["measure"]

CALLS = 20


async def _run(db: str, url: str) -> list[int]:
    async with harness.dispatcher([url], db=db) as found:
        await harness.raise_in_batches(found, CALLS)
        await harness.wait_until_done(found, CALLS, timeout=30)
        store = harness.store_db(found)
        rows = await store.run(harness.attempt_rows, store, 1)
    return sorted(duration for _, _, duration in rows)


def _durations(databases: harness.Databases, url: str) -> list[int]:
    with databases.new() as db:
        return asyncio.run(_run(db, url))


def _inside(durations: list[int]) -> bool:
    return all(5000 <= d <= 5200 for d in durations) and len(durations) == CALLS


def measure(receiver: ReceiverProcess, postgres: harness.Databases) -> Row:
    url = receiver.url(0) + "/dribble?dribble=body&dribble_interval=0.5"
    durations = _durations(harness.Databases(), url)
    pg = _durations(postgres, url)
    inside = _inside(durations) and _inside(pg)
    return Row(
        "7 deadline",
        f"{CALLS} calls to a receiver dribbling its body, cut off after",
        durations[-1] / 1000,
        "s (max)",
        goal="all in [5.0, 5.2] s",
        met=inside,
        note=f"min {durations[0] / 1000:.3f} s, max {durations[-1] / 1000:.3f} s;"
        f" PostgreSQL: min {pg[0] / 1000:.3f} s, max {pg[-1] / 1000:.3f} s",
        postgresql=pg[-1] / 1000,
    )
