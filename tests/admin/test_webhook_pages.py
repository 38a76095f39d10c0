from __future__ import annotations

import re

import pytest

from tests.admin.conftest import WEBHOOK, Admin, form_for

pytestmark = pytest.mark.anyio


@pytest.fixture
async def signed_in(admin: Admin) -> Admin:
    await admin.sign_in()
    return admin


async def test_the_list_shows_triggers_in_words_and_the_last_call(signed_in: Admin) -> None:
    assert "No webhook yet" in (await signed_in.get("/admin/webhooks")).text
    attributes = {
        **WEBHOOK,
        "events": [
            {
                "entity_type": "item",
                "event_types": ["publish", "unpublish"],
                "filters": [{"entity_type": "environment_type", "entity_ids": ["primary"]}],
            }
        ],
    }
    await signed_in.dispatcher.create_webhook(attributes)
    page = (await signed_in.get("/admin/webhooks")).text
    assert "Record: publish, unpublish (only environment type primary)" in page
    assert "none yet" in page


async def test_a_webhook_without_triggers_is_marked_as_one_that_cannot_fire(
    signed_in: Admin,
) -> None:
    await signed_in.dispatcher.create_webhook({**WEBHOOK, "events": []})  # accepted, as the CMA
    page = (await signed_in.get("/admin/webhooks")).text
    assert "none: it cannot fire" in page


async def test_create_through_the_form(signed_in: Admin) -> None:
    response = await signed_in.post(
        "/admin/webhooks/new", form_for(http_basic_user="u", http_basic_password="p:w")
    )
    assert response.status_code == 303
    [webhook] = await signed_in.dispatcher.list_webhooks()
    assert webhook.attributes() == {
        "name": "Search index",
        "url": "http://receiver.test/search",
        "custom_payload": None,
        "headers": {"X-Source": "cms"},
        "events": [
            {
                "entity_type": "item",
                "event_types": ["create"],
                "filters": [{"entity_type": "environment_type", "entity_ids": ["primary"]}],
            }
        ],
        "http_basic_user": "u",
        "http_basic_password": "p:w",
        "enabled": True,
        "payload_api_version": "3",
        "nested_items_in_payload": False,
        "auto_retry": True,
        "signing_secret": None,
    }
    assert "Webhook “Search index” saved." in (await signed_in.get("/admin/webhooks")).text


async def test_only_the_chosen_entitys_events_and_filters_are_read(signed_in: Admin) -> None:
    data = form_for(**{"trigger-0-entity_type": "upload", "trigger-0-events-upload": "delete"})
    data["trigger-0-events-item"] = "publish"  # hidden group of another entity type
    await signed_in.post("/admin/webhooks/new", data)
    [webhook] = await signed_in.dispatcher.list_webhooks()
    assert [t.to_json() for t in webhook.events] == [
        {"entity_type": "upload", "event_types": ["delete"], "filters": []}
    ]


async def test_a_validation_error_is_shown_next_to_its_field_and_the_input_kept(
    signed_in: Admin,
) -> None:
    response = await signed_in.post(
        "/admin/webhooks/new", form_for(url="ftp://nowhere", name="Kept name")
    )
    assert response.status_code == 422
    assert 'id="url-error"' in response.text
    assert "must be an absolute http or https URL" in response.text
    assert 'value="Kept name"' in response.text and 'value="ftp://nowhere"' in response.text
    assert (await signed_in.dispatcher.list_webhooks()) == []


async def test_a_trigger_error_points_at_its_row(signed_in: Admin) -> None:
    data = form_for(trigger_rows="2")
    data.pop("trigger-0-entity_type")  # row 0 left empty: not saved
    data.update({"trigger-1-entity_type": "item_type"})  # no event types chosen
    response = await signed_in.post("/admin/webhooks/new", data)
    assert response.status_code == 422
    assert 'id="trigger-1-error"' in response.text
    assert "must be a non-empty list" in response.text


@pytest.mark.parametrize("rows", ["²", "\u0663"])
async def test_a_row_count_that_is_not_plain_digits_counts_no_rows(
    signed_in: Admin, rows: str
) -> None:
    # Read as no rows (not as a crash, nor as three): the webhook is saved without triggers.
    response = await signed_in.post("/admin/webhooks/new", form_for(trigger_rows=rows))
    assert response.status_code == 303
    [webhook] = await signed_in.dispatcher.list_webhooks()
    assert webhook.events == ()


async def test_a_duplicate_name_is_shown_on_the_name(signed_in: Admin) -> None:
    await signed_in.dispatcher.create_webhook(WEBHOOK)
    response = await signed_in.post("/admin/webhooks/new", form_for(name="rebuild"))
    assert response.status_code == 422
    assert 'id="name-error"' in response.text


async def test_the_password_is_never_shown_and_kept_when_left_empty(signed_in: Admin) -> None:
    await signed_in.dispatcher.create_webhook(WEBHOOK)
    page = (await signed_in.get("/admin/webhooks/1")).text
    assert "s3cret" not in page and "A password is saved" in page
    data = form_for(name="Renamed", http_basic_user="hook")
    assert (await signed_in.post("/admin/webhooks/1", data)).status_code == 303
    webhook = await signed_in.dispatcher.get_webhook("1")
    assert (webhook.name, webhook.http_basic_password) == ("Renamed", "s3cret")
    data = form_for(http_basic_user="")  # clearing the user removes basic auth
    await signed_in.post("/admin/webhooks/1", data)
    webhook = await signed_in.dispatcher.get_webhook("1")
    assert (webhook.http_basic_user, webhook.http_basic_password) == (None, None)


async def test_add_rows_keeps_what_was_typed(signed_in: Admin) -> None:
    response = await signed_in.post(
        "/admin/webhooks/new", form_for(action="add_trigger", name="Half done")
    )
    assert response.status_code == 200
    assert 'value="Half done"' in response.text
    assert 'id="trigger-1-entity_type"' in response.text
    response = await signed_in.post("/admin/webhooks/new", form_for(action="add_header"))
    assert 'id="header-1-name"' in response.text
    assert (await signed_in.dispatcher.list_webhooks()) == []


async def test_delete_asks_first(signed_in: Admin) -> None:
    await signed_in.dispatcher.create_webhook(WEBHOOK)
    page = await signed_in.get("/admin/webhooks/1/delete")
    assert "Delete webhook “Rebuild”?" in page.text
    assert len(await signed_in.dispatcher.list_webhooks()) == 1
    response = await signed_in.post("/admin/webhooks/1/delete", {})
    assert response.status_code == 303
    assert (await signed_in.dispatcher.list_webhooks()) == []


async def test_an_unknown_webhook_is_404(signed_in: Admin) -> None:
    response = await signed_in.get("/admin/webhooks/99")
    assert response.status_code == 404
    assert "not found" in response.text


async def test_the_form_generates_a_signing_secret_and_saves_it(signed_in: Admin) -> None:
    page = await signed_in.post("/admin/webhooks/new", form_for(action="generate_secret"))
    assert page.status_code == 200
    found = re.search(r'name="signing_secret" value="(whsec_[^"]+)"', page.text)
    assert found is not None, "the form shows a new secret"
    secret = found.group(1)
    assert await signed_in.dispatcher.list_webhooks() == []  # not saved yet
    saved = await signed_in.post("/admin/webhooks/new", form_for(signing_secret=secret))
    assert saved.status_code == 303
    [webhook] = await signed_in.dispatcher.list_webhooks()
    assert webhook.signing_secret == secret
    refused = await signed_in.post(
        f"/admin/webhooks/{webhook.id}", form_for(signing_secret="whsec_short")
    )
    assert refused.status_code == 422
    assert "signing_secret-error" in refused.text
    assert (await signed_in.dispatcher.get_webhook(webhook.id)).signing_secret == secret
