"""The embedded backend: one SQLite file, used by one dispatcher process at a time."""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Callable

from reference.exceptions import StoreError
from reference.store import migrations
from reference.store.database import Connection

__all__ = ["SQLiteBackend"]


class SQLiteBackend:
    name = "sqlite"
    begin = "BEGIN IMMEDIATE"
    skip_locked = ""  # one process, one connection: BEGIN IMMEDIATE serialises claims
    lock_rows = ""
    integrity_errors: tuple[type[Exception], ...] = (sqlite3.IntegrityError,)
    shared = False

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock: int | None = None

    def connect(self) -> Connection:
        try:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the database {self.path!r}: {exc}") from exc
        try:
            self._take_lock()
            # A commit is on disk before anything is sent (contract §7: nothing is lost).
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA busy_timeout = 5000")
            _migrate(conn)
        except BaseException:
            conn.close()
            self.close()
            raise
        return conn

    def _take_lock(self) -> None:
        """One dispatcher per file: it releases every claim it finds when it starts."""
        if self.path == ":memory:" or self._lock is not None:
            return
        fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreError(
                f"another dispatcher is using {self.path!r}; several dispatchers "
                "need a shared database: --db postgresql://..."
            ) from None
        self._lock = fd

    def placeholders(self, sql: str) -> str:
        return sql

    def next_id(self, conn: Connection, table: str) -> int:
        (next_id,) = conn.execute(
            "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = ?), 0) + 1", (table,)
        ).fetchone()
        return int(next_id)

    def notify(self, conn: Connection) -> None:
        """Nobody else uses the file: the process wakes its own delivery on commit."""

    def listen(self, callback: Callable[[], None]) -> Callable[[], None]:
        return lambda: None

    def close(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            os.close(lock)


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema up to date, one migration per transaction."""
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    migrations.check_version(version, migrations.SQLITE)
    for number in range(version, len(migrations.SQLITE)):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in migrations.statements(migrations.SQLITE[number]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
