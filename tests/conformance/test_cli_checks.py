"""`webhooks-conformance` checks its options and the target before any case runs, and is brief.

A bad option, a target that does not answer or one that refuses the token is one
line and exit status 2 within seconds, no case run; a target whose retries do
not come when `--retry-scale` says has the cases that wait for retries skipped,
with the reason on the console; a case that fails is one line, its traceback
only with `-v`.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from starlette.types import Scope

import conformance.cli
import reference.api.auth
from conformance.cli import main
from conformance.preflight import CheckFailed, check_target
from tests.conformance.servers import SCALE, TOKEN, served

#: How long a failed check may take, Python's start and imports included.
PROMPT = 10.0


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`webhooks-conformance` with `args`, in a process of its own."""
    argv = [sys.executable, "-c", "from conformance.cli import main; raise SystemExit(main())"]
    return subprocess.run([*argv, *args], capture_output=True, text=True, timeout=timeout)


def outcomes(report: Path) -> dict[str, tuple[str, str]]:
    index = json.loads((report / "index.json").read_text(encoding="utf-8"))
    return {c["id"]: (c["outcome"], c["actual"]) for c in index["cases"]}


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The reference dispatcher, as it is."""
    with served(tmp_path_factory.mktemp("cli") / "reference.db") as found:
        yield found


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# -- a failed check: one line, exit status 2, no case run --------------------------------


def _one_line_and_nothing_run(run: subprocess.CompletedProcess[str], report: Path) -> str:
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stdout == ""  # pytest never started: no case, no summary
    [line] = run.stderr.splitlines()
    assert line.startswith("webhooks-conformance: ")
    assert not report.exists()
    return line


def test_a_wrong_token_is_one_line_and_exit_status_2(url: str, tmp_path: Path) -> None:
    report = tmp_path / "report"
    started = time.monotonic()
    run = run_cli("--target", url, "--token", "wrong", "--report-dir", str(report))
    line = _one_line_and_nothing_run(run, report)
    assert time.monotonic() - started < PROMPT
    assert "--token" in line and "401" in line, line
    assert "wrong" not in line  # the token is not echoed


def test_an_unreachable_target_is_one_line_and_exit_status_2(tmp_path: Path) -> None:
    report = tmp_path / "report"
    target = f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    run = run_cli("--target", target, "--token", TOKEN, "--report-dir", str(report))
    line = _one_line_and_nothing_run(run, report)
    assert time.monotonic() - started < PROMPT
    assert f"--target {target}" in line and "connection refused" in line, line


def test_a_target_that_is_not_the_api_is_one_line_and_exit_status_2(
    url: str, tmp_path: Path
) -> None:
    report = tmp_path / "report"
    run = run_cli("--target", url + "/admin", "--token", TOKEN, "--report-dir", str(report))
    line = _one_line_and_nothing_run(run, report)
    assert f"--target {url}/admin" in line and "GET /webhooks answered" in line, line


@pytest.mark.parametrize(
    ("status", "headers", "body", "said"),
    [
        (302, {"Location": "/elsewhere"}, "", "answered 302, a redirect to /elsewhere"),
        (404, {}, "", "answered 404: is this the base URL"),
        (500, {}, "", "answered 500: is this the base URL"),
        (200, {"Content-Type": "text/html"}, "<html>", "not with a JSON:API list (text/html)"),
        (200, {"Content-Type": "application/json"}, '{"data": {}}', "not with a JSON:API list"),
        (403, {}, "", "--token: the target refuses it"),
    ],
)
def test_an_answer_that_is_not_a_webhook_list_fails_the_check(
    status: int, headers: dict[str, str], body: str, said: str, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/api/webhooks").respond_with_data(body, status, headers)
    base = httpserver.url_for("/api")
    with pytest.raises(CheckFailed) as failed:
        check_target(base, TOKEN)
    [line] = str(failed.value).splitlines()
    assert said in line, line
    if status != 403:
        assert line.startswith(f"--target {base}: GET /webhooks "), line


def test_a_target_that_never_answers_fails_the_check_at_its_timeout() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()  # connections are made, never answered
        base = f"http://127.0.0.1:{listener.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(CheckFailed, match=r"no answer to GET /webhooks within 0\.5 s"):
            check_target(base, TOKEN, timeout=0.5)
    assert time.monotonic() - started < 3


def test_an_answer_that_is_not_http_fails_the_check() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()

        def garbage() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")

        answering = threading.Thread(target=garbage, daemon=True)
        answering.start()
        base = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with pytest.raises(CheckFailed, match=r"GET /webhooks failed \(") as failed:
            check_target(base, TOKEN, timeout=2)
        answering.join(5)
    assert len(str(failed.value).splitlines()) == 1


def test_a_prefix_no_case_starts_with_is_exit_status_2(url: str, tmp_path: Path) -> None:
    report = tmp_path / "report"
    run = run_cli("--target", url, "--token", TOKEN, "--report-dir", str(report), "-k", "API-999")
    assert run.returncode == 2, run.stdout + run.stderr
    assert "-k API-999: no case id starts with API-999" in run.stderr
    assert "Traceback" not in run.stdout + run.stderr


# -- the retry scale ---------------------------------------------------------------------

#: The cases that wait for retries (they use the `retry_scale` fixture).
WAITING = {"RTY-001", "RTY-002", "RTY-004", "RTY-005", "RTY-006", "RTY-007", "LOG-007"}


def test_a_target_retrying_later_has_the_retry_cases_skipped_with_the_reason(
    tmp_path: Path,
) -> None:
    report = tmp_path / "report"
    # The target's schedule shrunk 100 times less than the suite is told.
    with served(tmp_path / "slower.db", retry_scale=SCALE * 100) as target:
        run = run_cli(
            "--target", target, "--token", TOKEN, "--retry-scale", str(SCALE),
            "--report-dir", str(report), "-k", "RTY,LOG-007",
        )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    found = outcomes(report)
    assert {i for i, (outcome, _) in found.items() if outcome == "skipped"} == WAITING
    assert found["RTY-003"][0] == "passed"  # auto_retry false: no retry to wait for
    reason = "the target's retry 1 is due 1.200 s after the attempt before, expected 0.012 s"
    assert all(reason in found[i][1] for i in WAITING)
    # Said before the cases run, and again with the skipped cases in the summary.
    [said] = [line for line in run.stdout.splitlines() if line.startswith("retry scale:")]
    assert reason in said and "a retry scale of 0.01" in said
    [skipped] = [line for line in run.stdout.splitlines() if line.strip().startswith("SKIPPED")]
    assert reason in skipped and all(i in skipped for i in WAITING)


def test_a_target_retrying_earlier_is_not_excused(url: str, tmp_path: Path) -> None:
    report = tmp_path / "report"
    # The suite is told of a schedule shrunk 10 times less than the target's.
    run = run_cli(
        "--target", url, "--token", TOKEN, "--retry-scale", str(SCALE * 10),
        "--report-dir", str(report), "-k", "RTY-002",
    )  # fmt: skip
    # Retrying sooner than the schedule breaks the contract at any scale: the case runs.
    assert run.returncode == 1, run.stdout + run.stderr
    assert outcomes(report)["RTY-002"][0] == "failed"
    [said] = [line for line in run.stdout.splitlines() if line.startswith("retry scale:")]
    assert "earlier than the schedule allows" in said


def test_a_matching_retry_scale_runs_the_retry_cases(url: str, tmp_path: Path) -> None:
    report = tmp_path / "report"
    run = run_cli(
        "--target", url, "--token", TOKEN, "--retry-scale", str(SCALE),
        "--report-dir", str(report), "-k", "RTY-001",
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert outcomes(report)["RTY-001"][0] == "passed"
    [said] = [line for line in run.stdout.splitlines() if line.startswith("retry scale:")]
    assert said.endswith("as expected"), said


# -- a failing case: one line, its traceback only with -v; skip reasons ----------------------


def test_a_failing_case_is_one_line_and_skip_reasons_are_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    authorized = reference.api.auth.BearerAuth._authorized

    def only_a_given_token(self: reference.api.auth.BearerAuth, scope: Scope) -> bool:
        """Wrong: a request with no Authorization header is let in: API-001 fails."""
        given = any(name == b"authorization" for name, _ in scope["headers"])
        return not given or authorized(self, scope)

    monkeypatch.setattr(reference.api.auth.BearerAuth, "_authorized", only_a_given_token)
    with served(tmp_path / "no-token.db") as target:
        # No --retry-scale: RTY-001 is skipped, with a reason.
        common = ["--target", target, "--token", TOKEN, "-k", "API-001,RTY-001"]
        brief = run_cli(*common, "--report-dir", str(tmp_path / "brief"))
        verbose = run_cli(*common, "--report-dir", str(tmp_path / "verbose"), "-v")
    assert brief.returncode == verbose.returncode == 1, brief.stdout + brief.stderr
    [line] = [line for line in brief.stdout.splitlines() if "API-001" in line]
    outcome, actual = outcomes(tmp_path / "brief")["API-001"]
    assert outcome == "failed"
    assert line.split()[:4] == ["FAILED", "API-001", "[MUST]", "expected:"], line
    assert "; actual: " in line and actual.split()[0] in line
    for traceback in ("Traceback", "= FAILURES =", "\nE   ", "def test_auth"):
        assert traceback not in brief.stdout + brief.stderr
    assert "= FAILURES =" in verbose.stdout and "\nE   " in verbose.stdout
    assert "def test_auth" in verbose.stdout
    assert any("API-001" in line and "actual: " in line for line in verbose.stdout.splitlines())
    reason = "the target's retry schedule cannot be shrunk (no --retry-scale below 1)"
    for run in (brief, verbose):
        assert f"SKIPPED RTY-001: {reason}" in run.stdout
        assert "retry scale:" not in run.stdout  # nothing to measure without --retry-scale
        assert "warnings summary" not in run.stdout


# -- bad options: the option and the value named, exit status 2, no traceback -------------


def _paths(tmp_path: Path) -> dict[str, str]:
    a_file = tmp_path / "a-file"
    a_file.write_text("", encoding="utf-8")
    junit_a_directory = tmp_path / "report"
    (junit_a_directory / "junit.xml").mkdir(parents=True)
    return {
        "{file}": str(a_file),
        "{under_file}": str(a_file / "report"),
        "{junit_a_directory}": str(junit_a_directory),
    }


def _not_reached(url: str, token: str) -> None:
    raise AssertionError("a bad option is refused before the target is asked anything")


BAD_VALUES = [
    ("--retry-scale", "-1"),
    ("--retry-scale", "-0.001"),
    ("--retry-scale", "0"),
    ("--retry-scale", "abc"),
    ("--retry-scale", "1e"),
    ("--retry-scale", "nan"),
    ("--retry-scale", "inf"),
    ("--retry-scale", ""),
    ("--target", "localhost:8000"),
    ("--target", "127.0.0.1:8000"),
    ("--target", "ftp://127.0.0.1"),
    ("--target", "http://"),
    ("--target", "http://127.0.0.1:99999"),
    ("--target", "http://127.0.0.1:8000/?token=x"),
    ("--target", "http://[::1"),
    ("--target", ""),
    ("--token", ""),
    ("--token", "two words"),
    ("--token", "secret\n"),
    ("--token", "sécret"),
    ("-k", "XYZ"),
    ("-k", "AP-001"),
    ("-k", "API and not API-001"),
    ("-k", ","),
    ("--report-dir", "{file}"),
    ("--report-dir", "{under_file}"),
    ("--report-dir", "{junit_a_directory}"),
    ("--report-dir", ""),
]


@pytest.mark.parametrize(("option", "value"), BAD_VALUES)
def test_a_bad_option_value_is_named_with_exit_status_2(
    option: str,
    value: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(conformance.cli, "check_target", _not_reached)
    value = _paths(tmp_path).get(value, value)
    args = {"--target": "http://127.0.0.1:9", "--token": TOKEN, option: value}
    assert main([part for pair in args.items() for part in pair]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    [line] = err.splitlines()
    assert f"argument {option}" in line and repr(value) in line, line


def test_a_bad_option_through_the_command_is_one_line_and_exit_status_2(tmp_path: Path) -> None:
    report = tmp_path / "report"
    run = run_cli(
        "--target", "http://127.0.0.1:9", "--token", TOKEN, "--retry-scale", "-1",
        "--report-dir", str(report),
    )  # fmt: skip
    line = _one_line_and_nothing_run(run, report)
    assert "argument --retry-scale: '-1' is not a positive number" in line, line


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--token", TOKEN], "--target"),
        (["--target", "http://127.0.0.1:9"], "--token"),
        (["--token", TOKEN, "--target"], "--target"),
        (["--target", "http://127.0.0.1:9", "--token", TOKEN, "--retry-scale"], "--retry-scale"),
        (["--target", "http://127.0.0.1:9", "--token", TOKEN, "--frobnicate"], "--frobnicate"),
    ],
)
def test_a_missing_or_unknown_option_is_named_with_exit_status_2(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(conformance.cli, "check_target", _not_reached)
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    [line] = err.splitlines()
    assert named in line and "--help" in line, line


@pytest.mark.parametrize(
    ("pytest_status", "status"),
    [
        (pytest.ExitCode.OK, 0),
        (pytest.ExitCode.TESTS_FAILED, 1),
        (pytest.ExitCode.USAGE_ERROR, 2),  # a bad pytest argument after --
        (pytest.ExitCode.NO_TESTS_COLLECTED, 2),
        (pytest.ExitCode.INTERNAL_ERROR, 3),
        (pytest.ExitCode.INTERRUPTED, 130),
    ],
)
def test_pytest_statuses_are_the_documented_ones(
    pytest_status: pytest.ExitCode, status: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(conformance.cli, "check_target", lambda url, token: None)
    monkeypatch.setattr("conformance.cli.pytest.main", lambda args: pytest_status)
    assert main(["--target", "http://127.0.0.1:9", "--token", TOKEN]) == status


def test_the_help_documents_the_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "exit status:" in out
    for code in ("0", "1", "2"):
        assert any(line.split()[:1] == [code] for line in out.splitlines()), code
