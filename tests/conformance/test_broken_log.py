"""Each deliberately wrong activity log (contract §7) fails exactly the LOG cases aimed at it.

The LOG family takes some 6 s, LOG-007 alone 3 (it waits out five retries), so a
defect runs only the cases it could plausibly touch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import reference.api.resources
import reference.api.webhook_calls
import reference.store.calls
from reference.api.errors import ApiError
from reference.calls import WebhookCall
from reference.dispatcher import Dispatcher
from reference.store import CallQuery, Transaction
from reference.timefmt import to_epoch
from reference.webhooks import Webhook
from tests.conformance.servers import failing_cases, served

# The reference's own, kept before any test swaps them.
call_resource = reference.api.resources.call_resource
order = reference.api.webhook_calls._order
where = reference.store.calls._where
milliseconds = reference.store.calls._milliseconds

Where = tuple[str, tuple[Any, ...]]


def _with_ranges(query: CallQuery, compare: Callable[[str, str, datetime], Where]) -> Where:
    """The reference's WHERE for ids and equals, with the gt/lt ranges written by `compare`."""
    text, params = where(replace(query, ranges=()))
    clauses = [text.removeprefix(" WHERE ")] if text else []
    for name, op, moment in query.ranges:
        clause, values = compare(name, op, moment)
        clauses.append(clause)
        params += values
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def inclusive_where(query: CallQuery) -> Where:
    """Wrong: gt/lt bounds compare with >= and <= (contract §7: gt, lt: greater, less than)."""

    def compare(name: str, op: str, moment: datetime) -> Where:
        shown = f"(CAST(ROUND({name} * 1000000) AS INTEGER) / 1000)"
        return f"{shown} {'>=' if op == 'gt' else '<='} ?", (milliseconds(moment),)

    return _with_ranges(query, compare)


def full_precision_where(query: CallQuery) -> Where:
    """Wrong: bounds compare with the stored time to the microsecond, not the millisecond
    the log shows, so a call's own created_at is "greater than" itself (contract §7)."""

    def compare(name: str, op: str, moment: datetime) -> Where:
        return f"{name} {'>' if op == 'gt' else '<'} ?", (to_epoch(moment),)

    return _with_ranges(query, compare)


def status_ignored_where(query: CallQuery) -> Where:
    """Wrong: filter[fields][status][eq] is checked, then left out of the query (contract §7)."""
    return where(replace(query, equals=tuple(e for e in query.equals if e[0] != "status")))


def next_retry_ignored_where(query: CallQuery) -> Where:
    """Wrong: filter[fields][next_retry_at][gt|lt] is accepted and ignored (contract §7)."""
    ranges = tuple(r for r in query.ranges if r[0] != "next_retry_at")
    return where(replace(query, ranges=ranges))


def created_at_order(value: str) -> tuple[str, bool]:
    """Wrong: order_by keeps its direction but always sorts by created_at (contract §7: by
    webhook_id, created_at, last_sent_at or next_retry_at)."""
    _, descending = order(value)
    return "created_at", descending


def without_request_url(call: WebhookCall) -> dict[str, Any]:
    """Wrong: the log leaves out request_url (contract §7: the last request's URL is kept)."""
    resource = call_resource(call)
    del resource["attributes"]["request_url"]
    return resource


def count_the_page(dispatcher: Dispatcher) -> None:
    """Wrong: total_count is the size of the page (contract §7: of every matching call)."""
    list_calls = dispatcher.list_calls

    async def paged(query: CallQuery) -> tuple[list[WebhookCall], int]:
        calls, _ = await list_calls(query)
        return calls, len(calls)

    dispatcher.list_calls = paged  # type: ignore[method-assign]


def refuse_offsets_past_the_end(dispatcher: Dispatcher) -> None:
    """Wrong: an offset past the last call is 422 (contract §7 bounds only page[limit]:
    past the end the page is just empty)."""
    list_calls = dispatcher.list_calls

    async def checked(query: CallQuery) -> tuple[list[WebhookCall], int]:
        calls, total = await list_calls(query)
        if query.offset > 0 and query.offset >= total:
            raise ApiError(422, "INVALID_FIELD", f"only {total} calls", "page[offset]")
        return calls, total

    dispatcher.list_calls = checked  # type: ignore[method-assign]


def delete_calls_too(dispatcher: Dispatcher) -> None:
    """Wrong: deleting a webhook deletes its calls (contract §2: its calls stay in the log).

    Calls being sent are left, as the reference leaves them: their outcome is
    still written, and an attempt of a deleted call would break that write.
    """

    def with_calls(tx: Transaction, webhook_id: str) -> Webhook:
        webhook = tx.webhooks.delete(webhook_id)
        db = tx._db  # type: ignore[attr-defined]  # the defect reaches under the boundary
        mine = "SELECT id FROM webhook_calls WHERE webhook_id = ? AND claimed = 0"
        for table, column in (("webhook_call_attempts", "call_id"), ("webhook_calls", "id")):
            db.execute(f"DELETE FROM {table} WHERE {column} IN ({mine})", (int(webhook_id),))
        return webhook

    async def delete_webhook(webhook_id: str) -> Webhook:
        return await dispatcher.store.transaction(with_calls, webhook_id)

    dispatcher.delete_webhook = delete_webhook  # type: ignore[method-assign]


# Every LOG case but LOG-007, which waits out five retries for next_retry_at.
QUICK = tuple(f"LOG-{n:03d}" for n in range(1, 12) if n != 7)
# The cases that filter by time.
TIMES = ("LOG-006", "LOG-007", "LOG-011")


def test_a_call_without_request_url_fails_the_fields_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.api.webhook_calls, "call_resource", without_request_url)
    with served(tmp_path / "no-url.db") as url:
        failing = failing_cases(url, tmp_path / "report", *QUICK)
    assert set(failing) == {"LOG-001"}


def test_an_ignored_status_filter_fails_the_filters_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.store.calls, "_where", status_ignored_where)
    with served(tmp_path / "status.db") as url:
        failing = failing_cases(url, tmp_path / "report", *QUICK)
    assert set(failing) == {"LOG-003"}


def test_counting_the_page_fails_the_paging_case(tmp_path: Path) -> None:
    with served(tmp_path / "page-count.db", count_the_page) as url:
        failing = failing_cases(url, tmp_path / "report", *QUICK)
    assert set(failing) == {"LOG-004"}


def test_deleting_the_calls_with_their_webhook_fails_the_deleted_cases(tmp_path: Path) -> None:
    # Every case deletes its webhooks when it ends; these look at calls after a delete.
    with served(tmp_path / "purge.db", delete_calls_too) as url:
        failing = failing_cases(url, tmp_path / "report", *QUICK, "RSD-005")
    assert set(failing) == {"LOG-005", "RSD-005"}
    assert failing["LOG-005"] == "non-strict"  # a SHOULD case does not fail the run


def test_sorting_by_created_at_only_fails_the_order_by_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.api.webhook_calls, "_order", created_at_order)
    with served(tmp_path / "created-order.db") as url:
        failing = failing_cases(url, tmp_path / "report", "LOG")
    assert set(failing) == {"LOG-006", "LOG-007", "LOG-008"}


def test_an_ignored_next_retry_at_filter_fails_the_next_retry_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.store.calls, "_where", next_retry_ignored_where)
    with served(tmp_path / "next-retry.db") as url:
        failing = failing_cases(url, tmp_path / "report", *TIMES)
    assert set(failing) == {"LOG-007"}


def test_inclusive_bounds_fail_the_time_filter_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.store.calls, "_where", inclusive_where)
    with served(tmp_path / "inclusive.db") as url:
        failing = failing_cases(url, tmp_path / "report", *TIMES)
    assert set(failing) == {"LOG-006", "LOG-011"}


def test_bounds_at_full_precision_fail_the_own_time_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.store.calls, "_where", full_precision_where)
    with served(tmp_path / "precision.db") as url:
        failing = failing_cases(url, tmp_path / "report", *TIMES)
    assert set(failing) == {"LOG-011"}


def test_refusing_offsets_past_the_end_fails_the_paging_bounds_case(tmp_path: Path) -> None:
    with served(tmp_path / "past-end.db", refuse_offsets_past_the_end) as url:
        failing = failing_cases(url, tmp_path / "report", "LOG-004", "LOG-009")
    assert set(failing) == {"LOG-009"}
