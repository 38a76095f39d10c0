"""When the store will not take outcomes: a store that is down keeps every outcome
waiting in full, and one outcome the store can never take holds back no other."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import cast

import httpx
import pytest

from reference import Dispatcher
from reference.calls import CallStatus, DueCall, Transition
from reference.delivery import UNRECORDED_DETAIL, _without_texts
from reference.sender import Outcome
from reference.store import Completion
from reference.store.database import Database
from tests.reference.conftest import DispatcherFactory, Recorder, api_client
from tests.reference.factories import item_event, webhook_attributes

POISON = "https://hooks.example.com/poison"


async def _poison_or_ok(request: httpx.Request) -> httpx.Response:
    await request.aread()
    body = "poison" if str(request.url) == POISON else "ok"
    status = 500 if request.headers.get("x-fail") else 200
    return httpx.Response(status, headers={"X-Receiver": "yes"}, text=body)


def refuse_poison(dispatcher: Dispatcher, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store's rows refuse any batch holding an answer "poison", as an engine
    refuses a value it cannot hold (PostgreSQL and a NUL, say), and take the rest."""
    rows = dispatcher.store.calls  # type: ignore[attr-defined]  # the SQL store's
    complete = rows.complete

    def refusing(completions: Sequence[Completion]) -> None:
        if any(done.outcome.body == "poison" for done in completions):
            raise ValueError("the engine cannot hold this text")
        complete(completions)

    monkeypatch.setattr(rows, "complete", refusing)


@pytest.mark.every_backend
@pytest.mark.anyio
async def test_an_outcome_the_store_refuses_is_kept_without_its_texts_and_holds_back_none(
    make_dispatcher: DispatcherFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    backend: str,
) -> None:
    async with make_dispatcher(_poison_or_ok) as dispatcher:
        refuse_poison(dispatcher, monkeypatch)
        await dispatcher.create_webhook(webhook_attributes(name="poison", url=POISON))
        await dispatcher.create_webhook(webhook_attributes(name="fine"))
        failing = await dispatcher.create_webhook(
            webhook_attributes(
                name="poison, failing", url=POISON, headers={"x-fail": "1"}, auto_retry=False
            )
        )
        first = [i for ids in await dispatcher.raise_events([item_event()] * 3) for i in ids]
        calls = [await dispatcher.wait_for_call(i, timeout=10) for i in first]
        # Recording goes on after the refusal: a later event's calls are logged too.
        later = await dispatcher.raise_event(item_event())
        after = [await dispatcher.wait_for_call(i, timeout=10) for i in later]
    fine = [c for c in calls + after if c.request_url != POISON]
    poisoned = [c for c in calls + after if c.request_url == POISON]
    assert len(fine) == 4 and len(poisoned) == 8
    assert {(c.status, c.response_payload) for c in fine} == {("success", "ok")}
    assert all(c.request_payload for c in fine)
    for call in poisoned:
        failed = call.webhook_id == failing.id
        assert call.status == ("failed" if failed else "success")
        assert call.response_status == (500 if failed else 200)
        assert (call.request_payload, call.response_payload) == (None, None)
        assert not call.response_headers
        (attempt,) = call.attempts
        assert attempt.response_status == call.response_status
        assert attempt.error is None and attempt.error_detail is None
    refused = [r for r in caplog.records if "refused its attempt's texts" in r.getMessage()]
    assert {r.getMessage().split(":")[0] for r in refused} == {f"call {c.id}" for c in poisoned}


@pytest.mark.every_backend
@pytest.mark.anyio
async def test_a_store_that_is_down_keeps_every_outcome_in_full_until_it_answers(
    make_dispatcher: DispatcherFactory,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
) -> None:
    down = True
    async with make_dispatcher(recorder) as dispatcher:
        rows = dispatcher.store.calls  # the SQL store's rows
        complete, ping = rows.complete, dispatcher.store.ping
        batches: list[int] = []
        retried = threading.Event()  # sent, and two more tries failed

        def refusing(completions: Sequence[Completion]) -> None:
            if down:
                batches.append(len(completions))
                if len(batches) >= 3:
                    retried.set()
                raise ConnectionError("the database is not there")
            complete(completions)

        async def unreachable() -> None:
            if down:
                raise ConnectionError("the database is not there")
            await ping()

        monkeypatch.setattr(rows, "complete", refusing)
        monkeypatch.setattr(dispatcher.store, "ping", unreachable)
        await dispatcher.create_webhook(webhook_attributes())
        ids = [i for ids in await dispatcher.raise_events([item_event()] * 3) for i in ids]
        assert await asyncio.to_thread(retried.wait, 10)
        pending = [await dispatcher.get_call(i) for i in ids]
        down = False
        calls = [await dispatcher.wait_for_call(i, timeout=10) for i in ids]
    assert [c.status for c in pending] == ["pending"] * 3
    assert len(recorder.requests) == 3  # nothing was sent twice
    # An unreachable store is not asked for each outcome apart: after the first batch
    # (1 to 3 outcomes), each try holds all three.
    assert batches[1:] == [3] * (len(batches) - 1)
    assert [(c.status, c.response_payload) for c in calls] == [("success", "answer 200")] * 3
    assert all(c.request_payload and c.response_headers for c in calls)
    assert all(c.attempts[0].error_detail is None for c in calls)


def test_a_failed_attempt_kept_without_its_texts_says_why_its_details_are_missing() -> None:
    outcome = Outcome(None, (("a", "b"),), "part", "timeout", datetime.now(UTC), 5000, "no answer")
    done = Completion(
        call=cast(DueCall, None),  # not read
        outcome=outcome,
        transition=Transition(CallStatus.FAILED, 0, None, None),
        request_url="https://hooks.example.com/x",
        request_headers={"x": "y"},
        request_payload="{}",
    )
    bare = _without_texts(done)
    assert (bare.outcome.headers, bare.outcome.body, bare.request_payload) == ((), None, None)
    assert bare.outcome.error == "timeout" and bare.outcome.error_detail == UNRECORDED_DETAIL
    assert (bare.request_url, bare.request_headers) == (done.request_url, done.request_headers)
    assert (bare.outcome.sent_at, bare.outcome.duration_ms) == (outcome.sent_at, 5000)


def _cap_sqlite(dispatcher: Dispatcher, pages: int | None) -> Callable[[], None]:
    """Cap the SQLite file at its current size (a full disk) or at `pages`."""
    db: Database = dispatcher.store._db  # type: ignore[attr-defined]  # the SQL store's

    def cap() -> None:
        (count,) = db.one("PRAGMA page_count")
        db.execute(f"PRAGMA max_page_count = {pages or count}")

    return cap


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.anyio
async def test_a_full_disk_is_503_and_outcomes_wait_whole_until_there_is_room(
    make_dispatcher: DispatcherFactory, backend: str
) -> None:
    big = "x" * 200_000  # more than the free pages of a young database

    async def answer(request: httpx.Request) -> httpx.Response:
        await request.aread()
        return httpx.Response(200, text=big)

    async with make_dispatcher(answer) as dispatcher:
        db = dispatcher.store._db
        await dispatcher.create_webhook(webhook_attributes())
        await db.run(_cap_sqlite(dispatcher, None))
        async with api_client(dispatcher) as client:
            attributes = webhook_attributes(name="big", custom_payload=big)
            body = {"data": {"type": "webhook", "attributes": attributes}}
            full = await client.post("/webhooks", json=body)
        (call_id,) = await dispatcher.raise_event(item_event())  # small: it fits
        await asyncio.sleep(1.5)  # sent; its 200 KB answer does not fit
        waiting = await dispatcher.get_call(call_id)
        await db.run(_cap_sqlite(dispatcher, 1_073_741_823))
        call = await dispatcher.wait_for_call(call_id, "success", timeout=10)
    assert full.status_code == 503
    (error,) = full.json()["data"]
    assert error["attributes"]["code"] == "STORE_UNAVAILABLE"
    assert "full" in error["attributes"]["details"]["message"]
    assert waiting.status == "pending"
    assert call.response_payload == big[: 64 * 1024]  # kept whole (the log keeps 64 KiB)
