"""TRG: which events reach which webhooks (contract §3, §4)."""

from __future__ import annotations

import json
import os
import time
from typing import Any

from conformance.cases import MUST, case
from conformance.client import Resource, Target
from conformance.plugin import Content, Evidence, Hooks
from conformance.steps import SSO, arrived, body_of, trigger
from receiver import MockReceiver

RECORD_EVENTS = ("create", "update", "delete", "publish", "unpublish")


def body_of_call(call: Resource) -> Any:
    """The body a call in the log says was sent."""
    return json.loads(call["attributes"]["request_payload"])


def _events(requests: list[object]) -> list[str]:
    return [body_of(r)["event_type"] for r in requests]  # type: ignore[arg-type]


@case("TRG-001", MUST, "§4", "a draft record: create, update, publish, then unpublish + delete")
def test_draft_lifecycle(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence, content: Content
) -> None:
    path = hooks.path()
    hooks.create(receiver.url_for(path), trigger("item", *RECORD_EVENTS))
    record = target.record(content.model, {"title": "a"})
    target.update_record(record["id"], {"title": "b"})
    target.record_action(record["id"], "publish")
    target.record_action(record["id"], "delete")
    webhook_id = hooks.created[-1]
    arrived(receiver, path, evidence, 5)
    # The order of the events is the order of the calls in the log, not of arrival.
    calls, _ = target.calls(
        order_by="created_at_asc", **{"filter[fields][webhook_id][eq]": webhook_id}
    )
    seen = [c["attributes"]["event_type"] for c in sorted(calls, key=lambda c: int(c["id"]))]
    evidence.actual = str(seen)
    assert seen == ["create", "update", "publish", "unpublish", "delete"]


@case("TRG-002", MUST, "§4", "a record without drafts: create + publish on save")
def test_plain_lifecycle(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence, content: Content
) -> None:
    path = hooks.path()
    hooks.create(receiver.url_for(path), trigger("item", *RECORD_EVENTS))
    target.record(content.plain_model, {"title": "a"})
    arrived(receiver, path, evidence, 2)
    # Both calls go out at once: their order is the log's, not the order of arrival.
    calls, _ = target.calls(
        order_by="created_at_asc", **{"filter[fields][webhook_id][eq]": hooks.created[-1]}
    )
    seen = [c["attributes"]["event_type"] for c in sorted(calls, key=lambda c: int(c["id"]))]
    evidence.actual = str(seen)
    assert seen == ["create", "publish"]


@case(
    "TRG-003", MUST, "§4", "models, uploads, builds, maintenance and SSO users raise their events"
)
def test_matrix(target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence) -> None:
    paths, webhooks = {}, {}
    for entity, events in {
        "item_type": ("create", "update", "delete"),
        "upload": ("create", "update", "delete"),
        "build_trigger": ("deploy_started", "deploy_succeeded", "deploy_failed"),
        "maintenance_mode": ("change",),
        "sso_user": ("create",),
    }.items():
        paths[entity] = hooks.path(entity)
        webhooks[entity] = hooks.create(receiver.url_for(paths[entity]), trigger(entity, *events))
    model = target.model()["id"]
    target.field(model, "f")
    target.delete_model(model)
    upload = target.upload()["id"]
    target.request(
        "PUT",
        f"/uploads/{upload}",
        json={"data": {"type": "upload", "id": upload, "attributes": {"alt": "x"}}},
    )
    target.request("DELETE", f"/uploads/{upload}")
    build = target.build_trigger()["id"]
    target.trigger_build(build)
    target.deploy_result(build, "success")
    target.trigger_build(build)
    target.deploy_result(build, "error")
    target.maintenance(True)
    target.maintenance(True)  # no change, no event
    target.maintenance(False)
    target.sso_user()
    seen = {
        "item_type": _events(list(arrived(receiver, paths["item_type"], evidence, 3))),
        "upload": _events(list(arrived(receiver, paths["upload"], evidence, 3))),
        "build_trigger": _events(list(arrived(receiver, paths["build_trigger"], evidence, 4))),
        "maintenance_mode": _events(
            list(arrived(receiver, paths["maintenance_mode"], evidence, 2))
        ),
        "sso_user": _events(list(arrived(receiver, paths["sso_user"], evidence, 1))),
    }
    # contract §7: calls are stored with the change, so the log holds every event raised.
    logged = {entity: len(target.calls_of(w["id"])) for entity, w in webhooks.items()}
    evidence.actual = f"{seen}; calls in the log {logged}"
    for events_of in seen.values():
        events_of.sort()  # calls of different events may arrive in any order
    assert seen == {
        "item_type": ["create", "delete", "update"],
        "upload": ["create", "delete", "update"],
        "build_trigger": ["deploy_failed", "deploy_started", "deploy_started", "deploy_succeeded"],
        "maintenance_mode": ["change", "change"],
        "sso_user": ["create"],
    }, evidence.actual
    assert logged == {entity: len(events_of) for entity, events_of in seen.items()}, evidence.actual


@case("TRG-004", MUST, "§3", "filters: ids OR inside one, kinds AND across; environment kinds")
def test_filters(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence, content: Content
) -> None:
    by_model = hooks.create(
        receiver.url_for(hooks.path()), trigger("item", "create", item_type=[content.model])
    )
    by_both = hooks.create(
        receiver.url_for(hooks.path()),
        trigger(
            "item",
            "create",
            item_type=[content.model, content.sandbox_model],
            environment=[content.sandbox],
        ),
    )
    primary = hooks.create(
        receiver.url_for(hooks.path()), trigger("item", "create", environment_type=["primary"])
    )
    sandbox = hooks.create(
        receiver.url_for(hooks.path()), trigger("item", "create", environment_type=["sandbox"])
    )
    target.record(content.model, {"title": "p"})
    target.record(content.plain_model, {"title": "q"})
    target.record(content.sandbox_model, {"title": "s"}, environment=content.sandbox)
    # contract §7: calls are stored with the change, so the log is complete now.
    counts = {
        name: len(target.calls_of(w["id"]))
        for name, w in {
            "by_model": by_model,
            "by_both": by_both,
            "primary": primary,
            "sandbox": sandbox,
        }.items()
    }
    evidence.actual = str(counts)
    assert counts == {"by_model": 1, "by_both": 1, "primary": 2, "sandbox": 1}


@case("TRG-005", MUST, "§3", "a disabled webhook gets nothing; one event is one call per webhook")
def test_disabled_and_once(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    disabled = hooks.create(receiver.url_for(hooks.path()), SSO, enabled=False)
    twice = hooks.create(receiver.url_for(hooks.path()), SSO + SSO)
    target.sso_user()
    counts = (len(target.calls_of(disabled["id"])), len(target.calls_of(twice["id"])))
    evidence.actual = f"disabled {counts[0]}, two matching triggers {counts[1]}"
    assert counts == (0, 1)


def _environment_name(label: str) -> str:
    return f"{label}-{os.getpid()}-{time.time_ns() % 10**9}"


@case("TRG-006", MUST, "§4", "fork, rename, promote, delete: environment events, no x-environment")
def test_environment_events(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    path = hooks.path()
    hooks.create(
        receiver.url_for(path), trigger("environment", "create", "update", "promote", "delete")
    )
    forked, renamed = _environment_name("fork"), _environment_name("renamed")
    target.fork("main", forked)
    target.rename_environment(forked, renamed)
    target.promote_environment(renamed)
    try:
        target.promote_environment("main")  # the rest of the run expects main as primary
    finally:
        target.delete_environment(renamed)
    requests = arrived(receiver, path, evidence, 5)
    seen = sorted(
        (
            body_of(r)["event_type"],
            body_of(r)["environment"],
            body_of(r)["is_environment_primary"],
            body_of(r)["entity"]["id"],
            r.header_values("x-environment") == [],
        )
        for r in requests
    )
    evidence.actual = str(seen)
    assert seen == sorted(
        [
            ("create", forked, False, forked, True),
            ("update", renamed, False, renamed, True),
            ("promote", renamed, True, renamed, True),
            ("promote", "main", True, "main", True),
            ("delete", renamed, False, renamed, True),
        ]
    )


@case("TRG-007", MUST, "§4", "changes within one window: one invalidate with all their tags")
def test_cache_tags(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    # An environment of its own, so that no other case's tags reach this webhook.
    sandbox = _environment_name("tags")
    target.fork("main", sandbox)
    try:
        model = target.model(draft=False, environment=sandbox)["id"]  # no field: no tags yet
        path = hooks.path()
        hooks.create(
            receiver.url_for(path), trigger("cda_cache_tags", "invalidate", environment=[sandbox])
        )
        first = target.record(model, {}, environment=sandbox)["id"]
        second = target.record(model, {}, environment=sandbox)["id"]
        [batched] = arrived(receiver, path, evidence, 1, timeout=5)
        # A later change, after the first event arrived, is a window of its own.
        third = target.record(model, {}, environment=sandbox)["id"]
        requests = arrived(receiver, path, evidence, 2, timeout=5)
    finally:
        target.delete_environment(sandbox)
    bodies = [body_of(r) for r in requests]
    tags = [set(b["entity"]["attributes"]["tags"]) for b in bodies]
    evidence.actual = (
        f"tags {[sorted(t) for t in tags]}, environment {[b['environment'] for b in bodies]}, "
        f"x-environment {[r.header_values('x-environment') for r in requests]}"
    )
    assert [(b["entity_type"], b["event_type"]) for b in bodies] == [
        ("cda_cache_tags", "invalidate")
    ] * 2
    assert tags[0] >= {f"item:{first}", f"item:{second}"}, evidence.actual
    assert f"item:{third}" not in tags[0] and f"item:{third}" in tags[1], evidence.actual
    assert not ({f"item:{first}", f"item:{second}"} & tags[1]), evidence.actual
    assert [b["environment"] for b in bodies] == [sandbox] * 2, evidence.actual
    assert [r.header_values("x-environment") for r in requests] == [[sandbox]] * 2
    assert receiver.count(path=path) == 2, evidence.actual
    assert batched.seq == requests[0].seq


@case("TRG-008", MUST, "§3", "item and build_trigger filters match only the ids they list")
def test_id_filters(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence, content: Content
) -> None:
    record = target.record(content.model, {"title": "a"})["id"]
    other = target.record(content.model, {"title": "b"})["id"]
    build, other_build = target.build_trigger()["id"], target.build_trigger()["id"]
    by_item = hooks.create(
        receiver.url_for(hooks.path()), trigger("item", "update", "publish", item=[record])
    )
    by_build = hooks.create(
        receiver.url_for(hooks.path()),
        trigger("build_trigger", "deploy_started", build_trigger=[build]),
    )
    for record_id in (record, other):
        target.update_record(record_id, {"title": "c"})
        target.record_action(record_id, "publish")
    target.trigger_build(other_build)
    target.trigger_build(build)

    def sent(webhook: Resource) -> list[Resource]:
        # contract §7: calls are stored with the change, but the body only once sent.
        return target.wait_calls(
            webhook["id"], lambda cs: all(c["attributes"]["request_payload"] for c in cs)
        )

    seen = {
        "item": sorted(
            (c["attributes"]["event_type"], body_of_call(c)["entity"]["id"]) for c in sent(by_item)
        ),
        "build_trigger": [body_of_call(c)["entity"]["id"] for c in sent(by_build)],
    }
    evidence.actual = str(seen)
    assert seen == {"item": [("publish", record), ("update", record)], "build_trigger": [build]}


@case("TRG-009", MUST, "§2", "a webhook disabled, then enabled again, matches events again")
def test_reenabled(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    path = hooks.path()
    webhook = hooks.create(receiver.url_for(path), SSO)
    counts = []
    for enabled in (True, False, True):
        target.update_webhook(webhook["id"], enabled=enabled)
        target.sso_user()
        counts.append(len(target.calls_of(webhook["id"])))
    evidence.actual = f"calls after enabled, disabled, enabled again: {counts}"
    assert counts == [1, 1, 2], evidence.actual
    arrived(receiver, path, evidence, 2)


@case("TRG-010", MUST, "§1", "a change refused with 422 raises no event and no call")
def test_refused_change(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence, content: Content
) -> None:
    webhook = hooks.create(
        receiver.url_for(hooks.path()),
        trigger("item", *RECORD_EVENTS) + trigger("item_type", "create", "update"),
    )
    record = target.record(content.plain_model, {"title": "ok"})["id"]
    before = len(target.calls_of(webhook["id"]))
    item_type = {"type": "item_type", "id": content.model}
    refused = {
        "record: unknown field": target.request(
            "POST",
            "/items",
            json={
                "data": {
                    "type": "item",
                    "attributes": {"title": "x", "no_such_field": 1},
                    "relationships": {"item_type": {"data": item_type}},
                }
            },
        ).status_code,
        "record: wrong type": target.request(
            "PUT",
            f"/items/{record}",
            json={"data": {"type": "item", "id": record, "attributes": {"title": 42}}},
        ).status_code,
        "model: unknown attribute": target.request(
            "POST",
            "/item-types",
            json={"data": {"type": "item_type", "attributes": {"name": "x", "bogus": True}}},
        ).status_code,
    }
    after = len(target.calls_of(webhook["id"]))
    evidence.actual = f"{refused}; calls {before} before, {after} after"
    assert set(refused.values()) == {422}, evidence.actual
    assert (before, after) == (2, 2), evidence.actual
