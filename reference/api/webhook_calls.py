"""`/webhook_calls`: the activity log and resend (contract §7, §8)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reference.api.context import MAX_OFFSET, dispatcher_of, whole_number
from reference.api.errors import ApiError
from reference.api.resources import call_resource, webhook_resource
from reference.calls import CallStatus, WebhookCall
from reference.dispatcher import Dispatcher
from reference.store import EQ_FIELDS, ORDER_FIELDS, RANGE_FIELDS, CallQuery
from reference.timefmt import parse_time

__all__ = ["parse_query", "routes"]

MAX_LIMIT = 500
_FIELD_FILTER = re.compile(r"^filter\[fields\]\[([a-z_]+)\]\[([a-z]+)\]$")


async def list_calls(request: Request) -> Response:
    dispatcher = dispatcher_of(request)
    calls, total = await dispatcher.list_calls(parse_query(request.query_params))
    return JSONResponse(
        {
            "data": [call_resource(c) for c in calls],
            "meta": {"total_count": total},
            "included": await _included(dispatcher, calls),
        }
    )


async def show_call(request: Request) -> Response:
    dispatcher = dispatcher_of(request)
    call = await dispatcher.get_call(request.path_params["call_id"])
    return JSONResponse(
        {"data": call_resource(call), "included": await _included(dispatcher, [call])}
    )


async def resend_call(request: Request) -> Response:
    await dispatcher_of(request).resend(request.path_params["call_id"])
    return Response(status_code=204)


async def _included(dispatcher: Dispatcher, calls: list[WebhookCall]) -> list[dict[str, Any]]:
    """The calls' webhooks that still exist."""
    webhooks = {w.id: w for w in await dispatcher.list_webhooks()}
    found = (webhooks.get(i) for i in dict.fromkeys(c.webhook_id for c in calls))
    return [webhook_resource(w) for w in found if w is not None]


routes = [
    Route("/webhook_calls", list_calls, methods=["GET"]),
    Route("/webhook_calls/{call_id}", show_call, methods=["GET"]),
    Route("/webhook_calls/{call_id}/resend_webhook", resend_call, methods=["POST"]),
]


def parse_query(params: QueryParams) -> CallQuery:
    """contract §7 paging, filters and ordering; anything else under page/filter is refused."""
    offset, limit = 0, 30
    ids: tuple[str, ...] | None = None
    equals: list[tuple[str, str]] = []
    ranges: list[tuple[str, str, datetime]] = []
    order_field, descending = "created_at", True
    for key, value in params.multi_items():
        if key == "page[offset]":
            offset = whole_number(key, value, 0, MAX_OFFSET)
        elif key == "page[limit]":
            limit = whole_number(key, value, 1, MAX_LIMIT)
        elif key == "filter[ids]":
            ids = tuple(i for i in (part.strip() for part in value.split(",")) if i)
        elif key == "order_by":
            order_field, descending = _order(value)
        elif match := _FIELD_FILTER.match(key):
            name, op = match.groups()
            if name in EQ_FIELDS and op == "eq":
                if name == "status" and value not in set(CallStatus):
                    raise _bad(key, f"status must be one of {', '.join(CallStatus)}, got {value!r}")
                equals.append((name, value))
            elif name in RANGE_FIELDS and op in ("gt", "lt"):
                try:
                    ranges.append((name, op, parse_time(value)))
                except ValueError:
                    raise _bad(key, f"must be an ISO 8601 time, got {value!r}") from None
            else:
                raise _bad(key, "unknown filter")
        elif key.startswith(("page[", "filter[")):
            raise _bad(key, "unknown parameter")
    return CallQuery(
        offset=offset,
        limit=limit,
        ids=ids,
        equals=tuple(equals),
        ranges=tuple(ranges),
        order_field=order_field,
        descending=descending,
    )


def _order(value: str) -> tuple[str, bool]:
    name, _, direction = value.rpartition("_")
    if name not in ORDER_FIELDS or direction not in ("asc", "desc"):
        fields = ", ".join(f"{f}_asc, {f}_desc" for f in ORDER_FIELDS)
        raise _bad("order_by", f"must be one of {fields}; got {value!r}")
    return name, direction == "desc"


def _bad(field: str, message: str) -> ApiError:
    return ApiError(422, "INVALID_FIELD", message, field)
