"""A real server for the browser tests: uvicorn on port 0, in a thread with its own loop."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

import uvicorn
from starlette.applications import Starlette

from reference.dispatcher import Dispatcher
from tests.network import FakeNetwork

T = TypeVar("T")


class LiveServer:
    """`with LiveServer(app) as server:` serves `app` (lifespan included) at `server.url`."""

    def __init__(self, app: Starlette, network: FakeNetwork | None = None) -> None:
        self.dispatcher: Dispatcher = app.state.dispatcher
        self._network = network  # served in the server's loop, beside the app
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="live-server", daemon=True)
        self.url = ""

    def _run(self) -> None:
        self._loop.run_until_complete(self._server.serve())
        self._loop.close()

    def __enter__(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:  # uvicorn has no "started" callback to wait on
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the live server did not start")
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        if self._network is not None:
            self.run(self._network.__aenter__())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._network is not None:
            self.run(self._network.__aexit__(None, None, None))
        self._server.should_exit = True
        self._thread.join(timeout=15)

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 15) -> T:
        """Run `coroutine` in the server's loop, where the dispatcher lives; return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)
