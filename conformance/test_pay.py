"""PAY: the default payload (contract §5)."""

from __future__ import annotations

import json
import re
import time

from conformance.cases import MUST, SHOULD, case
from conformance.client import Target
from conformance.plugin import Content, Evidence, Hooks
from conformance.steps import DEFAULT_KEYS, SSO, arrived, body_of, trigger
from receiver import MockReceiver


@case("PAY-001", MUST, "§5", "the default body is compact JSON, keys in the order of §5")
def test_keys(target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence) -> None:
    path = hooks.path()
    hooks.create(receiver.url_for(path), SSO)
    target.sso_user()
    [request] = arrived(receiver, path, evidence)
    body = body_of(request)
    evidence.actual = f"keys {list(body)}"
    assert list(body) == DEFAULT_KEYS
    compact = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    assert request.text == compact, "not compact JSON"


@case("PAY-002", MUST, "§5", "ids, site, time and retry count have the values of §5")
def test_values(target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence) -> None:
    path = hooks.path()
    webhook = hooks.create(receiver.url_for(path), SSO)
    before = time.time()
    target.sso_user()
    [request] = arrived(receiver, path, evidence)
    body = body_of(request)
    [call] = target.calls_of(webhook["id"])
    assert body["webhook_call_id"] == call["id"]
    assert body["webhook_id"] == webhook["id"]
    assert body["site_id"] == request.header("x-site-id")
    assert body["attempted_auto_retries_count"] == 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["event_triggered_at"])
    stamp = time.mktime(time.strptime(body["event_triggered_at"], "%Y-%m-%dT%H:%M:%SZ"))
    stamp -= time.timezone
    assert before - 2 <= stamp <= time.time() + 2, body["event_triggered_at"]


@case("PAY-003", MUST, "§5", "a record is a resource object; related_entities holds its model")
def test_record(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence, content: Content
) -> None:
    path = hooks.path()
    hooks.create(receiver.url_for(path), trigger("item", "create"))
    record = target.record(content.model, {"title": "Hello"})
    [request] = arrived(receiver, path, evidence)
    body = body_of(request)
    entity = body["entity"]
    assert {"id", "type", "attributes", "relationships", "meta"} <= set(entity)
    assert (entity["id"], entity["type"]) == (record["id"], "item")
    assert entity["attributes"]["title"] == "Hello"
    assert entity["meta"]["status"] == "draft"
    related = {(e["type"], e["id"]) for e in body["related_entities"]}
    assert ("item_type", content.model) in related, related
    assert (body["environment"], body["is_environment_primary"]) == ("main", True)


@case("PAY-004", MUST, "§5", "a record update carries previous_entity, before related_entities")
def test_previous(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence, content: Content
) -> None:
    path = hooks.path()
    hooks.create(receiver.url_for(path), trigger("item", "update"))
    record = target.record(content.model, {"title": "Before"})
    target.update_record(record["id"], {"title": "After"})
    [request] = arrived(receiver, path, evidence)
    body = body_of(request)
    keys = list(body)
    evidence.actual = f"keys {keys}"
    assert keys == [*DEFAULT_KEYS[:-1], "previous_entity", "related_entities"]
    assert body["entity"]["attributes"]["title"] == "After"
    assert body["previous_entity"]["attributes"]["title"] == "Before"


@case("PAY-005", MUST, "§5", "no previous_entity outside record updates")
def test_no_previous(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence, content: Content
) -> None:
    path = hooks.path()
    hooks.create(receiver.url_for(path), trigger("item", "create", "publish"))
    record = target.record(content.model, {"title": "x"})
    target.record_action(record["id"], "publish")
    requests = arrived(receiver, path, evidence, 2)
    assert ["previous_entity" in body_of(r) for r in requests] == [False, False]


@case("PAY-006", MUST, "§5", "a sandbox record names its environment, not primary")
def test_sandbox(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence, content: Content
) -> None:
    path = hooks.path()
    hooks.create(receiver.url_for(path), trigger("item", "create"))
    target.record(content.sandbox_model, {"title": "s"}, environment=content.sandbox)
    [request] = arrived(receiver, path, evidence)
    body = body_of(request)
    assert (body["environment"], body["is_environment_primary"]) == (content.sandbox, False)


@case("PAY-007", MUST, "§5", "a deleted record is sent as it was")
def test_deleted(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence, content: Content
) -> None:
    path = hooks.path()
    hooks.create(receiver.url_for(path), trigger("item", "delete"))
    record = target.record(content.model, {"title": "Gone"})
    target.record_action(record["id"], "delete")
    [request] = arrived(receiver, path, evidence)
    entity = body_of(request)["entity"]
    assert (entity["id"], entity["attributes"]["title"]) == (record["id"], "Gone")


@case("PAY-008", SHOULD, "§5", "an entity with no relationships has related_entities []")
def test_no_related(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    path = hooks.path()
    hooks.create(receiver.url_for(path), SSO)
    target.sso_user()
    [request] = arrived(receiver, path, evidence)
    body = body_of(request)
    assert body["related_entities"] == []
    assert (body["environment"], body["is_environment_primary"]) == ("main", True)
