"""The embedded backend: one SQLite file, used by one dispatcher process at a time."""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import cast

from reference.exceptions import StoreError
from reference.store import migrations
from reference.store.database import Connection

__all__ = ["SQLiteBackend", "location_problem"]


#: SQLite's result codes for a database that cannot work now, whatever was asked of it
_UNAVAILABLE = ("SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_BUSY", "SQLITE_CANTOPEN")


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
        problem = location_problem(self.path)
        if problem is not None:
            raise StoreError(f"cannot open the database {self.path!r}: {problem}")
        try:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the database {self.path!r}: {exc}") from exc
        try:
            _refuse_foreign(conn, self.path)  # before anything is written to it
            conn.execute("PRAGMA journal_mode = WAL")
            self._take_lock()
            # A commit is on disk before anything is sent (contract §7: nothing is lost).
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA busy_timeout = 5000")
            _migrate(conn)
        except (sqlite3.Error, OSError) as exc:
            conn.close()
            self.close()
            # A file SQLite opens but cannot use: corrupt, not a database after all.
            raise StoreError(f"cannot open the database {self.path!r}: {exc}") from exc
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

    def broken(self, conn: Connection) -> bool:
        return False  # a file: nothing drops it

    def in_transaction(self, conn: Connection) -> bool:
        return cast(sqlite3.Connection, conn).in_transaction

    def unavailable(self, exc: Exception) -> bool:
        name = getattr(exc, "sqlite_errorname", "") if isinstance(exc, sqlite3.Error) else ""
        return name.startswith(_UNAVAILABLE)

    def notify(self, conn: Connection) -> None:
        """Nobody else uses the file: the process wakes its own delivery on commit."""

    def listen(self, callback: Callable[[], None]) -> Callable[[], None]:
        return lambda: None

    def close(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            os.close(lock)


def location_problem(path: str) -> str | None:
    """Why SQLite cannot make or open a database file at `path`, in words (None: it may)."""
    if path == ":memory:" or path.startswith("file:"):
        return None
    try:
        return _location_problem(Path(path))
    except OSError as exc:  # a folder on the way that cannot be searched
        return f"cannot look at it: {exc.strerror}"


def _location_problem(file: Path) -> str | None:
    if file.is_dir():
        return "it is a directory"
    folder = file.parent
    if not folder.exists():
        return f"no such directory {str(folder)!r}"
    if not folder.is_dir():
        return f"{str(folder)!r} is not a directory"
    if file.exists():
        if not os.access(file, os.R_OK | os.W_OK):
            return "permission denied: cannot read and write it"
    elif not os.access(folder, os.W_OK | os.X_OK):
        return f"permission denied: cannot create it in {str(folder)!r}"
    return None


def _refuse_foreign(conn: sqlite3.Connection, path: str) -> None:
    """A file that is not a SQLite database is an sqlite3.DatabaseError here; one with
    tables but no schema version of ours is another application's, left alone."""
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version == 0 and conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone():
        raise StoreError(
            f"{path!r} is a SQLite database of something else (it has tables, but not"
            " this dispatcher's); give a new file"
        )


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
