"""The command line: ``webhooks-receiver serve [--host H] [--port P] [--script FILE]``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from receiver.behaviours import parse_size
from receiver.exceptions import ReceiverError
from receiver.recording import DEFAULT_BODY_LIMIT
from receiver.server import MockReceiver
from receiver.settings import Settings

__all__ = ["main"]


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ReceiverError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="webhooks-receiver",
        description="A mock webhook receiver: answers as told, records everything.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve until interrupted (Ctrl-C, SIGTERM)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=9000, help="app port (default 9000; 0: any)")
    serve.add_argument(
        "--fault-port", type=int, default=0, help="fault listener port (default 0: any free port)"
    )
    serve.add_argument("--script", type=Path, help="YAML or JSON file of scripted routes")
    serve.add_argument("--lean", action="store_true", help="count requests only (benchmarks)")
    serve.add_argument(
        "--body-limit",
        type=_size,
        default=DEFAULT_BODY_LIMIT,
        help="bytes of each body to keep (default 1MiB)",
    )
    return parser


def _serve(receiver: MockReceiver) -> None:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(
            f"webhooks-receiver: url={receiver.url} fault_url={receiver.fault_url}"
            f" inspect={receiver.url}/_receiver/requests",
            flush=True,
        )
        stop.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        receiver.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (2 for bad arguments or settings)."""
    args = _parser().parse_args(argv)
    try:
        settings = Settings(
            host=args.host,
            port=args.port,
            fault_port=args.fault_port,
            lean=args.lean,
            body_limit=args.body_limit,
            script=args.script,
        )
        receiver = MockReceiver.from_settings(settings)
        receiver.start()
    except ReceiverError as exc:
        print(f"webhooks-receiver: {exc}", file=sys.stderr)
        return 2
    _serve(receiver)
    return 0


if __name__ == "__main__":
    sys.exit(main())
