from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from reference import CallQuery, Dispatcher, Settings, create_api, create_app
from reference.exceptions import StoreError
from reference.store import Transaction, create_store
from reference.store.migrations import POSTGRES, SQLITE
from tests.conftest import NewDatabase
from tests.network import FakeNetwork
from tests.reference.conftest import TOKEN, DispatcherFactory, Recorder
from tests.reference.factories import item_event, webhook_attributes


async def _site_id(db: str, wanted: str | None = None) -> str:
    store = create_store(db, site_id=wanted)
    await store.open()
    try:
        return store.site_id
    finally:
        await store.close()


@pytest.mark.every_backend
@pytest.mark.anyio
async def test_site_id_is_generated_once_and_kept(new_db: NewDatabase) -> None:
    db = new_db()
    site_id = await _site_id(db)
    assert site_id.isdecimal()
    assert await _site_id(db) == site_id
    assert await _site_id(db, "777") == "777"
    assert await _site_id(db) == "777"


@pytest.mark.anyio
async def test_sqlite_schema_is_versioned_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    await _site_id(str(path))
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone() == (len(SQLITE),)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.execute(f"PRAGMA user_version = {len(SQLITE) + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer than this dispatcher"):
        await _site_id(str(path))


@pytest.mark.anyio
async def test_a_sqlite_file_of_the_last_release_is_migrated_with_its_calls(
    tmp_path: Path,
) -> None:
    """A file at schema 3 (one process, claims without owners) with a call claimed when
    its dispatcher was killed: the call keeps its attempts and is due again."""
    path = tmp_path / "w.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for migration in SQLITE[:3]:
        conn.executescript(migration)
    conn.executescript(
        """
        PRAGMA user_version = 3;
        INSERT INTO webhooks (id, name_key, attributes, created_at) VALUES (1, 'hook', '{}', 0);
        INSERT INTO events (id, entity_type, event_type, environment, is_environment_primary,
            happened_at, entity, related_entities) VALUES (1, 'item', 'create', 'main', 1, 0,
            '{"id": "1", "type": "item"}', '[]');
        INSERT INTO webhook_calls (id, webhook_id, event_id, entity_type, event_type,
            created_at, status, due_at, claimed)
            VALUES (1, 1, 1, 'item', 'create', 0, 'rescheduled', 0, 1);
        INSERT INTO webhook_call_attempts VALUES (1, 1, 0, 10, 'event', 500, NULL);
        INSERT INTO webhook_call_attempts VALUES (1, 2, 1, 10, 'auto_retry', 500, NULL);
        """
    )
    conn.close()
    store = create_store(str(path))
    await store.open()
    try:
        call = await store.transaction(lambda tx: tx.calls.get("1"))
    finally:
        await store.close()
    assert [(a.trigger, a.response_status, a.error) for a in call.attempts] == [
        ("event", 500, None),
        ("auto_retry", 500, None),
        ("auto_retry", None, "interrupted"),
    ]
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT claimed, attempts_count FROM webhook_calls").fetchone() == (0, 3)
    conn.close()


@pytest.mark.every_backend
@pytest.mark.anyio
async def test_a_database_newer_than_the_code_is_refused(new_db: NewDatabase, backend: str) -> None:
    db = new_db()
    await _site_id(db)
    if backend == "sqlite":
        with sqlite3.connect(db) as conn:
            conn.execute(f"PRAGMA user_version = {len(SQLITE) + 1}")
    else:
        with psycopg.connect(db, autocommit=True) as pg:
            assert pg.execute("SELECT version FROM schema_version").fetchone() == (len(POSTGRES),)
            pg.execute("UPDATE schema_version SET version = %s", (len(POSTGRES) + 1,))
    with pytest.raises(StoreError, match="newer than this dispatcher knows"):
        await _site_id(db)


@pytest.mark.anyio
async def test_an_unopenable_database_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot open"):
        await _site_id(str(tmp_path / "missing" / "w.db"))
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("not a database, " * 100)
    with pytest.raises(StoreError, match="cannot open"):
        await _site_id(str(not_sqlite))


@pytest.mark.anyio
async def test_an_unreachable_postgres_is_a_store_error() -> None:
    with pytest.raises(
        StoreError, match=r"cannot connect to postgresql://u:\*\*\*@127\.0\.0\.1:9/"
    ):
        await _site_id("postgresql://u:secret@127.0.0.1:9/webhooks?connect_timeout=2")


@pytest.mark.anyio
async def test_one_sqlite_file_serves_one_dispatcher_at_a_time(tmp_path: Path) -> None:
    db = str(tmp_path / "w.db")
    first = create_store(db)
    await first.open()
    try:
        with pytest.raises(StoreError, match="another dispatcher is using"):
            await _site_id(db)
    finally:
        await first.close()
    await _site_id(db)  # free again


@pytest.mark.every_backend
@pytest.mark.anyio
async def test_a_change_and_its_calls_commit_together(
    make_dispatcher: DispatcherFactory, recorder: Recorder
) -> None:
    async with make_dispatcher(recorder) as dispatcher:
        await dispatcher.create_webhook(webhook_attributes())
        page = {"id": "home", "type": "page", "attributes": {}, "relationships": {}, "meta": {}}

        def change_then_fail(tx: Transaction) -> None:
            tx.content.put("main", page)
            dispatcher.record_event(tx, item_event())
            raise RuntimeError("the change failed after the event was recorded")

        with pytest.raises(RuntimeError):
            await dispatcher.transaction(change_then_fail)
        _, total = await dispatcher.list_calls(CallQuery())
        assert total == 0
        assert (
            await dispatcher.transaction(lambda tx: tx.content.get("main", "page", "home")) is None
        )

        def change(tx: Transaction) -> list[str]:
            tx.content.put("main", page)
            ids: list[str] = dispatcher.record_event(tx, item_event())
            return ids

        (call_id,) = await dispatcher.transaction(change)
        assert (await dispatcher.wait_for_call(call_id)).status == "success"
        assert await dispatcher.transaction(lambda tx: tx.content.get("main", "page", "home"))
        batches = await dispatcher.raise_events([item_event(), item_event()])
        assert [len(ids) for ids in batches] == [1, 1]
        assert await dispatcher.drain()
    assert len(recorder.requests) == 3


@pytest.mark.anyio
async def test_create_app_runs_the_dispatcher_in_its_lifespan(
    tmp_path: Path, recorder: Recorder
) -> None:
    settings = Settings(api_token=TOKEN, db=str(tmp_path / "w.db"))
    network = FakeNetwork(recorder)
    app = create_app(settings, resolver=network.resolver, ssl_context=network.ssl_context)
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        network,
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://x", headers=headers) as client,
    ):
        created = await client.post(
            "/webhooks", json={"data": {"type": "webhook", "attributes": webhook_attributes()}}
        )
        assert created.status_code == 201
        dispatcher = app.state.dispatcher
        (call_id,) = await dispatcher.raise_event(item_event())
        assert (await dispatcher.wait_for_call(call_id)).status == "success"


@pytest.mark.anyio
async def test_the_store_opens_in_the_lifespan_not_in_the_constructor(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    dispatcher = Dispatcher(Settings(api_token=TOKEN, db=str(path)))
    assert not path.exists()
    with pytest.raises(RuntimeError, match="not open"):
        dispatcher.site_id  # noqa: B018
    async with dispatcher:
        assert path.exists() and dispatcher.site_id.isdecimal()


@pytest.mark.anyio
async def test_the_api_mounts_in_another_app(tmp_path: Path) -> None:
    dispatcher = Dispatcher(Settings(api_token=TOKEN, db=str(tmp_path / "w.db")))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with dispatcher:
            yield

    host = Starlette(routes=[Mount("/hooks-api", app=create_api(dispatcher))], lifespan=lifespan)
    transport = httpx.ASGITransport(app=host)
    async with (
        host.router.lifespan_context(host),
        httpx.AsyncClient(transport=transport, base_url="http://x") as client,
    ):
        response = await client.get(
            "/hooks-api/webhooks", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert response.json() == {"data": [], "meta": {"total_count": 0}}
        assert (await client.get("/hooks-api/webhooks")).status_code == 401
        # The URLs it hands out are under its mount point.
        attributes = {"name": "CI", "adapter": "custom"}
        created = await client.post(
            "/hooks-api/build-triggers",
            json={"data": {"type": "build_trigger", "attributes": attributes}},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        url = created.json()["data"]["attributes"]["webhook_url"]
        assert url.startswith("http://x/hooks-api/deploy-results/")
        assert (await client.post(url, json={"status": "success"})).status_code == 204


@pytest.mark.every_backend
@pytest.mark.anyio
async def test_calls_of_one_event_claimed_together_share_the_event(new_db: NewDatabase) -> None:
    dispatcher = Dispatcher(Settings(api_token=TOKEN, db=new_db()))
    await dispatcher.open()
    try:  # not started: nothing claims the calls but this test
        for n in range(3):
            await dispatcher.create_webhook(webhook_attributes(name=f"hook {n}"))
        await dispatcher.raise_events([item_event(record_id="1"), item_event(record_id="2")])
        claimed = await dispatcher.store.claim(dispatcher.clock(), 10, 30.0, (), 0)
    finally:
        await dispatcher.close()
    assert len(claimed) == 6
    by_entity = {c.event.entity_id: c.event for c in claimed}
    assert len(by_entity) == 2  # read once per event, not once per call
    assert all(c.event is by_entity[c.event.entity_id] for c in claimed)
    assert by_entity["1"].entity == item_event(record_id="1").entity
    assert {c.webhook.name for c in claimed if c.webhook} == {"hook 0", "hook 1", "hook 2"}
