"""The pytest plugin of the suite: target and receiver fixtures, levels, reports.

Loaded with `-p conformance.plugin` (the `webhooks-conformance` command does
it). A failed MUST case fails the run; a failed SHOULD case is reported as
non-strict (an xfail) unless `--strict`; a failed MAY case is informational.
The JSON index (`index.json`) and the console summary by family are written
here; JUnit XML is pytest's own `--junitxml`. The summary gives each case that
did not pass one line (id, expected, actual) and each skip reason one line.

Once the cases are chosen, and only if one of them waits for retries (it uses
the `retry_scale` fixture), the target's retry scale is measured
(`conformance.preflight.check_retry_scale`); when it is not `--retry-scale`,
those cases are skipped with the measured and expected gaps as the reason.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conformance.cases import FAMILIES, Case, Level, case_of
from conformance.client import Resource, Target
from conformance.preflight import RetryCheck, check_retry_scale
from receiver import MockReceiver, RecordedRequest

__all__ = ["Content", "Evidence", "Hooks", "Outcome", "Starter"]

_EVIDENCE = pytest.StashKey["Evidence"]()
_STARTED = pytest.StashKey[object]()
_RECEIVER = pytest.StashKey[MockReceiver]()
_RETRY_CHECK = pytest.StashKey[RetryCheck]()

#: `@pytest.mark.last(start=f)`: `f(target, receiver, config)` runs before the first case,
#: and the case gets what it returned from the `started` fixture.
Starter = Callable[[Target, MockReceiver, pytest.Config], object]
_paths = itertools.count(1)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance")
    group.addoption("--target", help="base URL of the dispatcher under test")
    group.addoption("--token", help="its API token")
    group.addoption(
        "--retry-scale",
        type=float,
        default=None,
        help="the factor the target's retry schedule is shrunk by (cases needing it skip without)",
    )
    group.addoption(
        "--strict-should", action="store_true", help="a failed SHOULD case fails the run"
    )
    group.addoption(
        "--case", action="append", default=[], help="run the cases whose id starts with this"
    )
    group.addoption("--report-dir", help="write index.json here")


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("--target") or not config.getoption("--token"):
        raise pytest.UsageError("the conformance suite needs --target URL and --token TOKEN")
    scale: float | None = config.getoption("--retry-scale")
    if scale is not None and not (math.isfinite(scale) and scale > 0):
        raise pytest.UsageError(f"--retry-scale {scale}: not a positive number (such as 0.001)")
    config.stash[_RESULTS] = Results()


def pytest_unconfigure(config: pytest.Config) -> None:
    started = config.stash.get(_RECEIVER, None)
    if started is not None:
        started.stop()


# -- selection --------------------------------------------------------------------


def item_case(item: pytest.Item) -> Case | None:
    return case_of(getattr(item, "function", None))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    prefixes = [
        p.strip().upper() for arg in config.getoption("--case") for p in arg.split(",") if p.strip()
    ]
    keep, drop = [], []
    for item in items:
        found = item_case(item)
        if found is not None and (not prefixes or found.id.startswith(tuple(prefixes))):
            keep.append(item)
        else:
            drop.append(item)
    chosen = [found.id for found in map(item_case, keep) if found is not None]
    for prefix in prefixes:
        if not any(i.startswith(prefix) for i in chosen):
            raise pytest.UsageError(f"-k {prefix}: no case id starts with {prefix}")
    # Cases that wait for a background run (marked `last`) go at the end, so
    # that what they wait for overlaps every other case.
    keep.sort(key=lambda item: item.get_closest_marker("last") is not None)
    if drop:
        config.hook.pytest_deselected(items=drop)
    items[:] = keep


# -- fixtures ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Iterator[Target]:
    """The dispatcher under test."""
    with Target(pytestconfig.getoption("--target"), pytestconfig.getoption("--token")) as client:
        yield client


def _session_receiver(config: pytest.Config) -> MockReceiver:
    """The run's mock receiver, started at its first use (stopped with the run)."""
    found = config.stash.get(_RECEIVER, None)
    if found is None:
        found = MockReceiver()
        found.start()
        config.stash[_RECEIVER] = found
    return found


@pytest.fixture(scope="session")
def receiver(pytestconfig: pytest.Config) -> MockReceiver:
    """The mock receiver every webhook of the run points at."""
    return _session_receiver(pytestconfig)


def _shrunk_scale(config: pytest.Config) -> float | None:
    scale: float | None = config.getoption("--retry-scale")
    return scale if scale is not None and scale < 1 else None


def _waits_for_retries(item: pytest.Item) -> bool:
    return "retry_scale" in getattr(item, "fixturenames", ())


@pytest.fixture(scope="session")
def retry_scale(pytestconfig: pytest.Config) -> float:
    """The target's retry-schedule factor; the case is skipped when it cannot be shrunk,
    or when the target's retries do not come when `--retry-scale` says."""
    scale = _shrunk_scale(pytestconfig)
    if scale is None:
        pytest.skip("the target's retry schedule cannot be shrunk (no --retry-scale below 1)")
    check = pytestconfig.stash.get(_RETRY_CHECK, None)
    if check is not None and check.skip is not None:
        pytest.skip(check.skip)
    return scale


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Before any case: measure the retry scale, if a chosen case waits for retries."""
    config = session.config
    scale = _shrunk_scale(config)
    if scale is None or config.option.collectonly:
        return
    if not any(_waits_for_retries(item) for item in session.items):
        return
    try:
        with Target(config.getoption("--target"), config.getoption("--token")) as target:
            check = check_retry_scale(target, _session_receiver(config), scale)
    except Exception as error:
        text = _one_line(f"{type(error).__name__}: {error}")
        reason = f"the retry scale could not be measured: {text}"
        check = RetryCheck(
            f"retry scale: {reason}; the cases that wait for retries are skipped", reason
        )
    config.stash[_RETRY_CHECK] = check
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.ensure_newline()
        reporter.write_line(check.line)


@pytest.fixture(scope="session", autouse=True)
def _start_early(request: pytest.FixtureRequest, target: Target, receiver: MockReceiver) -> None:
    """Start the background runs of the selected `last` cases before any case runs."""
    check = request.config.stash.get(_RETRY_CHECK, None)
    for item in request.session.items:
        marker = item.get_closest_marker("last")
        start = marker.kwargs.get("start") if marker is not None else None
        if start is None:
            continue
        if check is not None and check.skip is not None and _waits_for_retries(item):
            continue  # its `retry_scale` skips it before it asks what was started
        try:
            item.stash[_STARTED] = start(target, receiver, request.config)
        except (Exception, pytest.skip.Exception) as error:
            # Reported by that case (as its error or skip), not by whichever case ran first.
            item.stash[_STARTED] = error


@pytest.fixture
def started(request: pytest.FixtureRequest) -> object:
    """What the `start` of this `last` case returned, or what it raised, raised again."""
    node = request.node
    if not isinstance(node, pytest.Item) or _STARTED not in node.stash:
        raise RuntimeError(f"{node.nodeid} is not a case marked last(start=...)")
    found = node.stash[_STARTED]
    if isinstance(found, BaseException):
        raise found
    return found


@dataclass(frozen=True)
class Content:
    """Content the cases share: models (with and without drafts) and a sandbox."""

    model: str
    plain_model: str
    sandbox: str
    sandbox_model: str


@pytest.fixture(scope="session")
def content(target: Target) -> Content:
    model = target.model(draft=True)["id"]
    target.field(model, "title")
    plain = target.model(draft=False)["id"]
    target.field(plain, "title")
    sandbox = f"conformance-{os.getpid()}-{next(_paths)}"
    target.fork("main", sandbox)
    in_sandbox = target.model(draft=True, environment=sandbox)["id"]
    target.request(
        "POST",
        f"/item-types/{in_sandbox}/fields",
        json={
            "data": {
                "type": "field",
                "attributes": {"label": "title", "api_key": "title", "field_type": "string"},
            }
        },
        headers={"X-Environment": sandbox},
    )
    return Content(model, plain, sandbox, in_sandbox)


@dataclass
class Evidence:
    """What a case saw: `actual` for the report, and the receiver's requests."""

    actual: str | None = None
    requests: list[RecordedRequest] = field(default_factory=list)

    def saw(self, requests: list[RecordedRequest]) -> list[RecordedRequest]:
        self.requests = list(requests)
        return requests


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Evidence:
    found = Evidence()
    request.node.stash[_EVIDENCE] = found
    return found


class Hooks:
    """Creates webhooks pointing at the receiver and deletes them afterwards."""

    def __init__(self, target: Target, receiver: MockReceiver, prefix: str) -> None:
        self.target = target
        self.receiver = receiver
        self.prefix = prefix
        self.created: list[str] = []

    def path(self, name: str = "hook") -> str:
        """A receiver path no other case uses."""
        return f"/{self.prefix}/{next(_paths)}/{name}"

    def create(self, url: str, events: list[Resource], **attributes: Any) -> Resource:
        webhook = self.target.create_webhook(Target.webhook_attributes(url, events, **attributes))
        self.created.append(webhook["id"])
        return webhook

    def attempt(self, url: str, events: list[Resource], **attributes: Any) -> int:
        """POST a webhook that may be refused: the status (one created is deleted later)."""
        body = Target.webhook_attributes(url, events, **attributes)
        response = self.target.request(
            "POST", "/webhooks", json={"data": {"type": "webhook", "attributes": body}}
        )
        if response.status_code < 300:
            self.created.append(response.json()["data"]["id"])
        return response.status_code

    def cleanup(self) -> None:
        for webhook_id in self.created:
            self.target.delete_webhook(webhook_id)
        self.created.clear()


@pytest.fixture
def hooks(
    target: Target, receiver: MockReceiver, request: pytest.FixtureRequest
) -> Iterator[Hooks]:
    found = item_case(request.node) if isinstance(request.node, pytest.Item) else None
    made = Hooks(target, receiver, found.id if found else "case")
    yield made
    made.cleanup()


# -- outcomes ------------------------------------------------------------------------


@dataclass
class Outcome:
    """One case in the JSON index."""

    id: str
    level: str
    section: str
    outcome: str  # passed, failed, non-strict, informational, skipped, error
    duration: float
    expected: str
    actual: str
    receiver: list[dict[str, Any]]


@dataclass
class Results:
    outcomes: dict[str, Outcome] = field(default_factory=dict)


_RESULTS = pytest.StashKey[Results]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    found = item_case(item)
    if found is None:
        return report
    results = item.config.stash[_RESULTS]
    evidence = item.stash.get(_EVIDENCE, Evidence())
    strict = bool(item.config.getoption("--strict-should"))
    if report.when == "call" or (report.when == "setup" and not report.passed):
        results.outcomes[found.id] = _outcome(found, report, evidence, strict)
    elif report.when == "teardown" and report.failed:
        earlier = results.outcomes.get(found.id)
        if earlier is None or earlier.outcome in ("passed", "skipped"):
            outcome = _outcome(found, report, evidence, strict)
            outcome.actual = f"after the case: {_message(report)}"
            results.outcomes[found.id] = outcome
    if report.when == "call" and report.failed and not _fails_run(found.level, strict):
        # contract §9 levels: shown as xfail, so the run does not fail.
        report.outcome = "skipped"
        label = "non-strict" if found.level is Level.SHOULD else "informational"
        report.wasxfail = f"{found.id} {found.level} failed ({label}): {_message(report)}"
    return report


def _fails_run(level: Level, strict: bool) -> bool:
    return level is Level.MUST or (level is Level.SHOULD and strict)


def _message(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    text = getattr(crash, "message", None) or str(report.longrepr or "")
    return text.strip().splitlines()[0] if text.strip() else ""


def _one_line(text: str, limit: int = 400) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _outcome(found: Case, report: pytest.TestReport, evidence: Evidence, strict: bool) -> Outcome:
    if report.skipped:
        state = "skipped"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
        actual = f"skipped: {reason.removeprefix('Skipped: ')}"
    elif report.passed:
        state, actual = "passed", evidence.actual or "as expected"
    else:
        if report.when != "call":
            state = "error"
        elif _fails_run(found.level, strict):
            state = "failed"
        else:
            state = "non-strict" if found.level is Level.SHOULD else "informational"
        actual = evidence.actual or _message(report)
    return Outcome(
        id=found.id,
        level=str(found.level),
        section=found.section,
        outcome=state,
        duration=round(report.duration, 3),
        expected=found.expect,
        actual=actual,
        receiver=[_excerpt(r) for r in evidence.requests[:5]],
    )


def _excerpt(request: RecordedRequest) -> dict[str, Any]:
    return {
        "method": request.method,
        "path": request.path,
        "query": request.query,
        "headers": [list(pair) for pair in request.headers[:16]],
        "body": request.text[:600],
        "outcome": request.outcome,
        "status": request.status,
        "received_at": request.received_at,
        "abandoned_at": request.abandoned_at,
    }


# -- reports ---------------------------------------------------------------------------


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    outcomes = sorted(config.stash[_RESULTS].outcomes.values(), key=lambda o: o.id)
    if not outcomes:
        return
    columns = ("passed", "failed", "non-strict", "informational", "skipped", "error")
    terminalreporter.section("conformance summary by family")
    terminalreporter.write_line(f"{'family':8}" + "".join(f"{c:>15}" for c in columns))
    for family in FAMILIES:
        mine = [o for o in outcomes if o.id.startswith(family + "-")]
        if mine:
            counts = [sum(o.outcome == c for o in mine) for c in columns]
            terminalreporter.write_line(f"{family:8}" + "".join(f"{n:>15}" for n in counts))
    for o in outcomes:
        if o.outcome not in ("passed", "skipped"):
            terminalreporter.write_line(
                f"{o.outcome.upper():>13} {o.id} [{o.level}] expected: {o.expected};"
                f" actual: {_one_line(o.actual)}"
            )
    reasons: dict[str, list[str]] = {}
    for o in outcomes:
        if o.outcome == "skipped":
            reasons.setdefault(o.actual.removeprefix("skipped: "), []).append(o.id)
    for reason, ids in reasons.items():
        terminalreporter.write_line(f"{'SKIPPED':>13} {', '.join(ids)}: {_one_line(reason)}")


def pytest_sessionfinish(session: pytest.Session) -> None:
    directory = session.config.getoption("--report-dir")
    if not directory:
        return
    outcomes = sorted(session.config.stash[_RESULTS].outcomes.values(), key=lambda o: o.id)
    Path(directory).mkdir(parents=True, exist_ok=True)
    index = {
        "target": session.config.getoption("--target"),
        "strict": bool(session.config.getoption("--strict-should")),
        "cases": [vars(o) for o in outcomes],
    }
    path = os.path.join(directory, "index.json")
    Path(path).write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
