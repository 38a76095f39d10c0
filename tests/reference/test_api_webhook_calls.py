from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.reference.conftest import DispatcherFactory, Recorder, api_client
from tests.reference.factories import event_of, item_event, webhook_attributes

pytestmark = pytest.mark.anyio

ATTRIBUTES = [
    "entity_type",
    "event_type",
    "created_at",
    "request_url",
    "request_headers",
    "request_payload",
    "response_status",
    "response_headers",
    "response_payload",
    "error",
    "status",
    "attempted_auto_retries_count",
    "last_sent_at",
    "next_retry_at",
    "attempts",
]


async def _seed(dispatcher: Any) -> list[str]:
    """Webhook 1 gets item creates (answered 200); webhook 2 uploads (answered 500)."""
    await dispatcher.create_webhook(webhook_attributes(name="items"))
    await dispatcher.create_webhook(
        webhook_attributes(
            name="uploads",
            url="https://fail.example.com/",
            events=[{"entity_type": "upload", "event_types": ["create"]}],
        )
    )
    ids: list[str] = []
    for i in range(3):
        ids += await dispatcher.raise_event(item_event(record_id=str(i), happened_at=_at(i)))
    ids += await dispatcher.raise_event(event_of("upload", "create", "u1", happened_at=_at(3)))
    for call_id in ids:
        await dispatcher.wait_for_call(call_id)
    return ids


def _at(second: int) -> datetime:
    return datetime(2026, 11, 27, 10, 0, second, tzinfo=UTC)


async def _handler(request: httpx.Request) -> httpx.Response:
    return httpx.Response(500 if request.url.host == "fail.example.com" else 200, text="ok")


async def test_list_shape(make_dispatcher: DispatcherFactory) -> None:
    async with (
        make_dispatcher(_handler, retry_scale=1.0) as dispatcher,
        api_client(dispatcher) as api,
    ):
        ids = await _seed(dispatcher)
        body = (await api.get("/webhook_calls")).json()
    assert body["meta"] == {"total_count": 4}
    assert [c["id"] for c in body["data"]] == list(reversed(ids))  # created_at_desc
    first = body["data"][0]
    assert first["type"] == "webhook_call"
    assert list(first["attributes"]) == ATTRIBUTES
    assert first["relationships"] == {"webhook": {"data": {"type": "webhook", "id": "2"}}}
    assert sorted(w["id"] for w in body["included"]) == ["1", "2"]
    assert first["attributes"]["status"] == "rescheduled"
    assert first["attributes"]["created_at"].endswith("Z")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("filter[fields][webhook_id][eq]=1", 3),
        ("filter[fields][entity_type][eq]=upload", 1),
        ("filter[fields][event_type][eq]=create", 4),
        ("filter[fields][status][eq]=success", 3),
        ("filter[fields][status][eq]=rescheduled", 1),
        ("filter[fields][status][eq]=failed", 0),
        ("filter[fields][created_at][gt]=2000-01-01T00:00:00Z", 4),
        ("filter[fields][created_at][lt]=2000-01-01T00:00:00Z", 0),
        ("filter[fields][next_retry_at][gt]=2000-01-01T00:00:00Z", 1),
        ("filter[fields][last_sent_at][lt]=2999-01-01T00:00:00Z", 4),
        ("filter[fields][webhook_id][eq]=1&filter[fields][status][eq]=rescheduled", 0),
    ],
)
async def test_filters(make_dispatcher: DispatcherFactory, query: str, expected: int) -> None:
    async with (
        make_dispatcher(_handler, retry_scale=1.0) as dispatcher,
        api_client(dispatcher) as api,
    ):
        await _seed(dispatcher)
        body = (await api.get(f"/webhook_calls?{query}")).json()
    assert body["meta"]["total_count"] == expected == len(body["data"])


async def test_ids_paging_and_order(make_dispatcher: DispatcherFactory) -> None:
    async with (
        make_dispatcher(_handler, retry_scale=1.0) as dispatcher,
        api_client(dispatcher) as api,
    ):
        ids = await _seed(dispatcher)

        async def listed(query: str) -> list[str]:
            return [c["id"] for c in (await api.get(f"/webhook_calls?{query}")).json()["data"]]

        assert sorted(await listed(f"filter[ids]={ids[0]},{ids[2]}")) == sorted([ids[0], ids[2]])
        assert await listed("order_by=created_at_asc") == ids
        assert await listed("order_by=created_at_asc&page[offset]=1&page[limit]=2") == ids[1:3]
        assert (await listed("order_by=webhook_id_desc"))[0] == ids[3]
        assert (await listed("order_by=next_retry_at_desc"))[0] == ids[3]
        assert (await listed("order_by=next_retry_at_asc"))[-1] == ids[3]
        assert len(await listed("order_by=last_sent_at_asc")) == 4
        total = (await api.get("/webhook_calls?page[limit]=1")).json()["meta"]["total_count"]
        assert total == 4


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page[limit]=0", "page[limit]"),
        ("page[limit]=501", "page[limit]"),
        ("page[offset]=-1", "page[offset]"),
        ("page[size]=3", "page[size]"),
        ("order_by=status_asc", "order_by"),
        ("order_by=created_at", "order_by"),
        ("filter[fields][status][eq]=done", "filter[fields][status][eq]"),
        ("filter[fields][created_at][gt]=yesterday", "filter[fields][created_at][gt]"),
        ("filter[fields][status][gt]=x", "filter[fields][status][gt]"),
        ("filter[fields][colour][eq]=red", "filter[fields][colour][eq]"),
    ],
)
async def test_bad_queries_name_the_parameter(
    make_dispatcher: DispatcherFactory, query: str, field: str
) -> None:
    async with make_dispatcher() as dispatcher, api_client(dispatcher) as api:
        response = await api.get(f"/webhook_calls?{query}")
    assert response.status_code == 422
    assert response.json()["data"][0]["attributes"]["details"]["field"] == field


async def test_show(make_dispatcher: DispatcherFactory, recorder: Recorder) -> None:
    async with make_dispatcher(recorder) as dispatcher, api_client(dispatcher) as api:
        await dispatcher.create_webhook(
            webhook_attributes(http_basic_user="user", http_basic_password="secret")
        )
        (call_id,) = await dispatcher.raise_event(item_event())
        await dispatcher.wait_for_call(call_id)
        body = (await api.get(f"/webhook_calls/{call_id}")).json()
    attributes = body["data"]["attributes"]
    assert attributes["request_headers"]["Authorization"] == "Basic ***"
    assert "secret" not in str(attributes)
    assert [w["id"] for w in body["included"]] == ["1"]
    (attempt,) = attributes["attempts"]
    assert attempt["trigger"] == "event" and attempt["response_status"] == 200


async def test_resend_uses_current_settings_and_updates_the_same_call(
    make_dispatcher: DispatcherFactory, recorder: Recorder
) -> None:
    recorder.statuses = [500]
    async with (
        make_dispatcher(recorder, retry_scale=1.0) as dispatcher,
        api_client(dispatcher) as api,
    ):
        webhook = await dispatcher.create_webhook(webhook_attributes())
        (call_id,) = await dispatcher.raise_event(item_event())
        await dispatcher.wait_for_call(call_id, "rescheduled")
        await dispatcher.update_webhook(
            webhook.id, {"url": "https://v2.example.com/", "enabled": False}
        )
        response = await api.post(f"/webhook_calls/{call_id}/resend_webhook")
        assert response.status_code == 204
        call = await dispatcher.wait_for_call(call_id, "success")
        total = (await api.get("/webhook_calls")).json()["meta"]["total_count"]
    assert total == 1
    assert str(recorder.requests[-1].url) == "https://v2.example.com/"
    assert call.next_retry_at is None  # a successful resend cancels the retries
    assert [a.trigger for a in call.attempts] == ["event", "manual"]
    assert recorder.payloads()[-1]["webhook_call_id"] == call_id


async def test_a_failed_resend_leaves_the_retry_schedule(
    make_dispatcher: DispatcherFactory, recorder: Recorder
) -> None:
    recorder.status = 500
    async with (
        make_dispatcher(recorder, retry_scale=1.0) as dispatcher,
        api_client(dispatcher) as api,
    ):
        await dispatcher.create_webhook(webhook_attributes())
        (call_id,) = await dispatcher.raise_event(item_event())
        before = await dispatcher.wait_for_call(call_id, "rescheduled")
        assert (await api.post(f"/webhook_calls/{call_id}/resend_webhook")).status_code == 204
        after = await dispatcher.wait_for_call(call_id, attempts=2)
    assert len(after.attempts) == 2 and after.attempts[1].trigger == "manual"
    assert after.status == "rescheduled"
    assert after.next_retry_at == before.next_retry_at
    assert after.attempted_auto_retries_count == before.attempted_auto_retries_count == 0


async def test_a_failed_resend_of_a_finished_call_fails_it(
    make_dispatcher: DispatcherFactory, recorder: Recorder
) -> None:
    recorder.statuses = [200, 500]
    async with make_dispatcher(recorder) as dispatcher, api_client(dispatcher) as api:
        await dispatcher.create_webhook(webhook_attributes())
        (call_id,) = await dispatcher.raise_event(item_event())
        await dispatcher.wait_for_call(call_id, "success")
        await api.post(f"/webhook_calls/{call_id}/resend_webhook")
        call = await dispatcher.wait_for_call(call_id, "failed")
    assert (call.response_status, call.next_retry_at, call.attempted_auto_retries_count) == (
        500,
        None,
        0,
    )


async def test_resend_of_a_deleted_webhooks_call_is_refused(
    make_dispatcher: DispatcherFactory, recorder: Recorder
) -> None:
    async with make_dispatcher(recorder) as dispatcher, api_client(dispatcher) as api:
        webhook = await dispatcher.create_webhook(webhook_attributes())
        (call_id,) = await dispatcher.raise_event(item_event())
        await dispatcher.wait_for_call(call_id)
        await dispatcher.delete_webhook(webhook.id)
        response = await api.post(f"/webhook_calls/{call_id}/resend_webhook")
        listed = (await api.get(f"/webhook_calls/{call_id}")).json()
    assert response.status_code == 422
    assert response.json()["data"][0]["attributes"]["details"]["field"] == "webhook"
    assert listed["included"] == []
    assert len(recorder.requests) == 1


async def test_a_calls_own_time_as_a_bound_leaves_it_out(
    make_dispatcher: DispatcherFactory, recorder: Recorder
) -> None:
    async with make_dispatcher(recorder) as dispatcher, api_client(dispatcher) as api:
        await dispatcher.create_webhook(webhook_attributes())
        moment = datetime(2026, 11, 27, 4, 20, 48, 360457, tzinfo=UTC)
        (call_id,) = await dispatcher.raise_event(item_event(happened_at=moment))
        await dispatcher.wait_for_call(call_id)
        shown = (await api.get(f"/webhook_calls/{call_id}")).json()["data"]["attributes"]
        for name in ("created_at", "last_sent_at"):
            for op in ("gt", "lt"):
                query = f"filter[fields][{name}][{op}]={shown[name]}"
                body = (await api.get(f"/webhook_calls?{query}")).json()
                assert body["meta"]["total_count"] == 0, query


@pytest.mark.parametrize(
    ("path", "status", "count"),
    [
        ("/webhook_calls/\u0663", 404, None),  # Arabic-Indic three: not call 3
        ("/webhook_calls?filter[ids]=\u0663,\u0661", 200, 0),
        ("/webhook_calls?filter[fields][webhook_id][eq]=\u0661", 200, 0),
    ],
)
async def test_ids_are_ascii_digits(
    make_dispatcher: DispatcherFactory, path: str, status: int, count: int | None
) -> None:
    async with (
        make_dispatcher(_handler, retry_scale=1.0) as dispatcher,
        api_client(dispatcher) as api,
    ):
        await _seed(dispatcher)
        response = await api.get(path)
    assert response.status_code == status
    if count is not None:
        assert response.json()["meta"]["total_count"] == count
