"""The admin app factory: Settings > Webhooks and the activity log, for one dispatcher."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from reference.admin.activity import activity_routes
from reference.admin.csrf import CsrfError
from reference.admin.pages import Pages, SecurityHeaders
from reference.admin.session import SESSION_COOKIE, LoginRequired, session_secret
from reference.admin.signin import sign_in_routes
from reference.admin.webhook_pages import webhook_routes
from reference.dispatcher import Dispatcher
from reference.exceptions import NotFoundError, StoreUnavailable

__all__ = ["create_admin"]

SESSION_MAX_AGE = 12 * 60 * 60


def create_admin(
    dispatcher: Dispatcher,
    *,
    mount_path: str = "/admin",
    secret_key: str | None = None,
    https_only: bool = False,
) -> Starlette:
    """The admin pages, to be mounted at `mount_path` of an app whose lifespan runs `dispatcher`.

    The session cookie is signed with `secret_key` (by default derived from the
    API token) and sent only under `mount_path`; `https_only` marks it Secure.
    """
    pages = Pages()

    async def home(request: Request) -> Response:
        return RedirectResponse(request.url_for("webhooks"), status_code=303)

    async def not_found(request: Request, exc: Exception) -> Response:
        context = {"title": "Not found", "message": str(exc)}
        return pages.render(request, "error.html", context, status_code=404)

    async def unavailable(request: Request, exc: Exception) -> Response:
        message = f"The database cannot be used now ({exc}). Try again in a moment."
        context = {"title": "Database unavailable", "message": message}
        response = pages.render(request, "error.html", context, status_code=503)
        response.headers["Retry-After"] = str(StoreUnavailable.retry_after)
        return response

    async def forged(request: Request, exc: Exception) -> Response:
        message = f"This form was refused: {exc}. Reload the page and send it again."
        context = {"title": "Form refused", "message": message}
        return pages.render(request, "error.html", context, status_code=403)

    routes = [
        Route("/", home, methods=["GET"], name="home"),
        *sign_in_routes(dispatcher.settings.api_token, pages),
        *webhook_routes(dispatcher, pages),
        *activity_routes(dispatcher, pages),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(
            SessionMiddleware,
            secret_key=secret_key or session_secret(dispatcher.settings.api_token),
            session_cookie=SESSION_COOKIE,
            max_age=SESSION_MAX_AGE,
            path=mount_path or "/",
            same_site="lax",
            https_only=https_only,
        ),
        Middleware(LoginRequired),
    ]
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={
            NotFoundError: not_found,
            CsrfError: forged,
            StoreUnavailable: unavailable,
        },
    )
