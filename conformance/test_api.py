"""API: authentication, JSON:API shapes and validation (contract §1-3)."""

from __future__ import annotations

from typing import Any

from conformance.cases import MUST, SHOULD, case
from conformance.client import Target
from conformance.plugin import Evidence, Hooks
from conformance.steps import SSO, trigger
from receiver import MockReceiver


def _refused(target: Target, receiver: MockReceiver, **overrides: Any) -> tuple[int, str]:
    """Create a webhook with `overrides`; the status and the field the error names."""
    attributes = Target.webhook_attributes(receiver.url_for("/api-never"), SSO)
    attributes.update(overrides)
    for key in [k for k, v in overrides.items() if v is _MISSING]:
        del attributes[key]
    response = target.request(
        "POST", "/webhooks", json={"data": {"type": "webhook", "attributes": attributes}}
    )
    if response.status_code < 300:
        target.delete_webhook(response.json()["data"]["id"])
        return response.status_code, ""
    errors = response.json().get("data") or [{}]
    details = errors[0].get("attributes", {}).get("details", {})
    return response.status_code, str(details.get("field", ""))


_MISSING: Any = object()


def _all_refused(
    target: Target, evidence: Evidence, results: dict[str, tuple[int, str]], before: int
) -> None:
    evidence.actual = str(results)
    assert all(status == 422 for status, _ in results.values()), results
    assert len(target.webhooks()) == before, "a refused request left a webhook behind"


@case("API-001", MUST, "§1", "a missing or wrong token is 401 UNAUTHORIZED")
def test_auth(target: Target, evidence: Evidence) -> None:
    statuses = [
        target.request("GET", "/webhooks", token="").status_code,
        target.request("GET", "/webhooks", token="wrong").status_code,
        target.request("GET", "/webhook_calls", token="wrong").status_code,
    ]
    response = target.request("GET", "/webhooks", token="wrong")
    evidence.actual = f"{statuses} {response.text[:200]}"
    assert statuses == [401, 401, 401]
    assert response.json()["data"][0]["attributes"]["code"] == "UNAUTHORIZED"


@case("API-002", MUST, "§2", "a created webhook is a JSON:API resource with id and defaults")
def test_create_shape(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    webhook = hooks.create(receiver.url_for(hooks.path()), SSO)
    attributes = webhook["attributes"]
    evidence.actual = str(webhook)[:400]
    assert webhook["type"] == "webhook" and isinstance(webhook["id"], str)
    assert attributes["enabled"] is True
    assert attributes["payload_api_version"] == "3"
    assert attributes["nested_items_in_payload"] is False
    assert attributes["auto_retry"] is True


@case("API-003", MUST, "§2", "GET, partial PUT and DELETE of a webhook; then 404")
def test_crud(target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence) -> None:
    webhook = hooks.create(receiver.url_for(hooks.path()), SSO, headers={"X-A": "1"})
    shown = target.request("GET", f"/webhooks/{webhook['id']}").json()["data"]
    assert shown["attributes"]["name"] == webhook["attributes"]["name"]
    assert webhook["id"] in [w["id"] for w in target.webhooks()]
    updated = target.update_webhook(webhook["id"], enabled=False)
    assert updated["attributes"]["enabled"] is False
    assert updated["attributes"]["headers"] == {"X-A": "1"}, "PUT changed what it was not given"
    deleted = target.request("DELETE", f"/webhooks/{webhook['id']}")
    assert deleted.status_code == 200 and deleted.json()["data"]["id"] == webhook["id"]
    missing = target.request("GET", f"/webhooks/{webhook['id']}")
    evidence.actual = f"after delete: {missing.status_code}"
    assert missing.status_code == 404
    assert missing.json()["data"][0]["attributes"]["code"] == "NOT_FOUND"


@case("API-004", MUST, "§2", "bad name or url is 422 naming the attribute, nothing created")
def test_bad_name_url(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    taken = hooks.create(receiver.url_for(hooks.path()), SSO)["attributes"]["name"]
    before = len(target.webhooks())
    results = {
        "missing name": _refused(target, receiver, name=_MISSING),
        "empty name": _refused(target, receiver, name=""),
        "long name": _refused(target, receiver, name="n" * 256),
        "taken name": _refused(target, receiver, name=taken.upper()),
        "ftp url": _refused(target, receiver, url="ftp://example.com/x"),
        "relative url": _refused(target, receiver, url="/hooks"),
    }
    _all_refused(target, evidence, results, before)
    assert all(field in ("name", "url") for _, field in results.values()), results


@case("API-005", MUST, "§2", "bad headers (name, CR/LF, more than 50) are 422; 50 are taken")
def test_bad_headers(target: Target, receiver: MockReceiver, evidence: Evidence) -> None:
    fifty = {f"X-{i}": "1" for i in range(50)}
    taken = _refused(target, receiver, headers=fifty)
    evidence.actual = f"50 headers: {taken}"
    assert taken[0] in (200, 201), evidence.actual
    before = len(target.webhooks())
    results = {
        "bad name": _refused(target, receiver, headers={"bad name": "1"}),
        "newline": _refused(target, receiver, headers={"X-A": "a\r\nX-B: b"}),
        "nul": _refused(target, receiver, headers={"X-A": "a\x00"}),
        "51 headers": _refused(target, receiver, headers={f"X-{i}": "1" for i in range(51)}),
        "not a string": _refused(target, receiver, headers={"X-A": 1}),
    }
    _all_refused(target, evidence, results, before)


@case("API-006", MUST, "§3", "a bad trigger (pair, filter kind, empty ids) is 422")
def test_bad_triggers(target: Target, receiver: MockReceiver, evidence: Evidence) -> None:
    before = len(target.webhooks())
    results = {
        "upload publish": _refused(target, receiver, events=trigger("upload", "publish")),
        "unknown entity": _refused(target, receiver, events=trigger("page", "create")),
        "upload item_type filter": _refused(
            target, receiver, events=trigger("upload", "create", item_type=["1"])
        ),
        "sso filter": _refused(
            target, receiver, events=trigger("sso_user", "create", environment=["main"])
        ),
        "empty ids": _refused(target, receiver, events=trigger("item", "create", item=[])),
    }
    _all_refused(target, evidence, results, before)


@case("API-007", MUST, "§2", "an unknown attribute or a wrong type is 422")
def test_closed_attributes(target: Target, receiver: MockReceiver, evidence: Evidence) -> None:
    before = len(target.webhooks())
    results = {
        "unknown": _refused(target, receiver, colour="blue"),
        "enabled string": _refused(target, receiver, enabled="yes"),
        "version 4": _refused(target, receiver, payload_api_version="4"),
        "auto_retry null": _refused(target, receiver, auto_retry=None),
        "missing events": _refused(target, receiver, events=_MISSING),
    }
    _all_refused(target, evidence, results, before)
    assert results["unknown"][1] == "colour", results["unknown"]


@case("API-008", MUST, "§1", "a refused PUT changes nothing")
def test_refused_update(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    webhook = hooks.create(receiver.url_for(hooks.path()), SSO)
    body = {
        "data": {
            "type": "webhook",
            "id": webhook["id"],
            "attributes": {"name": "changed", "url": 42},  # refused whatever URLs are allowed
        }
    }
    response = target.request("PUT", f"/webhooks/{webhook['id']}", json=body)
    after = target.request("GET", f"/webhooks/{webhook['id']}").json()["data"]
    evidence.actual = f"{response.status_code}, name now {after['attributes']['name']!r}"
    assert response.status_code == 422
    assert after["attributes"] == webhook["attributes"]


@case("API-009", SHOULD, "§1", "a body that is not JSON is 422 INVALID_FORMAT")
def test_bad_json(target: Target, evidence: Evidence) -> None:
    response = target.request("POST", "/webhooks", content=b"{not json")
    evidence.actual = f"{response.status_code} {response.text[:200]}"
    assert response.status_code == 422
    assert response.json()["data"][0]["attributes"]["code"] == "INVALID_FORMAT"


@case("API-010", SHOULD, "§1", "a body over 1 MiB is 413")
def test_too_large(target: Target, evidence: Evidence) -> None:
    response = target.request("POST", "/webhooks", content=b" " * (1024 * 1024 + 10))
    evidence.actual = str(response.status_code)
    assert response.status_code == 413
