"""One SQLite connection, one thread that uses it, and transactions with commit hooks."""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from reference.exceptions import StoreError
from reference.store.migrations import migrate

__all__ = ["Database"]

P = ParamSpec("P")
T = TypeVar("T")


class Database:
    """SQLite in WAL mode, used from one thread so that the event loop never blocks on it.

    `run(fn, ...)` executes `fn` in that thread. Inside it, `transaction()`
    groups writes; nested transactions join the outer one, and `on_commit`
    callbacks run once the outermost one has committed.
    """

    def __init__(self, path: str) -> None:
        try:
            self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the database {path!r}: {exc}") from exc
        self.path = path
        self.conn.execute("PRAGMA journal_mode = WAL")
        # A commit is on disk before anything is sent (SPEC §7: nothing is lost).
        self.conn.execute("PRAGMA synchronous = FULL")
        self.conn.execute("PRAGMA foreign_keys = ON")
        self.conn.execute("PRAGMA busy_timeout = 5000")
        migrate(self.conn)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="webhooks-db")
        self._depth = 0
        self._on_commit: list[Callable[[], None]] = []

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `fn` in the database thread and wait for its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception."""
        if self._depth:
            self._depth += 1
            try:
                yield self.conn
            finally:
                self._depth -= 1
            return
        self.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self.conn
        except BaseException:
            self._depth = 0
            self._on_commit.clear()
            self.conn.execute("ROLLBACK")
            raise
        self._depth = 0
        self.conn.execute("COMMIT")
        callbacks, self._on_commit = self._on_commit, []
        for callback in callbacks:
            callback()

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` after the current transaction commits (now, outside one)."""
        if self._depth:
            self._on_commit.append(callback)
        else:
            callback()

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.conn.close()
