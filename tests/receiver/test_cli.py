from __future__ import annotations

import re
import selectors
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from receiver.cli import main


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise TimeoutError("the receiver printed nothing")
    return process.stdout.readline()


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_serve_until_a_signal(tmp_path: Path, stop_signal: signal.Signals) -> None:
    script = tmp_path / "script.json"
    script.write_text('{"routes": [{"path": "/hook", "steps": [{"status": 500, "times": 2}, {}]}]}')
    command = [
        sys.executable,
        "-m",
        "receiver.cli",
        "serve",
        "--port",
        "0",
        "--script",
        str(script),
    ]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            line = _first_line(process, timeout=20)
            match = re.search(r"url=http://127.0.0.1:(\d+) fault_url=(\S+)", line)
            assert match is not None, line
            port, fault_url = int(match.group(1)), match.group(2)
            url = f"http://127.0.0.1:{port}"
            statuses = [httpx.post(url + "/hook").status_code for _ in range(3)]
            assert statuses == [500, 500, 200]
            assert httpx.post(fault_url + "/x?status=202").status_code == 202
            with socket.create_connection(("127.0.0.1", port)) as hung:
                hung.sendall(b"POST /hung?hang=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
                assert httpx.get(url + "/_receiver/wait?count=1&path=/hung").status_code == 200
                assert httpx.get(url + "/_receiver/requests").json()["count"] == 5
                process.send_signal(stop_signal)
                started = time.monotonic()
                assert process.wait(timeout=5) == 0
                assert time.monotonic() - started < 2  # with a request hung
        finally:
            process.kill()


def test_a_bad_script_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "bad.yaml"
    script.write_text("routes: [{path: /hook, steps: [{status: 1000}]}]")
    assert main(["serve", "--port", "0", "--script", str(script)]) == 2
    assert "routes[0].steps[0].status" in capsys.readouterr().err


def test_bad_settings_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "99999"]) == 2
    assert "port" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["serve", "--body-limit", "lots"])
