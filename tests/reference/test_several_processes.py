"""Several dispatchers on one PostgreSQL database (contract §8, several processes).

Each `Dispatcher` here has its own store connection, its own LISTEN connection
and its own claims, exactly as separate processes have; `test_cluster.py` runs
real processes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest

from receiver import MockReceiver
from reference import Dispatcher, Settings
from reference.calls import CallStatus, Transition
from reference.sender import Outcome
from reference.store import Completion, Settlement
from tests.conftest import NewDatabase
from tests.reference.conftest import TOKEN
from tests.reference.factories import item_event, webhook_attributes

pytestmark = pytest.mark.anyio

#: Several processes share a database on PostgreSQL only (SQLite serves one process).
only_postgresql = pytest.mark.parametrize("backend", ["postgresql"])


@pytest.fixture
def receiver() -> Iterator[MockReceiver]:
    with MockReceiver() as receiver:
        yield receiver


@asynccontextmanager
async def _dispatchers(db: str, *, started: int, idle: int = 0) -> AsyncIterator[list[Dispatcher]]:
    """`started` dispatchers that deliver, then `idle` ones that only store (opened, not
    started), all on `db` and none with a fixed site id."""
    async with AsyncExitStack() as stack:
        found = []
        for n in range(started + idle):
            dispatcher = Dispatcher(Settings(api_token=TOKEN, db=db))
            if n < started:
                await stack.enter_async_context(dispatcher)
            else:
                await dispatcher.open()
                stack.push_async_callback(dispatcher.close)
            found.append(dispatcher)
        yield found


@only_postgresql
async def test_the_site_id_is_one_for_all_processes(new_db: NewDatabase) -> None:
    async with _dispatchers(new_db(), started=0, idle=3) as dispatchers:
        assert len({d.site_id for d in dispatchers}) == 1


@only_postgresql
async def test_an_idle_process_sends_a_call_stored_elsewhere_within_100_ms(
    new_db: NewDatabase, receiver: MockReceiver
) -> None:
    async with _dispatchers(new_db(), started=1, idle=1) as (sender, storer):
        await storer.create_webhook(webhook_attributes(url=receiver.url_for("/hook")))
        delays = []
        for n in range(3):
            await asyncio.sleep(0.5)  # the sender has nothing to do: it waits
            (call_id,) = await storer.raise_event(item_event(record_id=str(n)))
            stored = time.time()
            request = (await receiver.wait_for_async(n + 1, timeout=10))[n]
            delays.append(request.received_at - stored)
            await sender.wait_for_call(call_id, "success")
        # Woken by a notification, not by its slow poll (5 s); two of three, as this
        # machine is shared.
        assert sorted(delays)[1] < 0.1, delays


@only_postgresql
async def test_a_webhook_change_holds_at_once_on_every_process(
    new_db: NewDatabase, receiver: MockReceiver
) -> None:
    async with _dispatchers(new_db(), started=0, idle=2) as (one, other):
        await other.raise_event(item_event())  # `other` reads (and caches) the webhooks

        webhook = await one.create_webhook(webhook_attributes(url=receiver.url_for("/a")))
        (call_id,) = await other.raise_event(item_event())
        assert (await other.get_call(call_id)).webhook_id == webhook.id

        await one.update_webhook(webhook.id, {"enabled": False})
        assert await other.raise_event(item_event()) == []

        await one.update_webhook(webhook.id, {"enabled": True, "events": []})
        assert await other.raise_event(item_event()) == []

        await one.update_webhook(
            webhook.id, {"events": [{"entity_type": "item", "event_types": ["create"]}]}
        )
        assert len(await other.raise_event(item_event())) == 1

        await one.delete_webhook(webhook.id)
        assert await other.raise_event(item_event()) == []
        assert await other.find_webhook(webhook.id) is None


@only_postgresql
async def test_a_resend_through_one_process_updates_the_call_another_sent(
    new_db: NewDatabase, receiver: MockReceiver
) -> None:
    db = new_db()
    url = receiver.url_for("/hook", status=500)
    async with _dispatchers(db, started=1, idle=1) as (first, second):
        webhook = await first.create_webhook(webhook_attributes(url=url, auto_retry=False))
        (call_id,) = await first.raise_event(item_event())
        assert (await first.wait_for_call(call_id)).status == "failed"
        await first.stop()  # only `third`, below, delivers now
        async with Dispatcher(Settings(api_token=TOKEN, db=db)) as third:
            await second.update_webhook(webhook.id, {"url": receiver.url_for("/hook")})
            await second.resend(call_id)
            call = await third.wait_for_call(call_id, "success", attempts=2)
    assert [a.trigger for a in call.attempts] == ["event", "manual"]
    assert [a.response_status for a in call.attempts] == [500, 200]
    assert receiver.count(path="/hook") == 2


@only_postgresql
async def test_claims_are_disjoint_and_each_process_releases_only_its_own(
    new_db: NewDatabase,
) -> None:
    async with _dispatchers(new_db(), started=0, idle=2) as (one, other):
        await one.create_webhook(webhook_attributes())
        await one.raise_events([item_event(record_id=str(n)) for n in range(10)])
        now = one.clock()
        # Both claim at once: SKIP LOCKED hands each call to one of them.
        mine, theirs = await asyncio.gather(
            one.store.claim(now, 6, 30.0, (), 0), other.store.claim(now, 6, 30.0, (), 0)
        )
        assert len(mine) + len(theirs) == 10
        assert not {c.id for c in mine} & {c.id for c in theirs}

        # `other` can neither release nor complete `one`'s claims.
        await other.store.release([c.id for c in mine])
        done = Outcome(200, (), "", None, now, 5)
        transition = Transition(CallStatus.SUCCESS, 0, None, None)
        await other.store.settle(
            Settlement(completions=[Completion(c, done, transition, "u", {}, "{}") for c in mine])
        )
        assert await one.store.claim(now, 10, 30.0, (), 0) == []
        for call in mine:
            assert (await one.get_call(call.id)).status == "pending"

        # Its own: released, they are due again for anyone.
        await one.store.release([c.id for c in mine])
        again = await other.store.claim(now, 10, 30.0, (), 0)
        assert {c.id for c in again} == {c.id for c in mine}


@only_postgresql
async def test_an_expired_lease_frees_the_call_with_an_interrupted_attempt(
    new_db: NewDatabase,
) -> None:
    async with _dispatchers(new_db(), started=0, idle=2) as (dead, alive):
        await dead.create_webhook(webhook_attributes())
        (call_id,) = await dead.raise_event(item_event())
        now = dead.clock()
        (claimed,) = await dead.store.claim(now, 10, 10.0, (), 0)

        # Within the lease, nothing is freed; keeping leases extends only one's own.
        assert await alive.store.keep_leases(now + timedelta(seconds=9), 10.0) == 0
        assert await alive.store.claim(now + timedelta(seconds=9), 10, 10.0, (), 0) == []

        later = now + timedelta(seconds=11)
        assert await alive.store.keep_leases(later, 10.0) == 1
        call = await alive.get_call(call_id)
        assert call.status == "pending"
        ((trigger, status, error),) = [
            (a.trigger, a.response_status, a.error) for a in call.attempts
        ]
        assert (trigger, status, error) == ("event", None, "interrupted")
        (again,) = await alive.store.claim(later, 10, 10.0, (), 0)
        assert again.id == claimed.id

        # The late outcome of the process that lost the lease changes nothing.
        done = Outcome(200, (), "", None, later, 5)
        transition = Transition(CallStatus.SUCCESS, 0, None, None)
        await dead.store.settle(
            Settlement(completions=[Completion(claimed, done, transition, "u", {}, "{}")])
        )
        assert len((await alive.get_call(call_id)).attempts) == 1


@pytest.mark.every_backend
async def test_a_clean_stop_finishes_the_calls_in_flight(
    new_db: NewDatabase, receiver: MockReceiver
) -> None:
    db = new_db()
    async with _dispatchers(db, started=1) as (first,):
        await first.create_webhook(webhook_attributes(url=receiver.url_for("/hook", delay=1)))
        (call_id,) = await first.raise_event(item_event())
        await receiver.wait_for_async(1, timeout=5)
        await first.stop()  # the answer comes 1 s later; stop waits for it
        call = await first.get_call(call_id)
    assert call.status == "success"
    async with _dispatchers(db, started=1) as (second,):
        assert await second.drain()
        assert len((await second.get_call(call_id)).attempts) == 1
    assert receiver.count(path="/hook") == 1


@pytest.mark.every_backend
async def test_calls_claimed_as_a_clean_stop_begins_are_given_back_unsent(
    new_db: NewDatabase, receiver: MockReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outcome of a finished call and the claim of the next one are one transaction;
    a stop that begins while it is under way gives the newly claimed call back."""
    db = new_db()
    settings = Settings(api_token=TOKEN, db=db, max_in_flight_per_webhook=1)
    async with Dispatcher(settings) as first:
        url = receiver.url_for("/hook", delay=0.5)
        await first.create_webhook(webhook_attributes(url=url))
        entered, gate = asyncio.Event(), asyncio.Event()
        settle = first.store.settle

        async def held_settle(settlement: Any) -> Any:
            if settlement.completions and settlement.claim is not None:
                entered.set()
                await gate.wait()
            return await settle(settlement)

        monkeypatch.setattr(first.store, "settle", held_settle)
        # One call in flight at a time: the second waits in the store, and is claimed
        # as the first one's outcome is written.
        (sent_id,) = await first.raise_event(item_event())
        await receiver.wait_for_async(1, timeout=5)
        (claimed_id,) = await first.raise_event(item_event())
        await asyncio.wait_for(entered.wait(), 5)
        stopping = asyncio.create_task(first.stop())  # while that transaction is under way
        await asyncio.sleep(0.2)
        gate.set()
        await asyncio.wait_for(stopping, 10)
        call = await first.get_call(claimed_id)
        assert (await first.get_call(sent_id)).status == "success"
    assert (call.status, call.attempts) == ("pending", ())
    assert receiver.count(path="/hook") == 1
    async with _dispatchers(db, started=1) as (second,):
        assert await second.drain()
        sent = await second.get_call(claimed_id)
    # Given back, not left claimed: one attempt, no `interrupted` one before it.
    assert [(a.response_status, a.error) for a in sent.attempts] == [(200, None)]
    assert receiver.count(path="/hook") == 2
