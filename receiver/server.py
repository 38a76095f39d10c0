"""`MockReceiver`: the receiver in a background thread, for tests and the CLI.

It binds both sockets itself (so the ports are known at once, 0 meaning any
free port), runs uvicorn and the fault listener on one event loop in a thread,
and stops them within `Settings.stop_timeout` even with requests hung.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from urllib.parse import urlencode

import uvicorn

from receiver.app import create_app
from receiver.behaviours import behaviour_from_query
from receiver.clock import Clock, system_clock
from receiver.exceptions import ServerError
from receiver.faults import FaultListener
from receiver.recording import DEFAULT_BODY_LIMIT, Listener, RecordedRequest, RequestLog
from receiver.scripts import ANY_METHOD, ScriptBook, load_script, parse_route
from receiver.settings import Settings
from receiver.shutdown import Shutdown

__all__ = ["MockReceiver"]

_START_TIMEOUT = 10.0
QueryValue = str | int | float | bool | Sequence[str]


class _Server(uvicorn.Server):
    """uvicorn's server, telling a thread when it accepts connections."""

    def __init__(self, config: uvicorn.Config, started: threading.Event) -> None:
        super().__init__(config)
        self._started_event = started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self._started_event.set()


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=1024)
    except OSError as exc:
        raise ServerError(f"cannot listen on {host!r} port {port}: {exc}") from exc


def _base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class MockReceiver:
    """A mock webhook receiver on loopback: answers as told, records everything.

    Use it as a context manager::

        with MockReceiver() as receiver:
            httpx.post(receiver.url + "/hook?status=503")
            [request] = receiver.wait_for(1, path="/hook")
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        fault_port: int = 0,
        lean: bool = False,
        body_limit: int = DEFAULT_BODY_LIMIT,
        script: str | Path | None = None,
        stop_timeout: int = 1,
        clock: Clock = system_clock,
    ) -> None:
        settings = Settings(
            host=host,
            port=port,
            fault_port=fault_port,
            lean=lean,
            body_limit=body_limit,
            script=Path(script) if script is not None else None,
            stop_timeout=stop_timeout,
        )
        self._init(settings, clock)

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock = system_clock) -> MockReceiver:
        """A receiver for `settings` (the CLI builds them from its arguments)."""
        receiver = cls.__new__(cls)
        receiver._init(settings, clock)
        return receiver

    def _init(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.log = RequestLog(lean=settings.lean, body_limit=settings.body_limit, clock=clock)
        self.scripts = ScriptBook(load_script(settings.script) if settings.script else ())
        self._shutdown = Shutdown()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self.port = 0
        self.fault_port = 0

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> None:
        """Bind both ports and serve in a background thread; returns once serving."""
        if self._thread is not None:
            raise ServerError("this MockReceiver was already started")
        app_socket = _listen(self.settings.host, self.settings.port)
        try:
            fault_socket = _listen(self.settings.host, self.settings.fault_port)
        except ServerError:
            app_socket.close()
            raise
        self.port = app_socket.getsockname()[1]
        self.fault_port = fault_socket.getsockname()[1]
        listener = FaultListener(
            fault_socket,
            log=self.log,
            scripts=self.scripts,
            shutdown=self._shutdown,
            clock=self.clock,
        )
        app = create_app(
            log=self.log,
            scripts=self.scripts,
            shutdown=self._shutdown,
            fault_listener=listener,
            clock=self.clock,
        )
        config = uvicorn.Config(
            app,
            http="h11",
            loop="asyncio",
            ws="none",
            lifespan="on",
            log_config=None,
            server_header=False,
            timeout_graceful_shutdown=self.settings.stop_timeout,
        )
        started = threading.Event()
        self._server = _Server(config, started)
        self._thread = threading.Thread(
            target=self._run,
            args=(self._server, app_socket, listener, started),
            name=f"mock-receiver-{self.port}",
            daemon=True,
        )
        self._thread.start()
        if not started.wait(_START_TIMEOUT) or self._failure is not None:
            self.stop()
            raise ServerError(f"the receiver did not start: {self._failure!r}")

    def _run(
        self,
        server: _Server,
        app_socket: socket.socket,
        listener: FaultListener,
        started: threading.Event,
    ) -> None:
        try:
            asyncio.run(server.serve(sockets=[app_socket]))
        except BaseException as exc:  # reported by start()
            self._failure = exc
        finally:
            app_socket.close()
            listener.close()
            started.set()

    def stop(self) -> None:
        """Stop serving; requests in flight end as ``stopped``. Idempotent."""
        thread, server = self._thread, self._server
        if thread is None or server is None:
            return
        self._shutdown.trigger()
        server.should_exit = True
        thread.join(self.settings.stop_timeout + 5.0)
        if thread.is_alive():
            raise ServerError(
                f"the receiver did not stop within {self.settings.stop_timeout + 5:g} s"
            )

    def __enter__(self) -> MockReceiver:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses ------------------------------------------------------------

    @property
    def url(self) -> str:
        """The app's base URL, ``http://127.0.0.1:<port>``."""
        return _base_url(self.settings.host, self.port)

    @property
    def fault_url(self) -> str:
        """The fault listener's base URL (raw faults, dribbled status line or headers)."""
        return _base_url(self.settings.host, self.fault_port)

    def url_for(
        self, path: str = "/", *, listener: Listener | None = None, **params: QueryValue
    ) -> str:
        """The URL of `path` with behaviour parameters, e.g. ``url_for("/h", status=503)``.

        A list value repeats the parameter (``header=["A:1", "B:2"]``). The
        listener is the fault listener when the behaviour needs it (``fault``,
        ``dribble=status|headers``), else the app; `listener` overrides.
        """
        pairs: list[tuple[str, str]] = []
        for name, value in params.items():
            values = [value] if isinstance(value, str | int | float | bool) else list(value)
            pairs += [(name, _query_text(item)) for item in values]
        query = urlencode(pairs)
        if listener is None:
            raw = behaviour_from_query(query).needs_raw_socket
            listener = "fault" if raw else "app"
        base = self.fault_url if listener == "fault" else self.url
        return base + path + (f"?{query}" if query else "")

    # -- the log --------------------------------------------------------------

    def requests(
        self, *, path: str | None = None, method: str | None = None, since: int = 0
    ) -> list[RecordedRequest]:
        """The recorded requests, oldest first (empty in lean mode)."""
        return self.log.requests(path=path, method=method, since=since)

    def count(
        self, *, path: str | None = None, method: str | None = None, done: bool = False
    ) -> int:
        """How many requests match; works in lean mode."""
        return self.log.count(path=path, method=method, done=done)

    def wait_for(
        self,
        count: int = 1,
        *,
        path: str | None = None,
        method: str | None = None,
        done: bool = False,
        timeout: float = 5.0,
    ) -> list[RecordedRequest]:
        """Block until `count` requests match (`done`: are over); raises `WaitTimeout`."""
        return self.log.wait_for(count, path=path, method=method, done=done, timeout=timeout)

    async def wait_for_async(
        self,
        count: int = 1,
        *,
        path: str | None = None,
        method: str | None = None,
        done: bool = False,
        timeout: float = 5.0,
    ) -> list[RecordedRequest]:
        """`wait_for` for asyncio tests."""
        return await self.log.wait_for_async(
            count, path=path, method=method, done=done, timeout=timeout
        )

    def clear(self) -> None:
        """Forget the recorded requests (scripts stay)."""
        self.log.clear()

    # -- scripts --------------------------------------------------------------

    def script(
        self, path: str, steps: Sequence[Mapping[str, object]], *, method: str = ANY_METHOD
    ) -> None:
        """Answer `path` (and `method`) with `steps` in turn; the last step repeats.

        ``receiver.script("/hook", [{"status": 500, "times": 2}, {"status": 200}])``
        """
        steps_data = [dict(step) for step in steps]
        self.scripts.set(parse_route({"path": path, "method": method, "steps": steps_data}))

    def reset(self) -> None:
        """Forget the recorded requests and drop every script."""
        self.log.clear()
        self.scripts.replace_all([])


def _query_text(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)
