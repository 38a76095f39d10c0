from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from reference.app import create_app
from reference.dispatcher import Clock, Dispatcher, utcnow
from reference.settings import Settings
from tests.admin.live import LiveServer
from tests.conftest import NewDatabase
from tests.network import FakeNetwork

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

TOKEN = "admin-test-token"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Receiver:
    """The webhooks' endpoint: answers each call with the next of `statuses` (then 200)."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        status = self.statuses.pop(0) if self.statuses else 200
        return httpx.Response(status, json={"answer": status}, headers={"X-Receiver": "mock"})


class Admin:
    """A browser stand-in: keeps the session cookie and sends each form with its CSRF token."""

    def __init__(self, client: httpx.AsyncClient, dispatcher: Dispatcher) -> None:
        self.client = client
        self.dispatcher = dispatcher

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(path, **kwargs)

    async def csrf(self, path: str = "/admin/sign-in") -> str:
        match = _CSRF.search((await self.client.get(path)).text)
        if match is None:
            raise AssertionError(f"no CSRF token on {path}")
        return match.group(1)

    async def post(
        self, path: str, data: dict[str, Any], *, page: str | None = None
    ) -> httpx.Response:
        token = await self.csrf(page or path)
        return await self.client.post(path, data={"csrf_token": token, **data})

    async def sign_in(self, token: str = TOKEN) -> httpx.Response:
        return await self.post("/admin/sign-in", {"token": token})


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
async def admin(new_db: NewDatabase, receiver: Receiver) -> AsyncIterator[Admin]:
    """The whole app (API and admin) over ASGITransport, not signed in yet."""
    settings = Settings(api_token=TOKEN, db=new_db("admin.db"), site_id="4242")
    network = FakeNetwork(receiver)
    app = create_app(settings, resolver=network.resolver, ssl_context=network.ssl_context)
    dispatcher: Dispatcher = app.state.dispatcher
    async with network, dispatcher:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Admin(client, dispatcher)


WEBHOOK: dict[str, Any] = {
    "name": "Rebuild",
    "url": "http://receiver.test/hook",
    "custom_payload": None,
    "headers": {"X-Source": "cms"},
    "events": [{"entity_type": "item", "event_types": ["publish"]}],
    "http_basic_user": "hook",
    "http_basic_password": "s3cret",
}


def form_for(**changes: str) -> dict[str, str]:
    """A complete webhook form as the browser posts it, with `changes`."""
    values = {
        "name": "Search index",
        "url": "http://receiver.test/search",
        "custom_payload": "",
        "header_rows": "1",
        "header-0-name": "X-Source",
        "header-0-value": "cms",
        "trigger_rows": "1",
        "trigger-0-entity_type": "item",
        "trigger-0-events-item": "create",
        "trigger-0-filter-item-environment_type": "primary",
        "http_basic_user": "",
        "http_basic_password": "",
        "enabled": "1",
        "payload_api_version": "3",
        "auto_retry": "1",
        "action": "save",
    }
    values.update(changes)
    return values


# -- browser tests ---------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
FAILURES = ROOT / "test-results" / "admin"
REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report: pytest.TestReport = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    return report


# Module scope: Playwright's sync API holds an event loop in this thread while it is
# open, which the anyio tests of the other modules could not run beside.
@pytest.fixture(scope="module")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """Chromium with a fresh profile: Debian's when installed, else Playwright's own."""
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("CHROMIUM", CHROMIUM)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=executable if Path(executable).exists() else None,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(10_000)
        yield context
        context.close()


@pytest.fixture
def page(browser_context: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A new tab with no cookies; a screenshot in test-results/admin/ when the test fails."""
    browser_context.clear_cookies()
    page = browser_context.new_page()
    yield page
    reports = request.node.stash.get(REPORTS, {})
    if "call" in reports and reports["call"].failed:
        FAILURES.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
        page.screenshot(path=str(FAILURES / f"{name}.png"), full_page=True)
    page.close()


def live_server(db: str, receiver: Receiver, clock: Clock = utcnow) -> LiveServer:
    """The whole app on `db` and a socket, calling `receiver`, not started yet."""
    settings = Settings(api_token=TOKEN, db=db, site_id="4242")
    network = FakeNetwork(receiver)
    app = create_app(
        settings, resolver=network.resolver, ssl_context=network.ssl_context, clock=clock
    )
    return LiveServer(app, network)


@pytest.fixture
def live(new_db: NewDatabase, receiver: Receiver) -> Iterator[LiveServer]:
    with live_server(new_db("live.db"), receiver) as server:
        yield server


def sign_in(page: Page, live: LiveServer, token: str = TOKEN) -> None:
    page.goto(f"{live.url}/admin/")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
