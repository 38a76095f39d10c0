from __future__ import annotations

import pytest

from tests.admin.conftest import WEBHOOK, Admin, form_for

pytestmark = pytest.mark.anyio


@pytest.fixture
async def signed_in(admin: Admin) -> Admin:
    await admin.sign_in()
    await admin.dispatcher.create_webhook(WEBHOOK)
    return admin


@pytest.mark.parametrize("token", [None, "", "forged"])
async def test_a_form_without_the_sessions_token_is_refused(
    signed_in: Admin, token: str | None
) -> None:
    data = form_for(name="Forged")
    if token is not None:
        data["csrf_token"] = token
    response = await signed_in.client.post("/admin/webhooks/new", data=data)
    assert response.status_code == 403
    assert "This form was refused" in response.text
    assert [w.name for w in (await signed_in.dispatcher.list_webhooks())] == ["Rebuild"]


async def test_a_delete_from_another_site_is_refused(signed_in: Admin) -> None:
    token = await signed_in.csrf("/admin/webhooks")
    response = await signed_in.client.post(
        "/admin/webhooks/1/delete",
        data={"csrf_token": token},
        headers={"Origin": "http://evil.example"},
    )
    assert response.status_code == 403
    assert len(await signed_in.dispatcher.list_webhooks()) == 1


async def test_the_sign_in_form_is_protected_too(admin: Admin) -> None:
    response = await admin.client.post("/admin/sign-in", data={"token": "admin-test-token"})
    assert response.status_code == 403


async def test_a_token_from_another_session_does_not_work(signed_in: Admin, admin: Admin) -> None:
    stolen = await signed_in.csrf("/admin/webhooks")
    signed_in.client.cookies.clear()
    await signed_in.sign_in()  # a new session: a new token
    response = await signed_in.client.post("/admin/webhooks/1/delete", data={"csrf_token": stolen})
    assert response.status_code == 403
