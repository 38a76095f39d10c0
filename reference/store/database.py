"""One connection, one thread that uses it, and transactions with commit hooks.

The SQL of the row modules is written once, with `?` placeholders; a
`Backend` (SQLite or PostgreSQL) opens the connection, migrates the schema
and supplies what differs between the engines.

A connection the server dropped (a restart, a failover, a network cut) is
opened again by the next operation. The operation that found it dropped
fails with `StoreUnavailable`, unless nothing had been done yet (its first
statement was `BEGIN` or a read): then it runs again on the new connection.
A database that cannot work now (a full disk, an I/O error) is
`StoreUnavailable` too.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, ParamSpec, Protocol, TypeVar

from reference.exceptions import StoreError, StoreUnavailable

__all__ = ["Backend", "Connection", "Cursor", "Database"]

logger = logging.getLogger("reference.store")

P = ParamSpec("P")
T = TypeVar("T")


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> Any: ...


class Connection(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...

    def cursor(self) -> Any: ...

    def close(self) -> None: ...


class Backend(Protocol):
    """What differs between SQLite and PostgreSQL."""

    name: str
    #: the statement that starts a write transaction
    begin: str
    #: appended to a claim's SELECT: lock the rows, skip those another process holds
    skip_locked: str
    #: appended to a SELECT whose rows the transaction deletes or changes next
    lock_rows: str
    #: the driver's exceptions for a broken unique constraint
    integrity_errors: tuple[type[Exception], ...]
    #: whether other processes may use the database at once
    shared: bool

    def connect(self) -> Connection:
        """Open the connection (autocommit; transactions are explicit), migrate the schema."""

    def placeholders(self, sql: str) -> str:
        """`sql` with the driver's placeholder in place of each `?`."""

    def next_id(self, conn: Connection, table: str) -> int:
        """The id the next row inserted into `table` gets."""

    def broken(self, conn: Connection) -> bool:
        """Whether `conn` can no longer be used (the server closed it, or it broke off)."""

    def in_transaction(self, conn: Connection) -> bool:
        """Whether a transaction is open on `conn` (the engine may have ended it)."""

    def unavailable(self, exc: Exception) -> bool:
        """Whether `exc` says the database cannot work now (a full disk, an I/O error, no
        room left): the request was not wrong and may succeed later."""

    def notify(self, conn: Connection) -> None:
        """Tell other processes, on commit, that calls were stored or released."""

    def listen(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` whenever another process notifies; returns a stop function."""

    def close(self) -> None:
        """Release what `connect` took beside the connection (locks, listeners)."""


class Database:
    """The connection, used from one thread so that the event loop never blocks on it.

    `run(fn, ...)` executes `fn` in that thread. Inside it, `transaction()`
    groups writes; nested transactions join the outer one, and `on_commit`
    callbacks run once the outermost one has committed.
    """

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._conn: Connection | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="webhooks-db")
        self._depth = 0
        #: counts outermost transactions: what is read once per transaction keys on it
        self.serial = 0
        self._notified_in = -1
        self._on_commit: list[Callable[[], None]] = []
        self._sql: dict[str, str] = {}
        self._opened = False
        #: statements the current operation has sent, and whether its first one only reads
        self._statements = 0
        self._first_reads = True

    async def open(self) -> None:
        await self.run(self._connect)

    def _connect(self) -> None:
        if self._conn is None:
            self._conn = self.backend.connect()
            self._opened = True

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            raise RuntimeError("the store is not open: enter the dispatcher first")
        return self._conn

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `fn` in the database thread and wait for its result."""
        loop = asyncio.get_running_loop()
        operation = functools.partial(fn, *args, **kwargs)
        return await loop.run_in_executor(self._executor, self._operation, operation)

    def _operation(self, operation: Callable[[], T]) -> T:
        """`operation` on a working connection; see the module's docstring."""
        for last_try in (False, True):
            if self._opened and (self._conn is None or self.backend.broken(self._conn)):
                self._reopen()
            self._statements = 0
            try:
                return operation()
            except Exception as exc:
                said = " ".join(str(exc).split())
                if self._conn is None or not self.backend.broken(self._conn):
                    if self.backend.unavailable(exc):
                        raise StoreUnavailable(f"the database cannot take it now: {said}") from exc
                    raise
                if last_try or not self._nothing_done:
                    raise StoreUnavailable(f"lost the connection to the database: {said}") from exc
                logger.warning("the database closed the connection; connecting again")
        raise AssertionError("unreachable")

    def _reopen(self) -> None:
        old, self._conn = self._conn, None
        self._depth = 0
        self._on_commit.clear()
        if old is not None:
            with contextlib.suppress(Exception):
                old.close()
        try:
            self._conn = self.backend.connect()
        except StoreError as exc:
            raise StoreUnavailable(str(exc)) from exc

    def _prepare(self, sql: str) -> str:
        prepared = self._sql.get(sql)
        if prepared is None:
            prepared = self._sql[sql] = self.backend.placeholders(sql)
        return prepared

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        self._count(sql)
        cursor: Cursor = self.conn.execute(self._prepare(sql), params)
        return cursor

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        if params:
            self._count(sql)
            self.conn.cursor().executemany(self._prepare(sql), params)

    def _count(self, sql: str) -> None:
        self._statements += 1
        if self._statements == 1:
            reads = sql.startswith(("SELECT", self.backend.begin)) and "FOR UPDATE" not in sql
            self._first_reads = reads

    @property
    def _nothing_done(self) -> bool:
        """Whether the failed operation cannot have changed anything: it failed before
        its second statement, and its first one only reads (`BEGIN` or a `SELECT`)."""
        return self._statements == 0 or (self._statements == 1 and self._first_reads)

    def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first row of a query, or None."""
        return self.execute(sql, params).fetchone()

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self.execute(sql, params).fetchall()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN ... COMMIT, or ROLLBACK on any exception."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._count(self.backend.begin)
        self.conn.execute(self.backend.begin)
        self.serial += 1
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self._on_commit.clear()
            # A dropped connection rolled back, and SQLite ends the transaction itself
            # on some errors (a full disk, an I/O error): ROLLBACK would fail then.
            if not self.backend.broken(self.conn) and self.backend.in_transaction(self.conn):
                self.conn.execute("ROLLBACK")
            raise
        self._depth = 0
        self.conn.execute("COMMIT")
        callbacks, self._on_commit = self._on_commit, []
        for callback in callbacks:
            callback()

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    def notify(self) -> None:
        """Tell other processes, on commit, that calls were stored or released: once a
        transaction, however many calls it stores (PostgreSQL folds the rest anyway)."""
        if self._depth and self._notified_in == self.serial:
            return
        self.backend.notify(self.conn)
        if self._depth:
            self._notified_in = self.serial

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` after the current transaction commits (now, outside one)."""
        if self._depth:
            self._on_commit.append(callback)
        else:
            callback()

    async def close(self) -> None:
        if self._conn is not None:
            await self.run(self._close)
        self._executor.shutdown(wait=True)

    def _close(self) -> None:
        self._opened = False
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        self.backend.close()
