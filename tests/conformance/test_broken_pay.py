"""Each deliberately wrong dispatcher fails exactly the PAY cases aimed at its defect."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import reference.payloads
from reference.events import Event
from reference.payloads import CallContext, default_payload
from reference.webhooks import Webhook
from tests.conformance.servers import failing_cases, served


def python_event_time(event: Event) -> str:
    """Wrong: the event time as `isoformat` writes it, with microseconds and an offset
    (contract §5: UTC, `YYYY-MM-DDTHH:MM:SSZ`)."""
    return event.happened_at.isoformat()


def creator_only(event: Event, webhook: Webhook, call: CallContext) -> dict[str, Any]:
    """Wrong: a record's related_entities hold its creator but not its model
    (contract §5: what `entity.relationships` points to, the model and the creator)."""
    payload = default_payload(event, webhook, call)
    payload["related_entities"] = [
        e for e in payload["related_entities"] if e["type"] != "item_type"
    ]
    return payload


def previous_on_every_record_event(
    event: Event, webhook: Webhook, call: CallContext
) -> dict[str, Any]:
    """Wrong: every record event carries previous_entity, null where there is none
    (contract §5: only a record `update` has it)."""
    payload = default_payload(event, webhook, call)
    if event.entity_type == "item" and "previous_entity" not in payload:
        related = payload.pop("related_entities")
        payload["previous_entity"] = None
        payload["related_entities"] = related
    return payload


def primary_environment_always(event: Event, webhook: Webhook, call: CallContext) -> dict[str, Any]:
    """Wrong: the body names the site's primary environment, whatever the entity lives in
    (contract §5: the entity's environment; for an environment event, that environment)."""
    payload = default_payload(event, webhook, call)
    payload["environment"], payload["is_environment_primary"] = "main", True
    return payload


def deleted_record_as_null(event: Event, webhook: Webhook, call: CallContext) -> dict[str, Any]:
    """Wrong: the record is looked up when the call is sent, so a deleted one is null
    (contract §5: for `delete`, the entity as it was)."""
    payload = default_payload(event, webhook, call)
    if (event.entity_type, event.event_type) == ("item", "delete"):
        payload["entity"] = None
    return payload


def no_related_as_null(event: Event, webhook: Webhook, call: CallContext) -> dict[str, Any]:
    """Wrong: related_entities is null when there are none (contract §5: `[]`)."""
    payload = default_payload(event, webhook, call)
    payload["related_entities"] = payload["related_entities"] or None
    return payload


def test_an_iso_event_time_fails_the_values_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.payloads, "format_event_time", python_event_time)
    with served(tmp_path / "isoformat.db") as url:
        failing = failing_cases(url, tmp_path / "report", "PAY", "TPL")
    assert set(failing) == {"PAY-002"}


def test_a_record_without_its_model_fails_the_record_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.payloads, "default_payload", creator_only)
    with served(tmp_path / "creator-only.db") as url:
        failing = failing_cases(url, tmp_path / "report", "PAY", "TPL")
    assert set(failing) == {"PAY-003"}


def test_previous_entity_on_every_record_event_fails_the_no_previous_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.payloads, "default_payload", previous_on_every_record_event)
    with served(tmp_path / "previous-always.db") as url:
        failing = failing_cases(url, tmp_path / "report", "PAY", "TPL")
    assert set(failing) == {"PAY-005"}


def test_the_primary_environment_always_fails_the_sandbox_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.payloads, "default_payload", primary_environment_always)
    with served(tmp_path / "primary-always.db") as url:
        failing = failing_cases(url, tmp_path / "report", "PAY", "HDR", "TRG")
    # TRG-006 (environment events) and TRG-007 (cache tags of a sandbox) name theirs too.
    assert set(failing) == {"PAY-006", "TRG-006", "TRG-007"}


def test_a_deleted_record_as_null_fails_the_deleted_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.payloads, "default_payload", deleted_record_as_null)
    with served(tmp_path / "deleted-null.db") as url:
        failing = failing_cases(url, tmp_path / "report", "PAY", "TPL", "TRG")
    assert set(failing) == {"PAY-007"}


def test_null_related_entities_fail_the_no_related_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference.payloads, "default_payload", no_related_as_null)
    with served(tmp_path / "related-null.db") as url:
        failing = failing_cases(url, tmp_path / "report", "PAY", "TPL")
    # TPL-009 renders `{{{related_entities}}}` and expects `[]`. A SHOULD and a MAY
    # case: neither fails the run.
    assert failing == {"PAY-008": "non-strict", "TPL-009": "informational"}
