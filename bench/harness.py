"""A dispatcher on a fresh database in a temporary folder, and reads of its results."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from bench.common import sample_event, webhook_attributes
from reference import Dispatcher, Settings

__all__ = ["attempt_rows", "dispatcher", "raise_in_batches", "status_counts", "wait_until_done"]

BATCH = 1000  # events per transaction when raising many


@contextlib.asynccontextmanager
async def dispatcher(
    urls: Sequence[str], *, start: bool = True, settings: dict[str, int] | None = None
) -> AsyncIterator[Dispatcher]:
    """A dispatcher with one webhook per URL, all matching `item.create`."""
    with tempfile.TemporaryDirectory(prefix="webhooks-bench-") as folder:
        config = Settings(api_token="bench", db=str(Path(folder) / "bench.db"))
        config = config.with_changes(**(settings or {}))
        found = Dispatcher(config)
        try:
            for index, url in enumerate(urls):
                await found.create_webhook(webhook_attributes(f"bench {index}", url))
            if start:
                await found.start()
            yield found
        finally:
            await found.close()


async def raise_in_batches(found: Dispatcher, count: int, first: int = 0) -> None:
    for offset in range(first, first + count, BATCH):
        stop = min(first + count, offset + BATCH)
        await found.raise_events([sample_event(n) for n in range(offset, stop)])


async def wait_until_done(
    found: Dispatcher, expected: int, timeout: float, webhook_id: int | None = None
) -> float:
    """Wait until `expected` calls are stored as answered; the moment, perf_counter."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        seen = found.delivery.flush_count
        answered = await store_db(found).run(_answered, store_db(found).conn, webhook_id)
        if answered >= expected:
            return time.perf_counter()
        # Polled at most every 10 ms so that counting does not load the store.
        await asyncio.sleep(0.01)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.05):
                await found.delivery.flushed_after(seen)
    raise TimeoutError(f"{expected} calls were not answered within {timeout} s")


def _answered(conn: sqlite3.Connection, webhook_id: int | None = None) -> int:
    if webhook_id is None:
        (count,) = conn.execute("SELECT COUNT(*) FROM webhook_call_attempts").fetchone()
    else:
        (count,) = conn.execute(
            "SELECT COUNT(*) FROM webhook_call_attempts a JOIN webhook_calls c"
            " ON c.id = a.call_id WHERE c.webhook_id = ?",
            (webhook_id,),
        ).fetchone()
    return int(count)


def status_counts(conn: sqlite3.Connection) -> dict[str, int]:
    return dict(conn.execute("SELECT status, COUNT(*) FROM webhook_calls GROUP BY status"))


def attempt_rows(conn: sqlite3.Connection, webhook_id: int) -> list[tuple[float, float, int]]:
    """(event happened_at, attempt sent_at, duration_ms) of a webhook's first attempts."""
    return conn.execute(
        "SELECT e.happened_at, a.sent_at, a.duration_ms FROM webhook_call_attempts a"
        " JOIN webhook_calls c ON c.id = a.call_id JOIN events e ON e.id = c.event_id"
        " WHERE c.webhook_id = ? AND a.number = 1",
        (webhook_id,),
    ).fetchall()


def store_db(found: Dispatcher) -> Any:
    """The SQLite store's database, which the benchmark reads directly to count."""
    return found.store._db  # type: ignore[attr-defined]
