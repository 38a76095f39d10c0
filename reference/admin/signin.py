"""Signing in with the API token, and out."""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from reference.admin.csrf import read_form
from reference.admin.pages import Pages
from reference.admin.session import flash, sign_in, sign_out

__all__ = ["sign_in_routes"]


def sign_in_routes(api_token: str, pages: Pages) -> list[Route]:
    expected = api_token.encode()

    async def show(request: Request) -> Response:
        return pages.render(
            request,
            "sign_in.html",
            {"title": "Sign in", "next": _next(request.query_params.get("next")), "error": None},
        )

    async def submit(request: Request) -> Response:
        form = await read_form(request)
        token, target = form.get("token"), _next(form.get("next"))
        if not isinstance(token, str) or not hmac.compare_digest(token.encode(), expected):
            context = {"title": "Sign in", "next": target, "error": "That is not the API token."}
            return pages.render(request, "sign_in.html", context, status_code=401)
        sign_in(request)
        return RedirectResponse(_root(request) + (target or "/webhooks"), status_code=303)

    async def leave(request: Request) -> Response:
        await read_form(request)
        sign_out(request)
        flash(request, "You are signed out.")
        return RedirectResponse(request.url_for("sign_in"), status_code=303)

    return [
        Route("/sign-in", show, methods=["GET"], name="sign_in"),
        Route("/sign-in", submit, methods=["POST"], name="sign_in_submit"),
        Route("/sign-out", leave, methods=["POST"], name="sign_out"),
    ]


def _next(value: object) -> str:
    """Only a path of this admin: never another site (`//evil.example`)."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//"):
        return value if "\\" not in value else ""
    return ""


def _root(request: Request) -> str:
    root: str = request.scope.get("root_path", "")
    return root
