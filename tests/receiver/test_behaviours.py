from __future__ import annotations

from email.utils import parsedate_to_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from receiver.behaviours import (
    CHUNK_SIZE,
    FAULTS,
    FILLER_SIZE,
    PARAMETERS,
    Behaviour,
    behaviour_from_mapping,
    behaviour_from_query,
    parse_size,
)
from receiver.exceptions import BehaviourError


def test_no_parameters_is_an_empty_200() -> None:
    assert behaviour_from_query("") == Behaviour()
    assert Behaviour().response_headers(0) == [("Content-Length", "0")]


def test_unknown_parameters_belong_to_the_sender() -> None:
    assert behaviour_from_query("id=7&status=503&token=x") == Behaviour(status=503)


def test_status_headers_and_body() -> None:
    behaviour = behaviour_from_query(
        "status=410&header=X-A:1&header=X-A:%202&header=Retry-After:120&body=gone"
    )
    assert behaviour.status == 410
    assert behaviour.body == b"gone"
    assert behaviour.response_headers(0) == [
        ("X-A", "1"),
        ("X-A", "2"),
        ("Retry-After", "120"),
        ("Content-Length", "4"),
    ]


def test_redirect_defaults_to_302_and_keeps_a_given_status() -> None:
    assert behaviour_from_query("redirect=/elsewhere").status == 302
    behaviour = behaviour_from_query("redirect=/elsewhere&status=307")
    assert behaviour.status == 307
    assert ("Location", "/elsewhere") in behaviour.headers


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert ("Retry-After", "120") in behaviour_from_query("retry_after=120").headers
    date = "Wed, 21 Oct 2015 07:28:00 GMT"
    assert ("Retry-After", date) in behaviour_from_query(f"retry_after={date}").headers
    behaviour = behaviour_from_query("retry_after_date=120")
    [(name, value), _] = behaviour.response_headers(now=1_000_000_000.0)
    assert name == "Retry-After"
    assert parsedate_to_datetime(value).timestamp() == 1_000_000_120.0


def test_a_given_content_length_is_kept() -> None:
    headers = behaviour_from_query("header=Content-Length:5").response_headers(0)
    assert headers == [("Content-Length", "5")]


def test_no_content_has_no_length_and_no_body() -> None:
    assert behaviour_from_query("status=204").response_headers(0) == []
    with pytest.raises(BehaviourError, match="204 cannot have a body"):
        behaviour_from_query("status=204&body=x")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=99", "status"),
        ("status=600", "status"),
        ("status=abc", "status"),
        ("status=200&status=500", "status"),
        ("delay=-1", "delay"),
        ("delay=nan", "delay"),
        ("delay=%D9%A3", "delay"),  # an Arabic-Indic 3: not ASCII digits
        ("delay=%C2%B2", "delay"),
        ("delay=soon", "delay"),
        ("hang=maybe", "hang"),
        ("dribble=trailers", "dribble"),
        ("dribble_bytes=0", "dribble_bytes"),
        ("close=later", "close"),
        ("huge=lots", "huge"),
        ("huge=65GiB", "huge"),
        ("huge=1MiB&body=x", "huge"),
        ("fault=explode", "fault"),
        ("header=NoColon", "header"),
        ("header=Bad%20Name:x", "header"),
        ("header=X:%0D%0Ainjected", "header"),
        ("redirect=/caf%C3%A9", "redirect"),
    ],
)
def test_bad_values_name_the_parameter_and_the_value(query: str, field: str) -> None:
    with pytest.raises(BehaviourError) as caught:
        behaviour_from_query(query)
    assert caught.value.field == field


@given(st.text())
def test_any_query_parses_or_raises_behaviour_error(query: str) -> None:
    try:
        behaviour = behaviour_from_query(query)
    except BehaviourError:
        return
    assert 200 <= behaviour.status <= 599
    behaviour.response_headers(0.0)


@given(st.dictionaries(st.sampled_from([p.name for p in PARAMETERS]), st.text(max_size=12)))
def test_any_parameter_values_parse_or_raise_behaviour_error(values: dict[str, str]) -> None:
    try:
        behaviour_from_mapping(values)
    except BehaviourError as exc:
        assert exc.field in values


def test_script_steps_take_json_types_and_a_headers_object() -> None:
    behaviour = behaviour_from_mapping(
        {"status": 503, "delay": 0.25, "hang": False, "headers": {"Retry-After": "120"}}
    )
    assert behaviour == Behaviour(status=503, delay=0.25, headers=(("Retry-After", "120"),))
    with pytest.raises(BehaviourError, match="unknown parameter"):
        behaviour_from_mapping({"stauts": 503})
    with pytest.raises(BehaviourError, match="integer"):
        behaviour_from_mapping({"status": True})


@pytest.mark.parametrize(
    ("text", "size"),
    [("4096", 4096), ("300MiB", 300 * 2**20), ("10 MB", 10**7), ("1gib", 2**30), ("2KiB", 2048)],
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


def test_huge_body_reuses_one_block_in_constant_memory() -> None:
    chunks = list(Behaviour(huge=3 * CHUNK_SIZE + 5).body_chunks())
    assert [len(chunk) for chunk in chunks] == [CHUNK_SIZE] * 3 + [5]
    assert chunks[0] is chunks[1] is chunks[2]


def test_close_cuts_the_body() -> None:
    mid = behaviour_from_query("close=mid-body&body=0123456789")
    assert b"".join(mid.body_to_send()) == b"01234"
    assert mid.response_headers(0) == [("Content-Length", "10")]
    headers_only = behaviour_from_query("close=headers")
    assert headers_only.body_size == FILLER_SIZE
    assert list(headers_only.body_to_send()) == []


def test_dribble_schedules_pieces_and_pauses_of_one_part_only() -> None:
    behaviour = behaviour_from_query("dribble=body&dribble_bytes=2&dribble_interval=0.3&body=abcde")
    assert list(behaviour.schedule("body", behaviour.body_to_send())) == [
        (0.0, b"ab"),
        (0.3, b"cd"),
        (0.3, b"e"),
    ]
    assert list(behaviour.schedule("status", [b"HTTP/1.1 200 OK\r\n"])) == [
        (0.0, b"HTTP/1.1 200 OK\r\n")
    ]
    assert behaviour_from_query("dribble=body").body_size == FILLER_SIZE


def test_raw_socket_behaviours_are_known() -> None:
    for fault in FAULTS:
        assert behaviour_from_query(f"fault={fault}").needs_raw_socket
    assert behaviour_from_query("dribble=status").needs_raw_socket
    assert behaviour_from_query("dribble=headers").needs_raw_socket
    assert not behaviour_from_query("dribble=body").needs_raw_socket
