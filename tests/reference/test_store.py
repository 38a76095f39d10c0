from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from reference import CallQuery, Dispatcher, Settings, create_app
from reference.exceptions import StoreError
from reference.store import Store
from reference.store.migrations import MIGRATIONS
from tests.reference.conftest import TOKEN, DispatcherFactory, Recorder
from tests.reference.factories import item_event, webhook_attributes


def test_site_id_is_generated_once_and_kept(tmp_path: Path) -> None:
    path = str(tmp_path / "w.db")
    first = Store(path)
    site_id = first.site_id
    first.close()
    second = Store(path)
    assert second.site_id == site_id and site_id.isdecimal()
    second.close()
    chosen = Store(path, site_id="777")
    chosen.close()
    assert Store(path).site_id == "777"


def test_schema_is_versioned_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    Store(str(path)).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer than this dispatcher"):
        Store(str(path))


def test_an_unopenable_database_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot open"):
        Store(str(tmp_path / "missing" / "w.db"))


@pytest.mark.anyio
async def test_a_change_and_its_calls_commit_together(
    make_dispatcher: DispatcherFactory, recorder: Recorder
) -> None:
    async with make_dispatcher(recorder) as dispatcher:
        await dispatcher.create_webhook(webhook_attributes())

        def change_then_fail() -> None:
            with dispatcher.store.db.transaction() as conn:
                conn.execute("CREATE TABLE IF NOT EXISTS pages (id TEXT)")
                conn.execute("INSERT INTO pages VALUES ('home')")
                dispatcher.record_event(item_event())
                raise RuntimeError("the change failed after the event was recorded")

        with pytest.raises(RuntimeError):
            await dispatcher.store.db.run(change_then_fail)
        _, total = await dispatcher.list_calls(CallQuery())
        assert total == 0
        assert await dispatcher.drain()
        batches = await dispatcher.raise_events([item_event(), item_event()])
        assert [len(ids) for ids in batches] == [1, 1]
        assert await dispatcher.drain()
    assert len(recorder.requests) == 2


@pytest.mark.anyio
async def test_create_app_runs_the_dispatcher_in_its_lifespan(
    tmp_path: Path, recorder: Recorder
) -> None:
    settings = Settings(api_token=TOKEN, db_path=str(tmp_path / "w.db"))
    app = create_app(settings, transport=httpx.MockTransport(recorder))
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
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
async def test_the_api_mounts_in_another_app(tmp_path: Path) -> None:
    dispatcher = Dispatcher(Settings(api_token=TOKEN, db_path=str(tmp_path / "w.db")))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with dispatcher:
            yield

    host = Starlette(routes=[Mount("/hooks-api", app=dispatcher.app)], lifespan=lifespan)
    transport = httpx.ASGITransport(app=host)
    async with (
        host.router.lifespan_context(host),
        httpx.AsyncClient(transport=transport, base_url="http://x") as client,
    ):
        response = await client.get(
            "/hooks-api/webhooks", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert response.json() == {"data": []}
        assert (await client.get("/hooks-api/webhooks")).status_code == 401


@pytest.mark.anyio
async def test_calls_of_one_event_claimed_together_share_the_event(tmp_path: Path) -> None:
    dispatcher = Dispatcher(Settings(api_token=TOKEN, db_path=str(tmp_path / "w.db")))
    try:  # not started: nothing claims the calls but this test
        for n in range(3):
            await dispatcher.create_webhook(webhook_attributes(name=f"hook {n}"))
        await dispatcher.raise_events([item_event(record_id="1"), item_event(record_id="2")])
        claimed = await dispatcher.store.db.run(
            dispatcher.store.calls.claim, dispatcher.clock(), 10
        )
    finally:
        await dispatcher.close()
    assert len(claimed) == 6
    by_entity = {c.event.entity_id: c.event for c in claimed}
    assert len(by_entity) == 2  # read once per event, not once per call
    assert all(c.event is by_entity[c.event.entity_id] for c in claimed)
    assert by_entity["1"].entity == item_event(record_id="1").entity
