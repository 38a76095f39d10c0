"""`webhooks-endpoint`: every bad option is one line naming the option and its value, exit
code 2, no traceback, before anything starts; good ones serve, with the servers'
conventions (the address printed once bound, health, log lines)."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import reference.serving
from endpoint.cli import main
from tests.endpoint.conftest import ROOT, payload
from tests.endpoint.servers import EndpointProcess

HANDLER = "tests.endpoint.handlers:scripted"
SECRET = "whsec_" + "A" * 43 + "="

# {busy}: a port something listens on; {closed}: a port nothing listens on. The words
# after the line: what the one line of stderr must hold.
BAD: list[tuple[str, tuple[str, ...]]] = [
    ("serve", ("--handler", "required")),
    ("serve --handler x", ("--handler 'x'", "module:function")),
    ("serve --handler nosuch.module:f", ("--handler 'nosuch.module:f'", "no module named")),
    (f"serve --handler {HANDLER[:-8]}nothing", ("--handler", "has no 'nothing'")),
    ("serve --handler tests.endpoint.conftest:KINDS", ("--handler", "not callable")),
    ("serve --handler broken:f", ("--handler 'broken:f'", "importing", "ZeroDivisionError")),
    ("serve --port 70000", ("--port", "'70000'", "0 to 65535")),
    ("serve --port abc", ("--port", "'abc'")),
    ("serve --port \u0668\u0660", ("--port", "'\u0668\u0660'")),  # Arabic-Indic 80
    ("serve --port {busy}", ("--port {busy}", "in use")),
    ("serve --host nosuch.invalid", ("--host", "'nosuch.invalid'")),
    ("serve --path hooks", ("--path", "'hooks'", "'/'")),
    ("serve --basic-auth nopass", ("--basic-auth", "USER:PASSWORD")),
    ("serve --basic-auth :pw", ("--basic-auth", "':***'", "empty")),
    ("serve --signing-secret secret", ("--signing-secret", "whsec_")),
    ("serve --signing-secret whsec_!!!", ("--signing-secret", "base64")),
    ("serve --signature-tolerance 0", ("--signature-tolerance", "'0'", "positive")),
    ("serve --signature-tolerance nan", ("--signature-tolerance", "'nan'")),
    ("serve --signature-tolerance soon", ("--signature-tolerance", "'soon'", "not a number")),
    ("serve --workers -1", ("--workers", "'-1'", "whole number")),
    ("serve --workers many", ("--workers", "'many'")),
    ("serve --retry-scale 0", ("--retry-scale", "'0'", "positive")),
    ("serve --retry-scale inf", ("--retry-scale", "'inf'")),
    ("serve --retry-scale abc", ("--retry-scale", "'abc'", "not a number")),
    ("serve --queue kafka", ("--queue", "'kafka'")),
    ("serve --redis-url redis://x", ("--redis-url", "'redis://x'", "only with --queue rq")),
    ("serve --rq-queue q", ("--rq-queue", "'q'", "only with --queue rq")),
    ("serve --queue rq --db x.db", ("--db", "'x.db'", "only with --queue sqlite")),
    ("serve --queue rq --redis-url http://x", ("--redis-url", "'http://x'", "redis://")),
    (
        "serve --queue rq --redis-url redis://127.0.0.1:{closed}/0",
        ("--redis-url", "'redis://127.0.0.1:{closed}/0'", "cannot reach Redis"),
    ),
    ("serve --db notdb.db", ("--db", "'notdb.db'", "file is not a database")),
    ("serve --db other.db", ("--db", "'other.db'", "something else")),
    ("serve --db adir", ("--db", "'adir'", "directory")),
    ("serve --db nosuchdir/x.db", ("--db", "'nosuchdir/x.db'", "no such directory")),
    ("serve --db=", ("--db", "''", "empty")),
    ("serve --log-level loud", ("--log-level", "'loud'")),
    ("serve --log-format xml", ("--log-format", "'xml'")),
]


class Started(AssertionError):
    """A bad option got as far as serving."""


@pytest.fixture
def place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "notdb.db").write_text("plain text, not SQLite\n" * 10)
    (tmp_path / "adir").mkdir()
    other = sqlite3.connect(tmp_path / "other.db")
    other.execute("CREATE TABLE meta (key TEXT)")
    other.close()
    (tmp_path / "broken.py").write_text("1 / 0\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(ROOT))
    for name in [n for n in os.environ if n.startswith("WEBHOOKS_ENDPOINT_")]:
        monkeypatch.delenv(name)

    async def started(*args: Any, **kwargs: Any) -> None:
        raise Started("a bad option was accepted: the server started")

    monkeypatch.setattr(reference.serving, "serve", started)
    yield tmp_path
    sys.modules.pop("broken", None)


@pytest.fixture
def ports() -> Iterator[dict[str, str]]:
    with socket.socket() as busy, socket.socket() as free:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        free.bind(("127.0.0.1", 0))
        closed = free.getsockname()[1]
        free.close()
        yield {"busy": str(busy.getsockname()[1]), "closed": str(closed)}


def argv(line: str, ports: dict[str, str]) -> list[str]:
    words = [word.format(**ports) for word in line.split(" ")]
    if words != ["serve"] and not any(w.startswith("--handler") for w in words):
        words += ["--handler", HANDLER]
    return words


def run(words: list[str]) -> int:
    try:
        return main(words)
    except SystemExit as exc:  # argparse
        assert isinstance(exc.code, int)
        return exc.code


def refused(
    code: int, out: str, err: str, expected: tuple[str, ...], ports: dict[str, str]
) -> None:
    wanted = [part.format(**ports) for part in expected]
    assert code == 2, err
    assert out == ""
    assert "Traceback" not in err
    assert err.count("\n") == 1, err  # one line, argparse's own errors too
    assert err.startswith("webhooks-endpoint: ")
    assert all(part in err for part in wanted), (wanted, err)


@pytest.mark.parametrize(("line", "expected"), BAD, ids=lambda x: str(x)[:60])
def test_a_bad_option_is_one_line_naming_it(
    line: str,
    expected: tuple[str, ...],
    place: Path,
    ports: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = set(place.rglob("*"))
    code = run(argv(line, ports))
    out, err = capsys.readouterr()
    refused(code, out, err, expected, ports)
    assert set(place.rglob("*")) == before  # no database: nothing started


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("WEBHOOKS_ENDPOINT_SIGNING_SECRET", "whsec_short", ("WEBHOOKS_ENDPOINT_SIGNING_SECRET",)),
        ("WEBHOOKS_ENDPOINT_BASIC_AUTH", "hookonly", ("WEBHOOKS_ENDPOINT_BASIC_AUTH", "USER:")),
    ],
)
def test_a_bad_variable_is_named(
    variable: str,
    value: str,
    expected: tuple[str, ...],
    place: Path,
    ports: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(variable, value)
    code = run(["serve", "--handler", HANDLER])
    out, err = capsys.readouterr()
    refused(code, out, err, expected, ports)
    assert value not in err  # a secret is not shown


def test_good_options_get_as_far_as_serving(
    place: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    served: list[object] = []

    async def serve(app: object, sock: socket.socket) -> None:
        served.append(app)
        sock.close()

    monkeypatch.setattr(reference.serving, "serve", serve)
    monkeypatch.setenv("WEBHOOKS_ENDPOINT_SIGNING_SECRET", SECRET)
    words = ["serve", "--handler", HANDLER, "--port", "0", "--db", "new.db", "--path", "/hooks"]
    words += ["--basic-auth", "hook:pa:ss", "--workers", "0", "--retry-scale", "0.001"]
    words += ["--signature-tolerance", "30", "--every-delivery", "--log-format", "json"]
    assert main(words) == 0, capsys.readouterr().err
    assert len(served) == 1
    assert (place / "new.db").exists()
    err = capsys.readouterr().err
    assert err.startswith("webhooks-endpoint on http://127.0.0.1:")
    assert "/hooks\n" in err.splitlines(keepends=True)[0]
    assert SECRET not in err and "pa:ss" not in err


def test_the_entry_point_serves_logs_and_stops(tmp_path: Path) -> None:
    """The installed command: no traceback for a bad option; a good one prints its address,
    answers health without auth, logs one JSON line per request, and stops on SIGTERM."""
    executable = Path(sys.executable).with_name("webhooks-endpoint")
    command = [str(executable)] if executable.exists() else [sys.executable, "-m", "endpoint"]
    bad = subprocess.run(
        [*command, "serve", "--handler", HANDLER, "--workers", "x"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )
    assert (bad.returncode, bad.stdout) == (2, "")
    assert (
        bad.stderr
        == "webhooks-endpoint: argument --workers: must be a whole number >= 0, got 'x'\n"
    )

    server = EndpointProcess(
        [
            "--handler",
            HANDLER,
            "--db",
            str(tmp_path / "e.db"),
            "--basic-auth",
            "u:p",
            "--log-format",
            "json",
        ],
        tmp_path / "endpoint.log",
    )
    try:
        url = server.start()
        base = url.rstrip("/")
        with urllib.request.urlopen(f"{base}/health", timeout=5) as answer:
            assert json.load(answer) == {"status": "ok"}
        request = urllib.request.Request(url, data=json.dumps(payload()).encode(), method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused_:
            urllib.request.urlopen(request, timeout=5)
        assert refused_.value.code == 401
        refused_.value.close()
        assert server.stop() in (0, -15)
    finally:
        server.close()
    lines = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    (access,) = [line for line in lines if line["logger"] == "endpoint.access"]
    assert (access["status"], access["path"]) == (401, "/")


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_log_lines_are_the_servers(log_format: str) -> None:
    """endpoint/logs.py writes what reference/logs.py writes (the kit's workers start
    without importing the dispatcher)."""
    import logging

    from endpoint import logs as ours
    from reference import logs as theirs

    record = logging.LogRecord(
        "endpoint.access", logging.INFO, __file__, 1, "POST %s", ("/",), None
    )
    record.fields = {"status": 202, "call_id": "7"}
    lines = []
    for module in (ours, theirs):
        module.configure_logging("info", "json" if log_format == "json" else "text")
        (handler,) = [h for h in logging.getLogger().handlers if h.get_name() == "reference.logs"]
        assert handler.formatter is not None
        lines.append(handler.formatter.format(record))
    logging.getLogger().handlers[:] = [
        h for h in logging.getLogger().handlers if h.get_name() != "reference.logs"
    ]
    assert lines[0] == lines[1]
