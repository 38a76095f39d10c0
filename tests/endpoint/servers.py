"""`webhooks-endpoint serve` in a process of its own, as the end-to-end tests run it."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

from tests.endpoint.conftest import ROOT

ADDRESS = re.compile(r"webhooks-endpoint on (http://\S+)")


class EndpointProcess:
    """`start()` runs `webhooks-endpoint serve ARGS --port 0` and returns its URL (the
    receiving path included); its stderr goes to `log`. The process leads a process
    group of its own (its RQ workers are in it): `close()` ends the whole group."""

    def __init__(self, args: Sequence[str], log: Path, *, cwd: Path = ROOT) -> None:
        self.args = list(args)
        self.log = log
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self, timeout: float = 30) -> str:
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "endpoint", "serve", *self.args, "--port", "0"],
                cwd=self.cwd,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )
        give_up = time.monotonic() + timeout
        while True:
            found = ADDRESS.search(self.log.read_text(errors="replace")[offset:])
            if found:
                self.url = found.group(1)
                break
            assert self.process.poll() is None, f"the endpoint exited: {self.output()}"
            assert time.monotonic() < give_up, f"the endpoint did not start: {self.output()}"
            time.sleep(0.05)
        base = self.url.split("/", 3)
        health = f"{base[0]}//{base[2]}/health?ready=1"
        while True:
            try:
                with urllib.request.urlopen(health, timeout=2) as answer:
                    if answer.status == 200:
                        return self.url
            except (urllib.error.URLError, ConnectionError):
                pass
            assert time.monotonic() < give_up, f"the endpoint is not ready: {self.output()}"
            time.sleep(0.05)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL to the endpoint's process alone, as a crash would (its RQ workers die
        with it: they ask for SIGKILL when their parent dies)."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, as a clean stop; the exit status."""
        assert self.process is not None
        self.process.terminate()
        return self.process.wait(timeout)

    def close(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)


@contextlib.contextmanager
def endpoint_process(args: Sequence[str], log: Path) -> Iterator[EndpointProcess]:
    server = EndpointProcess(args, log)
    try:
        server.start()
        yield server
    finally:
        server.close()
