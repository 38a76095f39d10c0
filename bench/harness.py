"""A dispatcher on a fresh database of either backend, and reads of its results.

`Databases` says where a scenario's databases live: SQLite files in a temporary
folder, or fresh databases on the benchmark's own PostgreSQL server. The reads
go through the store's `Database` (its `?` SQL runs on both backends), in the
store's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import sample_event, webhook_attributes
from reference import Dispatcher, Settings
from reference.store.database import Database

if TYPE_CHECKING:
    from tests.postgres import PostgresServer

__all__ = [
    "Databases",
    "attempt_rows",
    "dispatcher",
    "raise_in_batches",
    "status_counts",
    "store_db",
    "wait_until_done",
]

BATCH = 1000  # events per transaction when raising many

#: The benchmark's PostgreSQL is durable, as SQLite is (`synchronous=FULL`), and on
#: disk, not in /dev/shm, so that both backends pay for their commits.
DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}


class Databases:
    """Fresh databases of one backend: `with databases.new() as db:` gives a `--db` value."""

    def __init__(self, server: PostgresServer | None = None) -> None:
        self.server = server
        self.name = "SQLite" if server is None else "PostgreSQL"

    @contextlib.contextmanager
    def new(self) -> Iterator[str]:
        if self.server is not None:
            yield self.server.create_database()
            return
        with tempfile.TemporaryDirectory(prefix="webhooks-bench-") as folder:
            yield str(Path(folder) / "bench.db")


@contextlib.contextmanager
def postgres() -> Iterator[PostgresServer]:
    """The benchmark's PostgreSQL server: durable, in the system's temporary folder."""
    from tests.postgres import PostgresServer

    with PostgresServer(settings=DURABLE, base=Path(tempfile.gettempdir())) as server:
        yield server


@contextlib.asynccontextmanager
async def dispatcher(
    urls: Sequence[str],
    *,
    db: str,
    start: bool = True,
    settings: dict[str, int] | None = None,
) -> AsyncIterator[Dispatcher]:
    """A dispatcher on `db` with one webhook per URL, all matching `item.create`."""
    config = Settings(api_token="bench", db=db).with_changes(**(settings or {}))
    found = Dispatcher(config)
    try:
        await found.open()
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
    """Wait until `expected` calls are stored as answered; the moment, perf_counter.

    For all webhooks, the dispatcher's own count of attempts (in memory) says when
    to start counting rows, so that waiting costs the store nothing until then."""
    deadline = time.perf_counter() + timeout
    db = store_db(found)
    while webhook_id is None and _attempted(found) < expected:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{expected} calls were not attempted within {timeout} s")
        await asyncio.sleep(0.02)
    while time.perf_counter() < deadline:
        seen = found.delivery.flush_count
        answered = await db.run(_answered, db, webhook_id)
        if answered >= expected:
            return time.perf_counter()
        # Polled at most every 10 ms so that counting does not load the store.
        await asyncio.sleep(0.01)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.05):
                await found.delivery.flushed_after(seen)
    raise TimeoutError(f"{expected} calls were not answered within {timeout} s")


def _attempted(found: Dispatcher) -> float:
    """Attempts made so far, from the dispatcher's metrics."""
    return sum(
        sample.value
        for metric in found.metrics.registry.collect()
        for sample in metric.samples
        if sample.name == "webhooks_delivery_attempts_total"
    )


def _answered(db: Database, webhook_id: int | None = None) -> int:
    if webhook_id is None:
        (count,) = db.one("SELECT COUNT(*) FROM webhook_call_attempts")
    else:
        (count,) = db.one(
            "SELECT COUNT(*) FROM webhook_call_attempts a JOIN webhook_calls c"
            " ON c.id = a.call_id WHERE c.webhook_id = ?",
            (webhook_id,),
        )
    return int(count)


def status_counts(db: Database) -> dict[str, int]:
    return {
        str(status): int(count)
        for status, count in db.rows("SELECT status, COUNT(*) FROM webhook_calls GROUP BY status")
    }


def attempt_rows(db: Database, webhook_id: int) -> list[tuple[float, float, int]]:
    """(event happened_at, attempt sent_at, duration_ms) of a webhook's first attempts."""
    return [
        (float(happened), float(sent), int(duration))
        for happened, sent, duration in db.rows(
            "SELECT e.happened_at, a.sent_at, a.duration_ms FROM webhook_call_attempts a"
            " JOIN webhook_calls c ON c.id = a.call_id JOIN events e ON e.id = c.event_id"
            " WHERE c.webhook_id = ? AND a.number = 1",
            (webhook_id,),
        )
    ]


def store_db(found: Dispatcher) -> Database:
    """The store's database, which the benchmark reads directly to count."""
    db: Any = found.store._db  # type: ignore[attr-defined]  # the SQL store's, on purpose
    assert isinstance(db, Database)
    return db
