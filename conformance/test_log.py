"""LOG: the activity log (SPEC §7)."""

from __future__ import annotations

from conformance.cases import MUST, SHOULD, case
from conformance.client import Target
from conformance.plugin import Evidence, Hooks
from conformance.steps import SSO, arrived

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
