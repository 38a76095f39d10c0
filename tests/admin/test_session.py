from __future__ import annotations

import pytest

from tests.admin.conftest import TOKEN, Admin

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "path",
    ["/admin/", "/admin/webhooks", "/admin/webhooks/new", "/admin/activity", "/admin/activity/1"],
)
async def test_every_page_needs_signing_in(admin: Admin, path: str) -> None:
    response = await admin.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/sign-in?next=")


async def test_a_post_without_a_session_is_refused(admin: Admin) -> None:
    response = await admin.client.post("/admin/webhooks/new", data={"name": "x"})
    assert response.status_code == 403
    assert (await admin.dispatcher.list_webhooks()) == []


async def test_sign_in_sets_a_signed_httponly_cookie_and_goes_back(admin: Admin) -> None:
    token = await admin.csrf("/admin/sign-in")
    response = await admin.client.post(
        "/admin/sign-in",
        data={"csrf_token": token, "token": TOKEN, "next": "/activity?status=failed"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/activity?status=failed"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "path=/admin" in cookie and "samesite=lax" in cookie
    assert (await admin.get("/admin/webhooks")).status_code == 200


async def test_a_wrong_token_is_refused(admin: Admin) -> None:
    response = await admin.sign_in("not-the-token")
    assert response.status_code == 401
    assert "That is not the API token." in response.text
    assert (await admin.get("/admin/webhooks")).status_code == 303


async def test_next_never_leaves_the_admin(admin: Admin) -> None:
    token = await admin.csrf()
    data = {"csrf_token": token, "token": TOKEN, "next": "//evil.example/"}
    response = await admin.client.post("/admin/sign-in", data=data)
    assert response.headers["location"] == "/admin/webhooks"


async def test_a_forged_session_cookie_is_ignored(admin: Admin) -> None:
    admin.client.cookies.set("webhooks_admin", "eyJzaWduZWRfaW4iOiB0cnVlfQ==.x.y", path="/admin")
    assert (await admin.get("/admin/webhooks")).status_code == 303


async def test_sign_out(admin: Admin) -> None:
    await admin.sign_in()
    response = await admin.post("/admin/sign-out", {}, page="/admin/webhooks")
    assert response.status_code == 303
    assert (await admin.get("/admin/webhooks")).status_code == 303


async def test_pages_carry_security_headers(admin: Admin) -> None:
    response = await admin.get("/admin/sign-in")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    assert "<script" not in response.text and "http" not in response.text.split("<body>")[0]


async def test_the_api_still_answers_beside_the_admin(admin: Admin) -> None:
    response = await admin.client.get("/webhooks", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert (await admin.get("/admin")).headers["location"] == "/admin/"
