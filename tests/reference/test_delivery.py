from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest

from reference.calls import AttemptTrigger
from tests.reference.conftest import DispatcherFactory, Recorder
from tests.reference.factories import event_of, item_event, webhook_attributes

pytestmark = pytest.mark.anyio


async def test_a_matching_event_is_delivered_and_logged(
    make_dispatcher: DispatcherFactory, recorder: Recorder
) -> None:
    async with make_dispatcher(recorder) as dispatcher:
        webhook = await dispatcher.create_webhook(
            webhook_attributes(http_basic_user="u", http_basic_password="p:w")
        )
        (call_id,) = await dispatcher.raise_event(item_event("create"))
        call = await dispatcher.wait_for_call(call_id)
    assert call.status == "success"
    assert call.response_status == 200
    assert call.response_payload == "answer 200"
    assert call.response_headers is not None
    assert call.response_headers["x-receiver"] == "yes"
    assert call.error is None
    assert call.request_url == "https://hooks.example.com/dato"
    assert call.request_headers is not None
    assert call.request_headers["Authorization"] == "Basic ***"
    assert call.request_headers["x-webhook-id"] == webhook.id
    assert json.loads(call.request_payload or "")["webhook_call_id"] == call_id
    (attempt,) = call.attempts
    assert (attempt.trigger, attempt.response_status, attempt.error) == (
        AttemptTrigger.EVENT,
        200,
        None,
    )
    (request,) = recorder.requests
    assert request.headers["authorization"] != "Basic ***"
    assert request.headers["x-site-id"] == "4242"


async def test_one_call_per_webhook_however_many_triggers_match(
    make_dispatcher: DispatcherFactory, recorder: Recorder
) -> None:
    events = [
        {"entity_type": "item", "event_types": ["create"]},
        {"entity_type": "item", "event_types": ["create", "update"]},
    ]
    async with make_dispatcher(recorder) as dispatcher:
        await dispatcher.create_webhook(webhook_attributes(name="a", events=events))
        await dispatcher.create_webhook(webhook_attributes(name="b", events=events))
        await dispatcher.create_webhook(webhook_attributes(name="c", enabled=False))
        await dispatcher.create_webhook(
            webhook_attributes(
                name="d", events=[{"entity_type": "upload", "event_types": ["create"]}]
            )
        )
        ids = await dispatcher.raise_event(item_event("create"))
        assert len(ids) == 2
        assert await dispatcher.drain()
    assert len(recorder.requests) == 2


async def test_every_call_is_logged_exactly_once_under_load(
    make_dispatcher: DispatcherFactory, recorder: Recorder
) -> None:
    async with make_dispatcher(recorder) as dispatcher:
        for name in "abc":
            await dispatcher.create_webhook(webhook_attributes(name=name))
        ids = await asyncio.gather(*(dispatcher.raise_event(item_event()) for _ in range(200)))
        assert await dispatcher.drain(timeout=30)
        from reference.store import CallQuery

        calls, total = await dispatcher.list_calls(CallQuery(limit=500))
    assert total == 600 == sum(len(i) for i in ids)
    assert all(c.status == "success" and len(c.attempts) == 1 for c in calls)
    assert len(recorder.requests) == 600


async def test_retries_follow_the_schedule_then_fail(
    make_dispatcher: DispatcherFactory, recorder: Recorder
) -> None:
    recorder.status = 500
    async with make_dispatcher(recorder, retry_scale=0.00001) as dispatcher:
        await dispatcher.create_webhook(webhook_attributes())
        (call_id,) = await dispatcher.raise_event(item_event())
        call = await dispatcher.wait_for_call(call_id, "failed", timeout=30)
    assert len(call.attempts) == 8
    assert [a.trigger for a in call.attempts] == [AttemptTrigger.EVENT] + [
        AttemptTrigger.AUTO_RETRY
    ] * 7
    assert call.attempted_auto_retries_count == 7
    assert call.next_retry_at is None
    # contract §5: 0 on the first attempt, n on the n-th retry.
    assert [p["attempted_auto_retries_count"] for p in recorder.payloads()] == list(range(8))
    gaps = [
        (b.sent_at - a.sent_at).total_seconds()
        for a, b in zip(call.attempts, call.attempts[1:], strict=False)
    ]
    minimum = [d * 0.00001 for d in (120, 360, 1800, 3600, 18000, 86400, 172800)]
    assert all(gap >= low for gap, low in zip(gaps, minimum, strict=True)), gaps
    assert gaps[-1] > gaps[0]


async def test_rescheduled_call_has_next_retry_at(
    make_dispatcher: DispatcherFactory, recorder: Recorder
) -> None:
    recorder.status = 503
    async with make_dispatcher(recorder, retry_scale=1.0) as dispatcher:
        await dispatcher.create_webhook(webhook_attributes())
        (call_id,) = await dispatcher.raise_event(item_event())
        call = await dispatcher.wait_for_call(call_id)
    assert call.status == "rescheduled"
    assert call.attempted_auto_retries_count == 0
    assert call.last_sent_at is not None and call.next_retry_at is not None
    assert call.next_retry_at - call.last_sent_at == timedelta(minutes=2)


async def test_without_auto_retry_a_failure_is_final(
    make_dispatcher: DispatcherFactory, recorder: Recorder
) -> None:
    recorder.status = 404
    async with make_dispatcher(recorder) as dispatcher:
        await dispatcher.create_webhook(webhook_attributes(auto_retry=False))
        (call_id,) = await dispatcher.raise_event(item_event())
        call = await dispatcher.wait_for_call(call_id)
    assert (call.status, call.next_retry_at, len(call.attempts)) == ("failed", None, 1)


async def test_a_retry_uses_the_webhook_as_it_is_then(
    make_dispatcher: DispatcherFactory, recorder: Recorder
) -> None:
    recorder.statuses = [500]
    async with make_dispatcher(recorder, retry_scale=0.01) as dispatcher:
        webhook = await dispatcher.create_webhook(webhook_attributes())
        (call_id,) = await dispatcher.raise_event(item_event())
        await dispatcher.wait_for_call(call_id, "rescheduled")
        await dispatcher.update_webhook(
            webhook.id, {"url": "https://new.example.com/x", "headers": {"X-New": "1"}}
        )
        call = await dispatcher.wait_for_call(call_id, "success")
    assert str(recorder.requests[1].url) == "https://new.example.com/x"
    assert recorder.requests[1].headers["x-new"] == "1"
    assert call.request_url == "https://new.example.com/x"


async def test_redirects_are_failures_and_not_followed(
    make_dispatcher: DispatcherFactory,
) -> None:
    seen: list[str] = []

    async def redirect(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"Location": "https://elsewhere.example.com/"})

    async with make_dispatcher(redirect) as dispatcher:
        await dispatcher.create_webhook(webhook_attributes(auto_retry=False))
        (call_id,) = await dispatcher.raise_event(item_event())
        call = await dispatcher.wait_for_call(call_id)
    assert (call.status, call.response_status) == ("failed", 302)
    assert seen == ["https://hooks.example.com/dato"]


async def test_a_hung_receiver_does_not_delay_another(make_dispatcher: DispatcherFactory) -> None:
    release = asyncio.Event()
    fast_done: list[float] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "hung.example.com":
            await release.wait()
        else:
            fast_done.append(time.monotonic())
        return httpx.Response(200)

    async with make_dispatcher(
        handler, deadline=3.0, connect_timeout=1.0, max_in_flight=100, max_in_flight_per_webhook=8
    ) as dispatcher:
        await dispatcher.create_webhook(
            webhook_attributes(name="hung", url="https://hung.example.com/")
        )
        await dispatcher.create_webhook(
            webhook_attributes(name="fast", url="https://fast.example.com/")
        )
        start = time.monotonic()
        for _ in range(50):
            await dispatcher.raise_event(item_event())
        while len(fast_done) < 50:
            await dispatcher.delivery.flushed_after(dispatcher.delivery.flush_count)
        elapsed = max(fast_done) - start
        release.set()
    assert elapsed < 2.0, elapsed  # well inside the hung receiver's 3 s deadline


async def test_the_deadline_cuts_a_hung_receiver(make_dispatcher: DispatcherFactory) -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(60)
        return httpx.Response(200)

    async with make_dispatcher(hang, deadline=0.3, connect_timeout=0.2) as dispatcher:
        await dispatcher.create_webhook(webhook_attributes(auto_retry=False))
        (call_id,) = await dispatcher.raise_event(item_event())
        call = await dispatcher.wait_for_call(call_id)
    assert (call.status, call.error, call.response_status) == ("failed", "timeout", None)
    assert 300 <= call.attempts[0].duration_ms < 1000


async def test_calls_of_a_deleted_webhook_stop(
    make_dispatcher: DispatcherFactory, recorder: Recorder
) -> None:
    recorder.status = 500
    async with make_dispatcher(recorder, retry_scale=1.0) as dispatcher:
        webhook = await dispatcher.create_webhook(webhook_attributes())
        (call_id,) = await dispatcher.raise_event(item_event())
        await dispatcher.wait_for_call(call_id, "rescheduled")
        await dispatcher.delete_webhook(webhook.id)
        call = await dispatcher.get_call(call_id)
    assert (call.status, call.next_retry_at) == ("failed", None)
    assert len(call.attempts) == 1


async def test_events_outside_environments(
    make_dispatcher: DispatcherFactory, recorder: Recorder
) -> None:
    async with make_dispatcher(recorder) as dispatcher:
        await dispatcher.create_webhook(
            webhook_attributes(events=[{"entity_type": "sso_user", "event_types": ["create"]}])
        )
        (call_id,) = await dispatcher.raise_event(event_of("sso_user", "create", "u1"))
        await dispatcher.wait_for_call(call_id)
    (payload,) = recorder.payloads()
    assert (payload["environment"], payload["is_environment_primary"]) == ("main", True)
    assert "x-environment" not in recorder.requests[0].headers


async def test_a_store_error_does_not_end_delivery(
    make_dispatcher: DispatcherFactory, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with make_dispatcher(recorder) as dispatcher:
        await dispatcher.create_webhook(webhook_attributes())
        claim = dispatcher.store.calls.claim
        failures = [RuntimeError("database is locked")]

        def flaky_claim(*args: Any) -> Any:
            if failures:
                raise failures.pop()
            return claim(*args)

        monkeypatch.setattr(dispatcher.store.calls, "claim", flaky_claim)
        (call_id,) = await dispatcher.raise_event(item_event())
        call = await dispatcher.wait_for_call(call_id, timeout=5)
    assert call.status == "success" and failures == []


async def test_a_saturated_webhook_does_not_make_delivery_spin(
    make_dispatcher: DispatcherFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return httpx.Response(200)

    async with make_dispatcher(hang, max_in_flight_per_webhook=2) as dispatcher:
        await dispatcher.create_webhook(webhook_attributes())
        claims = 0
        claim = dispatcher.store.calls.claim

        def counting_claim(*args: Any) -> Any:
            nonlocal claims
            claims += 1
            return claim(*args)

        monkeypatch.setattr(dispatcher.store.calls, "claim", counting_claim)
        for _ in range(10):  # 2 in flight, 8 due and left waiting for a slot
            await dispatcher.raise_event(item_event())
        start = claims
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):
                await dispatcher.delivery.flushed_after(dispatcher.delivery.flush_count)
        assert claims - start < 10, "delivery kept claiming while the webhook was at its limit"
        release.set()
        assert await dispatcher.drain(timeout=5)


async def _nul_answer(request: httpx.Request) -> httpx.Response:
    await request.aread()
    return httpx.Response(200, content=b"a\x00b")


@pytest.mark.every_backend
async def test_a_nul_in_the_answer_is_logged_as_u_fffd(
    make_dispatcher: DispatcherFactory, backend: str
) -> None:
    async with make_dispatcher(_nul_answer) as dispatcher:
        await dispatcher.create_webhook(webhook_attributes())
        (call_id,) = await dispatcher.raise_event(item_event())
        call = await dispatcher.wait_for_call(call_id, "success", timeout=5)
    assert call.response_payload == "a\ufffdb"


@pytest.mark.every_backend
async def test_a_nul_in_the_payload_is_sent_and_logged_as_u_fffd(
    make_dispatcher: DispatcherFactory, recorder: Recorder, backend: str
) -> None:
    async with make_dispatcher(recorder) as dispatcher:
        await dispatcher.create_webhook(webhook_attributes(custom_payload="a\x00b"))
        (call_id,) = await dispatcher.raise_event(item_event())
        call = await dispatcher.wait_for_call(call_id, "success", timeout=5)
    assert [r.content for r in recorder.requests] == [b"a\x00b"]
    assert call.request_payload == "a\ufffdb"


async def test_a_fault_after_the_answer_records_the_attempt_and_fails_the_call(
    make_dispatcher: DispatcherFactory,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A bug in scheduling or in the log line must not leave the call claimed and
    # unrecorded until the next restart.
    import reference.delivery

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in the schedule")

    recorder.status = 503
    async with make_dispatcher(recorder) as dispatcher:
        monkeypatch.setattr(reference.delivery, "next_state", broken)
        monkeypatch.setattr(dispatcher.delivery, "_observe", broken)
        await dispatcher.create_webhook(webhook_attributes())
        (call_id,) = await dispatcher.raise_event(item_event())
        call = await dispatcher.wait_for_call(call_id, "failed", timeout=5)
    assert (call.response_status, call.response_payload) == (503, "answer 503")
    assert len(call.attempts) == 1 and call.next_retry_at is None
    logged = [r.getMessage() for r in caplog.records if r.exc_info]
    assert f"cannot schedule what follows call {call_id}'s attempt; it fails" in logged
    assert f"cannot log or count the attempt of call {call_id}" in logged


async def test_a_sender_that_raises_is_a_failed_attempt_retried_on_the_schedule(
    make_dispatcher: DispatcherFactory,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with make_dispatcher(recorder) as dispatcher:
        sender = dispatcher.delivery._sender
        send = sender.send
        faults = [ValueError("a bug in the sender")]

        async def raising_once(request: Any) -> Any:
            if faults:
                raise faults.pop()
            return await send(request)

        monkeypatch.setattr(sender, "send", raising_once)
        await dispatcher.create_webhook(webhook_attributes())
        (call_id,) = await dispatcher.raise_event(item_event())
        call = await dispatcher.wait_for_call(call_id, "success", attempts=2, timeout=10)
    first, second = call.attempts
    assert (first.error, first.response_status) == ("connection_error", None)
    assert first.error_detail == "the dispatcher failed while sending it (ValueError)"
    assert (second.trigger, second.response_status) == (AttemptTrigger.AUTO_RETRY, 200)
    assert len(recorder.requests) == 1
    assert any(r.getMessage() == f"the sender failed on call {call_id}" for r in caplog.records)
