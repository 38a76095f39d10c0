"""`webhooks-conformance`: run the suite against a dispatcher that follows docs/contract.md.

    webhooks-conformance --target http://127.0.0.1:8000 --token secret --retry-scale 0.001

The exit status is pytest's: 0 when every MUST case (and, with `--strict`,
every SHOULD case) passed.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import pytest

__all__ = ["main", "pytest_arguments"]

PACKAGE = Path(__file__).resolve().parent


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="webhooks-conformance",
        description="Check a webhook dispatcher against the contract, case by case.",
    )
    parser.add_argument("--target", required=True, help="base URL of the dispatcher's API")
    parser.add_argument("--token", required=True, help="its API token")
    parser.add_argument(
        "--retry-scale",
        type=float,
        help="how much the target's retry schedule is shrunk (e.g. 0.001); without it "
        "the cases that wait for retries are skipped",
    )
    parser.add_argument(
        "-k",
        dest="prefixes",
        action="append",
        default=[],
        metavar="PREFIX",
        help="run only the cases whose id starts with PREFIX (repeat, or comma-separate)",
    )
    parser.add_argument("--strict", action="store_true", help="a failed SHOULD fails the run")
    parser.add_argument(
        "--report-dir",
        default="conformance-report",
        help="where to write junit.xml and index.json (default ./conformance-report)",
    )
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments, after --")
    return parser


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
        "-rfE",
    ]
    if args.retry_scale is not None:
        argv += ["--retry-scale", str(args.retry_scale)]
    if args.strict:
        argv.append("--strict-should")
    for prefix in args.prefixes:
        argv += ["--case", prefix]
    return argv + list(args.pytest_args)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return int(pytest.main(pytest_arguments(args)))
