from __future__ import annotations

import html

import pytest

from tests.admin.conftest import Admin, form_for

pytestmark = pytest.mark.anyio

GUIDE_TEMPLATE = (
    '{"message": "{{event_type}} event triggered on {{entity_type}}!", '
    '"entity_id": "{{#entity}}{{id}}{{/entity}}"}'
)


@pytest.fixture
async def signed_in(admin: Admin) -> Admin:
    await admin.sign_in()
    return admin


async def preview(admin: Admin, **changes: str) -> str:
    response = await admin.post("/admin/webhooks/new", form_for(action="preview", **changes))
    assert response.status_code == 200
    assert (await admin.dispatcher.list_webhooks()) == []
    return html.unescape(response.text)


async def test_the_guides_example(signed_in: Admin) -> None:
    page = await preview(signed_in, custom_payload=GUIDE_TEMPLATE, preview_event="item.update")
    assert '{"message": "update event triggered on item!", "entity_id": "123213"}' in page
    assert "not valid JSON" not in page


async def test_invalid_json_with_a_json_content_type_is_warned_about(signed_in: Admin) -> None:
    page = await preview(
        signed_in, custom_payload="id={{entity.id}}", preview_event="upload.create"
    )
    assert "id=4124" in page
    assert "This is not valid JSON" in page


async def test_no_warning_when_a_custom_content_type_says_otherwise(signed_in: Admin) -> None:
    page = await preview(
        signed_in,
        custom_payload="id={{entity.id}}",
        preview_event="sso_user.create",
        **{"header-0-name": "Content-Type", "header-0-value": "text/plain"},
    )
    assert "id=3391" in page and "not valid JSON" not in page


async def test_every_allowed_pair_has_a_sample(signed_in: Admin) -> None:
    page = await preview(
        signed_in,
        custom_payload="{{entity_type}}/{{event_type}}",
        preview_event="environment.promote",
    )
    assert "environment/promote" in page
    assert page.count('<option value="item.publish"') == 1


async def test_a_template_that_does_not_parse(signed_in: Admin) -> None:
    page = await preview(signed_in, custom_payload="{{#entity}}")
    assert "The template does not parse" in page


async def test_the_default_payload_and_url_are_shown(signed_in: Admin) -> None:
    page = await preview(signed_in, url="http://receiver.test/{{entity.id}}")
    assert "http://receiver.test/123213" in page
    assert '"webhook_call_id": "1"' in page
