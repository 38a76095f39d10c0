"""The mock receiver in lean mode, in its own process, on several loopback ports.

`python -m bench.receiver_process --ports 21` prints the ports as one JSON line,
then serves until SIGTERM. It is the project's receiver app (`receiver.create_app`)
on uvicorn with the fastest HTTP stack installed (httptools and uvloop when
present), so that the receiver is not what the dispatcher is measured against.
Several ports make several origins: each webhook of a scenario gets its own
receiver, as in life.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import socket
import subprocess
import sys
from collections.abc import Sequence

import httpx
import uvicorn

from receiver import RequestLog, create_app

__all__ = ["ReceiverProcess"]


class ReceiverProcess:
    """Start with `start()`, stop with `stop()`; `url(i)` is the i-th port's base URL."""

    def __init__(self, ports: int) -> None:
        self._count = ports
        self.ports: list[int] = []
        self._process: subprocess.Popen[str] | None = None
        self.http = "httptools" if importlib.util.find_spec("httptools") else "h11"

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("the receiver is not running")
        return self._process.pid

    def start(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.receiver_process", "--ports", str(self._count)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the receiver process did not start")
        self.ports = json.loads(line)
        for _ in range(100):
            try:
                httpx.get(self.url(0) + "/_receiver/info", timeout=1.0)
                return
            except httpx.TransportError:
                asyncio.run(asyncio.sleep(0.05))
        raise RuntimeError("the receiver process does not answer")

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.ports[index]}"

    def count(self) -> int:
        """Requests the receiver has answered so far (all ports)."""
        answer = httpx.get(self.url(0) + "/_receiver/requests", timeout=5.0)
        return int(answer.json()["count"])

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None


def _listen() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    return sock


async def _serve(count: int, http: str) -> None:
    sockets = [_listen() for _ in range(count)]
    print(json.dumps([s.getsockname()[1] for s in sockets]), flush=True)
    app = create_app(log=RequestLog(lean=True))
    config = uvicorn.Config(
        app,
        http=http,
        ws="none",
        lifespan="on",
        log_config=None,
        access_log=False,
        server_header=False,
        date_header=False,
        timeout_graceful_shutdown=1,
        backlog=2048,
    )
    await uvicorn.Server(config).serve(sockets=sockets)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.receiver_process")
    parser.add_argument("--ports", type=int, default=1)
    args = parser.parse_args(argv)
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    if importlib.util.find_spec("uvloop"):
        import uvloop

        uvloop.run(_serve(args.ports, http))
    else:
        asyncio.run(_serve(args.ports, http))


if __name__ == "__main__":
    main()
