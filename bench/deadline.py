"""Scenario 7: calls to a receiver that dribbles its body are cut off at the deadline."""

from __future__ import annotations

import asyncio

from bench import harness
from bench.common import Row
from bench.receiver_process import ReceiverProcess

__all__ = ["measure"]

CALLS = 20


async def _run(url: str) -> list[int]:
    async with harness.dispatcher([url]) as found:
        await harness.raise_in_batches(found, CALLS)
        await harness.wait_until_done(found, CALLS, timeout=30)
        rows = await harness.store_db(found).run(
            harness.attempt_rows, harness.store_db(found).conn, 1
        )
    return sorted(duration for _, _, duration in rows)


def measure(receiver: ReceiverProcess) -> Row:
    url = receiver.url(0) + "/dribble?dribble=body&dribble_interval=0.5"
    durations = asyncio.run(_run(url))
    inside = all(5000 <= d <= 5200 for d in durations) and len(durations) == CALLS
    return Row(
        "7 deadline",
        f"{CALLS} calls to a receiver dribbling its body, cut off after",
        durations[-1] / 1000,
        "s (max)",
        goal="all in [5.0, 5.2] s",
        met=inside,
        note=f"min {durations[0] / 1000:.3f} s, max {durations[-1] / 1000:.3f} s",
    )
