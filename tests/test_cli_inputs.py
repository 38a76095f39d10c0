"""Every CLI refuses bad input with one line naming the flag (or variable) and the value,
exit code 2 and no traceback, before anything starts: one table of bad inputs per CLI.

Most rows run in-process through each CLI's `main(argv)`; the server loops are replaced
by stand-ins that fail the test if they are reached (a bad input let through would
otherwise serve forever). A few rows run the installed entry points in a subprocess, to
show that what a user sees carries no traceback."""

from __future__ import annotations

import logging
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

import receiver.cli
import reference.demo
import reference.serving
from receiver.server import MockReceiver
from reference.cli import main as dispatcher_main

# {busy}: a port something listens on; {closed}: a port nothing listens on.
BAD_DISPATCHER_FLAGS: list[tuple[str, tuple[str, ...]]] = [
    # the database
    ("serve --db notdb.db", ("--db", "'notdb.db'", "file is not a database")),
    ("serve --db other.db", ("--db", "'other.db'", "SQLite database of something else")),
    ("serve --db adir", ("--db", "'adir'", "directory")),
    ("serve --db file.txt/x.db", ("--db", "'file.txt/x.db'", "not a directory")),
    ("serve --db nosuchdir/x.db", ("--db", "'nosuchdir/x.db'", "no such directory")),
    ("serve --db unreadable.db", ("--db", "'unreadable.db'", "permission denied")),
    ("serve --db=", ("--db", "''", "not empty")),
    ("serve --db mysql://u@h/db", ("--db", "'mysql://u@h/db'", "postgresql://")),
    (
        "serve --db postgresql://me:s3cret@127.0.0.1:{closed}/db",
        ("--db", "postgresql://me:***@127.0.0.1:{closed}/db", "cannot connect"),
    ),
    # the address
    ("serve --port 70000", ("--port", "'70000'", "0 to 65535")),
    ("serve --port -1", ("--port", "'-1'")),
    ("serve --port abc", ("--port", "'abc'")),
    ("serve --port \u0668\u0660", ("--port", "'\u0668\u0660'")),  # Arabic-Indic 80
    ("serve --port {busy}", ("--port {busy}", "in use")),
    ("serve --host nosuch.invalid", ("--host", "'nosuch.invalid'")),
    ("serve --host " + "a" * 64, ("--host", "'" + "a" * 64 + "'", "not a host name")),
    ("demo --serve --port {busy}", ("--port {busy}", "in use")),
    ("demo --port 65536", ("--port", "'65536'")),
    # numbers
    ("serve --retry-scale nan", ("--retry-scale nan", "positive and finite")),
    ("serve --retry-scale inf", ("--retry-scale inf", "positive and finite")),
    ("serve --retry-scale 0", ("--retry-scale 0.0", "positive")),
    ("serve --retry-scale -1", ("--retry-scale -1.0", "positive")),
    ("serve --retry-scale abc", ("--retry-scale", "'abc'", "not a number")),
    ("serve --claim-lease nan", ("--claim-lease nan", "deadline")),
    ("serve --claim-lease inf", ("--claim-lease inf", "deadline")),
    ("serve --claim-lease 1", ("--claim-lease 1.0", "deadline")),
    ("serve --claim-lease soon", ("--claim-lease", "'soon'", "not a number")),
    ("serve --signing-secret-grace nan", ("--signing-secret-grace nan", "finite")),
    ("serve --signing-secret-grace inf", ("--signing-secret-grace inf", "finite")),
    ("serve --signing-secret-grace -1", ("--signing-secret-grace -1.0", ">= 0")),
    ("serve --signing-secret-grace x", ("--signing-secret-grace", "'x'", "not a number")),
    ("serve --max-upload-bytes -1", ("--max-upload-bytes -1", ">= 1")),
    ("serve --max-upload-bytes 0", ("--max-upload-bytes 0", ">= 1")),
    ("serve --max-upload-bytes abc", ("--max-upload-bytes", "'abc'", "whole number")),
    ("serve --max-upload-bytes 1.5", ("--max-upload-bytes", "'1.5'", "whole number")),
    ("demo --retry-scale nan", ("--retry-scale nan", "finite")),
    # text
    ("serve --site-id=", ("--site-id", "''", "empty")),
    ("serve --site-id=   ", ("--site-id", "'   '", "blank")),
    ("serve --site-id= 42", ("--site-id", "' 42'", "no spaces at either end")),
    ("serve --api-token=", ("--api-token", "''", "empty")),
    ("serve --api-token=a\tb", ("--api-token", "'a\\tb'", "printable")),
    ("serve --metrics-token=", ("--metrics-token", "''", "empty")),
    ("serve --public-url ftp://x", ("--public-url", "'ftp://x'", "http://")),
    ("serve --public-url http://", ("--public-url", "'http://'", "host")),
    ("serve --public-url https://x:99999", ("--public-url", "'https://x:99999'")),
    ("serve --public-url https://x/?a=1", ("--public-url", "'https://x/?a=1'", "query")),
    ("serve --allow-destination notacidr", ("--allow-destination", "'notacidr'", "CIDR")),
    ("serve --allow-destination 10.0.0.0/33", ("--allow-destination", "'10.0.0.0/33'")),
    ("serve --allow-destination=", ("--allow-destination", "''", "CIDR")),
    ("serve --log-level loud", ("--log-level", "'loud'")),
    ("serve --log-format xml", ("--log-format", "'xml'")),
    # the uploads folder
    ("serve --files-dir file.txt", ("--files-dir", "'file.txt'", "not a directory")),
    ("serve --files-dir file.txt/sub", ("--files-dir", "'file.txt/sub'", "not a directory")),
    ("serve --files-dir=", ("--files-dir", "''", "empty")),
    ("serve --db taken.db", ("--files-dir (default", "'taken-files'", "not a directory")),
]

BAD_DISPATCHER_VARIABLES: list[tuple[dict[str, str], tuple[str, ...]]] = [
    ({"WEBHOOKS_RETRY_SCALE": "abc"}, ("WEBHOOKS_RETRY_SCALE 'abc'", "not a number")),
    ({"WEBHOOKS_RETRY_SCALE": "nan"}, ("WEBHOOKS_RETRY_SCALE 'nan'", "finite")),
    ({"WEBHOOKS_RETRY_SCALE": "-2"}, ("WEBHOOKS_RETRY_SCALE '-2'", "positive")),
    ({"WEBHOOKS_CLAIM_LEASE": "inf"}, ("WEBHOOKS_CLAIM_LEASE 'inf'", "deadline")),
    ({"WEBHOOKS_SIGNING_SECRET_GRACE": "-1"}, ("WEBHOOKS_SIGNING_SECRET_GRACE '-1'", ">= 0")),
    ({"WEBHOOKS_MAX_UPLOAD_BYTES": "lots"}, ("WEBHOOKS_MAX_UPLOAD_BYTES 'lots'", "whole")),
    ({"WEBHOOKS_MAX_UPLOAD_BYTES": "0"}, ("WEBHOOKS_MAX_UPLOAD_BYTES '0'", ">= 1")),
    ({"WEBHOOKS_PUBLIC_DESTINATIONS_ONLY": "maybe"}, ("WEBHOOKS_PUBLIC_DESTINATIONS_ONLY",)),
    ({"WEBHOOKS_ALLOW_DESTINATIONS": "10.0.0.0/8,bad"}, ("WEBHOOKS_ALLOW_DESTINATIONS 'bad'",)),
    ({"WEBHOOKS_PUBLIC_URL": "ftp://x"}, ("WEBHOOKS_PUBLIC_URL 'ftp://x'", "http://")),
    ({"WEBHOOKS_SITE_ID": "  "}, ("WEBHOOKS_SITE_ID '  '", "blank")),
    ({"WEBHOOKS_API_TOKEN": " t"}, ("WEBHOOKS_API_TOKEN ' t'", "spaces")),
    ({"WEBHOOKS_METRICS_TOKEN": "m\n"}, ("WEBHOOKS_METRICS_TOKEN 'm\\n'",)),
    ({"WEBHOOKS_DB": "notdb.db"}, ("WEBHOOKS_DB", "'notdb.db'", "not a database")),
    ({"WEBHOOKS_DB": "sqlite:///x.db"}, ("WEBHOOKS_DB 'sqlite:///x.db'", "postgresql://")),
    ({"WEBHOOKS_FILES_DIR": "file.txt"}, ("WEBHOOKS_FILES_DIR 'file.txt'", "not a directory")),
]

BAD_RENDER_INPUTS: list[tuple[str, tuple[str, ...]]] = [
    ("render missing.mustache", ("TEMPLATE", "'missing.mustache'", "No such file")),
    ("render adir", ("TEMPLATE", "'adir'", "Is a directory")),
    ("render file.txt/t.mustache", ("TEMPLATE", "'file.txt/t.mustache'", "Not a directory")),
    ("render ok.mustache --context bad.json", ("--context", "'bad.json'", "not valid JSON")),
    ("render ok.mustache --context nope.json", ("--context", "'nope.json'", "No such file")),
    ("render ok.mustache --context adir", ("--context", "'adir'", "Is a directory")),
    ("render ok.mustache --context notdb.db", ("--context", "'notdb.db'", "not valid JSON")),
    ("render ok.mustache --sample item.explode", ("--sample", "'item.explode'")),
    ("render ok.mustache --sample nothing", ("--sample", "'nothing'", "unknown entity")),
    ("render --sample item.update", ("TEMPLATE",)),
]

BAD_RECEIVER_FLAGS: list[tuple[str, tuple[str, ...]]] = [
    ("serve --port -1", ("--port -1", "0 to 65535")),
    ("serve --port 70000", ("--port 70000", "0 to 65535")),
    ("serve --port abc", ("--port", "'abc'")),
    ("serve --fault-port 65536", ("--fault-port 65536", "0 to 65535")),
    ("serve --fault-port 1.5", ("--fault-port", "'1.5'")),
    ("serve --port {busy}", ("--port {busy}", "in use")),
    ("serve --port 0 --fault-port {busy}", ("--fault-port {busy}", "in use")),
    ("serve --port {closed} --fault-port {closed}", ("--fault-port {closed}", "same port")),
    ("serve --port 0 --host nosuch.invalid", ("--host", "'nosuch.invalid'")),
    ("serve --body-limit 1XB", ("--body-limit", "'1XB'", "a size such as")),
    ("serve --body-limit -1", ("--body-limit", "'-1'", "a size such as")),
    ("serve --body-limit=", ("--body-limit", "''", "a size such as")),
    ("serve --port 0 --script missing.yaml", ("--script", "'missing.yaml'", "No such file")),
    ("serve --port 0 --script adir", ("--script", "'adir'", "Is a directory")),
    ("serve --port 0 --script file.txt/s.yaml", ("--script", "'file.txt/s.yaml'", "Not a dir")),
    ("serve --port 0 --script unreadable.db", ("--script", "'unreadable.db'", "Permission")),
    ("serve --port 0 --script bad.json", ("--script", "'bad.json'", "Expecting")),
    ("serve --port 0 --script bad.yaml", ("--script", "'bad.yaml'", "expected")),
    ("serve --port 0 --script steps.yaml", ("--script", "'steps.yaml'", "steps[0].status")),
]


class Started(AssertionError):
    """A bad input got as far as serving."""


@pytest.fixture
def place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A working directory of awkward files; no WEBHOOKS_* variables; servers that
    must not be reached; the logging configuration restored afterwards."""
    (tmp_path / "notdb.db").write_text("plain text, not SQLite\n" * 10)
    (tmp_path / "adir").mkdir()
    (tmp_path / "file.txt").write_text("a file\n")
    (tmp_path / "taken.db").touch()  # empty: a new database, but its files folder is a file
    (tmp_path / "taken-files").write_text("not a folder\n")
    (tmp_path / "bad.json").write_text("{bad")
    (tmp_path / "bad.yaml").write_text("routes: [{path: /hook\n  steps: [")
    (tmp_path / "steps.yaml").write_text("routes: [{path: /hook, steps: [{status: 1000}]}]")
    (tmp_path / "ok.mustache").write_text("{}")
    (tmp_path / "unreadable.db").write_text("secret")
    (tmp_path / "unreadable.db").chmod(0)
    with sqlite3.connect(tmp_path / "other.db") as other:
        other.execute("CREATE TABLE meta (key TEXT)")
    other.close()
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("WEBHOOKS_")]:
        monkeypatch.delenv(name)

    def started(*args: Any, **kwargs: Any) -> Any:
        raise Started("a bad input was accepted: the server started")

    monkeypatch.setattr(reference.serving, "serve", started)
    monkeypatch.setattr(reference.demo, "run_demo", started)
    monkeypatch.setattr(receiver.cli, "_serve", started)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield tmp_path
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def ports() -> Iterator[dict[str, str]]:
    """{busy}: a port taken by a listening socket; {closed}: a free one."""
    with socket.socket() as busy, socket.socket() as free:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        free.bind(("127.0.0.1", 0))
        closed = free.getsockname()[1]
        free.close()
        yield {"busy": str(busy.getsockname()[1]), "closed": str(closed)}


def _argv(line: str, ports: dict[str, str]) -> list[str]:
    """`line` as argv: words split on spaces, except that a last `--flag=value` keeps
    whatever follows the `=` (an empty or blank value)."""
    match = re.fullmatch(r"(.*) (--[a-z-]+=)(.*)", line, flags=re.DOTALL)
    if match is not None:
        return [*_argv(match.group(1), ports), match.group(2) + match.group(3)]
    return [word.format(**ports) for word in line.split(" ")]


def _any_port(argv: list[str]) -> list[str]:
    """`--port 0` for a `serve` that names no port: the default one may be in use."""
    return ["--port", "0"] if argv[0] == "serve" and "--port" not in argv else []


def _run(main: Callable[[Sequence[str]], int], argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse
        assert isinstance(exc.code, int)
        return exc.code


def _refused(
    code: int,
    out: str,
    err: str,
    expected: Sequence[str],
    ports: dict[str, str],
) -> None:
    """Exit code 2, nothing on stdout, no traceback, and one line of stderr holding
    every expected part (the flag or variable, the value, why)."""
    wanted = [part.format(**ports) for part in expected]
    assert code == 2, err
    assert out == ""
    assert "Traceback" not in err
    assert "s3cret" not in err  # a database URL's password is never shown
    assert any(all(part in line for part in wanted) for line in err.splitlines()), (wanted, err)
    if "usage:" not in err:  # argparse's own errors come after the usage
        assert err.count("\n") == 1, err


def _files(place: Path) -> set[Path]:
    return set(place.rglob("*"))


def _skip_unreadable_as_root(line: str) -> None:
    if "unreadable" in line and os.geteuid() == 0:
        pytest.skip("root reads a chmod 000 file; file.txt/... covers a path that cannot open")


@pytest.mark.parametrize(("line", "expected"), BAD_DISPATCHER_FLAGS, ids=lambda x: str(x)[:60])
def test_the_dispatcher_refuses_a_bad_flag(
    line: str,
    expected: tuple[str, ...],
    place: Path,
    ports: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    _skip_unreadable_as_root(line)
    before = _files(place)
    argv = _argv(line, ports)
    if not any(a.startswith("--db") for a in argv):
        argv += ["--db", "new.db"]
    argv += _any_port(argv)
    started = time.monotonic()
    code = _run(dispatcher_main, argv)
    out, err = capsys.readouterr()
    _refused(code, out, err, expected, ports)
    assert _files(place) == before  # no database, no folder: nothing started
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(("env", "expected"), BAD_DISPATCHER_VARIABLES, ids=lambda x: str(x)[:60])
def test_the_dispatcher_refuses_a_bad_variable(
    env: dict[str, str],
    expected: tuple[str, ...],
    place: Path,
    ports: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    before = _files(place)
    argv = ["serve", "--port", "0"] + ([] if "WEBHOOKS_DB" in env else ["--db", "new.db"])
    code = _run(dispatcher_main, argv)
    out, err = capsys.readouterr()
    _refused(code, out, err, expected, ports)
    assert _files(place) == before


@pytest.mark.parametrize(("line", "expected"), BAD_RENDER_INPUTS, ids=lambda x: str(x)[:60])
def test_render_refuses_a_bad_file(
    line: str,
    expected: tuple[str, ...],
    place: Path,
    ports: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = _run(dispatcher_main, _argv(line, ports))
    out, err = capsys.readouterr()
    _refused(code, out, err, expected, ports)


@pytest.mark.parametrize(("line", "expected"), BAD_RECEIVER_FLAGS, ids=lambda x: str(x)[:60])
def test_the_receiver_refuses_a_bad_flag(
    line: str,
    expected: tuple[str, ...],
    place: Path,
    ports: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    _skip_unreadable_as_root(line)
    code = _run(receiver.cli.main, _argv(line, ports))
    out, err = capsys.readouterr()
    _refused(code, out, err, expected, ports)
    assert "huge" not in err  # the size parser's own parameter, not a flag of this CLI


def test_good_flags_and_variables_still_start(
    place: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Values at the edges of what is allowed get as far as serving, on a new database."""
    served: list[object] = []

    async def serve(app: object, sock: socket.socket) -> None:
        served.append(sock.getsockname())
        sock.close()

    monkeypatch.setattr(reference.serving, "serve", serve)
    monkeypatch.setenv("WEBHOOKS_RETRY_SCALE", "0.001")
    monkeypatch.setenv("WEBHOOKS_ALLOW_DESTINATIONS", "10.0.0.0/8, fd00::/8")
    argv = [
        "serve",
        "--port",
        "0",
        "--db",
        "good.db",
        "--site-id",
        "4242",
        "--claim-lease",
        "5.5",
        "--signing-secret-grace",
        "0",
        "--max-upload-bytes",
        "1",
        "--public-url",
        "https://hooks.example.com:8443/cms/",
        "--files-dir",
        "uploads/new",
        "--api-token",
        "a token",
    ]
    assert dispatcher_main(argv) == 0, capsys.readouterr().err
    assert len(served) == 1
    assert (place / "good.db").exists()
    assert not (place / "uploads").exists()  # made on the first upload


def test_a_good_receiver_still_starts(
    place: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    started: list[MockReceiver] = []

    def serve(receiver: MockReceiver) -> None:
        started.append(receiver)
        receiver.stop()

    monkeypatch.setattr(receiver.cli, "_serve", serve)
    (place / "good.json").write_text('{"routes": [{"path": "/hook", "steps": [{}]}]}')
    argv = ["serve", "--port", "0", "--script", "good.json", "--body-limit", "10MB", "--lean"]
    assert receiver.cli.main(argv) == 0, capsys.readouterr().err
    assert started[0].port != 0


# Through the installed entry points: what a user sees, no traceback in it.
ENTRY_POINTS: list[tuple[str, str, dict[str, str], tuple[str, ...]]] = [
    ("webhooks-dispatcher", "serve --db notdb.db", {}, ("--db", "not a database")),
    ("webhooks-dispatcher", "serve --db other.db", {}, ("--db", "something else")),
    ("webhooks-dispatcher", "serve --retry-scale nan", {}, ("--retry-scale nan",)),
    ("webhooks-dispatcher", "serve", {"WEBHOOKS_RETRY_SCALE": "abc"}, ("WEBHOOKS_RETRY_SCALE",)),
    ("webhooks-dispatcher", "render adir", {}, ("TEMPLATE", "'adir'")),
    ("webhooks-receiver", "serve --body-limit 1XB", {}, ("--body-limit", "'1XB'")),
    ("webhooks-receiver", "serve --port 0 --script bad.yaml", {}, ("--script", "'bad.yaml'")),
]


@pytest.mark.parametrize(("program", "line", "env", "expected"), ENTRY_POINTS)
def test_the_entry_points_print_no_traceback(
    program: str,
    line: str,
    env: dict[str, str],
    expected: tuple[str, ...],
    place: Path,
    ports: dict[str, str],
) -> None:
    before = _files(place)
    executable = Path(sys.executable).with_name(program)
    if executable.exists():
        command = [str(executable)]
    else:  # not installed as scripts: the functions they would call
        module = {"webhooks-dispatcher": "reference.cli", "webhooks-receiver": "receiver.cli"}
        command = [sys.executable, "-c", f"import {module[program]} as m; exit(m.main())"]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("WEBHOOKS_")}
    argv = _argv(line, ports)
    run = subprocess.run(
        [*command, *argv, *_any_port(argv)],
        env={**environ, **env},
        cwd=place,
        capture_output=True,
        text=True,
        timeout=15,
    )
    _refused(run.returncode, run.stdout, run.stderr, expected, ports)
    assert _files(place) == before
