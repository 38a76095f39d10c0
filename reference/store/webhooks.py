"""Webhook rows, and a cache of them that every process keeps up to date.

Each change of a webhook writes a new random `webhooks_version` in the same
transaction; readers compare it with the version of their cache and reload
when it differs, so a change made through any process holds for the next
event everywhere (contract §8) at the cost of one indexed read per transaction
(events raised together in one transaction share the first read).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from reference.exceptions import NotFoundError, ValidationError
from reference.store.database import Database
from reference.timefmt import from_epoch, to_epoch
from reference.webhooks import Webhook

__all__ = ["WebhookRows"]

_NO_VERSION = "-"


class WebhookRows:
    """Create, read, update and delete webhooks. Call these in the database thread."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._version: str | None = None
        self._cache: Mapping[str, Webhook] = MappingProxyType({})
        self._checked_in = -1  # the transaction (Database.serial) whose read is current

    def all(self) -> Mapping[str, Webhook]:
        if self._db.in_transaction and self._checked_in == self._db.serial:
            return self._cache
        row = self._db.one("SELECT value FROM meta WHERE key = 'webhooks_version'")
        version = _NO_VERSION if row is None else str(row[0])
        if version != self._version:
            rows = self._db.rows("SELECT id, attributes, created_at FROM webhooks ORDER BY id")
            webhooks = (_webhook(row) for row in rows)
            self._cache = MappingProxyType({w.id: w for w in webhooks})
            self._version = version
        if self._db.in_transaction:
            self._checked_in = self._db.serial
        return self._cache

    def get(self, webhook_id: str) -> Webhook:
        webhook = self.all().get(webhook_id)
        if webhook is None:
            raise NotFoundError("webhook", webhook_id)
        return webhook

    def create(self, attributes: Mapping[str, Any], now: datetime) -> Webhook:
        with self._db.transaction():
            next_id = self._db.backend.next_id(self._db.conn, "webhooks")
            webhook = Webhook.create(str(next_id), attributes, now)
            self._write(webhook, insert=True)
            return webhook

    def update(self, webhook_id: str, attributes: Mapping[str, Any], now: datetime) -> Webhook:
        with self._db.transaction():
            webhook = self.get(webhook_id).updated(attributes, now)
            self._write(webhook, insert=False)
            return webhook

    def delete(self, webhook_id: str) -> Webhook:
        with self._db.transaction():
            webhook = self.get(webhook_id)
            self._db.execute("DELETE FROM webhooks WHERE id = ?", (int(webhook.id),))
            # A deleted webhook's unfinished calls fail; the log keeps them.
            self._db.execute(
                "UPDATE webhook_calls SET status = 'failed', next_retry_at = NULL, due_at = NULL,"
                " resend_requested = 0 WHERE webhook_id = ?"
                " AND status IN ('pending', 'rescheduled') AND claimed = 0",
                (int(webhook.id),),
            )
            self._changed()
            return webhook

    def _write(self, webhook: Webhook, *, insert: bool) -> None:
        key = webhook.name.casefold()
        clash = self._db.one(
            "SELECT id FROM webhooks WHERE name_key = ? AND id != ?", (key, int(webhook.id))
        )
        if clash is not None:
            raise _name_taken(webhook)
        attributes = json.dumps(webhook.stored(), separators=(",", ":"))
        try:
            if insert:
                self._db.execute(
                    "INSERT INTO webhooks (id, name_key, attributes, created_at)"
                    " VALUES (?, ?, ?, ?)",
                    (int(webhook.id), key, attributes, to_epoch(webhook.created_at)),
                )
            else:
                self._db.execute(
                    "UPDATE webhooks SET name_key = ?, attributes = ? WHERE id = ?",
                    (key, attributes, int(webhook.id)),
                )
        except self._db.backend.integrity_errors:
            # Another process saved the same name since the check above.
            raise _name_taken(webhook) from None
        self._changed()

    def _changed(self) -> None:
        self._checked_in = -1  # read the new version, whether this commits or not
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES ('webhooks_version', ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (secrets.token_hex(8),),
        )


def _name_taken(webhook: Webhook) -> ValidationError:
    return ValidationError(
        "name", f"a webhook named {webhook.name!r} already exists (names ignore case)"
    )


def _webhook(row: tuple[int, str, float]) -> Webhook:
    webhook_id, attributes, created_at = row
    return Webhook.from_stored(str(webhook_id), json.loads(attributes), from_epoch(created_at))
