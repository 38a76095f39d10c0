"""The README's commands and example, run as they are shown (ports aside)."""

from __future__ import annotations

import http.server
import json
import re
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.postgres import PostgresServer

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)


def block(language: str, containing: str) -> str:
    for lang, text in BLOCK.findall(README.read_text(encoding="utf-8")):
        if lang == language and containing in text:
            return str(text)
    raise AssertionError(f"no {language} block with {containing!r} in the README")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver_port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def ports(text: str, api: int, receiver: int = 0) -> str:
    return text.replace("127.0.0.1:8000", f"127.0.0.1:{api}").replace(
        "127.0.0.1:9000", f"127.0.0.1:{receiver}"
    )


def wait_until_up(port: int, process: subprocess.Popen[bytes]) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhooks", headers={"Authorization": "Bearer secret"}
    )
    for _ in range(300):
        assert process.poll() is None, "the dispatcher exited"
        try:
            with urllib.request.urlopen(request, timeout=1):
                return
        except (urllib.error.URLError, ConnectionError):
            threading.Event().wait(0.05)
    raise AssertionError("the dispatcher did not come up")


def bash(script: str, cwd: Path) -> str:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """The README's serve command, run in a fresh folder on a free port."""
    port = free_port()
    command = block("sh", "webhooks-dispatcher serve").strip()
    process = subprocess.Popen(
        ["bash", "-c", f"exec {command} --port {port}"],
        cwd=tmp_path,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(port, process)
        yield port, tmp_path
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_walkthrough_runs_twice_after_the_demo(
    server: tuple[int, Path], receiver_port: int
) -> None:
    """The README's shell examples, in order in one shell, twice, beside the demo's
    database: ids come from the answers, and the last block cleans up."""
    port, cwd = server
    demo = subprocess.run(
        [sys.executable, "-m", "reference", "demo"], cwd=cwd, capture_output=True, timeout=120
    )
    assert demo.returncode == 0, demo.stderr
    script = "set -euo pipefail\n" + "\n".join(
        ports(block("sh", marker), port, receiver_port)
        for marker in ("WEBHOOK=$(curl", "MODEL=$(curl", "DELETE http://127.0.0.1:8000/webhooks")
    )
    for run in range(2):
        out = bash(script, cwd)
        webhook_line, record_json = out.split("\n", 1)
        assert webhook_line == f"webhook {run + 1}"
        record = json.loads(record_json)["data"]
        assert record["meta"]["status"] == "published"
    assert (cwd / "tutorial.db").exists() and (cwd / "webhooks.db").exists()
    calls = json.loads(
        bash(
            f"curl -s -H 'Authorization: Bearer secret' http://127.0.0.1:{port}/webhook_calls", cwd
        )
    )
    assert [c["attributes"]["event_type"] for c in calls["data"]] == ["publish", "publish"]
    webhooks = bash(
        f"curl -s -H 'Authorization: Bearer secret' http://127.0.0.1:{port}/webhooks", cwd
    )
    assert json.loads(webhooks)["data"] == []  # cleaned up


def test_the_embedding_example_runs_twice(tmp_path: Path, receiver_port: int) -> None:
    script = tmp_path / "example.py"
    script.write_text(ports(block("python", "from reference import"), 0, receiver_port))
    for _ in range(2):  # on the database the first run left
        result = subprocess.run(
            [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == 'success 200 {"id": "42", "title": "Hello"}\nsuccess\n'


def test_activity_log_commands_against_the_demo(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reference",
            "demo",
            "--serve",
            "--api-token",
            "secret",
            "--port",
            str(port),
        ],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(port, process)
        out = bash(ports(block("sh", "webhook_calls?filter"), port), tmp_path)
        # the README sends the reader to the admin pages of the same demo
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/admin", timeout=5) as page:
            assert "Sign in" in page.read().decode()
    finally:
        process.terminate()
        process.wait(timeout=10)
    listing = json.loads(out)  # the resend answers 204 with no body
    assert listing["meta"]["total_count"] == 6
    assert {c["attributes"]["status"] for c in listing["data"]} == {"success"}


def test_render_commands(tmp_path: Path) -> None:
    (tmp_path / "body.mustache").write_text('{"event": "{{event_type}}"}')
    (tmp_path / "event.json").write_text('{"event_type": "publish"}')
    out = bash(block("sh", "webhooks-dispatcher render"), tmp_path)
    assert out == '{"event": "update"}{"event": "create"}{"event": "publish"}'


def test_the_case_writing_example_passes_against_the_reference(tmp_path: Path) -> None:
    from tests.conformance.servers import TOKEN, served

    case_file = tmp_path / "test_readme_case.py"
    case_file.write_text(block("python", "from conformance.cases import"), encoding="utf-8")
    report = tmp_path / "report"
    argv = [sys.executable, "-c", "from conformance.cli import main; raise SystemExit(main())"]
    argv += ["--report-dir", str(report), "-k", "HDR-099", "--", str(case_file), "-q"]
    with served(tmp_path / "case.db") as url:
        argv[3:3] = ["--target", url, "--token", TOKEN]
        run = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    index = json.loads((report / "index.json").read_text(encoding="utf-8"))
    [outcome] = index["cases"]
    assert (outcome["id"], outcome["outcome"]) == ("HDR-099", "passed")
    assert outcome["actual"].isdigit()  # the webhook id the receiver saw


def test_several_dispatchers_as_the_readme_starts_them(postgres_server: PostgresServer) -> None:
    """The two `serve` commands of "Running several dispatchers", on a fresh database."""
    url = postgres_server.create_database()
    commands = block("sh", "serve --db postgresql://").strip().splitlines()
    processes: list[subprocess.Popen[bytes]] = []
    api_ports = []
    try:
        for command in commands:
            port = free_port()
            api_ports.append(port)
            command = re.sub(r"postgresql://\S+", url, command)
            command = re.sub(r"--port \d+", f"--port {port}", command)
            processes.append(
                subprocess.Popen(["bash", "-c", f"exec {command}"], stderr=subprocess.DEVNULL)
            )
        for port, process in zip(api_ports, processes, strict=True):
            wait_until_up(port, process)
        first, second = (f"http://127.0.0.1:{port}" for port in api_ports)
        attributes: dict[str, object] = {
            "name": "shared",
            "url": "http://127.0.0.1:9/hook",
            "headers": {},
            "events": [],
            "custom_payload": None,
            "http_basic_user": None,
            "http_basic_password": None,
        }
        body = json.dumps({"data": {"type": "webhook", "attributes": attributes}}).encode()
        request = urllib.request.Request(
            f"{first}/webhooks",
            data=body,
            method="POST",
            headers={"Authorization": "Bearer secret", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            created = json.load(response)["data"]
        request = urllib.request.Request(
            f"{second}/webhooks", headers={"Authorization": "Bearer secret"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert [w["id"] for w in json.load(response)["data"]] == [created["id"]]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)
