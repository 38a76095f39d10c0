"""Shared steps of the cases: triggers, waiting for what arrives, reading bodies and times."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from conformance.client import Resource
from conformance.plugin import Evidence
from receiver import MockReceiver, RecordedRequest, WaitTimeout

__all__ = [
    "DEFAULT_KEYS",
    "SSO",
    "arrived",
    "body_of",
    "moment",
    "trigger",
]

#: contract §5: the keys of the default payload, in order (previous_entity aside).
DEFAULT_KEYS = [
    "webhook_call_id",
    "event_triggered_at",
    "attempted_auto_retries_count",
    "webhook_id",
    "site_id",
    "environment",
    "is_environment_primary",
    "entity_type",
    "event_type",
    "entity",
    "related_entities",
]


def trigger(entity_type: str, *event_types: str, **filters: list[str]) -> list[Resource]:
    """One trigger as a `events` list: `trigger("item", "create", item_type=["1"])`."""
    found: Resource = {"entity_type": entity_type, "event_types": list(event_types)}
    if filters:
        found["filters"] = [{"entity_type": k, "entity_ids": v} for k, v in filters.items()]
    return [found]


SSO = trigger("sso_user", "create")


def arrived(
    receiver: MockReceiver,
    path: str,
    evidence: Evidence,
    count: int = 1,
    *,
    done: bool = False,
    timeout: float = 5.0,
) -> list[RecordedRequest]:
    """The first `count` requests to `path`, kept as evidence; fails after `timeout`."""
    try:
        requests = receiver.wait_for(count, path=path, done=done, timeout=timeout)
    except WaitTimeout:
        seen = evidence.saw(receiver.requests(path=path))
        state = "over" if done else "arrived"
        raise AssertionError(
            f"{count} request(s) to {path} {state} within {timeout} s: saw {len(seen)}"
        ) from None
    return evidence.saw(requests[:count])


def body_of(request: RecordedRequest) -> Any:
    """The request body as JSON, object keys in the order sent."""
    try:
        return json.loads(request.body)
    except ValueError:
        raise AssertionError(f"the body is not JSON: {request.text[:200]!r}") from None


def moment(text: str | None) -> float:
    """An ISO time from the activity log as seconds since the epoch."""
    if text is None:
        raise AssertionError("expected a time, got null")
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def until(seconds: float) -> float:
    """A monotonic deadline `seconds` from now."""
    return time.monotonic() + seconds
