"""Compact JSON for payloads and stored columns, with orjson on the hot path.

orjson writes and reads the common case (string keys, 64-bit integers, finite
floats) several times faster than the standard library; anything it refuses
(an integer beyond 64 bits, a non-string key, a lone surrogate, `NaN` in stored
text) goes through `json`, so the two functions accept what `json` accepts.
orjson would read an integer beyond 64 bits as a float: a text with a run of 19
or more digits is read by `json`. Key order is insertion order in both; the text
is the standard library's but for small exponents (`3e-6`, not `3e-06`).
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

__all__ = ["dumps", "loads"]

# 19 digits or more may be an integer beyond 64 bits (or a part of a string or float).
_LONG_NUMBER = re.compile(r"[0-9]{19}")
_LONG_NUMBER_BYTES = re.compile(rb"[0-9]{19}")


def dumps(value: Any) -> str:
    """Compact JSON, UTF-8 characters kept as they are (contract §5)."""
    try:
        return orjson.dumps(value).decode()
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def loads(text: str | bytes) -> Any:
    """The value of a JSON text."""
    if isinstance(text, bytes):
        long = _LONG_NUMBER_BYTES.search(text) is not None
    else:
        long = _LONG_NUMBER.search(text) is not None
    if long:
        return json.loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
