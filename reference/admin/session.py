"""The signed session: who is signed in, the flash messages, and the door to every page.

The session lives in a signed, HttpOnly cookie (Starlette's SessionMiddleware,
itsdangerous). Its key is derived from the API token, so that changing the
token signs everybody out.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import quote

from starlette.requests import HTTPConnection
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = [
    "SESSION_COOKIE",
    "LoginRequired",
    "flash",
    "is_signed_in",
    "pop_flashes",
    "session_secret",
    "sign_in",
    "sign_out",
]

SESSION_COOKIE = "webhooks_admin"
SIGN_IN_PATH = "/sign-in"


def session_secret(api_token: str) -> str:
    """The key that signs the session cookie, derived from the API token."""
    return hmac.new(api_token.encode(), b"reference.admin session", hashlib.sha256).hexdigest()


def is_signed_in(conn: HTTPConnection) -> bool:
    return conn.session.get("signed_in") is True


def sign_in(conn: HTTPConnection) -> None:
    """A fresh session (no fixation: nothing from before signing in is kept)."""
    conn.session.clear()
    conn.session["signed_in"] = True


def sign_out(conn: HTTPConnection) -> None:
    conn.session.clear()


def flash(conn: HTTPConnection, message: str, kind: str = "success") -> None:
    """A message for the next page shown."""
    conn.session.setdefault("flashes", []).append({"kind": kind, "message": message})


def pop_flashes(conn: HTTPConnection) -> list[dict[str, Any]]:
    flashes: list[dict[str, Any]] = conn.session.pop("flashes", [])
    return flashes


class LoginRequired:
    """Nothing but the sign-in page is served to a visitor who has not signed in.

    A page asked for with GET sends the visitor to sign in and back; anything
    else is refused with 403. Runs inside the session middleware.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        root = scope.get("root_path", "")
        path = scope["path"][len(root) :] if scope["path"].startswith(root) else scope["path"]
        if path == SIGN_IN_PATH or is_signed_in(conn):
            await self.app(scope, receive, send)
            return
        if scope["method"] in ("GET", "HEAD"):
            wanted = path + (f"?{conn.url.query}" if conn.url.query else "")
            target = f"{root}{SIGN_IN_PATH}?next={quote(wanted, safe='')}"
            await RedirectResponse(target, status_code=303)(scope, receive, send)
            return
        refused = HTMLResponse("<h1>Sign in first</h1>", status_code=403)
        await refused(scope, receive, send)
