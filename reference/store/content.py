"""Content rows: environments, entities kept as JSON:API resources, and pending cache tags.

Every entity lives in `content_entities` keyed by (environment, type, id);
entities outside environments (build triggers, SSO users) use the empty
environment. Call these in the database thread, inside a transaction.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from typing import Any

from reference.events import Resource
from reference.store.database import Database
from reference.store.protocol import EnvironmentRow
from reference.timefmt import from_epoch, to_epoch

__all__ = ["ContentRows"]


class ContentRows:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- environments --------------------------------------------------------

    def environments(self) -> list[EnvironmentRow]:
        rows = self._db.execute(
            "SELECT id, is_primary, created_at, forked_from, data_changed_at"
            " FROM content_environments ORDER BY is_primary DESC, id"
        ).fetchall()
        return [
            EnvironmentRow(
                id=str(i),
                primary=bool(p),
                created_at=from_epoch(created),
                forked_from=forked,
                data_changed_at=from_epoch(created if changed is None else changed),
            )
            for i, p, created, forked, changed in rows
        ]

    def touch(self, environment_id: str, now: datetime) -> None:
        self._db.execute(
            "UPDATE content_environments SET data_changed_at = ? WHERE id = ?",
            (to_epoch(now), environment_id),
        )

    def environment(self, environment_id: str) -> bool | None:
        """Whether the environment is the primary one; None when there is no such one."""
        row = self._db.execute(
            "SELECT is_primary FROM content_environments WHERE id = ?", (environment_id,)
        ).fetchone()
        return None if row is None else bool(row[0])

    def primary(self) -> str:
        row = self._db.execute(
            "SELECT id FROM content_environments WHERE is_primary = 1"
        ).fetchone()
        return "main" if row is None else str(row[0])

    def ensure_primary(self, now: datetime) -> None:
        """contract §4: the primary environment is `main` at first."""
        with self._db.transaction():
            self._db.execute(
                "INSERT INTO content_environments (id, is_primary, created_at)"
                " SELECT 'main', 1, ? WHERE NOT EXISTS (SELECT 1 FROM content_environments)"
                " ON CONFLICT (id) DO NOTHING",
                (to_epoch(now),),
            )

    def fork(self, source: str, target: str, now: datetime) -> None:
        self._db.execute(
            "INSERT INTO content_environments (id, is_primary, created_at, forked_from)"
            " VALUES (?, 0, ?, ?)",
            (target, to_epoch(now), source),
        )
        self._db.execute(
            "INSERT INTO content_entities (environment, type, id, document)"
            " SELECT ?, type, id, document FROM content_entities WHERE environment = ?",
            (target, source),
        )

    def rename(self, old: str, new: str) -> None:
        self._db.execute("UPDATE content_environments SET id = ? WHERE id = ?", (new, old))
        self._db.execute(
            "UPDATE content_entities SET environment = ? WHERE environment = ?", (new, old)
        )
        self._db.execute(
            "UPDATE content_pending_tags SET environment = ? WHERE environment = ?", (new, old)
        )

    def promote(self, environment_id: str) -> None:
        self._db.execute(
            "UPDATE content_environments SET is_primary = CASE WHEN id = ? THEN 1 ELSE 0 END",
            (environment_id,),
        )

    def drop(self, environment_id: str) -> None:
        self._db.execute("DELETE FROM content_environments WHERE id = ?", (environment_id,))
        self._db.execute("DELETE FROM content_entities WHERE environment = ?", (environment_id,))

    # -- entities --------------------------------------------------------------

    def next_id(self) -> str:
        # One statement, so that two processes never take the same id.
        (value,) = self._db.one(
            "INSERT INTO meta (key, value) VALUES ('content_next_id', '2')"
            " ON CONFLICT (key) DO UPDATE"
            " SET value = CAST(CAST(meta.value AS INTEGER) + 1 AS TEXT) RETURNING value"
        )
        return str(int(value) - 1)

    def get(self, environment: str, kind: str, entity_id: str) -> Resource | None:
        row = self._db.execute(
            "SELECT document FROM content_entities WHERE environment = ? AND type = ? AND id = ?",
            (environment, kind, entity_id),
        ).fetchone()
        return None if row is None else _loads(row[0])

    def all(self, environment: str, kind: str) -> list[Resource]:
        rows = self._db.execute(
            "SELECT document FROM content_entities WHERE environment = ? AND type = ?"
            " ORDER BY length(id), id",
            (environment, kind),
        ).fetchall()
        return [_loads(row[0]) for row in rows]

    def put(self, environment: str, resource: Resource) -> None:
        self._db.execute(
            "INSERT INTO content_entities (environment, type, id, document) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (environment, type, id) DO UPDATE SET document = excluded.document",
            (environment, resource["type"], resource["id"], json.dumps(resource)),
        )

    def delete(self, environment: str, kind: str, entity_id: str) -> None:
        self._db.execute(
            "DELETE FROM content_entities WHERE environment = ? AND type = ? AND id = ?",
            (environment, kind, entity_id),
        )

    # -- site settings -----------------------------------------------------------

    def setting(self, key: str, default: Any) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def set_setting(self, key: str, value: Any) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value)),
        )

    # -- cache tags ----------------------------------------------------------------

    def add_tags(self, environment: str, tags: list[str], now: datetime) -> None:
        self._db.executemany(
            "INSERT INTO content_pending_tags (environment, tag, added_at) VALUES (?, ?, ?)",
            [(environment, tag, to_epoch(now)) for tag in tags],
        )

    def oldest_tag_at(self) -> float | None:
        (oldest,) = self._db.execute("SELECT MIN(added_at) FROM content_pending_tags").fetchone()
        return None if oldest is None else float(oldest)

    def take_tags(self, until: float) -> dict[str, list[str]]:
        """Remove and return the tags added up to `until`, per environment, in order."""
        # Locked, so that two processes flushing at once never send a tag twice.
        rows = self._db.rows(
            "SELECT id, environment, tag FROM content_pending_tags WHERE added_at <= ?"
            f" ORDER BY id{self._db.backend.lock_rows}",
            (until,),
        )
        self._db.executemany(
            "DELETE FROM content_pending_tags WHERE id = ?", [(row[0],) for row in rows]
        )
        tags: dict[str, list[str]] = defaultdict(list)
        for _, environment, tag in rows:
            if tag not in tags[environment]:
                tags[environment].append(tag)
        return dict(tags)


def _loads(text: str) -> Resource:
    value: Resource = json.loads(text)
    return value
