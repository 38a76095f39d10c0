"""The RQ job of the alternative: post one webhook call with `requests`."""

from __future__ import annotations

import requests

__all__ = ["post"]


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    response = requests.post(url, data=body, headers=headers, timeout=5)
    response.raise_for_status()
    status: int = response.status_code
    return status
