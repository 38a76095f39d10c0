"""Bearer-token authentication for every API call (contract §1)."""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from reference.api.errors import error_response

__all__ = ["BearerAuth"]


class BearerAuth:
    """Answers 401 unless `Authorization: Bearer <token>` carries the API token.

    The token is compared in constant time.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._authorized(scope):
            response = error_response(
                401, "UNAUTHORIZED", "missing or wrong API token (Authorization: Bearer <token>)"
            )
            response.headers["WWW-Authenticate"] = "Bearer"
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        given = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                given = value
                break
        return hmac.compare_digest(given, self._expected)
