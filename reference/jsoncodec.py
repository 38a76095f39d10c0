"""Compact JSON for payloads and stored columns, with orjson on the hot path.

orjson writes and reads the common case (string keys, 64-bit integers, finite
floats) several times faster than the standard library; anything it refuses
(an integer beyond 64 bits, a non-string key, a lone surrogate, `NaN` in stored
text) goes through `json`, so the two functions accept what `json` accepts.
Key order is insertion order in both.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["dumps", "loads"]


def dumps(value: Any) -> str:
    """Compact JSON, UTF-8 characters kept as they are (contract §5)."""
    try:
        return orjson.dumps(value).decode()
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def loads(text: str | bytes) -> Any:
    """The value of a JSON text."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
