"""The admin in a real browser: Chromium driven by Playwright against a live server."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from reference.events import Event
from tests.admin.conftest import TOKEN, WEBHOOK, Receiver, sign_in
from tests.admin.live import LiveServer


def publish(live: LiveServer, entity_id: str = "7") -> str:
    entity = {"id": entity_id, "type": "item", "attributes": {}, "relationships": {}, "meta": {}}
    [call_id] = live.run(live.dispatcher.raise_event(Event("item", "publish", entity)))
    live.run(live.dispatcher.wait_for_call(call_id, "success", "failed"))
    return call_id


def test_a_wrong_token_is_refused(page: Page, live: LiveServer) -> None:
    sign_in(page, live, "wrong")
    expect(page.get_by_text("That is not the API token.")).to_be_visible()
    expect(page.get_by_label("API token")).to_have_attribute("aria-invalid", "true")
    page.goto(f"{live.url}/admin/webhooks")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_create_a_webhook_watch_its_calls_and_resend_one(
    page: Page, live: LiveServer, receiver: Receiver
) -> None:
    sign_in(page, live)
    expect(page.get_by_text("No webhook yet")).to_be_visible()

    page.get_by_role("link", name="New webhook").click()
    page.get_by_label("Name", exact=True).fill("Rebuild the site")
    page.get_by_label("URL", exact=True).fill("rebuild-please")
    page.get_by_label("Entity type").select_option("item")
    # Only the events and filters of records can be reached now (contract §3):
    expect(page.get_by_role("textbox", name="Only environment type ids")).to_be_visible()
    expect(page.get_by_role("checkbox", name="promote")).to_have_count(0)
    expect(page.locator("#trigger-0-upload-create")).to_be_hidden()
    page.get_by_role("checkbox", name="publish", exact=True).check()
    page.get_by_label("Retry failed calls automatically").uncheck()
    page.get_by_role("button", name="Save webhook").click()

    expect(page.locator("#url-error")).to_contain_text("must be an absolute http or https URL")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Rebuild the site")
    expect(page.locator("#trigger-0-item-publish")).to_be_checked()
    page.get_by_label("URL", exact=True).fill("http://receiver.test/rebuild")
    page.get_by_role("button", name="Save webhook").click()

    expect(page.get_by_role("status")).to_have_text("Webhook “Rebuild the site” saved.")
    expect(page.get_by_role("cell", name="Record: publish")).to_be_visible()

    receiver.statuses = [500]
    failed = publish(live)
    publish(live)
    page.get_by_role("link", name="Webhooks activity log").click()
    expect(page.get_by_text("2 calls, newest first.")).to_be_visible()
    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("1 call, newest first.")).to_be_visible()

    page.get_by_role("link", name=f"Call {failed}").click()
    expect(page.locator("#call-status")).to_have_text("Failed")
    expect(page.locator("#response-status")).to_have_text("500")
    page.get_by_role("button", name="Resend now").click()
    expect(page.locator("#resend-outcome")).to_have_text("Resent: Success, HTTP 200.")
    expect(page.locator("#call-status")).to_have_text("Success")
    expect(page.get_by_role("cell", name="resend")).to_be_visible()


def test_a_forged_form_post_is_refused(page: Page, live: LiveServer) -> None:
    live.run(live.dispatcher.create_webhook(WEBHOOK))
    sign_in(page, live)
    # The session's cookie, but not its CSRF token:
    response = page.request.post(
        f"{live.url}/admin/webhooks/1/delete", form={"csrf_token": "forged"}
    )
    assert response.status == 403
    # A page on another site posting the same form (the cookie is SameSite=Lax):
    page.set_content(
        f'<form method="post" action="{live.url}/admin/webhooks/1/delete">'
        '<input name="csrf_token" value="guess"><button>Go</button></form>'
    )
    page.get_by_role("button", name="Go").click()
    expect(
        page.get_by_role("heading", name="Form refused").or_(page.get_by_text("Sign in first"))
    ).to_be_visible()
    listed = httpx.get(f"{live.url}/webhooks", headers={"Authorization": f"Bearer {TOKEN}"})
    assert [w["attributes"]["name"] for w in listed.json()["data"]] == ["Rebuild"]


def test_pages_fit_a_phone_screen(page: Page, live: LiveServer) -> None:
    live.run(live.dispatcher.create_webhook(WEBHOOK))
    publish(live)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live)
    for path in ["/admin/webhooks", "/admin/webhooks/1", "/admin/activity", "/admin/activity/1"]:
        page.goto(live.url + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow}px too wide for a phone"
