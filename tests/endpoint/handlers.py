"""Handlers for the endpoint's tests, importable by name from any process (the CLI, RQ's
workers). Each event says what to do in its entity's `script` attribute:

    {"log": "/tmp/.../runs.jsonl", "sleep": 30, "fail": 2}

`log` is a file that gets one JSON line per run (`start`, then `done` or `fail`), so
that a test sees every run in every process; `sleep` is how long the handler takes;
`fail` how many runs of the call raise before one succeeds.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

from endpoint import Event

__all__ = ["read_runs", "scripted", "scripted_async"]


def _script(event: Event) -> dict[str, Any]:
    attributes = event.entity.get("attributes") or {}
    script = attributes.get("script") or {}
    assert isinstance(script, dict)
    return script


def _write(log: str, event: Event, phase: str) -> None:
    line = json.dumps(
        {
            "call": event.webhook_call_id,
            "site": event.site_id,
            "phase": phase,
            "pid": os.getpid(),
            "at": time.time(),
            "retries": event.attempted_auto_retries_count,
        }
    )
    # One write of a short line to a file opened for appending: lines never mix.
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def _failures_so_far(log: str, event: Event) -> int:
    return sum(
        1
        for run in read_runs(log)
        if run["call"] == event.webhook_call_id and run["phase"] == "fail"
    )


def scripted(event: Event) -> None:
    script = _script(event)
    log = script.get("log")
    if log:
        _write(log, event, "start")
    time.sleep(float(script.get("sleep", 0)))
    if log and _failures_so_far(log, event) < int(script.get("fail", 0)):
        _write(log, event, "fail")
        raise RuntimeError(f"scripted failure of call {event.webhook_call_id}")
    if log:
        _write(log, event, "done")


async def scripted_async(event: Event) -> None:
    script = _script(event)
    log = script.get("log")
    if log:
        _write(log, event, "start")
    await asyncio.sleep(float(script.get("sleep", 0)))
    if log and _failures_so_far(log, event) < int(script.get("fail", 0)):
        _write(log, event, "fail")
        raise RuntimeError(f"scripted failure of call {event.webhook_call_id}")
    if log:
        _write(log, event, "done")


def read_runs(log: str | Path) -> list[dict[str, Any]]:
    path = Path(log)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
