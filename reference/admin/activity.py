"""The Webhooks activity log: calls with filters and paging, one call in detail, Resend now."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from reference.admin.csrf import read_form
from reference.admin.forms import whole_number
from reference.admin.pages import Pages
from reference.admin.session import flash
from reference.calls import CallStatus, WebhookCall
from reference.dispatcher import Dispatcher
from reference.exceptions import ValidationError
from reference.matrix import MATRIX
from reference.store import CallQuery

__all__ = ["CallFilters", "activity_routes", "masked_headers"]

PAGE_SIZE = 20
EVENT_TYPES = sorted({e for rule in MATRIX.values() for e in rule.event_types})
_SECRET_HEADER = re.compile(r"authorization|cookie|token|secret|password|api-?key|signature", re.I)


@dataclass(frozen=True, slots=True)
class CallFilters:
    """The log's filters as the query string gives them; bad values are dropped with a note."""

    webhook: str = ""
    status: str = ""
    entity_type: str = ""
    event_type: str = ""
    date_from: str = ""
    date_to: str = ""
    page: int = 1

    @classmethod
    def from_query(cls, params: QueryParams) -> tuple[CallFilters, list[str]]:
        problems: list[str] = []

        def pick(name: str, allowed: list[str]) -> str:
            value = params.get(name, "")
            if value and value not in allowed:
                problems.append(f"Unknown {name.replace('_', ' ')} {value!r}: not filtered on it.")
                return ""
            return value

        def day(name: str) -> str:
            value = params.get(name, "")
            try:
                return date.fromisoformat(value).isoformat() if value else ""
            except ValueError:
                problems.append(f"{value!r} is not a date (YYYY-MM-DD): not filtered on it.")
                return ""

        page, webhook = params.get("page", "1"), params.get("webhook", "")
        filters = cls(
            webhook=webhook if whole_number(webhook) is not None else "",
            status=pick("status", [s.value for s in CallStatus]),
            entity_type=pick("entity_type", list(MATRIX)),
            event_type=pick("event_type", EVENT_TYPES),
            date_from=day("date_from"),
            date_to=day("date_to"),
            page=max(whole_number(page) or 1, 1),
        )
        return filters, problems

    def query(self) -> CallQuery:
        equals = tuple(
            (name, value)
            for name, value in (
                ("webhook_id", self.webhook),
                ("status", self.status),
                ("entity_type", self.entity_type),
                ("event_type", self.event_type),
            )
            if value
        )
        ranges: list[tuple[str, str, datetime]] = []
        # From the start of the first day (UTC) to the end of the last; the first and
        # last days there are bound nothing.
        first = date.fromisoformat(self.date_from) if self.date_from else date.min
        if first > date.min:
            start = datetime.combine(first, time(), UTC)
            ranges.append(("created_at", "gt", start - timedelta(microseconds=1)))
        last = date.fromisoformat(self.date_to) if self.date_to else date.max
        if last < date.max:
            end = datetime.combine(last + timedelta(days=1), time(), UTC)
            ranges.append(("created_at", "lt", end))
        offset = (self.page - 1) * PAGE_SIZE
        return CallQuery(offset=offset, limit=PAGE_SIZE, equals=equals, ranges=tuple(ranges))

    def params(self, **changes: Any) -> str:
        """The query string of these filters with `changes`, empty values left out."""
        values = {
            "webhook": self.webhook,
            "status": self.status,
            "entity_type": self.entity_type,
            "event_type": self.event_type,
            "date_from": self.date_from,
            "date_to": self.date_to,
            "page": str(self.page),
        }
        values.update({k: str(v) for k, v in changes.items()})
        kept = {k: v for k, v in values.items() if v and not (k == "page" and v == "1")}
        return str(QueryParams(kept))


def masked_headers(headers: dict[str, str] | None) -> list[tuple[str, str]]:
    """Headers for the page: credentials hidden (the store already masks Authorization)."""
    shown = []
    for name, value in (headers or {}).items():
        if _SECRET_HEADER.search(name) and not value.endswith("***"):
            scheme = value.split(" ", 1)[0] if " " in value else ""
            value = f"{scheme} ***".strip()
        shown.append((name, value))
    return shown


def activity_routes(dispatcher: Dispatcher, pages: Pages) -> list[Route]:
    async def index(request: Request) -> Response:
        filters, problems = CallFilters.from_query(request.query_params)
        calls, total = await dispatcher.list_calls(filters.query())
        webhooks = await dispatcher.list_webhooks()
        pages_count = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
        context = {
            "title": "Webhooks activity log",
            "calls": calls,
            "total": total,
            "filters": filters,
            "problems": problems,
            "pages_count": pages_count,
            "webhooks": webhooks,
            "names": {w.id: w.name for w in webhooks},
            "statuses": [s.value for s in CallStatus],
            "event_types": EVENT_TYPES,
        }
        return pages.render(request, "activity.html", context)

    async def show(request: Request) -> Response:
        call = await dispatcher.get_call(request.path_params["call_id"])
        awaiting = request.query_params.get("awaiting", "")
        expected = whole_number(awaiting)
        waiting = expected is not None and len(call.attempts) < expected
        context = {
            "title": f"Call {call.id}",
            "call": call,
            "webhook": await dispatcher.find_webhook(call.webhook_id),
            "names": await _names(dispatcher),
            "request_headers": masked_headers(call.request_headers),
            "response_headers": masked_headers(call.response_headers),
            "waiting": waiting,
            "resent": expected is not None and not waiting,
            # No script: while the new outcome is on its way the page reloads itself.
            "refresh": 1 if waiting else None,
        }
        return pages.render(request, "call.html", context)

    async def resend(request: Request) -> Response:
        call_id = request.path_params["call_id"]
        await read_form(request)
        call = await dispatcher.get_call(call_id)
        try:
            await dispatcher.resend(call_id)
        except ValidationError as exc:
            flash(request, exc.message, "error")
            return RedirectResponse(request.url_for("call", call_id=call_id), status_code=303)
        wanted = len(call.attempts) + 1
        await _outcome(dispatcher, call_id, wanted)
        target = request.url_for("call", call_id=call_id).include_query_params(awaiting=wanted)
        return RedirectResponse(target, status_code=303)

    return [
        Route("/activity", index, methods=["GET"], name="activity"),
        Route("/activity/{call_id}", show, methods=["GET"], name="call"),
        Route("/activity/{call_id}/resend", resend, methods=["POST"], name="call_resend"),
    ]


async def _outcome(dispatcher: Dispatcher, call_id: str, attempts: int) -> WebhookCall | None:
    """The call once the resend is answered, or None if it takes longer than one deadline."""
    try:
        return await dispatcher.wait_for_call(
            call_id, attempts=attempts, timeout=dispatcher.settings.deadline + 1
        )
    except TimeoutError:
        return None


async def _names(dispatcher: Dispatcher) -> dict[str, str]:
    return {w.id: w.name for w in await dispatcher.list_webhooks()}
