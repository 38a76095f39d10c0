"""No input to the admin is answered with a 5xx: odd filter values, ids and form fields
get the page as it is without them, a 404 or the form again with its errors."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.admin.conftest import WEBHOOK, Admin, form_for

pytestmark = pytest.mark.anyio

VALUES = [
    "",
    "0",
    "-1",
    "²",  # a digit to str.isdigit, not to int()
    "\u0663",  # Arabic-Indic three: a decimal to Python
    "9" * 23,
    "9" * 5000,  # past the 4,300 digits int() reads
    "%00",
    "\x00",
    "a" * 5000,
    "1e999",
    "nan",
    "[]",
    "<b>",
    "2024-13-45",
    "0001-01-01",  # the first and last days Python has: no day before or after them
    "9999-12-31",
]
FILTERS = ["webhook", "status", "entity_type", "event_type", "date_from", "date_to", "page"]
FIELDS = [
    "name",
    "url",
    "custom_payload",
    "header_rows",
    "trigger_rows",
    "auto_retry",
    "enabled",
    "payload_api_version",
    "http_basic_user",
    "http_basic_password",
    "trigger-0-entity_type",
    "trigger-0-event_types",
    "header-0-name",
    "header-0-value",
]


@pytest.fixture
async def signed_in(admin: Admin) -> Admin:
    await admin.sign_in()
    await admin.dispatcher.create_webhook({**WEBHOOK, "auto_retry": False})
    return admin


async def test_any_filter_value_shows_the_activity_log(signed_in: Admin) -> None:
    for name in FILTERS:
        for value in VALUES:
            response = await signed_in.get("/admin/activity", params={name: value})
            assert response.status_code == 200, (name, value)


async def test_any_id_is_a_page_or_a_404(signed_in: Admin) -> None:
    for path in ("/admin/activity/{}", "/admin/webhooks/{}"):
        for value in VALUES[1:]:
            response = await signed_in.get(path.format(quote(value, safe="")))
            assert response.status_code in (200, 404), (path, value)


async def test_any_form_value_saves_or_shows_the_form_again(signed_in: Admin) -> None:
    for name in FIELDS:
        for value in VALUES:
            response = await signed_in.post("/admin/webhooks/new", form_for(**{name: value}))
            assert response.status_code in (303, 422), (name, value)
