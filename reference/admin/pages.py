"""Rendering: the Jinja2 environment, the context every page gets, and the response headers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reference.admin.csrf import csrf_token
from reference.admin.labels import ENTITY_LABELS, FILTER_LABELS, STATUS_LABELS
from reference.admin.session import is_signed_in, pop_flashes
from reference.matrix import MATRIX

__all__ = ["Pages", "SecurityHeaders"]

# Inline styles only, no scripts, nothing from elsewhere: the pages work offline.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


class Pages:
    """The admin's templates, rendered with the session's CSRF token and flash messages."""

    def __init__(self) -> None:
        env = jinja2.Environment(
            loader=jinja2.PackageLoader("reference.admin", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.globals.update(
            stylesheet=(files("reference.admin") / "static" / "admin.css").read_text("utf-8"),
            matrix=MATRIX,
            entity_labels=ENTITY_LABELS,
            filter_labels=FILTER_LABELS,
            status_labels=STATUS_LABELS,
        )
        env.filters["pretty"] = pretty
        env.filters["when"] = when
        self.templates = Jinja2Templates(env=env)

    def render(
        self,
        request: Request,
        name: str,
        context: dict[str, Any] | None = None,
        *,
        status_code: int = 200,
    ) -> Response:
        values: dict[str, Any] = {
            "csrf_token": csrf_token(request),
            "signed_in": is_signed_in(request),
            "flashes": pop_flashes(request),
            "refresh": None,
            "title": "",
        }
        values.update(context or {})
        return self.templates.TemplateResponse(request, name, values, status_code=status_code)


def pretty(text: str | None) -> str:
    """JSON indented for reading; anything else as it is."""
    if not text:
        return ""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def when(moment: datetime | None) -> str:
    """`2026-11-27 10:05:00 UTC`; a dash for never."""
    if moment is None:
        return "—"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class SecurityHeaders:
    """No framing, no caching of pages, no outside resources (pure ASGI middleware)."""

    HEADERS = (
        (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"cache-control", b"no-store"),
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)
