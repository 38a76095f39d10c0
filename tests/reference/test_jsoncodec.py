"""The delivery path's JSON: orjson where it can, the standard library where it cannot,
the same text either way for what payloads hold."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from reference.jsoncodec import dumps, loads


def _standard(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize(
    "value",
    [
        {"b": 1, "a": [True, False, None], "c": {"z": "é ☃ 😀", "y": '\u2028\x00\t"\\'}},
        {"entity": {"id": "1", "attributes": {"title": "x" * 700, "n": -(2**63)}}},
        [2**64 - 1, -(2**63), 0.5, -1.25, 123456.789, 1e16, 1.5e300, 0.1 + 0.2],
        "\x7f\x1f",
    ],
)
def test_the_text_is_the_standard_librarys(value: Any) -> None:
    assert dumps(value) == _standard(value)
    assert loads(dumps(value)) == value


@pytest.mark.parametrize(
    "value",
    [
        {"big": 2**64 + 1},  # beyond 64 bits: orjson refuses it
        {1: "a non-string key"},
        {"lone": "\ud800"},  # a lone surrogate
    ],
)
def test_what_orjson_refuses_goes_through_json(value: Any) -> None:
    assert dumps(value) == _standard(value)


def test_small_exponents_are_not_padded() -> None:
    assert dumps([3e-06, 1.5e-300]) == "[3e-6,1.5e-300]"  # json: 3e-06
    assert loads(dumps([3e-06])) == [3e-06]


def test_reading_falls_back_for_what_json_reads_and_orjson_does_not() -> None:
    # orjson would read these as floats.
    assert loads('{"n": 123456789012345678901234567890}') == {"n": 123456789012345678901234567890}
    assert loads(dumps({"big": 2**64 + 1})) == {"big": 2**64 + 1}
    assert loads(b"[-18446744073709551617]") == [-(2**64) - 1]
    assert math.isnan(loads('{"x": NaN}')["x"])
    assert loads(b'{"a": [1]}') == {"a": [1]}
    with pytest.raises(ValueError):
        loads("{not json")
