"""The command line: ``webhooks-receiver serve [--host H] [--port P] [--script FILE]``."""

from __future__ import annotations

import argparse
import errno
import os
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from receiver.behaviours import parse_size
from receiver.exceptions import ReceiverError, ScriptError
from receiver.recording import DEFAULT_BODY_LIMIT
from receiver.server import MockReceiver
from receiver.settings import Settings

__all__ = ["main"]


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ReceiverError:
        raise argparse.ArgumentTypeError(
            f"must be a size such as 300MiB, 10MB or 4096, got {text!r}"
        ) from None


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
    serve.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        default="info",
        help="what to log on stderr: one line per request at info (default info)",
    )
    serve.add_argument(
        "--log-format", choices=("text", "json"), default="text", help="log lines as text or JSON"
    )
    return parser


class _BadInput(Exception):
    """A flag whose value cannot work: one line naming the flag and the value."""


def _check_listen(host: str, ports: dict[str, int]) -> None:
    """`host` resolves and each of `ports` (flag: port) can be bound there, so that a
    bad host or a busy port names its flag; nothing is left bound."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        socket.getaddrinfo(host, 0, family, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise _BadInput(f"--host {host!r}: {exc.strerror}") from None
    except ValueError:  # UnicodeError: a label over 63 characters; or a NUL
        raise _BadInput(f"--host {host!r}: not a host name or address") from None
    if ports.get("--port") and ports["--port"] == ports.get("--fault-port"):
        raise _BadInput(f"--fault-port {ports['--fault-port']}: the same port as --port")
    for flag, port in ports.items():
        try:
            socket.create_server((host, port), family=family).close()
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            if exc.errno == errno.EADDRNOTAVAIL:  # not an address of this machine
                raise _BadInput(f"--host {host!r}: cannot listen on it: {reason}") from None
            raise _BadInput(f"{flag} {port}: cannot listen on {host}: {reason}") from None


def _load(args: argparse.Namespace) -> MockReceiver:
    """The receiver for the arguments, not started; _BadInput naming the flag if a value
    cannot work."""
    for flag, port in (("--port", args.port), ("--fault-port", args.fault_port)):
        if not 0 <= port <= 65535:
            raise _BadInput(f"{flag} {port}: must be a port number from 0 to 65535")
    script: Path | None = args.script
    if script is not None:
        try:
            with script.open("rb"):
                pass
        except OSError as exc:
            raise _BadInput(f"--script {str(script)!r}: {exc.strerror}") from None
    settings = Settings(
        host=args.host,
        port=args.port,
        fault_port=args.fault_port,
        lean=args.lean,
        body_limit=args.body_limit,
        script=script,
    )
    try:
        return MockReceiver.from_settings(settings)
    except ScriptError as exc:
        assert script is not None
        # The script's own message names the file: say it once, with the flag.
        message = str(exc).removeprefix(f"cannot read script {str(script)!r}: ")
        message = message.removesuffix(f" (in {str(script)!r})")
        message = " ".join(line.strip() for line in message.splitlines() if line.strip())
        raise _BadInput(f"--script {str(script)!r}: {message}") from None


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
    """Run the CLI; returns the exit status (2 for bad arguments or settings, with a
    one-line message naming the flag and its value)."""
    args = _parser().parse_args(argv)
    from reference.logs import configure_logging  # the servers' one log format

    try:
        receiver = _load(args)
        _check_listen(args.host, {"--port": args.port, "--fault-port": args.fault_port})
        configure_logging(args.log_level, args.log_format)  # only once it is to serve
        receiver.start()
    except (_BadInput, ReceiverError) as exc:
        print(f"webhooks-receiver: {exc}", file=sys.stderr)
        return 2
    _serve(receiver)
    return 0


if __name__ == "__main__":
    sys.exit(main())
