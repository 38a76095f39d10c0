from __future__ import annotations

import html

import pytest
from starlette.datastructures import QueryParams

from reference.admin.activity import PAGE_SIZE, CallFilters, masked_headers
from reference.events import Event
from tests.admin.conftest import WEBHOOK, Admin, Receiver

pytestmark = pytest.mark.anyio


def record(event_type: str = "publish", entity_id: str = "7") -> Event:
    entity = {"id": entity_id, "type": "item", "attributes": {}, "relationships": {}, "meta": {}}
    return Event("item", event_type, entity)


@pytest.fixture
async def signed_in(admin: Admin) -> Admin:
    await admin.sign_in()
    await admin.dispatcher.create_webhook({**WEBHOOK, "auto_retry": False})
    return admin


async def raise_and_wait(admin: Admin, event: Event) -> str:
    [call_id] = await admin.dispatcher.raise_event(event)
    await admin.dispatcher.wait_for_call(call_id, "success", "failed")
    return call_id


async def test_the_log_lists_and_filters_calls(signed_in: Admin, receiver: Receiver) -> None:
    receiver.statuses = [500]
    failed = await raise_and_wait(signed_in, record())
    ok = await raise_and_wait(signed_in, record())
    page = (await signed_in.get("/admin/activity")).text
    assert "2 calls, newest first." in page
    assert page.index(f"Call {ok}<") < page.index(f"Call {failed}<")
    page = (await signed_in.get("/admin/activity", params={"status": "failed"})).text
    assert "1 call," in page and f"Call {failed}<" in page and f"Call {ok}<" not in page
    page = (await signed_in.get("/admin/activity", params={"event_type": "create"})).text
    assert "0 calls" in page
    page = (await signed_in.get("/admin/activity", params={"date_from": "2000-01-01"})).text
    assert "2 calls" in page
    page = (await signed_in.get("/admin/activity", params={"date_to": "2000-01-01"})).text
    assert "0 calls" in page


async def test_bad_filters_are_dropped_with_a_note(signed_in: Admin) -> None:
    page = (await signed_in.get("/admin/activity?status=lost&date_from=yesterday")).text
    assert "Unknown status" in page and "is not a date" in page


async def test_paging(signed_in: Admin) -> None:
    await signed_in.dispatcher.raise_events(
        [record(entity_id=str(i)) for i in range(PAGE_SIZE + 1)]
    )
    await signed_in.dispatcher.drain()
    first = html.unescape((await signed_in.get("/admin/activity")).text)
    assert "Page 1 of 2" in first and "?page=2" in first
    second = html.unescape((await signed_in.get("/admin/activity?page=2")).text)
    assert "Page 2 of 2" in second and second.count('">Call ') == 1


def test_filters_keep_each_other_when_paging() -> None:
    filters, problems = CallFilters.from_query(QueryParams("status=failed&webhook=3&page=2"))
    assert problems == []
    assert filters.params(page=3) == "webhook=3&status=failed&page=3"
    assert filters.params(page=1) == "webhook=3&status=failed"


def test_credentials_are_masked() -> None:
    shown = masked_headers(
        {"Authorization": "Basic ***", "X-Api-Key": "k", "X-Token": "Bearer t", "Accept": "*/*"}
    )
    assert shown == [
        ("Authorization", "Basic ***"),
        ("X-Api-Key", "***"),
        ("X-Token", "Bearer ***"),
        ("Accept", "*/*"),
    ]


async def test_the_detail_view(signed_in: Admin) -> None:
    call_id = await raise_and_wait(signed_in, record())
    page = html.unescape((await signed_in.get(f"/admin/activity/{call_id}")).text)
    assert 'POST <code class="url">http://receiver.test/hook</code>' in page
    assert "Basic ***" in page and "s3cret" not in page
    assert '"event_type": "publish"' in page  # pretty-printed JSON
    assert "x-receiver" in page.lower() and '"answer": 200' in page
    assert "Resend now" in page and "the event" in page


async def test_resend_now_shows_the_new_outcome(signed_in: Admin, receiver: Receiver) -> None:
    receiver.statuses = [503]
    call_id = await raise_and_wait(signed_in, record())
    response = await signed_in.post(
        f"/admin/activity/{call_id}/resend", {}, page=f"/admin/activity/{call_id}"
    )
    assert response.status_code == 303
    page = (await signed_in.get(response.headers["location"])).text
    assert 'id="resend-outcome">Resent: Success, HTTP 200.' in page
    assert "resend" in page and 'http-equiv="refresh"' not in page


async def test_a_call_of_a_deleted_webhook_cannot_be_resent(signed_in: Admin) -> None:
    call_id = await raise_and_wait(signed_in, record())
    await signed_in.dispatcher.delete_webhook("1")
    page = (await signed_in.get(f"/admin/activity/{call_id}")).text
    assert "Resend now" not in page and "cannot be resent" in page
    response = await signed_in.post(f"/admin/activity/{call_id}/resend", {}, page="/admin/activity")
    page = (await signed_in.get(response.headers["location"])).text
    assert "was deleted; its calls cannot be resent" in page


async def test_an_unknown_call_is_404(signed_in: Admin) -> None:
    assert (await signed_in.get("/admin/activity/999")).status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        "page=²",  # a digit to str.isdigit, not to int()
        "page=\u0663",  # Arabic-Indic three: a decimal to Python, not to a URL
        "page=99999999999999999999999",
        "webhook=99999999999999999999999",
    ],
)
async def test_a_page_or_webhook_that_is_not_plain_digits_shows_the_first_page(
    signed_in: Admin, query: str
) -> None:
    await raise_and_wait(signed_in, record())
    response = await signed_in.get(f"/admin/activity?{query}")
    assert response.status_code == 200
    assert "Page 1 of 1" in html.unescape(response.text)


@pytest.mark.parametrize("awaiting", ["²", "\u0663", "99999999999999999999999"])
async def test_a_call_page_awaiting_a_count_that_is_not_plain_digits_waits_for_nothing(
    signed_in: Admin, awaiting: str
) -> None:
    call_id = await raise_and_wait(signed_in, record())
    response = await signed_in.get(f"/admin/activity/{call_id}?awaiting={awaiting}")
    assert response.status_code == 200
    assert 'http-equiv="refresh"' not in response.text


def test_only_ascii_digits_are_a_page_or_a_webhook() -> None:
    filters, problems = CallFilters.from_query(QueryParams("webhook=\u0661&page=\u0663"))
    assert (filters.webhook, filters.page, problems) == ("", 1, [])
