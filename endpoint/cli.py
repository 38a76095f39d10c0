"""`webhooks-endpoint serve --handler module:function`: the endpoint as a server.

    webhooks-endpoint serve --handler myapp.hooks:handle [--db PATH] [--host H]
        [--port P] [--path /] [--basic-auth USER:PASS] [--signing-secret whsec_...]
        [--signature-tolerance S] [--workers N] [--queue sqlite|rq] [--redis-url URL]
        [--rq-queue NAME] [--retry-scale F] [--every-delivery] [--log-level L]
        [--log-format text|json]

It follows the other servers' conventions: one log line per request and per handler
run on stderr, `GET /health` (`?ready=1` asks the queue's storage), the address
printed once it is bound, and every bad option a one-line message naming the option
and its value, with exit code 2 and before anything starts.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from endpoint.app import DEFAULT_WORKERS, Endpoint
from endpoint.auth import DEFAULT_TOLERANCE, BasicAuth, check_secret
from endpoint.exceptions import ConfigurationError, EndpointError, QueueError
from endpoint.handlers import load_handler
from endpoint.logs import LEVELS, configure_logging
from endpoint.queue import Queue
from endpoint.retries import RetrySchedule
from endpoint.sqlite import DEFAULT_DB, SqliteQueue

__all__ = ["main"]

PROG = "webhooks-endpoint"
DEFAULT_PORT = 8080
#: the secrets may come from the environment rather than the command line (ps shows it)
BASIC_AUTH_VARIABLE = "WEBHOOKS_ENDPOINT_BASIC_AUTH"
SECRET_VARIABLE = "WEBHOOKS_ENDPOINT_SIGNING_SECRET"


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (no usage before them)."""

    def error(self, message: str) -> NoReturn:
        print(f"{PROG}: {message}", file=sys.stderr)
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Receive DatoCMS-style webhooks: check, store, 202.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND", parser_class=_Parser)
    serve = commands.add_parser("serve", help="receive webhooks and run the handler on them")
    serve.add_argument(
        "--handler",
        required=True,
        metavar="MODULE:FUNCTION",
        help="the function run on each accepted event (plain or async), e.g. myapp.hooks:handle",
    )
    serve.add_argument(
        "--queue", choices=("sqlite", "rq"), default="sqlite", help="where events wait (sqlite)"
    )
    serve.add_argument(
        "--db", metavar="PATH", help=f"the SQLite file of the sqlite queue (default {DEFAULT_DB})"
    )
    serve.add_argument(
        "--redis-url",
        metavar="URL",
        help="the Redis server of the rq queue (default redis://127.0.0.1:6379/0)",
    )
    serve.add_argument(
        "--rq-queue",
        metavar="NAME",
        help="the RQ queue's name (default webhooks-endpoint), for several endpoints on one Redis",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}; 0: any free port"
    )
    serve.add_argument("--path", default="/", help="where webhooks are posted (default /)")
    serve.add_argument(
        "--basic-auth",
        metavar="USER:PASS",
        help=f"require these basic-auth credentials (also ${BASIC_AUTH_VARIABLE})",
    )
    serve.add_argument(
        "--signing-secret",
        metavar="whsec_...",
        help=f"require a Standard Webhooks signature with this secret (also ${SECRET_VARIABLE})",
    )
    serve.add_argument(
        "--signature-tolerance",
        type=_number,
        metavar="SECONDS",
        default=DEFAULT_TOLERANCE,
        help=f"how far a signature's timestamp may be from now (default {DEFAULT_TOLERANCE:g})",
    )
    serve.add_argument(
        "--workers",
        type=_whole_number,
        default=DEFAULT_WORKERS,
        help=f"handlers run at once (default {DEFAULT_WORKERS}; 0: none, run workers elsewhere)",
    )
    serve.add_argument(
        "--retry-scale",
        type=_number,
        default=1.0,
        metavar="F",
        help="shrink the handler's retry schedule (0.001: 10 s -> 10 ms), for tests",
    )
    serve.add_argument(
        "--every-delivery",
        action="store_true",
        help="run the handler on every delivery, retries and resends of a call included",
    )
    serve.add_argument(
        "--log-level",
        choices=LEVELS,
        default="info",
        help="what to log on stderr: one line per request and per handler run at info",
    )
    serve.add_argument(
        "--log-format", choices=("text", "json"), default="text", help="log lines as text or JSON"
    )
    serve.set_defaults(run=_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (2 for a bad option: one line naming it)."""
    args = _parser().parse_args(argv)
    try:
        result: int = args.run(args)
    except _BadOption as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    return result


class _BadOption(Exception):
    """An option whose value cannot work: one line naming the option and the value."""


def _port(text: str) -> int:
    if not (text.isascii() and text.isdecimal()) or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 0 to 65535, got {text!r}")
    return int(text)


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be positive and finite, got {text!r}")
    return value


def _whole_number(text: str) -> int:
    if not (text.isascii() and text.isdecimal()):
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text!r}")
    return int(text)


def _endpoint(args: argparse.Namespace) -> Endpoint:
    """The endpoint the options describe, not started; _BadOption naming the first
    option whose value cannot work."""
    # The handler is looked up where the command runs, as uvicorn does with its app.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        handler = load_handler(args.handler)
    except ConfigurationError as exc:
        raise _BadOption(f"--handler {args.handler!r}: {exc}") from None
    if not args.path.startswith("/"):
        raise _BadOption(f"--path {args.path!r}: must start with '/'")
    basic = _given(args.basic_auth, BASIC_AUTH_VARIABLE, "--basic-auth")
    basic_auth = None
    if basic is not None:
        value, where = basic
        try:
            basic_auth = BasicAuth.parse(value)
        except ConfigurationError as exc:
            raise _BadOption(f"{where} {_masked(value)!r}: {exc}") from None
    secret = _given(args.signing_secret, SECRET_VARIABLE, "--signing-secret")
    if secret is not None:
        value, where = secret
        try:
            check_secret(value)
        except ConfigurationError as exc:
            raise _BadOption(f"{where} {_masked(value)!r}: {exc}") from None
    queue = _queue(args)
    return Endpoint(
        handler,
        queue=queue,
        path=args.path,
        basic_auth=basic_auth,
        signing_secret=None if secret is None else secret[0],
        tolerance=args.signature_tolerance,
        every_delivery=args.every_delivery,
        workers=args.workers,
        retry=RetrySchedule(scale=args.retry_scale),
    )


def _given(flag: str | None, variable: str, name: str) -> tuple[str, str] | None:
    """The value and where it came from: the option, else the environment variable."""
    if flag is not None:
        return flag, name
    value = os.environ.get(variable)
    return None if value is None else (value, variable)


def _masked(secret: str) -> str:
    """A secret shown in an error: its shape, not its value."""
    if ":" in secret:
        user, _, _ = secret.partition(":")
        return f"{user}:***"
    return secret[:6] + "***" if len(secret) > 6 else "***"


def _queue(args: argparse.Namespace) -> Queue:
    if args.queue == "sqlite":
        for flag, value in (("--redis-url", args.redis_url), ("--rq-queue", args.rq_queue)):
            if value is not None:
                raise _BadOption(f"{flag} {value!r}: only with --queue rq")
        db = DEFAULT_DB if args.db is None else args.db
        if not db:
            raise _BadOption("--db '': must not be empty")
        return SqliteQueue(db)
    if args.db is not None:
        raise _BadOption(f"--db {args.db!r}: only with --queue sqlite (the default)")
    from endpoint.rq import DEFAULT_QUEUE_NAME, DEFAULT_REDIS_URL, RqQueue

    name = DEFAULT_QUEUE_NAME if args.rq_queue is None else args.rq_queue
    if not name or not name.isprintable() or name != name.strip():
        raise _BadOption(f"--rq-queue {name!r}: must be a name without spaces at either end")

    url = DEFAULT_REDIS_URL if args.redis_url is None else args.redis_url
    where = "--redis-url" if args.redis_url is not None else "--redis-url (default)"
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise _BadOption(f"{where} {url!r}: must start with redis://, rediss:// or unix://")
    return RqQueue(
        url, name=name, worker_log_level=args.log_level, worker_log_format=args.log_format
    )


def _check_queue(args: argparse.Namespace, queue: Queue) -> None:
    """The queue's storage can be used (after the port is bound: a busy port is refused
    before a database is made)."""
    if isinstance(queue, SqliteQueue):
        _check_sqlite(str(queue.path), "--db" if args.db is not None else "--db (default)")
    else:
        url = getattr(queue, "redis_url", "")
        _check_redis(url, "--redis-url" if args.redis_url is not None else "--redis-url (default)")


def _check_sqlite(db: str, where: str) -> None:
    """Open and close the file, so that one that cannot be used is a message naming the
    option rather than a failed startup."""

    async def check() -> None:
        queue = SqliteQueue(db)
        await queue.open(_never, RetrySchedule())
        await queue.close()

    try:
        asyncio.run(check())
    except QueueError as exc:
        raise _BadOption(f"{where} {exc}") from None


def _check_redis(url: str, where: str) -> None:
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        client = Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
        try:
            client.ping()
        finally:
            client.close()
    except (RedisError, ValueError, OSError) as exc:
        text = " ".join(str(exc).split()) or type(exc).__name__
        raise _BadOption(f"{where} {url!r}: cannot reach Redis: {text}") from None


def _never(event: object) -> None:
    raise AssertionError("no handler runs while the options are checked")


def _serve(args: argparse.Namespace) -> int:
    from reference.exceptions import ConfigurationError as BindError
    from reference.serving import bind, bound_url, serve

    endpoint = _endpoint(args)
    try:
        sock = bind(args.host, args.port)
    except BindError as exc:
        raise _BadOption(str(exc)) from None
    try:
        _check_queue(args, endpoint.queue)
    except BaseException:
        sock.close()
        raise
    configure_logging(args.log_level, args.log_format)
    url = bound_url(sock)
    print(f"{PROG} on {url}{args.path}", file=sys.stderr)
    print(f"  handler: {args.handler}", file=sys.stderr)
    queue = endpoint.queue
    where = getattr(queue, "path", None) or getattr(queue, "redis_url", "")
    print(f"  queue:   {queue.kind} ({where}), {args.workers} worker(s)", file=sys.stderr)
    try:
        asyncio.run(serve(endpoint, sock))
    except EndpointError as exc:  # the queue failed to open after the checks
        raise _BadOption(str(exc)) from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
