"""What the endpoint needs of a queue: to keep an accepted event durably before the
`202`, once per webhook call unless told otherwise, and workers that run the handler
on it at least once, with retries. Two backends: `SqliteQueue` (embedded, the
default, endpoint/sqlite.py) and `RqQueue` (Redis and RQ workers, endpoint/rq.py).
"""

from __future__ import annotations

from typing import Protocol

from endpoint.events import Event
from endpoint.handlers import Handler
from endpoint.retries import RetrySchedule

__all__ = ["Queue"]


class Queue(Protocol):
    """A durable queue of events and the workers that run the handler on them."""

    #: `sqlite` or `rq`, for logs and the health answer
    kind: str

    async def open(self, handler: Handler, retry: RetrySchedule) -> None:
        """Open the storage and take events that a process killed earlier left
        unfinished back into the queue; `QueueError` when the storage cannot be used.
        Workers run `handler`, and again after each gap of `retry` while it raises."""

    async def accept(self, event: Event, *, dedupe: bool) -> bool:
        """Store `event` durably and queue it; True when it was queued now. With
        `dedupe`, a call already accepted (the same site and `webhook_call_id`) is not
        queued again, and the answer is False. When this returns, the event survives a
        crash of this process."""

    async def ping(self) -> None:
        """Return when the storage answers; raise when it does not (readiness)."""

    async def start_workers(self, count: int) -> None:
        """Start `count` workers running the handler (0: none, others run them)."""

    async def counts(self) -> dict[str, int]:
        """Events by state (`queued`, `done`, `failed`, ...), for people and tests."""

    async def close(self) -> None:
        """Stop the workers (a handler still running after a grace period is left to
        be run again at the next start) and close the storage."""
