"""The embedded queue: events in a SQLite file, workers in this process.

An accepted event is a row, committed (WAL, `synchronous=FULL`: on disk) before the
`202`. Requests that arrive together share one transaction, so one fsync serves them
all. One connection in one thread of its own does every read and write, so the event
loop never waits on the disk. Workers (endpoint/worker.py) claim due rows, run the
handler and record the outcome; rows a killed process left `running` are queued again
at the next start. One process uses a file at a time (a second is refused): more
processes need the RQ backend.

    queued ──claim──> running ──handler returns──> done
       ^                 │
       └──retry later────┤ handler raised, a gap of the schedule left
                         └──────────────────────> failed (no gap left)
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from endpoint.events import Event
from endpoint.exceptions import QueueError
from endpoint.handlers import Handler
from endpoint.retries import RetrySchedule
from endpoint.worker import Job, Workers

__all__ = ["DEFAULT_DB", "SqliteQueue"]

DEFAULT_DB = "webhooks-endpoint.db"
#: `PRAGMA application_id` of the kit's files ("WHKE"), so that another SQLite
#: database is refused rather than changed
APPLICATION_ID = 0x57484B45
SCHEMA_VERSION = 1
BATCH = 512  # operations at most in one transaction

_SCHEMA = """
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    site_id TEXT NOT NULL,
    call_id TEXT NOT NULL,
    delivery INTEGER NOT NULL,      -- 1, then 2, 3, ... when every delivery is processed
    deliveries INTEGER NOT NULL,    -- how many times the sender delivered it
    event TEXT NOT NULL,            -- the Event as JSON
    status TEXT NOT NULL,           -- queued, running, done, failed
    runs INTEGER NOT NULL DEFAULT 0,
    due_at REAL NOT NULL,
    accepted_at REAL NOT NULL,
    finished_at REAL,
    last_error TEXT,
    UNIQUE (site_id, call_id, delivery)
);
CREATE INDEX events_queued ON events (due_at, id) WHERE status = 'queued';
"""

T = TypeVar("T")
Operation = Callable[[sqlite3.Connection], T]
_log = logging.getLogger("endpoint.queue")


class SqliteQueue:
    """The embedded queue (see the module's documentation)."""

    kind = "sqlite"

    def __init__(
        self,
        path: str | os.PathLike[str] = DEFAULT_DB,
        *,
        shutdown_grace: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.retry = RetrySchedule()
        self.shutdown_grace = shutdown_grace
        self._clock = clock
        self._thread: _Thread | None = None
        self._workers: Workers | None = None
        self._handler: Handler | None = None

    # -- the Queue protocol ------------------------------------------------------------

    async def open(self, handler: Handler, retry: RetrySchedule) -> None:
        self._handler = handler
        self.retry = retry
        thread = _Thread(self.path)
        await asyncio.get_running_loop().run_in_executor(None, thread.start)
        self._thread = thread
        recovered = await self._run(_recover)
        if recovered:
            _log.warning(
                "%d event(s) a previous process left running are queued again",
                recovered,
                extra={"fields": {"recovered": recovered}},
            )

    async def accept(self, event: Event, *, dedupe: bool) -> bool:
        data = json.dumps(event.to_json(), ensure_ascii=False, separators=(",", ":"))
        now = self._clock()

        def insert(db: sqlite3.Connection) -> bool:
            if dedupe:
                (deliveries,) = db.execute(
                    "INSERT INTO events (site_id, call_id, delivery, deliveries, event, status,"
                    " due_at, accepted_at) VALUES (?, ?, 1, 1, ?, 'queued', ?, ?)"
                    " ON CONFLICT (site_id, call_id, delivery)"
                    " DO UPDATE SET deliveries = deliveries + 1 RETURNING deliveries",
                    (event.site_id, event.webhook_call_id, data, now, now),
                ).fetchone()
                return bool(deliveries == 1)
            db.execute(
                "INSERT INTO events (site_id, call_id, delivery, deliveries, event, status,"
                " due_at, accepted_at) VALUES (?, ?, (SELECT COALESCE(MAX(delivery), 0) + 1"
                " FROM events WHERE site_id = ? AND call_id = ?), 1, ?, 'queued', ?, ?)",
                (*(event.site_id, event.webhook_call_id) * 2, data, now, now),
            )
            return True

        queued = await self._run(insert)
        if queued and self._workers is not None:
            self._workers.wake()
        return queued

    async def ping(self) -> None:
        await self._run(lambda db: db.execute("SELECT 1").fetchone())

    async def start_workers(self, count: int) -> None:
        if self._handler is None:
            raise QueueError("the queue is not open")
        if count > 0:
            self._workers = Workers(self, self._handler, count=count, retry=self.retry)
            self._workers.start()

    async def close(self) -> None:
        if self._workers is not None:
            await self._workers.stop(self.shutdown_grace)
            self._workers = None
        if self._thread is not None:
            thread, self._thread = self._thread, None
            await asyncio.get_running_loop().run_in_executor(None, thread.stop)

    # -- what the workers need (endpoint.worker.Jobs) ----------------------------------

    async def claim(self, limit: int) -> list[Job]:
        """Up to `limit` due events, now `running`."""
        now = self._clock()

        def claim(db: sqlite3.Connection) -> list[Job]:
            rows = db.execute(
                "SELECT id, event, runs FROM events WHERE status = 'queued' AND due_at <= ?"
                " ORDER BY due_at, id LIMIT ?",
                (now, limit),
            ).fetchall()
            db.executemany(
                "UPDATE events SET status = 'running', runs = runs + 1 WHERE id = ?",
                [(row[0],) for row in rows],
            )
            return [
                Job(str(row[0]), Event.from_json(json.loads(row[1])), row[2] + 1) for row in rows
            ]

        return await self._run(claim)

    async def next_due(self) -> float | None:
        """When the next queued event is due (a Unix time), or None when none is queued."""

        def first(db: sqlite3.Connection) -> float | None:
            (due,) = db.execute("SELECT MIN(due_at) FROM events WHERE status = 'queued'").fetchone()
            return None if due is None else float(due)

        return await self._run(first)

    async def done(self, job: Job) -> None:
        now = self._clock()
        await self._run(
            lambda db: db.execute(
                "UPDATE events SET status = 'done', finished_at = ?, last_error = NULL"
                " WHERE id = ? AND status = 'running'",
                (now, int(job.id)),
            )
        )

    async def failed(self, job: Job, error: str, retry_at: float | None) -> None:
        """The handler raised: queued again for `retry_at`, or `failed` when None."""
        now = self._clock()
        if retry_at is None:
            sql = "UPDATE events SET status = 'failed', finished_at = ?, last_error = ?"
            params: tuple[Any, ...] = (now, error)
        else:
            sql = "UPDATE events SET status = 'queued', due_at = ?, last_error = ?"
            params = (retry_at, error)
        await self._run(
            lambda db: db.execute(
                sql + " WHERE id = ? AND status = 'running'", (*params, int(job.id))
            )
        )

    def now(self) -> float:
        return self._clock()

    # -- for people and tests ------------------------------------------------------------

    async def counts(self) -> dict[str, int]:
        """Events by status."""
        rows = await self._run(
            lambda db: db.execute("SELECT status, COUNT(*) FROM events GROUP BY status").fetchall()
        )
        return {str(status): int(count) for status, count in rows}

    async def _run(self, operation: Operation[T]) -> T:
        if self._thread is None:
            raise QueueError("the queue is not open")
        return await self._thread.run(operation)


def _recover(db: sqlite3.Connection) -> int:
    return db.execute("UPDATE events SET status = 'queued' WHERE status = 'running'").rowcount


@dataclass(slots=True)
class _Item:
    operation: Operation[Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


class _Thread:
    """One connection in one thread: the operations queued while it was busy run in
    one transaction, each under a savepoint of its own (one failing leaves the others)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._inbox: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._db: sqlite3.Connection | None = None
        self._lock_fd: int | None = None

    def start(self) -> None:
        """Open (or create) the file, refuse one in use or not ours, start the thread."""
        self._lock_fd = _lock(self.path)
        try:
            self._db = _connect(self.path)
        except BaseException:
            os.close(self._lock_fd)
            self._lock_fd = None
            raise
        self._thread = threading.Thread(
            target=self._serve, name=f"endpoint-sqlite:{self.path.name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._inbox.put(None)
            self._thread.join()
            self._thread = None
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._lock_fd is not None:  # after SQLite closed the file: its own locks stay
            os.close(self._lock_fd)
            self._lock_fd = None

    async def run(self, operation: Operation[T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._inbox.put(_Item(operation, future, loop))
        return await future

    def _serve(self) -> None:
        db = self._db
        assert db is not None
        while True:
            first = self._inbox.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < BATCH:
                try:
                    item = self._inbox.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            outcomes = _transaction(db, batch)
            for item, outcome in zip(batch, outcomes, strict=True):
                item.loop.call_soon_threadsafe(_settle, item.future, outcome)
            if stop:
                return


def _transaction(db: sqlite3.Connection, batch: list[_Item]) -> list[tuple[bool, Any]]:
    outcomes: list[tuple[bool, Any]] = []
    try:
        db.execute("BEGIN IMMEDIATE")
        for item in batch:
            db.execute("SAVEPOINT operation")
            try:
                outcomes.append((True, item.operation(db)))
            except Exception as exc:
                db.execute("ROLLBACK TO operation")
                outcomes.append((False, exc))
            db.execute("RELEASE operation")
        db.execute("COMMIT")
    except sqlite3.Error as exc:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        error = QueueError(f"{exc} (SQLite)")
        return [(False, error)] * len(batch)
    return outcomes


def _settle(future: asyncio.Future[Any], outcome: tuple[bool, Any]) -> None:
    if future.done():  # the caller was cancelled; the work is done all the same
        return
    ok, value = outcome
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


def _lock(path: Path) -> int:
    """An exclusive lock on the file (created if missing), held until closed; QueueError
    when another process holds it or the file cannot be opened."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except IsADirectoryError:
        raise QueueError(f"{str(path)!r}: a directory, not a file") from None
    except FileNotFoundError:
        raise QueueError(f"{str(path)!r}: no such directory {str(path.parent)!r}") from None
    except OSError as exc:
        raise QueueError(f"{str(path)!r}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise QueueError(
            f"{str(path)!r}: another process uses it (one process per SQLite file;"
            " several need the RQ backend)"
        ) from None
    return fd


def _connect(path: Path) -> sqlite3.Connection:
    try:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA busy_timeout = 5000")
        (application,) = db.execute("PRAGMA application_id").fetchone()
        (version,) = db.execute("PRAGMA user_version").fetchone()
        tables = db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise QueueError(f"{str(path)!r}: {exc}") from None
    if application != APPLICATION_ID and (tables or version):
        db.close()
        raise QueueError(f"{str(path)!r}: a SQLite database of something else")
    if application == APPLICATION_ID and version > SCHEMA_VERSION:
        db.close()
        raise QueueError(f"{str(path)!r}: made by a newer version (schema {version})")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    if application != APPLICATION_ID:
        db.execute("BEGIN IMMEDIATE")
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    return db
