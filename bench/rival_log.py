"""What the rivals of scenario 8 share: post one call with `requests`, then record the
attempt in a Redis list before the job returns, and read those records back.

A record is JSON: the call's number, its status code or the error, the moment the job
was enqueued and the moment the answer (or the error) came back, both `time.time()`.
`RPUSH` answers only once Redis has written the record to its append-only file, and
with `appendfsync always` (as `nox -s bench` starts it) only once that file is fsynced:
an attempt counts once it is as durable as the dispatcher's stored outcome.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import requests
from redis import Redis

__all__ = ["ATTEMPTS", "TIMEOUT", "Attempt", "Failed", "post_and_record", "read", "session"]

ATTEMPTS = "bench:attempts"
TIMEOUT = 5.0


class Failed(Exception):
    """A call that did not get a 2xx answer; the job fails with it, after its record."""


@dataclass(frozen=True, slots=True)
class Attempt:
    call: int
    status: int | None
    error: str | None
    enqueued: float
    finished: float

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def latency_ms(self) -> float:
        return (self.finished - self.enqueued) * 1000


def session(connections: int) -> requests.Session:
    """A `requests` session keeping up to `connections` connections per receiver."""
    http = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=32, pool_maxsize=connections)
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    return http


def post_and_record(
    http: requests.Session,
    redis: Redis,
    call: int,
    url: str,
    body: bytes,
    headers: dict[str, str],
    enqueued: float,
) -> int:
    """Post, record the attempt durably, then return its status or raise `Failed`."""
    status: int | None = None
    error: str | None = None
    try:
        response = http.post(
            url, data=body, headers=headers, timeout=TIMEOUT, allow_redirects=False
        )
        status = response.status_code
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"
    record: dict[str, Any] = {
        "call": call,
        "status": status,
        "error": error,
        "enqueued": enqueued,
        "finished": time.time(),
    }
    redis.rpush(ATTEMPTS, json.dumps(record))
    if status is None or not 200 <= status < 300:
        raise Failed(f"call {call} to {url}: {error or status}")
    return status


def read(redis: Redis) -> list[Attempt]:
    return [Attempt(**json.loads(raw)) for raw in redis.lrange(ATTEMPTS, 0, -1)]
