"""The shared backend: PostgreSQL, for any number of dispatcher processes on one database.

psycopg 3, synchronous, in the store's thread like SQLite: the row modules'
SQL runs unchanged on both. Claims lock rows with `FOR UPDATE SKIP LOCKED`;
a NOTIFY on commit wakes idle processes (LISTEN on a connection of its own).
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Callable
from typing import Any, cast

import psycopg
import psycopg.errors
from psycopg.conninfo import conninfo_to_dict

from reference.exceptions import StoreError
from reference.store import migrations, redacted
from reference.store.database import Connection

__all__ = ["PostgresBackend"]

logger = logging.getLogger("reference.store.postgres")

CHANNEL = "webhook_calls"
#: pg_advisory_xact_lock key: processes starting together migrate one at a time
MIGRATION_LOCK = 0x77EB_400C
_PLACEHOLDER = re.compile(r"\?")
#: libpq's connect_timeout (seconds) unless the URL sets one
CONNECT_TIMEOUT = 10


class PostgresBackend:
    name = "postgresql"
    begin = "BEGIN"
    skip_locked = " FOR UPDATE OF c SKIP LOCKED"
    lock_rows = " FOR UPDATE"
    integrity_errors: tuple[type[Exception], ...] = (psycopg.errors.UniqueViolation,)
    shared = True

    def __init__(self, url: str) -> None:
        self.url = url

    def connect(self) -> Connection:
        conn = self._open()
        try:
            _migrate(conn)
        except psycopg.Error as exc:
            conn.close()
            raise StoreError(f"cannot set up {redacted(self.url)}: {self._said(exc)}") from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _open(self) -> psycopg.Connection[tuple[object, ...]]:
        try:
            # A host that does not answer is an error after a while, not a hang.
            options: dict[str, Any] = {}
            if "connect_timeout" not in conninfo_to_dict(self.url):
                options["connect_timeout"] = CONNECT_TIMEOUT
            return psycopg.connect(self.url, autocommit=True, **options)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to {redacted(self.url)}: {self._said(exc)}") from exc

    def _said(self, exc: psycopg.Error) -> str:
        """The driver's message on one line, without the URL's password (a URL that does
        not parse is quoted whole)."""
        message = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        message = message.replace(self.url, redacted(self.url))
        secrets = re.findall(r"://[^:/@]*:([^/]*)@|[?&]password=([^&]*)", self.url)
        with contextlib.suppress(psycopg.Error):
            secrets.append((conninfo_to_dict(self.url).get("password"), ""))
        for found in secrets:
            for secret in found:
                if isinstance(secret, str) and secret:
                    message = message.replace(secret, "***")
        return message

    def placeholders(self, sql: str) -> str:
        return _PLACEHOLDER.sub("%s", sql)

    def next_id(self, conn: Connection, table: str) -> int:
        # A counter row rather than the sequence: a create that fails gives its id
        # back (as SQLite does), and the row lock orders concurrent creates.
        (value,) = conn.execute(
            "INSERT INTO meta (key, value) VALUES (%s, '2') ON CONFLICT (key) DO UPDATE"
            " SET value = CAST(CAST(meta.value AS BIGINT) + 1 AS TEXT) RETURNING value",
            (f"{table}_next_id",),
        ).fetchone()
        return int(value) - 1

    def in_transaction(self, conn: Connection) -> bool:
        status = cast(psycopg.Connection[Any], conn).info.transaction_status
        return status != psycopg.pq.TransactionStatus.IDLE

    def unavailable(self, exc: Exception) -> bool:
        # Class 53, insufficient resources (disk full, out of memory, too many
        # connections); 57P03, the server is starting or shutting down.
        state = exc.sqlstate if isinstance(exc, psycopg.Error) else None
        return state is not None and (state.startswith("53") or state == "57P03")

    def broken(self, conn: Connection) -> bool:
        # psycopg marks a connection the server closed, or that broke off, as closed.
        return bool(cast(psycopg.Connection[Any], conn).closed)

    def notify(self, conn: Connection) -> None:
        conn.execute(f"NOTIFY {CHANNEL}")

    def listen(self, callback: Callable[[], None]) -> Callable[[], None]:
        """A thread that waits for notifications on its own connection."""
        stopped = threading.Event()
        thread = threading.Thread(
            target=self._listen, args=(callback, stopped), name="webhooks-listen", daemon=True
        )
        thread.start()

        def stop() -> None:
            stopped.set()
            thread.join(timeout=5)

        return stop

    def _listen(self, callback: Callable[[], None], stopped: threading.Event) -> None:
        while not stopped.is_set():
            try:
                with self._open() as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    callback()  # anything stored while not listening
                    while not stopped.is_set():
                        for _ in conn.notifies(timeout=0.5):
                            callback()
            except (psycopg.OperationalError, StoreError) as exc:
                # The server went away or cannot be reached: one line, not a traceback,
                # each second it lasts. Delivery still polls now and then meanwhile.
                said = self._said(exc) if isinstance(exc, psycopg.Error) else str(exc)
                logger.warning(
                    "lost the notification connection (%s); listening again in 1 s", said
                )
                stopped.wait(1.0)
            except Exception:
                logger.exception("lost the notification connection; listening again in 1 s")
                stopped.wait(1.0)

    def close(self) -> None:
        pass


def _migrate(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Bring the schema up to date in one transaction, one process at a time."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = conn.execute("SELECT version FROM schema_version").fetchone()
        version = 0 if row is None else int(str(row[0]))
        migrations.check_version(version, migrations.POSTGRES)
        for number in range(version, len(migrations.POSTGRES)):
            for statement in migrations.statements(migrations.POSTGRES[number]):
                conn.execute(statement)
        if row is None:
            conn.execute(
                "INSERT INTO schema_version (version) VALUES (%s)", (len(migrations.POSTGRES),)
            )
        else:
            conn.execute("UPDATE schema_version SET version = %s", (len(migrations.POSTGRES),))
