"""The admin area: Settings > Webhooks and the Webhooks activity log, in the browser.

Server-rendered pages (Jinja2 through Starlette's templating) behind a sign-in
with the API token; mount `create_admin(dispatcher)` at `/admin`.
"""

from __future__ import annotations

from reference.admin.app import create_admin

__all__ = ["create_admin"]
