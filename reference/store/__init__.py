"""The SQLite store: webhooks, events, webhook calls and their attempts."""

from __future__ import annotations

import secrets

from reference.store.calls import CallQuery, CallRows, Completion
from reference.store.database import Database
from reference.store.webhooks import WebhookRows

__all__ = ["CallQuery", "Completion", "Database", "Store"]


class Store:
    """The database and the rows kept in it."""

    def __init__(self, path: str, *, site_id: str | None = None) -> None:
        self.db = Database(path)
        self.webhooks = WebhookRows(self.db)
        self.calls = CallRows(self.db)
        self.site_id = self._site_id(site_id)

    def _site_id(self, wanted: str | None) -> str:
        """SPEC §5: one site id per dispatcher, generated on first start and kept."""
        with self.db.transaction() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'site_id'").fetchone()
            if wanted is None and row is not None:
                return str(row[0])
            site_id = wanted or str(secrets.randbelow(900_000) + 100_000)
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('site_id', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (site_id,),
            )
            return site_id

    def close(self) -> None:
        self.db.close()
