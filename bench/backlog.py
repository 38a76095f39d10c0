"""Scenario 6: a backlog of due calls, stored first, then drained by a fresh dispatcher.

`python -m bench.backlog DB [CALLS]` (run by `measure`) starts a dispatcher on
the stored calls, waits until none is left (or until CALLS of them have been
sent), and prints its peak RSS and the time, so that the peak RSS is the
draining process's alone.

Raising a million events through the dispatcher takes minutes (about 11,000/s
on SQLite, 1,800/s on PostgreSQL, where every event is two round trips), so a
backlog is filled the same way at every size: the first SEED events are raised
through the dispatcher's own event path, then their rows (events and calls) are
copied in SQL, `INSERT ... SELECT`, a copy per transaction, with new ids and
times, until the backlog has its size. The rows are the dispatcher's own, due
(`due_at` in the past, unclaimed, pending), and ids grow with time as they do
when events arrive one after another.
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
from reference.store.database import Database

__all__ = ["FULL_DRAIN", "LINEAR", "SEED", "measure"]

SEED = 10_000  # events raised through the dispatcher; the rest are copies of theirs
FULL_DRAIN = 8 * 60  # seconds: PostgreSQL's large backlog is drained whole below this
LINEAR = 1.25  # per-call drain time, large ÷ small, at most

_EVENT_COLUMNS = (
    "entity_type, event_type, environment, is_environment_primary, happened_at, entity,"
    " previous_entity, related_entities, variants"
)


async def _fill(db: str, url: str, calls: int) -> float:
    """`calls` due calls to `url`, one per event; the seconds it took."""
    started = time.perf_counter()
    async with harness.dispatcher([url], db=db, start=False) as found:
        await harness.raise_in_batches(found, min(calls, SEED))
        store = harness.store_db(found)
        await store.run(_copy, store, calls)
    return time.perf_counter() - started


def _copy(db: Database, calls: int) -> None:
    """Copy the raised events and their calls until there are `calls` calls.

    Copy k (the raised rows are copy 0) gets event ids shifted by k times their
    count, and times shifted so that every copy is older than the next, all of
    them in the past: copy k's are moved back by (copies - k) times the span of
    the raised events' times.
    """
    first, last, oldest = db.one("SELECT MIN(id), MAX(id), MIN(happened_at) FROM events")
    first_call, newest = db.one("SELECT MIN(id), MAX(due_at) FROM webhook_calls")
    seed = last - first + 1
    # One webhook: one call per event, stored in the same order, so that the calls
    # of events first..first + n - 1 are first_call..first_call + n - 1 (by the
    # primary key: webhook_calls has no index on event_id).
    (aligned,) = db.one(
        "SELECT COUNT(*) FROM webhook_calls WHERE id - ? = event_id - ?", (first_call, first)
    )
    assert aligned == seed, f"{aligned} of {seed} calls in their events' order"
    copies = -(-calls // seed)
    span = newest - oldest + 0.001
    columns = _EVENT_COLUMNS.replace("happened_at", "happened_at - ?")
    for k in range(1, copies):
        count = min(seed, calls - k * seed)
        shift = (copies - k) * span
        with db.transaction():
            db.execute(
                f"INSERT INTO events (id, {_EVENT_COLUMNS}) SELECT id + ?, {columns}"
                " FROM events WHERE id BETWEEN ? AND ? ORDER BY id",
                (k * seed, shift, first, first + count - 1),
            )
            db.execute(
                "INSERT INTO webhook_calls (webhook_id, event_id, entity_type, event_type,"
                " created_at, status, due_at) SELECT webhook_id, event_id + ?, entity_type,"
                " event_type, created_at - ?, status, due_at - ? FROM webhook_calls"
                " WHERE id BETWEEN ? AND ? ORDER BY id",
                (k * seed, shift, shift, first_call, first_call + count - 1),
            )
    with db.transaction():  # the raised rows become the oldest
        shift = copies * span
        db.execute(
            "UPDATE events SET happened_at = happened_at - ? WHERE id BETWEEN ? AND ?",
            (shift, first, last),
        )
        db.execute(
            "UPDATE webhook_calls SET created_at = created_at - ?, due_at = due_at - ?"
            " WHERE id BETWEEN ? AND ?",
            (shift, shift, first_call, first_call + seed - 1),
        )
    if db.backend.name == "postgresql":
        # The sequence must not hand out the copies' ids again; and the statistics
        # autovacuum would have gathered over minutes of events are gathered now.
        db.execute("SELECT setval(pg_get_serial_sequence('events', 'id'), ?)", (first + calls - 1,))
        db.execute("ANALYZE events")
        db.execute("ANALYZE webhook_calls")
    due, with_event = db.one(
        "SELECT COUNT(*), COUNT(e.id) FROM webhook_calls c LEFT JOIN events e"
        " ON e.id = c.event_id WHERE c.status = 'pending' AND c.claimed = 0"
        " AND c.due_at <= ? AND c.resend_requested = 0",
        (time.time(),),
    )
    assert due == with_event == calls, (
        f"{due} due calls, {with_event} with their event, not {calls}"
    )


async def _drain(db: str, stop_after: int | None = None) -> dict[str, float]:
    """Drain the stored calls, or only the first `stop_after` of them, then stop."""
    found = Dispatcher(Settings(api_token="bench", db=db))
    await found.open()
    store = harness.store_db(found)
    (due,) = await store.run(store.one, "SELECT COUNT(*) FROM webhook_calls")
    calls = due if stop_after is None else min(due, stop_after)
    timeout = 60 + calls / 200
    started = time.perf_counter()
    await found.start()
    try:
        # Not harness.wait_until_done: counting a million attempts on every flush would
        # load the database thread more and more as they pile up. `drain` asks the
        # store only for the earliest due call (an index lookup) and counts in memory.
        if calls < due:
            await _finished(found, calls, timeout)
        elif not await found.delivery.drain(timeout):
            raise TimeoutError(f"{calls} calls were not drained within {timeout:.0f} s")
    finally:
        elapsed = time.perf_counter() - started
        await found.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"calls": calls, "due": due, "seconds": elapsed, "peak_rss_mb": peak}


async def _finished(found: Dispatcher, calls: int, timeout: float) -> None:
    """Wait until `calls` calls have succeeded (the dispatcher's own counter, in
    memory) and the batch of outcomes after that is stored."""
    deadline = time.perf_counter() + timeout
    registry = found.metrics.registry
    while (
        registry.get_sample_value("webhooks_calls_finished_total", {"status": "success"}) or 0
    ) < calls:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{calls} calls were not sent within {timeout:.0f} s")
        await asyncio.sleep(0.01)
    seen = found.delivery.flush_count
    async with asyncio.timeout(10):
        await found.delivery.flushed_after(seen)


async def _statuses(db: str) -> dict[str, int]:
    """Calls by status, and how many are still claimed (none, after a clean stop)."""
    found = Dispatcher(Settings(api_token="bench", db=db))
    await found.open()
    try:
        store = harness.store_db(found)
        statuses = await store.run(harness.status_counts, store)
        (claimed,) = await store.run(
            store.one, "SELECT COUNT(*) FROM webhook_calls WHERE claimed = 1"
        )
        return {**statuses, "claimed": int(claimed)}
    finally:
        await found.close()


def _measure_one(
    receiver: ReceiverProcess,
    databases: harness.Databases,
    calls: int,
    stop_after: int | None = None,
) -> dict[str, float]:
    """Fill a fresh database with `calls` due calls and drain them (or the first
    `stop_after`) in a process of its own; check that every drained call succeeded."""
    with databases.new() as db:
        filled = asyncio.run(_fill(db, receiver.url(0) + "/backlog", calls))
        command = [sys.executable, "-m", "bench.backlog", db]
        if stop_after is not None:
            command.append(str(stop_after))
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        result: dict[str, float] = json.loads(output)
        statuses = asyncio.run(_statuses(db))
        where = f"{databases.name}, {calls:,} calls"
        # Every call drained succeeded; after a partial drain the dispatcher's clean
        # stop has finished the calls in flight and put the others back, unclaimed.
        sent = statuses.get("success", 0)
        left = {"pending": calls - sent} if sent < calls else {}
        assert sent >= result["calls"], f"{where}: {statuses}"
        assert statuses == {"success": sent, **left, "claimed": 0}, f"{where}: {statuses}"
        return {**result, "fill_seconds": filled}


def _drained(result: dict[str, float]) -> str:
    return f"{result['seconds']:.1f} s ({result['calls'] / result['seconds']:,.0f}/s)"


def _per_call(result: dict[str, float]) -> float:
    return result["seconds"] / result["calls"]


def measure(
    receiver: ReceiverProcess, small: int, large: int, postgres: harness.Databases
) -> list[Row]:
    """Peak RSS and drain time of `small` and `large` due calls, on SQLite then on
    PostgreSQL. On PostgreSQL the large backlog is drained whole only when the
    small one's rate says that takes at most FULL_DRAIN seconds; otherwise the
    first `max(2 * small, large // 5)` calls are drained, with all `large` due."""
    first = _measure_one(receiver, harness.Databases(), small)
    second = _measure_one(receiver, harness.Databases(), large)
    growth = _per_call(second) / _per_call(first)
    pg_first = _measure_one(receiver, postgres, small)
    projected = large * _per_call(pg_first)
    partial = None if projected <= FULL_DRAIN else min(large, max(2 * small, large // 5))
    pg_second = _measure_one(receiver, postgres, large, partial)
    pg_growth = _per_call(pg_second) / _per_call(pg_first)
    filled = (
        f"filled: {min(large, SEED):,} events raised through the dispatcher, copied in SQL"
        f" to {large:,} in {second['fill_seconds']:.0f} s"
        f" (PostgreSQL {pg_second['fill_seconds']:.0f} s)"
    )
    if partial is None:
        pg_large = f"PostgreSQL: {_drained(pg_second)}"
    else:
        pg_large = (
            f"PostgreSQL: the first {partial:,} calls, with {large:,} due, in"
            f" {_drained(pg_second)}, then stopped: all {large:,} would take"
            f" {projected / 60:.0f} min at the rate of {small:,}"
            f" (drained whole only under {FULL_DRAIN / 60:.0f} min)"
        )
    return [
        Row(
            "6 backlog",
            f"{small:,} due calls: peak RSS / drain time",
            round(first["peak_rss_mb"], 1),
            "MB",
            note=f"drained in {_drained(first)}; PostgreSQL: {_drained(pg_first)}",
            postgresql=round(pg_first["peak_rss_mb"], 1),
        ),
        Row(
            "6 backlog",
            f"{large:,} due calls: peak RSS of the draining process",
            round(second["peak_rss_mb"], 1),
            "MB",
            goal="< 200 MB, both backends",
            met=second["peak_rss_mb"] < 200 and pg_second["peak_rss_mb"] < 200,
            note=f"drained in {_drained(second)}; {pg_large}; every call sent ends success;"
            f" {filled}",
            postgresql=round(pg_second["peak_rss_mb"], 1),
        ),
        Row(
            "6 backlog",
            f"drain time {large:,} vs {small:,}, per call",
            round(growth, 2),
            "x linear",
            goal=f"linear (≤ {LINEAR}), both backends",
            met=growth <= LINEAR and pg_growth <= LINEAR,
            note=f"{second['seconds']:.1f} s vs {first['seconds']:.1f} s for"
            f" {large // small} times the calls; PostgreSQL: {pg_second['seconds']:.1f} s for"
            f" {pg_second['calls']:,.0f} calls vs {pg_first['seconds']:.1f} s for {small:,}",
            postgresql=round(pg_growth, 2),
        ),
    ]


if __name__ == "__main__":
    stop = int(sys.argv[2]) if len(sys.argv) > 2 else None
    print(json.dumps(asyncio.run(_drain(sys.argv[1], stop))))
