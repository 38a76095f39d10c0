from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference.events import Event
from reference.exceptions import ValidationError
from reference.matrix import MATRIX
from reference.triggers import matches_any, parse_triggers
from tests.reference.factories import event_of, item_event

ALL_EVENT_TYPES = sorted({e for rule in MATRIX.values() for e in rule.event_types})
ALL_FILTERS = ["item", "item_type", "environment", "environment_type", "build_trigger"]


@pytest.mark.parametrize(
    ("entity_type", "event_type"),
    [(entity, event) for entity, rule in MATRIX.items() for event in rule.event_types],
)
def test_every_pair_of_the_matrix_is_accepted(entity_type: str, event_type: str) -> None:
    (trigger,) = parse_triggers([{"entity_type": entity_type, "event_types": [event_type]}])
    assert trigger.matches(event_of(entity_type, event_type))


@pytest.mark.parametrize(
    ("entity_type", "event_type"),
    [
        (entity, event)
        for entity, rule in MATRIX.items()
        for event in ALL_EVENT_TYPES
        if event not in rule.event_types
    ],
)
def test_every_other_pair_is_refused(entity_type: str, event_type: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_triggers([{"entity_type": entity_type, "event_types": [event_type]}])
    assert info.value.field == "events[0].event_types"
    assert repr(event_type) in info.value.message


@pytest.mark.parametrize(
    ("entity_type", "kind"),
    [(entity, kind) for entity, rule in MATRIX.items() for kind in ALL_FILTERS],
)
def test_filters_apply_exactly_as_the_matrix_says(entity_type: str, kind: str) -> None:
    rule = MATRIX[entity_type]
    ids = ["primary"] if kind == "environment_type" else ["1"]
    trigger = {
        "entity_type": entity_type,
        "event_types": [rule.event_types[0]],
        "filters": [{"entity_type": kind, "entity_ids": ids}],
    }
    if kind in rule.filters:
        parse_triggers([trigger])
    else:
        with pytest.raises(ValidationError) as info:
            parse_triggers([trigger])
        assert info.value.field == "events[0].filters[0].entity_type"


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("item", "events"),
        ([1], "events[0]"),
        ([{"entity_type": "record", "event_types": ["create"]}], "events[0].entity_type"),
        ([{"event_types": ["create"]}], "events[0].entity_type"),
        ([{"entity_type": "item"}], "events[0].event_types"),
        ([{"entity_type": "item", "event_types": []}], "events[0].event_types"),
        ([{"entity_type": "item", "event_types": "create"}], "events[0].event_types"),
        ([{"entity_type": "item", "event_types": ["create"], "x": 1}], "events[0].x"),
        ([{"entity_type": "item", "event_types": ["create"], "filters": {}}], "events[0].filters"),
        (
            [
                {
                    "entity_type": "item",
                    "event_types": ["create"],
                    "filters": [{"entity_type": "item"}],
                }
            ],
            "events[0].filters[0].entity_ids",
        ),
        (
            [
                {
                    "entity_type": "item",
                    "event_types": ["create"],
                    "filters": [{"entity_type": "item", "entity_ids": []}],
                }
            ],
            "events[0].filters[0].entity_ids",
        ),
        (
            [
                {
                    "entity_type": "item",
                    "event_types": ["create"],
                    "filters": [{"entity_type": "environment_type", "entity_ids": ["prod"]}],
                }
            ],
            "events[0].filters[0].entity_ids",
        ),
    ],
)
def test_malformed_triggers_name_the_field(value: Any, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_triggers(value)
    assert info.value.field == field


def _item_trigger(*filters: tuple[str, list[str]]) -> list[dict[str, Any]]:
    return [
        {
            "entity_type": "item",
            "event_types": ["create", "update", "delete", "publish", "unpublish"],
            "filters": [{"entity_type": k, "entity_ids": ids} for k, ids in filters],
        }
    ]


def test_ids_inside_a_filter_are_alternatives() -> None:
    triggers = parse_triggers(_item_trigger(("item", ["1", "2"])))
    assert matches_any(triggers, item_event(record_id="1"))
    assert matches_any(triggers, item_event(record_id="2"))
    assert not matches_any(triggers, item_event(record_id="3"))


def test_filters_of_different_kinds_must_all_hold() -> None:
    triggers = parse_triggers(_item_trigger(("item_type", ["10"]), ("environment", ["main"])))
    assert matches_any(triggers, item_event(model_id="10", environment="main"))
    assert not matches_any(triggers, item_event(model_id="10", environment="sandbox-1"))
    assert not matches_any(triggers, item_event(model_id="11", environment="main"))


def test_environment_type_filter() -> None:
    sandbox_only = parse_triggers(_item_trigger(("environment_type", ["sandbox"])))
    assert matches_any(sandbox_only, item_event(environment="feature", primary=False))
    assert not matches_any(sandbox_only, item_event(environment="main", primary=True))


def test_item_type_filter_on_model_events_uses_the_model_id() -> None:
    triggers = parse_triggers(
        [
            {
                "entity_type": "item_type",
                "event_types": ["update"],
                "filters": [{"entity_type": "item_type", "entity_ids": ["7"]}],
            }
        ]
    )
    assert matches_any(triggers, event_of("item_type", "update", "7"))
    assert not matches_any(triggers, event_of("item_type", "update", "8"))


def test_build_trigger_and_environment_filters() -> None:
    build = parse_triggers(
        [
            {
                "entity_type": "build_trigger",
                "event_types": ["deploy_succeeded"],
                "filters": [{"entity_type": "build_trigger", "entity_ids": ["5"]}],
            }
        ]
    )
    assert matches_any(build, event_of("build_trigger", "deploy_succeeded", "5"))
    assert not matches_any(build, event_of("build_trigger", "deploy_succeeded", "6"))
    environment = parse_triggers(
        [
            {
                "entity_type": "environment",
                "event_types": ["create"],
                "filters": [{"entity_type": "environment", "entity_ids": ["staging"]}],
            }
        ]
    )
    staging = event_of(
        "environment", "create", "staging", environment="staging", is_environment_primary=False
    )
    assert matches_any(environment, staging)
    assert not matches_any(environment, event_of("environment", "create", "other"))


# -- properties -------------------------------------------------------------

records = st.sampled_from(["1", "2", "3"])
models = st.sampled_from(["10", "11"])
environments = st.sampled_from([("main", True), ("staging", False), ("dev", False)])
kinds = st.sampled_from(["item", "item_type", "environment", "environment_type"])


@st.composite
def item_events(draw: st.DrawFn) -> Event:
    environment, primary = draw(environments)
    return item_event(
        draw(st.sampled_from(["create", "update", "delete", "publish", "unpublish"])),
        record_id=draw(records),
        model_id=draw(models),
        environment=environment,
        primary=primary,
    )


def _value(event: Event, kind: str) -> str:
    entity = event.entity
    values: dict[str, str] = {
        "item": entity["id"],
        "item_type": entity["relationships"]["item_type"]["data"]["id"],
        "environment": event.environment,
        "environment_type": "primary" if event.is_environment_primary else "sandbox",
    }
    return values[kind]


_POOL = {
    "item": ["1", "2", "3"],
    "item_type": ["10", "11"],
    "environment": ["main", "staging", "dev"],
    "environment_type": ["primary", "sandbox"],
}


@st.composite
def filter_sets(draw: st.DrawFn) -> list[tuple[str, list[str]]]:
    chosen = draw(st.lists(kinds, max_size=4))
    return [(k, draw(st.lists(st.sampled_from(_POOL[k]), min_size=1, unique=True))) for k in chosen]


@given(
    event=item_events(),
    filters=filter_sets(),
    event_types=st.sets(
        st.sampled_from(["create", "update", "delete", "publish", "unpublish"]), min_size=1
    ),
)
def test_matching_is_and_of_ors(
    event: Event, filters: list[tuple[str, list[str]]], event_types: set[str]
) -> None:
    triggers = parse_triggers(
        [
            {
                "entity_type": "item",
                "event_types": sorted(event_types),
                "filters": [{"entity_type": k, "entity_ids": ids} for k, ids in filters],
            }
        ]
    )
    expected = event.event_type in event_types and all(
        _value(event, kind) in ids for kind, ids in filters
    )
    assert matches_any(triggers, event) is expected


@given(event=item_events(), groups=st.lists(filter_sets(), min_size=1, max_size=3))
def test_several_triggers_match_when_any_does(
    event: Event, groups: list[list[tuple[str, list[str]]]]
) -> None:
    triggers = parse_triggers([_item_trigger(*group)[0] for group in groups])
    assert matches_any(triggers, event) is any(t.matches(event) for t in triggers)
    assert not matches_any(triggers, event_of("upload", "create"))
