"""Parsing the default payload into a typed event: every entity/event pair of contract §3
in payload versions 1 to 3, as the dispatcher writes them, and Hypothesis over payload
shapes, good and broken."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from endpoint import ENTITY_EVENTS, Event, PayloadError, parse_payload
from reference.events import Event as DispatcherEvent
from reference.events import variant_key
from reference.matrix import MATRIX
from reference.payloads import CallContext, default_payload, dumps
from reference.samples import sample_event_for
from reference.webhooks import Webhook

VERSIONS = [("1", False), ("2", False), ("3", False), ("3", True)]


def test_the_pairs_are_the_dispatchers() -> None:
    assert dict(ENTITY_EVENTS) == {name: rule.event_types for name, rule in MATRIX.items()}


def _webhook(version: str, nested: bool) -> Webhook:
    return Webhook(
        id="42",
        name="w",
        url="http://127.0.0.1/",
        custom_payload=None,
        headers={},
        events=(),
        http_basic_user=None,
        http_basic_password=None,
        payload_api_version=version,
        nested_items_in_payload=nested,
    )


def _with_versions(event: DispatcherEvent) -> DispatcherEvent:
    """A record whose asset and blocks each version writes its own way (contract §2)."""
    if event.entity_type != "item":
        return event
    v3: dict[str, Any] = {"cover": {"upload_id": "9", "alt": "A cat"}, "body": ["b1"]}
    shapes: dict[str, dict[str, Any]] = {
        "1": {"cover": {"id": "9", "path": "/cat.png", "size": 3}, "body": ["b1"]},
        "2": {"cover": "9", "body": ["b1"]},
        "3+nested": {**v3, "body": [{"id": "b1", "type": "item", "attributes": {"t": "hi"}}]},
    }

    def entity(attributes: dict[str, Any]) -> dict[str, Any]:
        return {**event.entity, "attributes": {**event.entity["attributes"], **attributes}}

    variants = {key: entity(attributes) for key, attributes in shapes.items()}
    if event.previous_entity is not None:
        variants |= {
            variant_key(k[0], "nested" in k, previous=True): v for k, v in variants.items()
        }
    return replace(event, entity=entity(v3), variants=variants)


@pytest.mark.parametrize(
    ("entity_type", "event_type"),
    [(e, v) for e, rule in MATRIX.items() for v in rule.event_types],
    ids=lambda x: str(x),
)
@pytest.mark.parametrize(("version", "nested"), VERSIONS, ids=["v1", "v2", "v3", "v3+nested"])
def test_every_pair_in_every_version_parses(
    entity_type: str, event_type: str, version: str, nested: bool
) -> None:
    event = _with_versions(sample_event_for(entity_type, event_type))
    call = CallContext(call_id="77", site_id="4242", attempted_auto_retries_count=2, user_agent="t")
    body = default_payload(event, _webhook(version, nested), call)
    parsed = parse_payload(dumps(body).encode())
    assert parsed == Event(
        webhook_call_id="77",
        webhook_id="42",
        site_id="4242",
        entity_type=entity_type,
        event_type=event_type,
        entity=body["entity"],
        environment=body["environment"],
        is_environment_primary=body["is_environment_primary"],
        previous_entity=body.get("previous_entity"),
        related_entities=tuple(body["related_entities"]),
        attempted_auto_retries_count=2,
        event_triggered_at=datetime(2026, 11, 27, 10, 5, tzinfo=UTC),
    )
    assert ("previous_entity" in body) == ((entity_type, event_type) == ("item", "update"))
    if entity_type == "item":  # the version's own shapes came through untouched
        cover = parsed.entity["attributes"]["cover"]
        assert cover == {"1": {"id": "9", "path": "/cat.png", "size": 3}, "2": "9"}.get(
            version, {"upload_id": "9", "alt": "A cat"}
        )
        assert isinstance(parsed.entity["attributes"]["body"][0], dict) == nested
    assert Event.from_json(json.loads(json.dumps(parsed.to_json()))) == parsed


# -- Hypothesis -----------------------------------------------------------------------------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)
IDS = st.text(min_size=1, max_size=12) | st.integers(0, 10**12)


@st.composite
def resources(draw: st.DrawFn) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "id": draw(st.text(min_size=1, max_size=8)),
        "type": draw(st.sampled_from(sorted(ENTITY_EVENTS))),
    }
    for member in draw(st.sets(st.sampled_from(["attributes", "relationships", "meta"]))):
        resource[member] = draw(st.dictionaries(st.text(max_size=6), JSON, max_size=4))
    return resource


@st.composite
def payloads(draw: st.DrawFn) -> dict[str, Any]:
    entity_type = draw(st.sampled_from(sorted(ENTITY_EVENTS)))
    event_type = draw(st.sampled_from(ENTITY_EVENTS[entity_type]))
    moment = draw(
        st.datetimes(datetime(2000, 1, 1), datetime(2200, 1, 1), timezones=st.just(UTC))
    ).replace(microsecond=0)
    body: dict[str, Any] = {
        "webhook_call_id": draw(IDS),
        "event_triggered_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "attempted_auto_retries_count": draw(st.integers(0, 7)),
        "webhook_id": draw(IDS),
        "site_id": draw(IDS),
        "environment": draw(st.text(min_size=1, max_size=10)),
        "is_environment_primary": draw(st.booleans()),
        "entity_type": entity_type,
        "event_type": event_type,
        "entity": draw(resources()),
    }
    if (entity_type, event_type) == ("item", "update"):
        body["previous_entity"] = draw(st.none() | resources())
    body["related_entities"] = draw(st.lists(resources(), max_size=3))
    # Members a later version of the sender might add are let through.
    body.update(draw(st.dictionaries(st.text(min_size=12, max_size=14), JSON, max_size=2)))
    return body


@settings(max_examples=200, deadline=None)
@given(payloads())
def test_any_payload_parses_into_its_event(body: dict[str, Any]) -> None:
    event = parse_payload(json.dumps(body).encode())
    assert event.webhook_call_id == str(body["webhook_call_id"])
    assert (event.webhook_id, event.site_id) == (str(body["webhook_id"]), str(body["site_id"]))
    assert (event.entity_type, event.event_type) == (body["entity_type"], body["event_type"])
    assert event.entity == body["entity"]
    assert event.previous_entity == body.get("previous_entity")
    assert list(event.related_entities) == body["related_entities"]
    assert event.attempted_auto_retries_count == body["attempted_auto_retries_count"]
    assert event.event_triggered_at is not None
    assert event.event_triggered_at.strftime("%Y-%m-%dT%H:%M:%SZ") == body["event_triggered_at"]
    assert Event.from_json(json.loads(json.dumps(event.to_json()))) == event


#: for each member: values that are not what it must be
WRONG: dict[str, list[Any]] = {
    "webhook_call_id": [None, "", True, 1.5, [], {}],
    "webhook_id": [None, "", False, ["1"]],
    "site_id": [None, "", {"id": "1"}],
    "event_triggered_at": [None, "", "yesterday", "2026-11-27T10:05:00", 1764237900],
    "attempted_auto_retries_count": [None, -1, "0", 1.0, True],
    "environment": [None, "", 3],
    "is_environment_primary": [None, "yes", 1],
    "entity_type": [None, "", "page", 1],
    "event_type": [None, "", "explode"],
    "entity": [
        None,
        "1",
        [],
        {},
        {"id": ""},
        {"id": 1},
        {"id": "1", "type": 2},
        {"id": "1", "attributes": []},
    ],
    "related_entities": [None, {}, [None], [{"id": 5}]],
}


@settings(max_examples=200, deadline=None)
@given(payloads(), st.sampled_from(sorted(WRONG)), st.data())
def test_a_broken_member_is_named(body: dict[str, Any], member: str, data: st.DataObject) -> None:
    broken = dict(body)
    if data.draw(st.booleans(), label="delete"):
        del broken[member]
    else:
        broken[member] = data.draw(st.sampled_from(WRONG[member]), label="value")
    with pytest.raises(PayloadError) as caught:
        parse_payload(json.dumps(broken).encode())
    assert caught.value.field.split(".")[0].split("[")[0] == member, caught.value


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | JSON.map(lambda v: json.dumps(v).encode()))
def test_any_body_is_an_event_or_a_payload_error(body: bytes) -> None:
    try:
        parse_payload(body)
    except PayloadError as exc:
        assert str(exc)


def test_a_record_update_needs_its_previous_entity() -> None:
    event = sample_event_for("item", "update")
    call = CallContext(call_id="1", site_id="1", attempted_auto_retries_count=0, user_agent="t")
    body = default_payload(event, _webhook("3", False), call)
    del body["previous_entity"]
    with pytest.raises(PayloadError, match="previous_entity: missing"):
        parse_payload(dumps(body).encode())


def test_deep_nesting_is_a_payload_error() -> None:
    with pytest.raises(PayloadError, match="nests too deeply"):
        parse_payload(b"[" * 100_000 + b"]" * 100_000)
