"""The embedded queue: durable before the answer, one process per file, and what a killed
process left running is queued again."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from endpoint import Event, QueueError, RetrySchedule, SqliteQueue, parse_payload
from tests.endpoint.conftest import payload

pytestmark = pytest.mark.anyio

RETRY = RetrySchedule(scale=0.001)


def never(event: object) -> None:
    raise AssertionError("no worker runs in these tests")


def event(call: str = "1") -> Event:
    return parse_payload(json.dumps(payload(call)).encode())


async def test_an_accepted_event_is_committed_when_accept_returns(tmp_path: Path) -> None:
    queue = SqliteQueue(tmp_path / "events.db")
    await queue.open(never, RETRY)
    try:
        assert await queue.accept(event("1"), dedupe=True)
        # Another connection, as a process started after a crash would open the file.
        with sqlite3.connect(tmp_path / "events.db") as other:
            rows = other.execute("SELECT call_id, status FROM events").fetchall()
        other.close()
        assert rows == [("1", "queued")]
    finally:
        await queue.close()


async def test_concurrent_accepts_share_transactions_and_all_land(tmp_path: Path) -> None:
    queue = SqliteQueue(tmp_path / "events.db")
    await queue.open(never, RETRY)
    try:
        answers = await asyncio.gather(
            *(queue.accept(event(str(n % 300)), dedupe=True) for n in range(600))
        )
        assert sum(answers) == 300  # each call queued once, its repeat not
        assert await queue.counts() == {"queued": 300}
    finally:
        await queue.close()


async def test_what_a_killed_process_left_running_is_queued_again(tmp_path: Path) -> None:
    first = SqliteQueue(tmp_path / "events.db")
    await first.open(never, RETRY)
    await first.accept(event("1"), dedupe=True)
    (job,) = await first.claim(10)
    assert job.run == 1
    await first.close()  # no outcome recorded, as if the process had died
    second = SqliteQueue(tmp_path / "events.db")
    await second.open(never, RETRY)
    try:
        assert await second.counts() == {"queued": 1}
        (again,) = await second.claim(10)
        assert (again.event, again.run) == (job.event, 2)
    finally:
        await second.close()


async def test_one_process_per_file(tmp_path: Path) -> None:
    first = SqliteQueue(tmp_path / "events.db")
    await first.open(never, RETRY)
    try:
        with pytest.raises(QueueError, match="another process uses it"):
            await SqliteQueue(tmp_path / "events.db").open(never, RETRY)
    finally:
        await first.close()
    second = SqliteQueue(tmp_path / "events.db")  # free again once the first closed
    await second.open(never, RETRY)
    await second.close()


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: p.write_text("plain text, not SQLite\n" * 10), "file is not a database"),
        (lambda p: sqlite3.connect(p).execute("CREATE TABLE meta (k TEXT)"), "something else"),
        (lambda p: p.mkdir(), "a directory"),
    ],
    ids=["not sqlite", "another database", "a directory"],
)
async def test_a_file_that_is_not_ours_is_refused(
    tmp_path: Path, make: Callable[[Path], object], words: str
) -> None:
    path = tmp_path / "events.db"
    make(path)
    with pytest.raises(QueueError, match=words):
        await SqliteQueue(path).open(never, RETRY)
