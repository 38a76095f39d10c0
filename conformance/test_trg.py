"""TRG: which events reach which webhooks (SPEC §3, §4)."""

from __future__ import annotations

from conformance.cases import MUST, case
from conformance.client import Target
from conformance.plugin import Content, Evidence, Hooks
from conformance.steps import SSO, arrived, body_of, trigger
from receiver import MockReceiver

RECORD_EVENTS = ("create", "update", "delete", "publish", "unpublish")


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
    requests = arrived(receiver, path, evidence, 2)
    assert _events(list(requests)) == ["create", "publish"]


@case(
    "TRG-003", MUST, "§4", "models, uploads, builds, maintenance and SSO users raise their events"
)
def test_matrix(target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence) -> None:
    paths = {}
    for entity, events in {
        "item_type": ("create", "update", "delete"),
        "upload": ("create", "update", "delete"),
        "build_trigger": ("deploy_started", "deploy_succeeded", "deploy_failed"),
        "maintenance_mode": ("change",),
        "sso_user": ("create",),
    }.items():
        paths[entity] = hooks.path(entity)
        hooks.create(receiver.url_for(paths[entity]), trigger(entity, *events))
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
    evidence.actual = str(seen)
    seen["build_trigger"].sort()  # calls of different events may arrive in any order
    assert seen == {
        "item_type": ["create", "update", "delete"],
        "upload": ["create", "update", "delete"],
        "build_trigger": ["deploy_failed", "deploy_started", "deploy_started", "deploy_succeeded"],
        "maintenance_mode": ["change", "change"],
        "sso_user": ["create"],
    }


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
    # SPEC §7: calls are stored with the change, so the log is complete now.
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
