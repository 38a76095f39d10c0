"""The endpoint: the ASGI app behind every path outside ``/_receiver``.

It reads the request (checking its signature as the body streams in, when the
behaviour has a `secret`), records it, then plays the behaviour that the script or
the query string asks for, while it watches for the sender hanging up
(``http.disconnect``, whose time is the abandon time) and for the receiver
stopping.
"""

from __future__ import annotations

import json

import anyio
from starlette.types import Message, Receive, Scope, Send

from receiver.behaviours import Behaviour
from receiver.clock import Clock
from receiver.exceptions import BehaviourError
from receiver.recording import Outcome, RecordedRequest, RequestLog
from receiver.scripts import ScriptBook
from receiver.shutdown import Shutdown
from receiver.signatures import SignatureCheck

__all__ = ["Endpoint"]

_RAW_ONLY = (
    "needs raw sockets (uvicorn sends the status line and the headers at once): "
    "send this request to the fault listener (MockReceiver.fault_url, GET /_receiver/info)"
)


async def _read_body(
    receive: Receive, limit: int, check: SignatureCheck | None
) -> tuple[bytes, int, bool]:
    """The body up to `limit` bytes, its full size, and whether it arrived whole.

    `check` sees every byte of the body, kept or not.
    """
    kept = bytearray()
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return bytes(kept), size, False
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if check is not None:
            check.update(chunk)
        kept += chunk[: max(limit - len(kept), 0)]
        if not message.get("more_body", False):
            return bytes(kept), size, True


def _encode(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]


async def _send_json(send: Send, status: int, document: dict[str, object], close: bool) -> None:
    body = json.dumps(document).encode()
    headers = [("content-type", "application/json"), ("content-length", str(len(body)))]
    if close:
        headers.append(("connection", "close"))
    await send({"type": "http.response.start", "status": status, "headers": _encode(headers)})
    await send({"type": "http.response.body", "body": body})


class _Exchange:
    """Playing one behaviour over ASGI, while watching for hang-up and stop."""

    def __init__(
        self,
        behaviour: Behaviour,
        seq: int,
        receive: Receive,
        send: Send,
        *,
        log: RequestLog,
        shutdown: Shutdown,
        clock: Clock,
    ) -> None:
        self.behaviour = behaviour
        self.seq = seq
        self.receive = receive
        self._send_asgi = send
        self.log = log
        self.shutdown = shutdown
        self.clock = clock
        self.status: int | None = None
        self.complete = False
        self.ending: Outcome | None = None

    def _finish(self, outcome: Outcome) -> None:
        if self.ending is None:
            self.ending = outcome
            self.log.finish(self.seq, outcome, status=self.status)

    async def _send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif not message.get("more_body", False):
            self.complete = True
        await self._send_asgi(message)

    async def run(self) -> None:
        """Play the behaviour to its end, the sender's hang-up or the receiver's stop."""
        async with anyio.create_task_group() as group:
            group.start_soon(self._watch_hangup, group.cancel_scope)
            group.start_soon(self._watch_shutdown, group.cancel_scope)
            outcome = await self._play()
            self._finish(outcome)
            group.cancel_scope.cancel()
        if self.ending is None:  # cancelled by the stop signal
            if self.status is None:
                # ASGI cannot drop a connection with no response yet: say why, and close
                document: dict[str, object] = {"error": "the mock receiver is stopping"}
                await _send_json(self._send, 503, document, close=True)
            # A started response that is not complete makes uvicorn close the
            # connection when the app returns (this is also how `close=...` works).
            self._finish("stopped")

    async def _play(self) -> Outcome:
        behaviour = self.behaviour
        await anyio.sleep(behaviour.delay)
        if behaviour.hang:
            await anyio.sleep_forever()
        headers = _encode(behaviour.response_headers(self.clock()))
        await self._send(
            {"type": "http.response.start", "status": behaviour.status, "headers": headers}
        )
        for pause, data in behaviour.schedule("body", behaviour.body_to_send()):
            await anyio.sleep(pause)
            await self._send({"type": "http.response.body", "body": data, "more_body": True})
        if behaviour.close is not None:
            return "closed"
        # Logged before the last byte leaves, so that a client holding the whole
        # answer always finds it recorded as answered.
        self._finish("answered")
        await self._send({"type": "http.response.body", "body": b"", "more_body": False})
        return "answered"

    async def _watch_hangup(self, scope: anyio.CancelScope) -> None:
        while (await self.receive())["type"] != "http.disconnect":
            pass
        if not self.complete:  # uvicorn also says "disconnect" once the response is sent
            self._finish("abandoned")
            scope.cancel()

    async def _watch_shutdown(self, scope: anyio.CancelScope) -> None:
        await self.shutdown.wait()
        scope.cancel()


class Endpoint:
    """Records every request, then answers it as its script or query string says."""

    def __init__(
        self, *, log: RequestLog, scripts: ScriptBook, shutdown: Shutdown, clock: Clock
    ) -> None:
        self.log = log
        self.scripts = scripts
        self.shutdown = shutdown
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        received_at = self.clock()
        method: str = scope["method"]
        path: str = scope["path"]
        query = scope["query_string"].decode("latin-1")
        headers = tuple(
            (name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]
        )
        error: BehaviourError | None = None
        try:
            behaviour, step = self.scripts.behaviour_for(method, path, query)
        except BehaviourError as exc:
            behaviour, step, error = Behaviour(), None, exc
        check = None if self.log.lean else behaviour.signature_check(headers, received_at)
        body, size, complete = await _read_body(receive, self.log.body_limit, check)
        if error is None and behaviour.needs_raw_socket:
            field = "fault" if behaviour.fault else "dribble"
            error = BehaviourError(field, _RAW_ONLY)
        client = scope.get("client")
        client_address = (str(client[0]), int(client[1])) if client else None
        seq = self.log.record(
            RecordedRequest(
                seq=0,
                connection=self.log.connection_for(client_address),
                listener="app",
                method=method,
                path=path,
                query=query,
                headers=headers,
                body=body,
                body_size=size,
                body_truncated=size > len(body),
                client=client_address,
                received_at=received_at,
                script_step=step,
                signature=check.result() if check is not None else None,
            )
        )
        if not complete:
            self.log.finish(seq, "abandoned")
        elif error is not None:
            await _send_json(send, 400, {"error": str(error), "field": error.field}, close=False)
            self.log.finish(seq, "answered", status=400)
        else:
            exchange = _Exchange(
                behaviour,
                seq,
                receive,
                send,
                log=self.log,
                shutdown=self.shutdown,
                clock=self.clock,
            )
            await exchange.run()
