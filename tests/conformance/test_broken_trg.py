"""Each deliberately wrong dispatcher fails exactly the TRG cases aimed at its defect."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import reference.content.builds
import reference.content.records
import reference.content.site
import reference.events
import reference.triggers
from reference.content.records import create_record, update_record
from reference.content.scope import Scope
from reference.content.site import maintenance_mode
from reference.dispatcher import Dispatcher
from reference.events import Event, Resource
from reference.exceptions import ValidationError
from reference.matrix import ENVIRONMENT_SCOPED
from reference.triggers import Filter, Trigger
from tests.conformance.servers import failing_cases, served

filter_value = Event.filter_value  # as the reference has it, before a test patches it


def delete_without_unpublish(scope: Scope, record_id: str) -> Resource:
    """Wrong: deleting a published record raises only `delete`
    (contract §4: `unpublish` then `delete`)."""
    record = scope.get("item", record_id)
    model = scope.get("item_type", record["relationships"]["item_type"]["data"]["id"])
    scope.rows.delete(scope.environment, "item", record_id)
    reference.content.records._raise(scope, model, "delete", record)
    return record


def create_without_publish(
    scope: Scope, attributes: Mapping[str, Any], relationships: Mapping[str, Any]
) -> Resource:
    """Wrong: saving a new record of a model without drafts publishes it but raises
    only `create` (contract §4: `create` + `publish`)."""
    raise_event = scope.raise_event

    def save_only(entity_type: str, event_type: str, entity: Resource, **kwargs: Any) -> None:
        if event_type != "publish":
            raise_event(entity_type, event_type, entity, **kwargs)

    scope.raise_event = save_only  # type: ignore[method-assign]
    return create_record(scope, attributes, relationships)


def update_announced_anyway(
    scope: Scope, record_id: str, attributes: Mapping[str, Any]
) -> Resource:
    """Wrong: a record update's event is handed to the dispatcher outside the change's
    transaction, so an update refused with 422 still makes a call (contract §1: a bad
    request never leaves a partial change behind)."""
    try:
        return update_record(scope, record_id, attributes)
    except ValidationError:
        announced = Event(
            "item",
            "update",
            scope.get("item", record_id),
            environment=scope.environment,
            is_environment_primary=scope.is_primary,
            happened_at=scope.now,
        )
        # Queued behind this request in the database thread: the rollback cannot undo it.
        dispatcher: Any = getattr(scope.record_event, "__self__")  # noqa: B009
        store: Any = dispatcher.store  # the defect reaches under the boundary
        store._db._executor.submit(dispatcher.record_event, store, announced)
        raise


def change_on_every_switch(scope: Scope, active: bool) -> Resource:
    """Wrong: activating maintenance mode when it is already active raises `change` again
    (contract §4: activating or deactivating it is a `change`; a no-op changes nothing)."""
    scope.rows.set_setting("maintenance_mode", active)
    after = maintenance_mode(scope)
    scope.raise_event("maintenance_mode", "change", after)
    return after


def any_filter_holds(self: Trigger, event: Event) -> bool:
    """Wrong: one filter that holds is enough (contract §3: filters of different kinds AND)."""
    return (
        event.entity_type == self.entity_type
        and event.event_type in self.event_types
        and (not self.filters or any(f.holds(event) for f in self.filters))
    )


def environment_type_as_environment(self: Event, kind: str) -> str | None:
    """Wrong: an `environment_type` filter is compared with the environment id, so
    `primary` and `sandbox` never match (contract §3: they name the kind of environment)."""
    return filter_value(self, "environment" if kind == "environment_type" else kind)


def own_id_filters_ignored(self: Filter, event: Event) -> bool:
    """Wrong: `item` and `build_trigger` filters, which name the entity itself, always
    hold (contract §3: the event's entity must be one of the ids listed)."""
    return (
        self.entity_type == event.entity_type
        or event.filter_value(self.entity_type) in self.entity_ids
    )


def one_invalidate_per_change(dispatcher: Dispatcher) -> None:
    """Wrong: the tags of each change go out in an `invalidate` of their own
    (contract §4: the tags of one window go out in one event)."""
    rows: Any = dispatcher.store.content  # type: ignore[attr-defined]
    take_tags = rows.take_tags

    def oldest_change_only(until: float) -> dict[str, list[str]]:
        oldest = rows.oldest_tag_at()
        tags: dict[str, list[str]] = take_tags(until if oldest is None else min(until, oldest))
        return tags

    rows.take_tags = oldest_change_only


def test_deleting_without_unpublish_fails_the_draft_lifecycle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.content.records, "delete_record", delete_without_unpublish)
    with served(tmp_path / "no-unpublish.db") as url:
        failing = failing_cases(url, tmp_path / "report", "TRG", "PAY")
    assert set(failing) == {"TRG-001"}


def test_saving_without_publish_fails_the_plain_lifecycle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.content.records, "create_record", create_without_publish)
    with served(tmp_path / "no-publish.db") as url:
        failing = failing_cases(url, tmp_path / "report", "TRG", "PAY")
    # TRG-010 counts the create + publish of its first record before the refused changes.
    assert set(failing) == {"TRG-002", "TRG-010"}


def test_every_build_succeeding_fails_the_matrix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Wrong: a build that reports an error raises `deploy_succeeded` (contract §4: `deploy_failed`).
    outcomes = {"success": ("deploy_succeeded", "success"), "error": ("deploy_succeeded", "error")}
    monkeypatch.setattr(reference.content.builds, "_OUTCOMES", outcomes)
    with served(tmp_path / "always-succeeded.db") as url:
        failing = failing_cases(url, tmp_path / "report", "TRG", "HDR")
    assert set(failing) == {"TRG-003"}


def test_a_change_on_every_switch_fails_the_matrix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.content.site, "set_maintenance_mode", change_on_every_switch)
    with served(tmp_path / "every-switch.db") as url:
        failing = failing_cases(url, tmp_path / "report", "TRG")
    assert set(failing) == {"TRG-003"}


def test_filters_or_across_kinds_fail_the_filters_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.triggers.Trigger, "matches", any_filter_holds)
    with served(tmp_path / "or-filters.db") as url:
        failing = failing_cases(url, tmp_path / "report", "TRG", "PAY")
    assert set(failing) == {"TRG-004"}


def test_environment_types_read_as_ids_fail_the_filters_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.events.Event, "filter_value", environment_type_as_environment)
    with served(tmp_path / "env-type.db") as url:
        failing = failing_cases(url, tmp_path / "report", "TRG", "PAY")
    assert set(failing) == {"TRG-004"}


def test_x_environment_on_environment_events_fails_the_environment_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Wrong: environment events get `x-environment` (contract §5: records, models, uploads
    # and cache tags only: an environment does not live in an environment).
    scoped = ENVIRONMENT_SCOPED | {"environment"}
    monkeypatch.setattr(reference.events, "ENVIRONMENT_SCOPED", scoped)
    with served(tmp_path / "env-header.db") as url:
        failing = failing_cases(url, tmp_path / "report", "TRG", "HDR")
    assert set(failing) == {"TRG-006"}


def test_one_invalidate_per_change_fails_the_cache_tags_case(tmp_path: Path) -> None:
    with served(tmp_path / "per-change.db", one_invalidate_per_change) as url:
        failing = failing_cases(url, tmp_path / "report", "TRG")
    assert set(failing) == {"TRG-007"}


def test_ignoring_own_id_filters_fails_the_id_filters_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.triggers.Filter, "holds", own_id_filters_ignored)
    with served(tmp_path / "own-id.db") as url:
        failing = failing_cases(url, tmp_path / "report", "TRG")
    assert set(failing) == {"TRG-008"}


def test_a_refused_update_that_makes_a_call_fails_the_refused_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.content.records, "update_record", update_announced_anyway)
    with served(tmp_path / "refused.db") as url:
        failing = failing_cases(url, tmp_path / "report", "TRG", "PAY")
    assert set(failing) == {"TRG-010"}
