"""A PostgreSQL connection the server drops (a restart, a failover, a cut) is opened again:
the API answers 503 at most once per drop, delivery goes on, and no outcome is lost."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import psycopg
import psycopg.errors
import pytest

from reference import Dispatcher, Settings, StoreUnavailable, create_app
from reference.store.postgres import PostgresBackend
from tests.admin.conftest import Admin
from tests.conftest import NewDatabase
from tests.postgres import PostgresServer
from tests.reference.conftest import TOKEN, DispatcherFactory, Recorder, api_client
from tests.reference.factories import item_event, webhook_attributes

pytestmark = [pytest.mark.parametrize("backend", ["postgresql"]), pytest.mark.anyio]


def drop_connections(url: str) -> int:
    """End every other session on the database of `url`, as a server restart would."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


async def test_a_dropped_connection_is_opened_again_for_the_next_operation(
    make_dispatcher: DispatcherFactory, recorder: Recorder, new_db: NewDatabase, backend: str
) -> None:
    async with make_dispatcher(recorder) as dispatcher:
        await dispatcher.create_webhook(webhook_attributes())
        (first,) = await dispatcher.raise_event(item_event())
        await dispatcher.wait_for_call(first, "success", timeout=5)
        assert drop_connections(new_db()) >= 1
        # Raising starts with BEGIN: it finds the connection dropped before anything
        # was done, so it runs again on a new connection instead of failing.
        (second,) = await dispatcher.raise_event(item_event())
        call = await dispatcher.wait_for_call(second, "success", timeout=10)
        assert drop_connections(new_db()) >= 1
        async with api_client(dispatcher) as client:
            answers = [(await client.get("/webhooks")).status_code for _ in range(2)]
    assert call.response_payload == "answer 200"
    assert answers == [200, 200]  # a read found the drop first, and was read again
    assert len(recorder.requests) == 2


async def test_an_operation_cut_midway_is_503_and_the_next_one_works(
    make_dispatcher: DispatcherFactory,
    new_db: NewDatabase,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
) -> None:
    async with make_dispatcher(Recorder()) as dispatcher:
        await dispatcher.create_webhook(webhook_attributes(name="before"))
        rows = dispatcher.store.webhooks
        create = rows.create

        cuts = [1]

        def cut_midway(*args: Any) -> Any:
            # The first statement went through; the connection drops before the rest.
            # Whether the rest happened is not known in general: it is not run again.
            rows._db.one("SELECT 1")
            if cuts:
                drop_connections(new_db())
                cuts.pop()
            return create(*args)

        monkeypatch.setattr(rows, "create", cut_midway)
        async with api_client(dispatcher) as client:
            body = {"data": {"type": "webhook", "attributes": webhook_attributes(name="cut")}}
            cut = await client.post("/webhooks", json=body)
            monkeypatch.undo()
            again = await client.post("/webhooks", json=body)
            listed = await client.get("/webhooks")
    assert cut.status_code == 503
    assert cut.headers["retry-after"] == "1"
    (error,) = cut.json()["data"]
    assert error["attributes"]["code"] == "STORE_UNAVAILABLE"
    assert again.status_code == 201
    assert sorted(w["attributes"]["name"] for w in listed.json()["data"]) == ["before", "cut"]


async def test_outcomes_finished_while_the_connection_is_down_are_recorded_after(
    make_dispatcher: DispatcherFactory, new_db: NewDatabase, backend: str
) -> None:
    answered = asyncio.Event()
    go_on = asyncio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        await request.aread()
        answered.set()
        await go_on.wait()
        return httpx.Response(200, text="late")

    async with make_dispatcher(slow) as dispatcher:
        await dispatcher.create_webhook(webhook_attributes())
        ids = [i for ids in await dispatcher.raise_events([item_event()] * 3) for i in ids]
        await answered.wait()
        drop_connections(new_db())
        go_on.set()
        calls = [await dispatcher.wait_for_call(i, "success", timeout=10) for i in ids]
    assert [c.response_payload for c in calls] == ["late"] * 3
    assert [len(c.attempts) for c in calls] == [1, 1, 1]


async def test_a_database_that_cannot_be_reached_is_503_in_the_api_and_the_admin(
    backend: str,
) -> None:
    server = PostgresServer()
    server.start()
    try:
        app = create_app(Settings(api_token=TOKEN, db=server.create_database()))
        dispatcher: Dispatcher = app.state.dispatcher
        transport = httpx.ASGITransport(app=app)
        async with (
            dispatcher,
            httpx.AsyncClient(transport=transport, base_url="http://t") as client,
        ):
            admin = Admin(client, dispatcher)
            assert (await admin.sign_in(TOKEN)).status_code == 303
            server.stop()  # gone for good: connecting again fails too
            with pytest.raises(StoreUnavailable, match="cannot connect"):
                await dispatcher.find_webhook("1")
            auth = {"Authorization": f"Bearer {TOKEN}"}
            api = await client.get("/webhooks", headers=auth)
            page = await client.get("/admin/webhooks")
    finally:
        server.stop()
    assert (api.status_code, api.headers["retry-after"]) == (503, "1")
    assert api.json()["data"][0]["attributes"]["code"] == "STORE_UNAVAILABLE"
    assert (page.status_code, page.headers["retry-after"]) == (503, "1")
    assert "Database unavailable" in page.text


async def test_the_listener_says_in_one_line_that_it_lost_its_connection(
    make_dispatcher: DispatcherFactory,
    new_db: NewDatabase,
    caplog: pytest.LogCaptureFixture,
    backend: str,
) -> None:
    async with make_dispatcher(Recorder()):
        drop_connections(new_db())
        for _ in range(100):  # it notices within its 0.5 s wait for notifications
            lost = [
                r
                for r in caplog.records
                if r.getMessage().startswith("lost the notification connection")
            ]
            if lost:
                break
            await asyncio.sleep(0.05)
    assert lost
    assert all(r.exc_info is None and r.levelname == "WARNING" for r in lost)
    # The driver's words on one line: the server's "terminating connection ..." or,
    # when the socket closes first, "server closed the connection unexpectedly".
    said = [r.getMessage().split("(", 1)[1] for r in lost]
    assert all("connection" in words and "\n" not in words for words in said)


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (psycopg.errors.DiskFull(), True),
        (psycopg.errors.TooManyConnections(), True),
        (psycopg.errors.CannotConnectNow(), True),  # starting up or shutting down
        (psycopg.errors.UniqueViolation(), False),
        (psycopg.errors.SyntaxError(), False),
        (ValueError("not the database's"), False),
    ],
)
def test_which_postgresql_errors_say_the_database_cannot_work_now(
    error: Exception, unavailable: bool, backend: str
) -> None:
    assert PostgresBackend("postgresql://unused").unavailable(error) is unavailable
