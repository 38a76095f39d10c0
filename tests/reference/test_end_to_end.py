"""The dispatcher against the mock receiver over real sockets, with the real 5 s deadline."""

from __future__ import annotations

import asyncio

import pytest

from receiver import MockReceiver
from reference import Dispatcher, Settings
from tests.conftest import NewDatabase
from tests.network import slow_certificates
from tests.reference.factories import item_event, webhook_attributes

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def test_deadline_and_isolation_with_real_sockets(new_db: NewDatabase) -> None:
    settings = Settings(api_token="t", db=new_db(), retry_scale=1.0)
    with MockReceiver() as receiver:
        async with Dispatcher(settings) as dispatcher:
            for name, url in [
                ("hang", receiver.url_for("/hang", hang=1)),
                ("dribble", receiver.url_for("/dribble", dribble="body", dribble_interval=0.2)),
                ("status", receiver.url_for("/status", dribble="status", dribble_interval=0.5)),
                ("late", receiver.url_for("/late", delay=4.2)),
                ("fast", receiver.url_for("/fast")),
            ]:
                await dispatcher.create_webhook(webhook_attributes(name=name, url=url))
            ids = await dispatcher.raise_event(item_event())
            fast = await dispatcher.wait_for_call(ids[4], timeout=3)
            # contract §8: a hung receiver never delays the others.
            assert fast.status == "success"
            assert max(a.duration_ms for a in fast.attempts) < 1000
            calls = await asyncio.gather(*(dispatcher.wait_for_call(i, timeout=10) for i in ids))

    hang, dribble, status, late, _ = calls
    for call in (hang, dribble, status):
        assert (call.status, call.error) == ("rescheduled", "timeout"), call
    # The status line and headers came, the body did not finish: kept, but a failure.
    assert dribble.response_status == 200
    assert (late.status, late.response_status) == ("success", 200)
    for path, call in (("/hang", hang), ("/dribble", dribble), ("/status", status)):
        (request,) = receiver.requests(path=path)
        assert request.abandoned_at is not None
        # From the attempt's start (one clock: the receiver runs in this process), not
        # from when the receiver read the request, which a busy machine delays.
        (attempt,) = call.attempts
        cut_off = request.abandoned_at - attempt.sent_at.timestamp()
        assert 4.995 <= cut_off <= 5.6, (path, cut_off)


async def test_huge_response_is_cut_at_64_kib(new_db: NewDatabase) -> None:
    settings = Settings(api_token="t", db=new_db())
    with MockReceiver() as receiver:
        async with Dispatcher(settings) as dispatcher:
            url = receiver.url_for("/huge", huge="200MiB")
            await dispatcher.create_webhook(webhook_attributes(url=url))
            (call_id,) = await dispatcher.raise_event(item_event())
            call = await dispatcher.wait_for_call(call_id, timeout=10)
    assert call.response_status == 200
    assert call.response_payload is not None
    assert len(call.response_payload.encode()) == 64 * 1024
    (request,) = receiver.requests(path="/huge")
    assert request.abandoned_at is not None  # the dispatcher hung up instead of reading on


async def test_the_certificates_load_as_the_dispatcher_starts(
    new_db: NewDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not in the first call, where loading them (slow on a busy machine) would hold up the
    event loop and every other call with it."""
    loaded = slow_certificates(monkeypatch, 0.3)
    settings = Settings(api_token="t", db=new_db())
    with MockReceiver() as receiver:
        async with Dispatcher(settings) as dispatcher:
            assert len(loaded) == 1
            await dispatcher.create_webhook(webhook_attributes(url=receiver.url_for("/a")))
            (call_id,) = await dispatcher.raise_event(item_event())
            call = await dispatcher.wait_for_call(call_id, timeout=5)
    assert call.status == "success"
    assert len(loaded) == 1
