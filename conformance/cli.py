"""`webhooks-conformance`: run the suite against a dispatcher that follows docs/contract.md.

    webhooks-conformance --target http://127.0.0.1:8000 --token secret --retry-scale 0.001

Before any case runs, every option is checked, then the target: it answers
`GET /webhooks` and takes the token (`conformance.preflight`). A bad option or a
failed check is one line on stderr and exit status 2, within seconds. The retry
scale is checked by the plugin once the cases are chosen (`conformance.plugin`).

Each case that does not pass is one line of the summary (id, expected, actual),
and each skip reason is shown there too; tracebacks only with `-v`.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import httpx
import pytest

from conformance.cases import FAMILIES
from conformance.preflight import CheckFailed, check_target

__all__ = ["main", "pytest_arguments"]

PACKAGE = Path(__file__).resolve().parent
PROG = "webhooks-conformance"

EXIT_STATUS = """\
exit status:
  0    every case passed (MUST cases; SHOULD cases too with --strict)
  1    a case failed or could not run (MUST; SHOULD too with --strict)
  2    bad usage, or a check made before the cases failed (the target does not
       answer, or refuses the token): no case ran
  3    an internal error
  130  interrupted

Before the cases, the retry scale is measured when a chosen case waits for
retries: if the target retries later than --retry-scale says, those cases are
skipped with the measured and expected gaps as the reason.
"""

#: pytest's exit codes as this command's (see EXIT_STATUS).
_STATUS = {
    int(pytest.ExitCode.OK): 0,
    int(pytest.ExitCode.TESTS_FAILED): 1,
    int(pytest.ExitCode.INTERRUPTED): 130,
    int(pytest.ExitCode.INTERNAL_ERROR): 3,
    int(pytest.ExitCode.USAGE_ERROR): 2,
    int(pytest.ExitCode.NO_TESTS_COLLECTED): 2,
}


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Check a webhook dispatcher against the contract, case by case.",
        epilog=EXIT_STATUS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--target",
        required=True,
        type=_target,
        metavar="URL",
        help="base URL of the dispatcher's API (http or https)",
    )
    parser.add_argument("--token", required=True, type=_token, help="its API token")
    parser.add_argument(
        "--retry-scale",
        type=_scale,
        metavar="FACTOR",
        help="how much the target's retry schedule is shrunk (e.g. 0.001); without it "
        "the cases that wait for retries are skipped",
    )
    parser.add_argument(
        "-k",
        dest="prefixes",
        action="append",
        default=[],
        type=_prefixes,
        metavar="PREFIX",
        help="run only the cases whose id starts with PREFIX (repeat, or comma-separate)",
    )
    parser.add_argument("--strict", action="store_true", help="a failed SHOULD fails the run")
    parser.add_argument(
        "--report-dir",
        default="conformance-report",
        type=_report_dir,
        metavar="DIR",
        help="where to write junit.xml and index.json (default ./conformance-report)",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="pytest's verbose output, with the traceback of each case that did not pass",
    )
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments, after --")
    return parser


# -- the options, each checked on its own ----------------------------------------------


def _target(text: str) -> str:
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, TypeError, ValueError) as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a URL ({error})") from None
    if url.scheme not in ("http", "https"):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an http or https URL (such as http://127.0.0.1:8000)"
        )
    if not url.host:
        raise argparse.ArgumentTypeError(f"{text!r} names no host")
    if url.port is not None and not 0 < url.port < 65536:
        raise argparse.ArgumentTypeError(f"{text!r}: port {url.port} is not from 1 to 65535")
    if url.query or url.fragment:
        raise argparse.ArgumentTypeError(f"{text!r}: a base URL has no query or fragment")
    return text


def _token(text: str) -> str:
    if not text:
        raise argparse.ArgumentTypeError("'' is empty")
    if not (text.isascii() and text.isprintable()) or any(c.isspace() for c in text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a bearer token (printable ASCII without spaces)"
        )
    return text


def _scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number (such as 0.001)")
    return value


_ID_PREFIX = re.compile(r"(?P<family>[A-Z]{1,3})(?:-\d{0,3})?")


def _prefixes(text: str) -> str:
    """Each comma-separated part could start a case id (`RTY`, `RTY-00`, `RTY-001`); the
    plugin refuses one that no chosen case's id starts with (cases may come from files
    given after --)."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise argparse.ArgumentTypeError(f"{text!r} names no case")
    for part in parts:
        found = _ID_PREFIX.fullmatch(part.upper())
        family = found["family"] if found else ""
        if not found or not (family in FAMILIES or ("-" not in part and _starts(family))):
            raise argparse.ArgumentTypeError(
                f"no case id can start with {part!r} (ids are FAMILY-NNN, such as RTY-001;"
                f" families: {', '.join(FAMILIES)})"
            )
    return text


def _starts(letters: str) -> bool:
    return any(f.startswith(letters) for f in FAMILIES)


def _report_dir(text: str) -> str:
    if not text:
        raise argparse.ArgumentTypeError("'' is empty")
    path = Path(text)
    try:
        if path.exists() and not path.is_dir():
            raise argparse.ArgumentTypeError(f"{text!r} is a file, not a directory")
        for name in ("junit.xml", "index.json"):
            inside = path / name
            if inside.is_dir():
                raise argparse.ArgumentTypeError(
                    f"{text!r}: {name} in it is a directory, where the report writes a file"
                )
            if inside.exists() and not os.access(inside, os.W_OK):
                raise argparse.ArgumentTypeError(f"{text!r}: {name} in it cannot be written")
        parent = path.absolute()
        while not parent.exists():
            parent = parent.parent
        if not parent.is_dir():
            raise argparse.ArgumentTypeError(f"{text!r}: {str(parent)!r} is a file")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise argparse.ArgumentTypeError(f"{text!r}: {str(parent)!r} cannot be written")
    except (OSError, ValueError) as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a usable path ({error})") from None
    return text


# -- the run -----------------------------------------------------------------------------


def pytest_arguments(args: argparse.Namespace) -> list[str]:
    """The pytest command line for parsed `webhooks-conformance` arguments."""
    report = Path(args.report_dir)
    argv = [
        str(PACKAGE),
        "-c",
        str(PACKAGE / "pytest.ini"),
        "--rootdir",
        str(PACKAGE),
        "-p",
        "conformance.plugin",
        "--target",
        args.target,
        "--token",
        args.token,
        "--report-dir",
        str(report),
        "--junitxml",
        str(report / "junit.xml"),
    ]
    verbose = int(getattr(args, "verbose", 0) or 0)
    # The plugin's summary has one line per case that did not pass; pytest's
    # tracebacks and short summary only when asked for.
    argv += ["-" + "v" * verbose, "-rfE"] if verbose else ["--tb=no", "-rN"]
    if args.retry_scale is not None:
        argv += ["--retry-scale", str(args.retry_scale)]
    if args.strict:
        argv.append("--strict-should")
    for prefix in args.prefixes:
        argv += ["--case", prefix]
    return argv + list(args.pytest_args)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:
        _say("interrupted")
        return 130


def _main(argv: Sequence[str] | None) -> int:
    try:
        args = _parser().parse_args(argv)
    except _UsageError as error:
        _say(f"error: {error} (see {PROG} --help)")
        return 2
    except SystemExit as done:  # --help
        return done.code if isinstance(done.code, int) else 0
    try:
        check_target(args.target, args.token)
    except CheckFailed as failed:
        _say(str(failed))
        return 2
    return _STATUS.get(int(pytest.main(pytest_arguments(args))), 3)


def _say(line: str) -> None:
    print(f"{PROG}: {line}", file=sys.stderr)
