"""LOG: the activity log (contract §7)."""

from __future__ import annotations

import base64
import itertools
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from conformance.cases import MUST, SHOULD, case
from conformance.client import Resource, Target
from conformance.plugin import Evidence, Hooks
from conformance.preflight import SCHEDULE
from conformance.steps import SSO, arrived, moment
from receiver import MockReceiver

FIELDS = {
    "entity_type",
    "event_type",
    "created_at",
    "request_url",
    "request_headers",
    "request_payload",
    "response_status",
    "response_headers",
    "response_payload",
    "error",
    "attempted_auto_retries_count",
    "last_sent_at",
    "next_retry_at",
    "status",
    "attempts",
}


@case("LOG-001", MUST, "§7", "a call has every field of §7 and records what was sent")
def test_fields(target: Target, receiver: object, hooks: Hooks, evidence: Evidence) -> None:
    from receiver import MockReceiver

    assert isinstance(receiver, MockReceiver)
    path = hooks.path()
    webhook = hooks.create(receiver.url_for(path), SSO)
    target.sso_user()
    [request] = arrived(receiver, path, evidence)
    [call] = target.wait_call_status(webhook["id"], "success")
    attributes = call["attributes"]
    evidence.actual = f"missing {sorted(FIELDS - set(attributes))}"
    assert set(attributes) >= FIELDS
    assert call["relationships"]["webhook"]["data"]["id"] == webhook["id"]
    assert attributes["request_payload"] == request.text
    assert attributes["request_url"] == receiver.url_for(path)
    [attempt] = attributes["attempts"]
    assert {"sent_at", "duration_ms", "trigger", "response_status", "error"} <= set(attempt)
    assert attempt["trigger"] == "event"


@case("LOG-002", MUST, "§7", "Authorization is stored as Basic ***; the password nowhere")
def test_masked(target: Target, receiver: object, hooks: Hooks, evidence: Evidence) -> None:
    from receiver import MockReceiver

    assert isinstance(receiver, MockReceiver)
    webhook = hooks.create(
        receiver.url_for(hooks.path()),
        SSO,
        http_basic_user="u",
        http_basic_password="hunter2-secret",
    )
    target.sso_user()
    [call] = target.wait_call_status(webhook["id"], "success")
    text = str(target.call(call["id"]))
    headers = {k.lower(): v for k, v in call["attributes"]["request_headers"].items()}
    evidence.actual = f"authorization {headers.get('authorization')!r}"
    assert headers.get("authorization") == "Basic ***"
    assert "hunter2-secret" not in text
    assert "dTpodW50ZXIyLXNlY3JldA" not in text


@case("LOG-003", MUST, "§7", "filters by ids, webhook, event type and status")
def test_filters(target: Target, receiver: object, hooks: Hooks, evidence: Evidence) -> None:
    from receiver import MockReceiver

    assert isinstance(receiver, MockReceiver)
    webhook = hooks.create(receiver.url_for(hooks.path()), SSO)
    for _ in range(3):
        target.sso_user()
    calls = target.wait_call_status(webhook["id"], "success", count=3)
    ids = [c["id"] for c in calls]
    by_ids, total = target.calls(**{"filter[ids]": ",".join(ids[:2])})
    assert sorted(c["id"] for c in by_ids) == sorted(ids[:2]) and total == 2
    mine = {"filter[fields][webhook_id][eq]": webhook["id"]}
    assert target.calls(**mine, **{"filter[fields][status][eq]": "success"})[1] == 3
    assert target.calls(**mine, **{"filter[fields][status][eq]": "failed"})[1] == 0
    assert target.calls(**mine, **{"filter[fields][event_type][eq]": "create"})[1] == 3
    assert target.calls(**mine, **{"filter[fields][entity_type][eq]": "item"})[1] == 0


@case("LOG-004", MUST, "§7", "paging, total_count, newest first by default, order_by asc")
def test_paging(target: Target, receiver: object, hooks: Hooks, evidence: Evidence) -> None:
    from receiver import MockReceiver

    assert isinstance(receiver, MockReceiver)
    webhook = hooks.create(receiver.url_for(hooks.path()), SSO)
    for _ in range(3):
        target.sso_user()
    target.wait_call_status(webhook["id"], "success", count=3)
    mine = {"filter[fields][webhook_id][eq]": webhook["id"]}
    page, total = target.calls(**mine, **{"page[limit]": "2"})
    rest, _ = target.calls(**mine, **{"page[limit]": "2", "page[offset]": "2"})
    ascending, _ = target.calls(**mine, order_by="created_at_asc")
    ids = [c["id"] for c in page + rest]
    evidence.actual = f"pages {ids}, asc {[c['id'] for c in ascending]}, total {total}"
    assert total == 3 and len(page) == 2 and len(rest) == 1
    assert ids == sorted(ids, key=int, reverse=True)
    assert [c["id"] for c in ascending] == ids[::-1]
    too_many = target.request("GET", "/webhook_calls", params={"page[limit]": "501"})
    assert too_many.status_code == 422


@case("LOG-005", SHOULD, "§2", "calls of a deleted webhook stay in the log")
def test_deleted_stays(target: Target, receiver: object, hooks: Hooks, evidence: Evidence) -> None:
    from receiver import MockReceiver

    assert isinstance(receiver, MockReceiver)
    webhook = hooks.create(receiver.url_for(hooks.path()), SSO)
    target.sso_user()
    [call] = target.wait_call_status(webhook["id"], "success")
    target.delete_webhook(webhook["id"])
    response = target.request("GET", f"/webhook_calls/{call['id']}")
    evidence.actual = str(response.status_code)
    assert response.status_code == 200


def _ids(calls: list[Resource]) -> list[str]:
    return [c["id"] for c in calls]


def _stamp(seconds: float) -> str:
    """An ISO time with milliseconds, as the log writes them (the digits below cut off)."""
    whole, milliseconds = divmod(round(seconds * 1000), 1000)  # round: floats miss the ms
    return (
        datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{milliseconds:03d}Z"
    )


@case("LOG-006", MUST, "§7", "created_at and last_sent_at filter with gt/lt; order by last_sent_at")
def test_time_filters(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    webhook = hooks.create(receiver.url_for(hooks.path()), SSO)
    for _ in range(3):
        target.sso_user()
        # Spaced so that their times differ in the log's milliseconds; not a wait for anything.
        time.sleep(0.01)
    calls = target.wait_call_status(webhook["id"], "success", count=3)
    first, second, third = sorted(calls, key=lambda c: moment(c["attributes"]["created_at"]))
    created = [moment(c["attributes"]["created_at"]) for c in (first, second, third)]
    gaps = [b - a for a, b in itertools.pairwise(created)]
    assert min(gaps) > 0.0015, f"the 3 calls need times 2 ms apart, got {created}"
    # A resend makes the oldest call the last one sent.
    assert target.resend(first["id"]).status_code == 204
    target.wait_calls(
        webhook["id"],
        lambda cs: any(
            c["id"] == first["id"] and len(c["attributes"]["attempts"]) == 2 for c in cs
        ),
    )
    mine = {"filter[fields][webhook_id][eq]": webhook["id"]}
    fields = "filter[fields][{}][{}]"
    when = {c["id"]: c["attributes"] for c in target.calls_of(webhook["id"])}

    def matching(**bounds: str) -> list[str]:
        params = {fields.format(*k.split("__")): v for k, v in bounds.items()}
        return sorted(_ids(target.calls(**mine, **params)[0]))

    # Bounds clear of the calls' own times, whatever precision the log keeps below the ms.
    at = {c["id"]: moment(when[c["id"]]["created_at"]) for c in (first, second, third)}
    sent = {c["id"]: moment(when[c["id"]]["last_sent_at"]) for c in (first, second, third)}
    seen = {
        "created gt first": matching(created_at__gt=_stamp(at[first["id"]] + 0.001)),
        "created lt third": matching(created_at__lt=_stamp(at[third["id"]])),
        "created between": matching(
            created_at__gt=_stamp(at[first["id"]] + 0.001),
            created_at__lt=_stamp(at[third["id"]]),
        ),
        "sent gt third": matching(last_sent_at__gt=_stamp(sent[third["id"]] + 0.001)),
        "sent lt first": matching(last_sent_at__lt=_stamp(sent[first["id"]])),
        "sent desc": _ids(target.calls(**mine, order_by="last_sent_at_desc")[0]),
        "sent asc": _ids(target.calls(**mine, order_by="last_sent_at_asc")[0]),
    }
    one, two, three = first["id"], second["id"], third["id"]
    evidence.actual = str(seen)
    assert seen == {
        "created gt first": sorted([two, three]),
        "created lt third": sorted([one, two]),
        "created between": [two],
        "sent gt third": [one],
        "sent lt first": sorted([two, three]),
        "sent desc": [one, three, two],
        "sent asc": [two, three, one],
    }


@case("LOG-007", MUST, "§7", "next_retry_at filters with gt/lt and orders the log")
def test_next_retry_at(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence, retry_scale: float
) -> None:
    # The older call waits out the 6th gap; the newer one, still in its first retries,
    # is due sooner: their next_retry_at order is the reverse of their created_at order.
    gaps = [g * retry_scale for g in SCHEDULE]
    if sum(gaps[:5]) > 10:
        pytest.skip(f"5 retries take {sum(gaps[:5]):.0f} s at --retry-scale {retry_scale}")
    webhook = hooks.create(receiver.url_for(hooks.path(), status=500), SSO)
    target.sso_user()

    def retried(times: int) -> Callable[[list[Resource]], bool]:
        def check(calls: list[Resource]) -> bool:
            return any(
                c["attributes"]["attempted_auto_retries_count"] >= times
                and c["attributes"]["status"] == "rescheduled"
                for c in calls
            )

        return check

    [older] = target.wait_calls(webhook["id"], retried(5), timeout=sum(gaps[:5]) * 2 + 5)
    target.sso_user()
    calls = target.wait_call_status(webhook["id"], "rescheduled", count=2)
    mine = {"filter[fields][webhook_id][eq]": webhook["id"]}
    asc = target.calls(**mine, order_by="next_retry_at_asc")[0]
    desc = target.calls(**mine, order_by="next_retry_at_desc")[0]
    [newer] = [c for c in calls if c["id"] != older["id"]]
    due_older = moment(target.call(older["id"])["attributes"]["next_retry_at"])
    # Between the two due times, well clear of both.
    split = _stamp(due_older - gaps[5] / 3)
    before = _ids(target.calls(**mine, **{"filter[fields][next_retry_at][lt]": split})[0])
    after = _ids(target.calls(**mine, **{"filter[fields][next_retry_at][gt]": split})[0])
    evidence.actual = (
        f"asc {_ids(asc)}, desc {_ids(desc)}, lt {split}: {before}, gt: {after}; "
        f"older {older['id']} due {target.call(older['id'])['attributes']['next_retry_at']}, "
        f"newer {newer['id']} due {target.call(newer['id'])['attributes']['next_retry_at']}"
    )
    assert _ids(asc) == [newer["id"], older["id"]], evidence.actual
    assert _ids(desc) == [older["id"], newer["id"]], evidence.actual
    assert (before, after) == ([newer["id"]], [older["id"]]), evidence.actual


@case("LOG-008", MUST, "§7", "filter[ids] spans webhooks; order_by webhook_id groups both ways")
def test_ids_and_webhook_order(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    left = hooks.create(receiver.url_for(hooks.path()), SSO)
    right = hooks.create(receiver.url_for(hooks.path()), SSO)
    for _ in range(2):
        target.sso_user()
    calls = target.calls_of(left["id"]) + target.calls_of(right["id"])
    ids = {"filter[ids]": ",".join(_ids(calls))}
    owner = {c["id"]: c["relationships"]["webhook"]["data"]["id"] for c in calls}
    asc, total = target.calls(**ids, order_by="webhook_id_asc")
    desc, _ = target.calls(**ids, order_by="webhook_id_desc")
    only_left, left_total = target.calls(**ids, **{"filter[fields][webhook_id][eq]": left["id"]})
    # The calls were made in turns, one of each webhook per event: ordered by webhook
    # they come in two runs of one owner each, which created_at order would not give.
    runs_asc = [o for o, _ in itertools.groupby(owner[c["id"]] for c in asc)]
    runs_desc = [o for o, _ in itertools.groupby(owner[c["id"]] for c in desc)]
    evidence.actual = f"asc {runs_asc}, desc {runs_desc}, total {total}, left {left_total}"
    assert total == 4 and sorted(_ids(asc)) == sorted(owner)
    assert len(runs_asc) == 2 and runs_desc == runs_asc[::-1], evidence.actual
    assert left_total == 2 and {owner[c["id"]] for c in only_left} == {left["id"]}


@case("LOG-009", MUST, "§7", "page[limit] 500 is accepted, 501 is 422; offsets past the end")
def test_paging_bounds(target: Target, evidence: Evidence) -> None:
    statuses = {
        value: target.request("GET", "/webhook_calls", params={"page[limit]": value}).status_code
        for value in ("500", "501", "-1", "ten")
    }
    offset = target.request("GET", "/webhook_calls", params={"page[offset]": "-1"}).status_code
    past, total = target.calls(**{"page[offset]": "100000000"})
    evidence.actual = f"limits {statuses}, offset -1: {offset}, past the end {len(past)} of {total}"
    assert statuses == {"500": 200, "501": 422, "-1": 422, "ten": 422}, evidence.actual
    assert offset == 422, evidence.actual
    assert past == [] and total >= 0


@case("LOG-010", MUST, "§7", "credentials stay masked in the list, after a retry and a resend")
def test_masked_everywhere(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence, retry_scale: float
) -> None:
    path = hooks.path()
    receiver.script(path, [{"status": 500}, {"status": 200}, {"status": 200}])
    password = "s3cret: päss"
    webhook = hooks.create(
        receiver.url + path, SSO, http_basic_user="u", http_basic_password=password
    )
    target.sso_user()
    [call] = target.wait_call_status(
        webhook["id"], "success", timeout=5 + SCHEDULE[0] * retry_scale
    )
    assert target.resend(call["id"]).status_code == 204
    requests = arrived(receiver, path, evidence, 3)
    sent = requests[-1].header_values("authorization")
    target.wait_calls(webhook["id"], lambda cs: len(cs[0]["attributes"]["attempts"]) == 3)
    listed = target.request(
        "GET", "/webhook_calls", params={"filter[fields][webhook_id][eq]": webhook["id"]}
    ).json()["data"]
    headers = {k.lower(): v for k, v in listed[0]["attributes"]["request_headers"].items()}
    secret = base64.b64encode(f"u:{password}".encode()).decode()
    text = json.dumps(listed, ensure_ascii=False)
    evidence.actual = f"sent {sent}, logged {headers.get('authorization')!r}"
    assert sent == [f"Basic {secret}"], evidence.actual
    assert headers.get("authorization") == "Basic ***", evidence.actual
    assert password not in text and secret not in text and secret[:16] not in text


@case("LOG-011", MUST, "§7", "a call's own logged time as a gt or lt bound leaves that call out")
def test_bounds_are_strict(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    webhook = hooks.create(receiver.url_for(hooks.path()), SSO)
    target.sso_user()
    [call] = target.wait_call_status(webhook["id"], "success")
    mine = {"filter[fields][webhook_id][eq]": webhook["id"]}
    seen = {
        f"{name} {op} its own": _ids(
            target.calls(**mine, **{f"filter[fields][{name}][{op}]": call["attributes"][name]})[0]
        )
        for name in ("created_at", "last_sent_at")
        for op in ("gt", "lt")
    }
    evidence.actual = (
        f"{seen} for created_at {call['attributes']['created_at']}, "
        f"last_sent_at {call['attributes']['last_sent_at']}"
    )
    assert all(found == [] for found in seen.values()), evidence.actual
