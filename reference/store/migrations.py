"""Versioned schema migrations, one list per backend: the number applied is kept in
the database (SQLite's `user_version`, PostgreSQL's `schema_version` table)."""

from __future__ import annotations

from reference.exceptions import StoreError

__all__ = ["POSTGRES", "SQLITE", "check_version", "statements"]

# Append only: never edit a migration that has shipped.
SQLITE: tuple[str, ...] = (
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE webhooks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name_key TEXT NOT NULL UNIQUE,
        attributes TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        entity_type TEXT NOT NULL,
        event_type TEXT NOT NULL,
        environment TEXT NOT NULL,
        is_environment_primary INTEGER NOT NULL,
        happened_at REAL NOT NULL,
        entity TEXT NOT NULL,
        previous_entity TEXT,
        related_entities TEXT NOT NULL
    );
    CREATE TABLE webhook_calls (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        webhook_id INTEGER NOT NULL,
        event_id INTEGER NOT NULL REFERENCES events (id),
        entity_type TEXT NOT NULL,
        event_type TEXT NOT NULL,
        created_at REAL NOT NULL,
        status TEXT NOT NULL,
        attempted_auto_retries_count INTEGER NOT NULL DEFAULT 0,
        last_sent_at REAL,
        next_retry_at REAL,
        due_at REAL,
        resend_requested INTEGER NOT NULL DEFAULT 0,
        claimed INTEGER NOT NULL DEFAULT 0,
        request_url TEXT,
        request_headers TEXT,
        request_payload TEXT,
        response_status INTEGER,
        response_headers TEXT,
        response_payload TEXT,
        error TEXT
    );
    CREATE INDEX webhook_calls_due ON webhook_calls (due_at)
        WHERE due_at IS NOT NULL AND claimed = 0;
    CREATE INDEX webhook_calls_resend ON webhook_calls (id)
        WHERE resend_requested = 1 AND claimed = 0;
    CREATE INDEX webhook_calls_created ON webhook_calls (created_at, id);
    CREATE INDEX webhook_calls_webhook ON webhook_calls (webhook_id, created_at);
    CREATE TABLE webhook_call_attempts (
        call_id INTEGER NOT NULL REFERENCES webhook_calls (id),
        number INTEGER NOT NULL,
        sent_at REAL NOT NULL,
        duration_ms INTEGER NOT NULL,
        trigger TEXT NOT NULL,
        response_status INTEGER,
        error TEXT,
        PRIMARY KEY (call_id, number)
    ) WITHOUT ROWID;
    """,
    """
    ALTER TABLE events ADD COLUMN variants TEXT;
    CREATE TABLE content_environments (
        id TEXT PRIMARY KEY,
        is_primary INTEGER NOT NULL,
        created_at REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE content_entities (
        environment TEXT NOT NULL,
        type TEXT NOT NULL,
        id TEXT NOT NULL,
        document TEXT NOT NULL,
        PRIMARY KEY (environment, type, id)
    ) WITHOUT ROWID;
    CREATE TABLE content_pending_tags (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        environment TEXT NOT NULL,
        tag TEXT NOT NULL,
        added_at REAL NOT NULL
    );
    """,
    """
    CREATE INDEX webhook_calls_webhook_due ON webhook_calls (webhook_id, due_at)
        WHERE due_at IS NOT NULL AND claimed = 0 AND resend_requested = 0;
    """,
    """
    ALTER TABLE webhook_calls ADD COLUMN claimed_by TEXT;
    ALTER TABLE webhook_calls ADD COLUMN claimed_at REAL;
    ALTER TABLE webhook_calls ADD COLUMN lease_until REAL;
    ALTER TABLE webhook_calls ADD COLUMN attempts_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE webhook_call_attempts ADD COLUMN retry_after INTEGER;
    ALTER TABLE webhook_call_attempts ADD COLUMN error_detail TEXT;
    UPDATE webhook_calls SET attempts_count = (
        SELECT COUNT(*) FROM webhook_call_attempts a WHERE a.call_id = webhook_calls.id
    );
    CREATE INDEX webhook_calls_leases ON webhook_calls (lease_until) WHERE claimed = 1;
    """,
    """
    ALTER TABLE content_environments ADD COLUMN forked_from TEXT;
    ALTER TABLE content_environments ADD COLUMN data_changed_at REAL;
    """,
)

POSTGRES: tuple[str, ...] = (
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE webhooks (
        id BIGSERIAL PRIMARY KEY,
        name_key TEXT NOT NULL UNIQUE,
        attributes TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE events (
        id BIGSERIAL PRIMARY KEY,
        entity_type TEXT NOT NULL,
        event_type TEXT NOT NULL,
        environment TEXT NOT NULL,
        is_environment_primary INTEGER NOT NULL,
        happened_at DOUBLE PRECISION NOT NULL,
        entity TEXT NOT NULL,
        previous_entity TEXT,
        related_entities TEXT NOT NULL,
        variants TEXT
    );
    CREATE TABLE webhook_calls (
        id BIGSERIAL PRIMARY KEY,
        webhook_id BIGINT NOT NULL,
        event_id BIGINT NOT NULL REFERENCES events (id),
        entity_type TEXT NOT NULL,
        event_type TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        status TEXT NOT NULL,
        attempted_auto_retries_count INTEGER NOT NULL DEFAULT 0,
        attempts_count INTEGER NOT NULL DEFAULT 0,
        last_sent_at DOUBLE PRECISION,
        next_retry_at DOUBLE PRECISION,
        due_at DOUBLE PRECISION,
        resend_requested INTEGER NOT NULL DEFAULT 0,
        claimed INTEGER NOT NULL DEFAULT 0,
        claimed_by TEXT,
        claimed_at DOUBLE PRECISION,
        lease_until DOUBLE PRECISION,
        request_url TEXT,
        request_headers TEXT,
        request_payload TEXT,
        response_status INTEGER,
        response_headers TEXT,
        response_payload TEXT,
        error TEXT
    );
    CREATE INDEX webhook_calls_due ON webhook_calls (due_at)
        WHERE due_at IS NOT NULL AND claimed = 0;
    CREATE INDEX webhook_calls_resend ON webhook_calls (id)
        WHERE resend_requested = 1 AND claimed = 0;
    CREATE INDEX webhook_calls_created ON webhook_calls (created_at, id);
    CREATE INDEX webhook_calls_webhook ON webhook_calls (webhook_id, created_at);
    CREATE INDEX webhook_calls_webhook_due ON webhook_calls (webhook_id, due_at)
        WHERE due_at IS NOT NULL AND claimed = 0 AND resend_requested = 0;
    CREATE INDEX webhook_calls_leases ON webhook_calls (lease_until) WHERE claimed = 1;
    CREATE TABLE webhook_call_attempts (
        call_id BIGINT NOT NULL REFERENCES webhook_calls (id),
        number INTEGER NOT NULL,
        sent_at DOUBLE PRECISION NOT NULL,
        duration_ms INTEGER NOT NULL,
        trigger TEXT NOT NULL,
        response_status INTEGER,
        error TEXT,
        retry_after INTEGER,
        error_detail TEXT,
        PRIMARY KEY (call_id, number)
    );
    CREATE TABLE content_environments (
        id TEXT PRIMARY KEY,
        is_primary INTEGER NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE content_entities (
        environment TEXT NOT NULL,
        type TEXT NOT NULL,
        id TEXT NOT NULL,
        document TEXT NOT NULL,
        PRIMARY KEY (environment, type, id)
    );
    CREATE TABLE content_pending_tags (
        id BIGSERIAL PRIMARY KEY,
        environment TEXT NOT NULL,
        tag TEXT NOT NULL,
        added_at DOUBLE PRECISION NOT NULL
    );
    """,
    """
    ALTER TABLE content_environments ADD COLUMN forked_from TEXT;
    ALTER TABLE content_environments ADD COLUMN data_changed_at DOUBLE PRECISION;
    """,
)


def check_version(version: int, migrations: tuple[str, ...]) -> None:
    """Refuse a database whose schema is newer than this code knows."""
    if version > len(migrations):
        raise StoreError(
            f"the database is at schema version {version}, newer than this dispatcher "
            f"knows ({len(migrations)}); upgrade the dispatcher"
        )


def statements(migration: str) -> list[str]:
    return [s for s in migration.split(";") if s.strip()]
