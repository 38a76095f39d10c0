"""The fault listener: a raw TCP server beside the app, for what uvicorn cannot do.

An ASGI app sends the status line and the headers in one write and always
answers in HTTP; this listener reads and writes the socket itself, so it can
dribble the status line or the headers, close or reset the connection with no
reply, answer garbage, or never read on. It plays every other behaviour too,
from the same query parameters and scripts, one request per connection
(``Connection: close``), and records into the same log as the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import struct
from collections.abc import AsyncIterator, Iterable

import anyio

from receiver.behaviours import FAULTS, Behaviour, Part
from receiver.clock import Clock
from receiver.exceptions import BehaviourError
from receiver.recording import Outcome, RecordedRequest, RequestLog
from receiver.scripts import ScriptBook
from receiver.shutdown import Shutdown
from receiver.wire import (
    CONTINUE,
    GARBAGE,
    MAX_HEAD,
    RequestHead,
    WireError,
    error_response,
    header_block,
    parse_request_head,
    status_line,
)

__all__ = ["FaultListener"]

_READ_SIZE = 64 * 1024
_HANGUP_POLL = 0.01
_LINGER = 1.0  # a never-read socket cannot see EOF without reading; poll for it


class _Reader:
    """Reads one accepted socket by hand, so that what is not asked for stays unread."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.loop = asyncio.get_running_loop()
        self.buffer = bytearray()

    async def _fill(self) -> None:
        data = await self.loop.sock_recv(self.sock, _READ_SIZE)
        if not data:
            raise EOFError
        self.buffer += data

    async def head(self) -> bytes | None:
        """The request head without its blank line; None if the peer left before a byte."""
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            if len(self.buffer) > MAX_HEAD:
                raise WireError(431, "request head over 64 KiB")
            try:
                await self._fill()
            except EOFError:
                if self.buffer:
                    raise
                return None
        head = bytes(self.buffer[:end])
        del self.buffer[: end + 4]
        return head

    async def _line(self) -> bytes:
        while (end := self.buffer.find(b"\r\n")) < 0:
            if len(self.buffer) > MAX_HEAD:
                raise WireError(400, "chunk size line too long")
            await self._fill()
        line = bytes(self.buffer[:end])
        del self.buffer[: end + 2]
        return line

    async def _some(self, most: int) -> bytes:
        if not self.buffer:
            await self._fill()
        data = bytes(self.buffer[:most])
        del self.buffer[:most]
        return data

    async def _exactly(self, size: int) -> AsyncIterator[bytes]:
        while size:
            data = await self._some(min(size, _READ_SIZE))
            size -= len(data)
            yield data

    async def body(self, head: RequestHead) -> AsyncIterator[bytes]:
        """The request body, de-chunked; raises EOFError if the peer leaves half-way."""
        if not head.chunked:
            async for data in self._exactly(head.content_length):
                yield data
            return
        while True:
            size_text = (await self._line()).split(b";")[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise WireError(400, f"bad chunk size {size_text[:20]!r}") from None
            if size == 0:
                while await self._line():  # trailers
                    pass
                return
            async for data in self._exactly(size):
                yield data
            if await self._line():
                raise WireError(400, "chunk not followed by CRLF")


class _Exchange:
    """Playing one behaviour on a raw socket, while watching for hang-up and stop."""

    def __init__(
        self,
        sock: socket.socket,
        behaviour: Behaviour,
        seq: int,
        *,
        head_only: bool,
        log: RequestLog,
        shutdown: Shutdown,
        clock: Clock,
    ) -> None:
        self.sock = sock
        self.behaviour = behaviour
        self.seq = seq
        self.head_only = head_only
        self.log = log
        self.shutdown = shutdown
        self.clock = clock
        self.loop = asyncio.get_running_loop()
        self.status: int | None = None
        self.ending: Outcome | None = None

    def _finish(self, outcome: Outcome) -> None:
        if self.ending is None:
            self.ending = outcome
            self.log.finish(self.seq, outcome, status=self.status)

    async def run(self) -> None:
        """Play the behaviour; the caller closes the socket (RST set up if asked)."""
        async with anyio.create_task_group() as group:
            group.start_soon(self._watch_hangup, group.cancel_scope)
            group.start_soon(self._watch_shutdown, group.cancel_scope)
            self._finish(await self._play())
            group.cancel_scope.cancel()
        if self.ending == "reset":
            # SO_LINGER on, timeout 0: close() sends RST instead of FIN
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    async def _play(self) -> Outcome:
        behaviour = self.behaviour
        fault = FAULTS[behaviour.fault] if behaviour.fault else None
        try:
            await anyio.sleep(behaviour.delay)
            if fault is not None and fault.name == "garbage":
                await self.loop.sock_sendall(self.sock, GARBAGE)
            if fault is not None and fault.name != "no-read":
                return fault.outcome
            if behaviour.hang or fault is not None:
                await anyio.sleep_forever()
            now = self.clock()
            self.status = behaviour.status
            parts: tuple[tuple[Part, Iterable[bytes]], ...] = (
                ("status", [status_line(behaviour.status)]),
                ("headers", [header_block(behaviour.response_headers(now), now)]),
                ("body", () if self.head_only else behaviour.body_to_send()),
            )
            for part, chunks in parts:
                for pause, data in behaviour.schedule(part, chunks):
                    await anyio.sleep(pause)
                    await self.loop.sock_sendall(self.sock, data)
        except OSError:  # the sender reset the connection while we wrote
            return "abandoned"
        return "closed" if behaviour.close else "answered"

    async def _watch_hangup(self, scope: anyio.CancelScope) -> None:
        if self.behaviour.fault == "no-read":
            poller = select.poll()
            hangup = getattr(select, "POLLRDHUP", 0)  # Linux: the peer's FIN, data or not
            poller.register(self.sock.fileno(), hangup | select.POLLHUP | select.POLLERR)
            while not poller.poll(0):  # noqa: ASYNC110 - no event exists for a peer's FIN
                await anyio.sleep(_HANGUP_POLL)
        else:
            try:
                while await self.loop.sock_recv(self.sock, _READ_SIZE):
                    pass
            except OSError:
                pass
        self._finish("abandoned")
        scope.cancel()

    async def _watch_shutdown(self, scope: anyio.CancelScope) -> None:
        await self.shutdown.wait()
        self._finish("stopped")
        scope.cancel()


class FaultListener:
    """Serves raw connections on `sock` (already bound and listening) until cancelled."""

    def __init__(
        self,
        sock: socket.socket,
        *,
        log: RequestLog,
        scripts: ScriptBook,
        shutdown: Shutdown,
        clock: Clock,
    ) -> None:
        self.sock = sock
        self.log = log
        self.scripts = scripts
        self.shutdown = shutdown
        self.clock = clock
        self.port: int = sock.getsockname()[1]

    def close(self) -> None:
        """Close the listening socket (idempotent)."""
        self.sock.close()

    async def serve(self) -> None:
        """Accept connections and serve each in its own task; cancel to stop."""
        loop = asyncio.get_running_loop()
        self.sock.setblocking(False)
        try:
            async with anyio.create_task_group() as group:
                while True:
                    conn, _ = await loop.sock_accept(self.sock)
                    group.start_soon(self._serve_connection, conn)
        finally:
            self.close()

    async def _serve_connection(self, sock: socket.socket) -> None:
        with sock:
            sock.setblocking(False)
            # OSError, EOFError: the sender left before we knew what it wanted
            with contextlib.suppress(OSError, EOFError):
                await self._exchange(sock, self.log.new_connection())

    async def _refuse(self, sock: socket.socket, status: int, message: str) -> None:
        """Answer an error, then drain what the sender still sends before closing.

        Closing a socket with unread input sends RST, which can destroy the
        answer before the sender reads it ("lingering close", as in Apache).
        """
        loop = asyncio.get_running_loop()
        await loop.sock_sendall(sock, error_response(status, message, self.clock()))
        sock.shutdown(socket.SHUT_WR)
        with anyio.move_on_after(_LINGER):
            while await loop.sock_recv(sock, _READ_SIZE):
                pass

    async def _exchange(self, sock: socket.socket, connection: int) -> None:
        reader = _Reader(sock)
        try:
            raw_head = await reader.head()
            if raw_head is None:
                return
            head = parse_request_head(raw_head)
            declared = head.chunked or head.content_length > 0
        except WireError as exc:
            await self._refuse(sock, exc.status, exc.message)
            return
        received_at = self.clock()
        error: BehaviourError | None = None
        try:
            behaviour, step = self.scripts.behaviour_for(head.method, head.path, head.query)
        except BehaviourError as exc:
            behaviour, step, error = Behaviour(status=400), None, exc
        body, size, complete = bytearray(), 0, True
        check = None if self.log.lean else behaviour.signature_check(head.headers, received_at)
        if behaviour.fault != "no-read":
            if (head.header("expect") or "").lower() == "100-continue":
                await asyncio.get_running_loop().sock_sendall(sock, CONTINUE)
            try:
                async for data in reader.body(head):
                    size += len(data)
                    if check is not None:
                        check.update(data)
                    body += data[: max(self.log.body_limit - len(body), 0)]
            except EOFError:
                complete = False
            except WireError as exc:
                error = BehaviourError("", exc.message)
        seq = self.log.record(
            RecordedRequest(
                seq=0,
                connection=connection,
                listener="fault",
                method=head.method,
                path=head.path,
                query=head.query,
                headers=head.headers,
                body=bytes(body),
                body_size=size,
                body_truncated=size > len(body) or (declared and behaviour.fault == "no-read"),
                client=_client(sock),
                received_at=received_at,
                script_step=step,
                signature=check.result() if check is not None else None,
            )
        )
        if not complete:
            self.log.finish(seq, "abandoned")
        elif error is not None:
            self.log.finish(seq, "answered", status=400)
            await self._refuse(sock, 400, str(error))
        else:
            exchange = _Exchange(
                sock,
                behaviour,
                seq,
                head_only=head.method == "HEAD",
                log=self.log,
                shutdown=self.shutdown,
                clock=self.clock,
            )
            await exchange.run()


def _client(sock: socket.socket) -> tuple[str, int] | None:
    try:
        host, port, *_ = sock.getpeername()
    except OSError:
        return None
    return str(host), int(port)
