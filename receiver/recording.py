"""The request log: every request, recorded before its behaviour runs.

The log is shared by the app and the fault listener (event loop thread) and
the test that reads it (any thread), so it is guarded by one lock; waiters are
woken through a condition (threads) or their own event loop (coroutines).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
from collections import Counter
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Literal, TypedDict

from receiver.clock import Clock, system_clock
from receiver.exceptions import WaitTimeout
from receiver.signatures import Signature

logger = logging.getLogger("receiver")

__all__ = [
    "DEFAULT_BODY_LIMIT",
    "OUTCOMES",
    "Listener",
    "Outcome",
    "RecordedRequest",
    "RecordedRequestJSON",
    "RequestLog",
]

Outcome = Literal["pending", "answered", "abandoned", "closed", "reset", "garbage", "stopped"]
Listener = Literal["app", "fault"]

OUTCOMES = MappingProxyType(
    {
        "pending": "the receiver is still working on it (delay, hang, dribble)",
        "answered": "the whole response was sent",
        "abandoned": "the sender hung up before the response was complete",
        "closed": "the receiver closed the connection on purpose (close=..., fault=close)",
        "reset": "the receiver reset the connection (fault=reset)",
        "garbage": "the receiver sent a line that is not HTTP, then closed (fault=garbage)",
        "stopped": "the receiver stopped while the request was in flight",
    }
)
_ANSWERED_AT = frozenset({"answered", "closed", "reset", "garbage"})
DEFAULT_BODY_LIMIT = 1024 * 1024


class RecordedRequestJSON(TypedDict):
    """A recorded request as the inspection API shows it."""

    seq: int
    connection: int
    listener: Listener
    method: str
    path: str
    query: str
    headers: list[list[str]]
    body: str
    body_encoding: Literal["utf-8", "base64"]
    body_size: int
    body_truncated: bool
    client: list[str | int] | None
    received_at: float
    answered_at: float | None
    abandoned_at: float | None
    outcome: Outcome
    status: int | None
    script_step: int | None
    signature: Signature | None


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the receiver saw it, and what became of it."""

    seq: int
    connection: int
    listener: Listener
    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    body_size: int
    body_truncated: bool
    client: tuple[str, int] | None
    received_at: float
    answered_at: float | None = None
    abandoned_at: float | None = None
    outcome: Outcome = "pending"
    status: int | None = None
    script_step: int | None = None
    signature: Signature | None = None
    """The Standard Webhooks signature check (`receiver.signatures`); None: no `secret` asked."""

    @property
    def done(self) -> bool:
        """Whether the exchange is over (answered, abandoned, closed, ...)."""
        return self.outcome != "pending"

    @property
    def text(self) -> str:
        """The recorded body as text (UTF-8, undecodable bytes replaced)."""
        return self.body.decode("utf-8", "replace")

    def header(self, name: str) -> str | None:
        """The first value of header `name` (any case), or None."""
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        """Every value of header `name` (any case), in order."""
        wanted = name.lower()
        return [value for key, value in self.headers if key == wanted]

    def to_json(self) -> RecordedRequestJSON:
        """The wire form used by ``GET /_receiver/requests``."""
        try:
            body, encoding = self.body.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            body, encoding = base64.b64encode(self.body).decode("ascii"), "base64"
        return {
            "seq": self.seq,
            "connection": self.connection,
            "listener": self.listener,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": [[name, value] for name, value in self.headers],
            "body": body,
            "body_encoding": "utf-8" if encoding == "utf-8" else "base64",
            "body_size": self.body_size,
            "body_truncated": self.body_truncated,
            "client": list(self.client) if self.client else None,
            "received_at": self.received_at,
            "answered_at": self.answered_at,
            "abandoned_at": self.abandoned_at,
            "outcome": self.outcome,
            "status": self.status,
            "script_step": self.script_step,
            "signature": self.signature,
        }


def _describe(path: str | None, method: str | None, done: bool) -> str:
    where = " ".join(part for part in (method, path) if part)
    return f"{'finished ' if done else ''}request(s){' to ' + where if where else ''}"


class RequestLog:
    """Every request the receiver got, in order; `lean` keeps counts only.

    Sequence numbers and connection ids start at 1 and never restart, not even
    after `clear()`, so that a number always names one request.
    """

    def __init__(
        self,
        *,
        lean: bool = False,
        body_limit: int = DEFAULT_BODY_LIMIT,
        clock: Clock = system_clock,
    ) -> None:
        self.lean = lean
        self.body_limit = 0 if lean else body_limit
        self.clock = clock
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._async_waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._records: dict[int, RecordedRequest] = {}
        self._seq = 0
        self._connections = 0
        self._addresses: dict[tuple[str, int], int] = {}
        # lean mode: counts by (method, path), and the key of each request in flight
        self._received: Counter[tuple[str, str]] = Counter()
        self._finished: Counter[tuple[str, str]] = Counter()
        self._in_flight: dict[int, tuple[str, str]] = {}

    # -- connections ----------------------------------------------------------

    def new_connection(self) -> int:
        """A fresh connection id (the fault listener accepts connections itself)."""
        with self._lock:
            self._connections += 1
            return self._connections

    def connection_for(self, client: tuple[str, int] | None) -> int:
        """The connection id of a client address (ASGI does not name connections).

        A TCP connection is one (host, port) pair while it is open; a port
        reused after thousands of connections would get the old id back.
        """
        if client is None:
            return self.new_connection()
        with self._lock:
            if client not in self._addresses:
                self._connections += 1
                if not self.lean:
                    self._addresses[client] = self._connections
                return self._connections
            return self._addresses[client]

    # -- writing --------------------------------------------------------------

    def record(self, request: RecordedRequest) -> int:
        """Store `request` under the next sequence number, which is returned."""
        with self._lock:
            self._seq += 1
            key = (request.method, request.path)
            self._received[key] += 1
            if self.lean:
                self._in_flight[self._seq] = key
            else:
                self._records[self._seq] = replace(request, seq=self._seq)
            self._notify()
            return self._seq

    def finish(self, seq: int, outcome: Outcome, *, status: int | None = None) -> None:
        """Mark request `seq` as over; the first outcome stays, later ones are ignored."""
        now = self.clock()
        with self._lock:
            if self.lean:
                key = self._in_flight.pop(seq, None)
                if key is not None:
                    self._finished[key] += 1
                    self._notify()
                return
            record = self._records.get(seq)
            if record is None or record.done:
                return
            self._records[seq] = replace(
                record,
                outcome=outcome,
                status=status if status is not None else record.status,
                answered_at=now if outcome in _ANSWERED_AT else None,
                abandoned_at=now if outcome == "abandoned" else None,
            )
            self._notify()
        if logger.isEnabledFor(logging.INFO):
            answer = status if status is not None else record.status
            logger.info(
                "request %d: %s %s %s (%s)",
                seq,
                record.method,
                record.path,
                "-" if answer is None else answer,
                outcome,
                extra={
                    "fields": {
                        "seq": seq,
                        "method": record.method,
                        "path": record.path,
                        "status": answer,
                        "outcome": outcome,
                    }
                },
            )

    def clear(self) -> None:
        """Forget every request (numbering goes on)."""
        with self._lock:
            self._records.clear()
            self._received.clear()
            self._finished.clear()
            self._in_flight.clear()
            self._notify()

    def _notify(self) -> None:
        self._changed.notify_all()
        for loop, event in list(self._async_waiters):
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # that loop is closed; its waiter is gone
                self._async_waiters.discard((loop, event))

    # -- reading --------------------------------------------------------------

    def requests(
        self, *, path: str | None = None, method: str | None = None, since: int = 0
    ) -> list[RecordedRequest]:
        """The recorded requests, oldest first, filtered; always empty in lean mode."""
        with self._lock:
            return self._matching(path, method, since)

    def count(
        self, *, path: str | None = None, method: str | None = None, done: bool = False
    ) -> int:
        """How many requests match (lean mode too); `done` counts finished ones only."""
        with self._lock:
            return self._count(path, method, done)

    def _matching(self, path: str | None, method: str | None, since: int) -> list[RecordedRequest]:
        wanted = method.upper() if method else None
        return [
            record
            for seq, record in self._records.items()
            if seq > since
            and (path is None or record.path == path)
            and (wanted is None or record.method == wanted)
        ]

    def _count(self, path: str | None, method: str | None, done: bool) -> int:
        if not self.lean:
            records = self._matching(path, method, 0)
            return sum(1 for record in records if record.done or not done)
        counts = self._finished if done else self._received
        wanted = method.upper() if method else None
        return sum(
            number
            for (key_method, key_path), number in counts.items()
            if (path is None or key_path == path) and (wanted is None or key_method == wanted)
        )

    def _reached(
        self, count: int, path: str | None, method: str | None, done: bool
    ) -> list[RecordedRequest] | None:
        if self._count(path, method, done) < count:
            return None
        return [r for r in self._matching(path, method, 0) if r.done or not done]

    def wait_for(
        self,
        count: int,
        *,
        path: str | None = None,
        method: str | None = None,
        done: bool = False,
        timeout: float = 5.0,
    ) -> list[RecordedRequest]:
        """Block until `count` matching requests are recorded (`done`: finished).

        Returns the matching requests; raises `WaitTimeout` after `timeout` s.
        """
        reached: list[RecordedRequest] | None = None

        def check() -> bool:  # an empty list (lean mode) is a success too
            nonlocal reached
            reached = self._reached(count, path, method, done)
            return reached is not None

        with self._lock:
            if not self._changed.wait_for(check, timeout=timeout) or reached is None:
                seen = self._count(path, method, done)
                what = _describe(path, method, done)
                raise WaitTimeout(expected=count, seen=seen, timeout=timeout, what=what)
            return reached

    async def wait_for_async(
        self,
        count: int,
        *,
        path: str | None = None,
        method: str | None = None,
        done: bool = False,
        timeout: float = 5.0,
    ) -> list[RecordedRequest]:
        """`wait_for` for asyncio code: waits without blocking the event loop."""
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._async_waiters.add(waiter)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    waiter[1].clear()
                    with self._lock:
                        reached = self._reached(count, path, method, done)
                    if reached is not None:
                        return reached
                    await waiter[1].wait()
        except TimeoutError:
            seen = self.count(path=path, method=method, done=done)
            what = _describe(path, method, done)
            raise WaitTimeout(expected=count, seen=seen, timeout=timeout, what=what) from None
        finally:
            with self._lock:
                self._async_waiters.discard(waiter)
