"""Webhook rows."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from reference.exceptions import NotFoundError, ValidationError
from reference.store.database import Database
from reference.timefmt import from_epoch, to_epoch
from reference.webhooks import Webhook, parse_attributes

__all__ = ["WebhookRows"]


class WebhookRows:
    """Create, read, update and delete webhooks. Call these in the database thread."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def all(self) -> list[Webhook]:
        rows = self._db.conn.execute(
            "SELECT id, attributes, created_at FROM webhooks ORDER BY id"
        ).fetchall()
        return [_webhook(row) for row in rows]

    def get(self, webhook_id: str) -> Webhook:
        row = self._db.conn.execute(
            "SELECT id, attributes, created_at FROM webhooks WHERE id = ?", (_int_id(webhook_id),)
        ).fetchone()
        if row is None:
            raise NotFoundError("webhook", webhook_id)
        return _webhook(row)

    def create(self, attributes: Mapping[str, Any], now: datetime) -> Webhook:
        with self._db.transaction() as conn:
            (next_id,) = conn.execute(
                "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'webhooks'), 0) + 1"
            ).fetchone()
            webhook = Webhook.create(str(next_id), attributes, now)
            self._write(conn, webhook, insert=True)
            return webhook

    def update(self, webhook_id: str, attributes: Mapping[str, Any]) -> Webhook:
        with self._db.transaction() as conn:
            webhook = self.get(webhook_id).updated(attributes)
            self._write(conn, webhook, insert=False)
            return webhook

    def delete(self, webhook_id: str, on_delete: Callable[[sqlite3.Connection], None]) -> Webhook:
        with self._db.transaction() as conn:
            webhook = self.get(webhook_id)
            conn.execute("DELETE FROM webhooks WHERE id = ?", (int(webhook.id),))
            on_delete(conn)
            return webhook

    def _write(self, conn: sqlite3.Connection, webhook: Webhook, *, insert: bool) -> None:
        key = webhook.name.casefold()
        clash = conn.execute(
            "SELECT id FROM webhooks WHERE name_key = ? AND id != ?", (key, int(webhook.id))
        ).fetchone()
        if clash is not None:
            raise ValidationError(
                "name", f"a webhook named {webhook.name!r} already exists (names ignore case)"
            )
        attributes = json.dumps(webhook.attributes(), separators=(",", ":"))
        if insert:
            conn.execute(
                "INSERT INTO webhooks (id, name_key, attributes, created_at) VALUES (?, ?, ?, ?)",
                (int(webhook.id), key, attributes, to_epoch(webhook.created_at)),
            )
        else:
            conn.execute(
                "UPDATE webhooks SET name_key = ?, attributes = ? WHERE id = ?",
                (key, attributes, int(webhook.id)),
            )


def _webhook(row: tuple[int, str, float]) -> Webhook:
    webhook_id, attributes, created_at = row
    values = parse_attributes(json.loads(attributes))
    return Webhook(id=str(webhook_id), created_at=from_epoch(created_at), **values)


def _int_id(text: str) -> int:
    if not text.isdecimal() or len(text) > 18:
        raise NotFoundError("webhook", text)
    return int(text)
