"""The README's screenshots, one per page, made here rather than by hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from reference.events import Event
from tests.admin.conftest import ROOT, WEBHOOK, Receiver, live_server, sign_in
from tests.admin.live import LiveServer
from tests.conftest import NewDatabase

MOMENT = datetime(2026, 11, 27, 10, 5, tzinfo=UTC)
SCREENSHOTS = ROOT / "docs" / "screenshots"
GUIDE_TEMPLATE = (
    '{"message": "{{event_type}} event triggered on {{entity_type}}!",\n'
    ' "entity_id": "{{#entity}}{{id}}{{/entity}}"}'
)
WEBHOOKS: list[dict[str, Any]] = [
    {**WEBHOOK, "name": "Rebuild the site", "url": "https://ci.example.com/hooks/rebuild"},
    {
        **WEBHOOK,
        "name": "Search index",
        "url": "https://search.example.com/index/{{entity.id}}",
        "custom_payload": GUIDE_TEMPLATE,
        "http_basic_user": None,
        "http_basic_password": None,
        "events": [
            {
                "entity_type": "item",
                "event_types": ["create", "update", "publish"],
                "filters": [{"entity_type": "environment_type", "entity_ids": ["primary"]}],
            },
            {"entity_type": "upload", "event_types": ["create", "delete"]},
        ],
    },
    {
        **WEBHOOK,
        "name": "Failing receiver",
        "url": "https://flaky.example.com/hook",
        "events": [{"entity_type": "item", "event_types": ["publish"]}],
        "enabled": True,
    },
]


def shoot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000


@pytest.fixture
def seeded(new_db: NewDatabase, receiver: Receiver) -> Iterator[LiveServer]:
    """Three webhooks and six calls, at a fixed time so that the pictures do not change."""
    with live_server(new_db(), receiver, clock=lambda: MOMENT) as live:
        seed(live, receiver)
        yield live


def seed(live: LiveServer, receiver: Receiver) -> None:
    for attributes in WEBHOOKS:
        live.run(live.dispatcher.create_webhook(attributes))
    # Per publish: the three webhooks are called in order; the third answers 503.
    receiver.statuses = [200, 200, 503, 200, 200, 503]
    for entity_id in ("42", "43"):
        entity = {
            "id": entity_id,
            "type": "item",
            "attributes": {"title": f"Article {entity_id}"},
            "relationships": {},
            "meta": {"status": "published"},
        }
        event = Event("item", "publish", entity, happened_at=MOMENT)
        call_ids = live.run(live.dispatcher.raise_event(event))
        for call_id in call_ids:
            live.run(live.dispatcher.wait_for_call(call_id, "success", "rescheduled", "failed"))


def test_screenshots_of_every_page(page: Page, seeded: LiveServer) -> None:
    base = seeded.url + "/admin"
    page.goto(base + "/")
    expect(page.get_by_label("API token")).to_be_visible()
    shoot(page, "sign-in")

    sign_in(page, seeded)
    expect(
        page.get_by_role(
            "heading", name="Settings \N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK} Webhooks"
        )
    ).to_be_visible()
    shoot(page, "webhooks")

    page.goto(base + "/webhooks/2")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("heading", name="Preview for a sample item create")).to_be_visible()
    shoot(page, "webhook-form")

    page.goto(base + "/webhooks/3/delete")
    shoot(page, "webhook-delete")

    page.goto(base + "/activity")
    expect(page.get_by_text("6 calls, newest first.")).to_be_visible()
    shoot(page, "activity-log")

    page.get_by_role("link", name="Call 6").click()
    expect(page.locator("#call-status")).to_have_text("Rescheduled")
    shoot(page, "call")

    page.set_viewport_size({"width": 390, "height": 844})
    for path, name in [("/webhooks", "webhooks-phone"), ("/activity", "activity-log-phone")]:
        page.goto(base + path)
        shoot(page, name)


def test_screenshots_are_where_the_readme_points(tmp_path: Path) -> None:
    text = (ROOT / "README.md").read_text("utf-8")
    for name in ["sign-in", "webhooks", "webhook-form", "webhook-delete", "activity-log", "call"]:
        assert f"docs/screenshots/{name}.png" in text
        assert (ROOT / "docs" / "screenshots" / f"{name}.png").exists()
