"""Cross-site request forgery: every form carries the session's token, every POST is checked.

The token is kept in the signed session and compared in constant time; a
request whose `Origin` names another host is refused as well.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.requests import HTTPConnection, Request

__all__ = ["CSRF_FIELD", "CsrfError", "csrf_token", "read_form"]

CSRF_FIELD = "csrf_token"
MAX_FIELDS = 2000


class CsrfError(Exception):
    """A form post that this site's pages did not make."""


def csrf_token(conn: HTTPConnection) -> str:
    """The session's token, made on first use."""
    token = conn.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        conn.session["csrf"] = token
    return token


async def read_form(request: Request) -> FormData:
    """The posted form, once its CSRF token and origin are checked."""
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise CsrfError(f"the form was posted from another site ({origin})")
    form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    given = form.get(CSRF_FIELD)
    expected = request.session.get("csrf")
    if not isinstance(given, str) or not isinstance(expected, str):
        raise CsrfError("the form has no CSRF token, or the session has none")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise CsrfError("the form's CSRF token does not match the session's")
    return form
