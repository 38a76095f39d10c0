"""The delivery worker's one transaction per batch (Store.settle), and what raising a
batch of events costs the store: one notification and one webhook read per transaction."""

from __future__ import annotations

from typing import Any

import pytest

from reference import Dispatcher, Settings
from reference.calls import CallStatus, Transition
from reference.sender import Outcome
from reference.store import ClaimRequest, Completion, Settlement
from reference.store.database import Database
from tests.conftest import NewDatabase
from tests.reference.conftest import TOKEN
from tests.reference.factories import item_event, webhook_attributes

pytestmark = [pytest.mark.every_backend, pytest.mark.anyio]


def _done(call: Any, dispatcher: Dispatcher) -> Completion:
    outcome = Outcome(200, (), "ok", None, dispatcher.clock(), 5)
    return Completion(call, outcome, Transition(CallStatus.SUCCESS, 0, None, None), "u", {}, "{}")


async def test_settle_records_outcomes_and_claims_the_next_calls_at_once(
    new_db: NewDatabase,
) -> None:
    dispatcher = Dispatcher(Settings(api_token=TOKEN, db=new_db()))
    await dispatcher.open()
    try:  # not started: nothing claims the calls but this test
        await dispatcher.create_webhook(webhook_attributes())
        ids = [ids[0] for ids in await dispatcher.raise_events([item_event()] * 5)]
        first = await dispatcher.store.claim(dispatcher.clock(), 2, 30.0, (), 0)
        claim = ClaimRequest(dispatcher.clock(), 2, 30.0)
        second = await dispatcher.store.settle(
            Settlement(completions=[_done(c, dispatcher) for c in first], claim=claim)
        )
        calls = [await dispatcher.get_call(i) for i in ids]
        # Without a claim, it only writes; a claim of 0 claims nothing.
        third = await dispatcher.store.settle(
            Settlement(completions=[_done(c, dispatcher) for c in second])
        )
        nothing = await dispatcher.store.settle(
            Settlement(claim=ClaimRequest(dispatcher.clock(), 0, 30.0))
        )
        rest = await dispatcher.store.claim(dispatcher.clock(), 10, 30.0, (), 0)
    finally:
        await dispatcher.close()
    assert [c.id for c in first] == ids[:2]
    assert [c.id for c in second] == ids[2:4]
    assert [c.status for c in calls] == ["success", "success", "pending", "pending", "pending"]
    assert third == [] and nothing == []
    assert [c.id for c in rest] == ids[4:]


async def test_a_failed_settlement_writes_nothing_and_claims_nothing(
    new_db: NewDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    dispatcher = Dispatcher(Settings(api_token=TOKEN, db=new_db()))
    await dispatcher.open()
    try:
        await dispatcher.create_webhook(webhook_attributes())
        ids = [ids[0] for ids in await dispatcher.raise_events([item_event()] * 3)]
        (first,) = await dispatcher.store.claim(dispatcher.clock(), 1, 30.0, (), 0)
        calls_rows = dispatcher.store.calls  # type: ignore[attr-defined]  # the SQL store's

        def broken(*args: object) -> None:
            raise RuntimeError("the claim broke")

        monkeypatch.setattr(calls_rows, "claim", broken)
        with pytest.raises(RuntimeError, match="the claim broke"):
            await dispatcher.store.settle(
                Settlement(
                    completions=[_done(first, dispatcher)],
                    claim=ClaimRequest(dispatcher.clock(), 2, 30.0),
                )
            )
        monkeypatch.undo()
        call = await dispatcher.get_call(first.id)
        # The outcome was rolled back with the claim: the call is still claimed, unsent.
        assert call.status == "pending" and call.attempts == ()
        rest = await dispatcher.store.claim(dispatcher.clock(), 10, 30.0, (), 0)
    finally:
        await dispatcher.close()
    assert [c.id for c in rest] == ids[1:]


async def test_raising_a_batch_notifies_once_and_reads_the_webhooks_once(
    new_db: NewDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    dispatcher = Dispatcher(Settings(api_token=TOKEN, db=new_db()))
    await dispatcher.open()
    notified: list[object] = []
    versions: list[str] = []
    try:
        await dispatcher.create_webhook(webhook_attributes(name="one"))
        db: Database = dispatcher.store._db  # type: ignore[attr-defined]  # the SQL store's
        backend_notify, one = db.backend.notify, db.one

        def notify(conn: object) -> None:
            notified.append(conn)
            backend_notify(conn)  # type: ignore[arg-type]

        def counting_one(sql: str, params: Any = ()) -> Any:
            if "webhooks_version" in sql:
                versions.append(sql)
            return one(sql, params)

        monkeypatch.setattr(db.backend, "notify", notify)
        monkeypatch.setattr(db, "one", counting_one)
        ids = await dispatcher.raise_events([item_event()] * 10)
        assert (len(notified), len(versions)) == (1, 1)
        # A webhook created inside the transaction is seen by the events after it.

        def create_then_raise(tx: Any) -> list[list[str]]:
            tx.webhooks.create(webhook_attributes(name="two"), dispatcher.clock())
            return [dispatcher.record_event(tx, item_event()) for _ in range(3)]

        later = await dispatcher.store.transaction(create_then_raise)
        assert len(notified) == 2
    finally:
        await dispatcher.close()
    assert all(len(call_ids) == 1 for call_ids in ids)
    assert all(len(call_ids) == 2 for call_ids in later)
