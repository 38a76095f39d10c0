"""The store: webhooks, events, webhook calls and their attempts, content and site
settings, behind one typed boundary (`Store`, `Transaction`).

Two backends: SQLite, embedded, for one dispatcher process (a file path), and
PostgreSQL for any number of processes on one database (a `postgresql://` URL).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from reference.exceptions import StoreError
from reference.store.protocol import (
    EQ_FIELDS,
    ORDER_FIELDS,
    RANGE_FIELDS,
    CallQuery,
    CallRows,
    ClaimRequest,
    Completion,
    ContentRows,
    EnvironmentRow,
    QueueState,
    Settlement,
    Store,
    Transaction,
    WebhookRows,
)

__all__ = [
    "EQ_FIELDS",
    "ORDER_FIELDS",
    "RANGE_FIELDS",
    "CallQuery",
    "CallRows",
    "ClaimRequest",
    "Completion",
    "ContentRows",
    "EnvironmentRow",
    "QueueState",
    "Settlement",
    "Store",
    "Transaction",
    "WebhookRows",
    "check_location",
    "check_store",
    "create_store",
    "is_shared_url",
    "redacted",
]

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_shared_url(db: str) -> bool:
    """Whether `db` names a PostgreSQL database rather than a SQLite file."""
    return db.startswith(_POSTGRES_SCHEMES)


def create_store(
    db: str, *, site_id: str | None = None, clock: Callable[[], datetime] | None = None
) -> Store:
    """The store for `db`: a SQLite file path or a `postgresql://` URL. Not opened yet."""
    from reference.store.sql import SQLStore

    if is_shared_url(db):
        from reference.store.postgres import PostgresBackend

        return SQLStore(PostgresBackend(db), site_id=site_id, clock=clock)
    from reference.store.sqlite import SQLiteBackend

    return SQLStore(SQLiteBackend(db), site_id=site_id, clock=clock)


def check_location(db: str) -> None:
    """Raise StoreError if a SQLite `db` cannot be made or opened where it is (a
    directory, a missing folder), without creating anything. A URL is not checked here."""
    if is_shared_url(db):
        return
    from reference.store.sqlite import location_problem

    problem = location_problem(db)
    if problem is not None:
        raise StoreError(f"cannot open the database {db!r}: {problem}")


async def check_store(db: str) -> None:
    """Open `db`, migrate it and close it: raises StoreError when it cannot be used."""
    store = create_store(db)
    try:
        await store.open()
    finally:
        await store.close()


def redacted(db: str) -> str:
    """`db` without the password a URL may hold (`user:password@`, `?password=`), for
    messages and logs."""
    db = re.sub(r"(://[^:/@]*):[^/]*@", r"\1:***@", db)
    return re.sub(r"([?&]password=)[^&]*", r"\1***", db)
