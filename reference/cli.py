"""`webhooks-dispatcher`: serve the dispatcher, render a template, or run the demo."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reference.admin.forms import WebhookForm
from reference.admin.preview import json_warning, preview_context
from reference.admin.webhook_pages import SAMPLE_EVENTS
from reference.exceptions import (
    ConfigurationError,
    DispatcherError,
    StoreError,
    TemplateSyntaxError,
)
from reference.logs import LEVELS, configure_logging
from reference.matrix import MATRIX
from reference.samples import sample_payload
from reference.settings import VARIABLES, Settings
from reference.store import check_location, check_store, is_shared_url, redacted
from reference.templates import render_template

if TYPE_CHECKING:
    from reference.dispatcher import Dispatcher

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (2 for bad arguments, settings or files, each
    a one-line message naming the flag or variable and its value)."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.run(args)
    except DispatcherError as exc:
        print(f"webhooks-dispatcher: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    return result


def _one_line(message: str) -> str:
    """`message` on one line (a driver's error may span several)."""
    return " ".join(line.strip() for line in message.splitlines() if line.strip())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="webhooks-dispatcher", description="DatoCMS-style webhook dispatcher"
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve the API and deliver webhooks")
    _settings_arguments(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=8000, help="0: any free port")
    _log_arguments(serve)
    serve.set_defaults(run=_serve)

    render = commands.add_parser(
        "render",
        help="render a custom payload template",
        description="Render a Mustache custom payload template as a call would send it.",
    )
    render.add_argument(
        "template",
        type=Path,
        nargs="?",
        help="the Mustache template file (UTF-8; not needed with --show-context)",
    )
    render.add_argument(
        "--context",
        type=Path,
        metavar="FILE",
        help="a JSON file holding any JSON value (default: the sample record-update payload)",
    )
    render.add_argument(
        "--sample",
        metavar="ENTITY.EVENT",
        help="use the admin preview's sample payload for this event, e.g. upload.create"
        " (not with --context)",
    )
    render.add_argument(
        "--show-context",
        action="store_true",
        help="print the context as JSON instead of rendering",
    )
    render.set_defaults(run=_render)

    demo = commands.add_parser("demo", help="run a dispatcher and a receiver and show calls")
    _settings_arguments(demo)
    demo.add_argument("--port", type=_port, default=8000, help="the API port when --serve")
    demo.add_argument("--serve", action="store_true", help="keep the API running after the demo")
    _log_arguments(demo, default_level="warning")
    demo.set_defaults(run=_demo)
    return parser


def _settings_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        help="a SQLite file (default ./webhooks.db, one process) or a postgresql:// URL"
        " (several processes); also $WEBHOOKS_DB",
    )
    parser.add_argument("--api-token", help="API token (default: $WEBHOOKS_API_TOKEN or new)")
    parser.add_argument("--site-id", help="site id (default: the stored one, or a new one)")
    parser.add_argument(
        "--retry-scale", type=_number, help="shrink the retry schedule (0.001: 2 min -> 120 ms)"
    )
    parser.add_argument(
        "--claim-lease",
        type=_number,
        metavar="SECONDS",
        help="how long a claimed call stays with its process before another may send it"
        " (default 30; more than the 5 s deadline)",
    )
    parser.add_argument(
        "--public-destinations-only",
        action="store_true",
        default=None,
        help="refuse calls to loopback, private, CGNAT and unique-local addresses too"
        " (link-local, multicast and reserved ones are always refused)",
    )
    parser.add_argument(
        "--allow-destination",
        action="append",
        metavar="CIDR",
        help="allow calls to this range despite the rules above (repeatable)",
    )
    parser.add_argument(
        "--signing-secret-grace",
        type=_number,
        metavar="SECONDS",
        help="how long a webhook's previous signing secret still signs after it changed"
        " (default 86400)",
    )
    parser.add_argument(
        "--files-dir",
        metavar="DIR",
        help="where uploaded files go (default: beside the SQLite file, <name>-files/);"
        " also $WEBHOOKS_FILES_DIR",
    )
    parser.add_argument(
        "--max-upload-bytes",
        type=_whole_number,
        metavar="BYTES",
        help="the largest file an upload may have (default 104857600)",
    )
    parser.add_argument(
        "--metrics-token",
        metavar="TOKEN",
        help="serve GET /metrics only with this token (and with per-webhook series);"
        " also $WEBHOOKS_METRICS_TOKEN",
    )
    parser.add_argument(
        "--public-url",
        metavar="URL",
        help="the base of the URLs the API hands out (uploads, build results), when"
        " clients reach it through a proxy; also $WEBHOOKS_PUBLIC_URL",
    )


def _log_arguments(parser: argparse.ArgumentParser, default_level: str = "info") -> None:
    parser.add_argument(
        "--log-level",
        choices=LEVELS,
        default=default_level,
        help=f"what to log on stderr: one line per request and per delivery attempt at info"
        f" (default {default_level})",
    )
    parser.add_argument(
        "--log-format", choices=("text", "json"), default="text", help="log lines as text or JSON"
    )


def _port(text: str) -> int:
    if not (text.isascii() and text.isdecimal()) or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 0 to 65535, got {text!r}")
    return int(text)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


#: the flag of each setting (Settings.from_environ names a bad value by it)
FLAGS = {
    "db": "--db",
    "api_token": "--api-token",
    "site_id": "--site-id",
    "retry_scale": "--retry-scale",
    "claim_lease": "--claim-lease",
    "signing_secret_grace": "--signing-secret-grace",
    "public_destinations_only": "--public-destinations-only",
    "allowed_destinations": "--allow-destination",
    "files_dir": "--files-dir",
    "max_upload_bytes": "--max-upload-bytes",
    "public_url": "--public-url",
    "metrics_token": "--metrics-token",
}


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_environ(
        names=FLAGS,
        db=args.db,
        api_token=args.api_token,
        site_id=args.site_id,
        retry_scale=args.retry_scale,
        claim_lease=args.claim_lease,
        signing_secret_grace=args.signing_secret_grace,
        public_destinations_only=args.public_destinations_only,
        allowed_destinations=tuple(args.allow_destination) if args.allow_destination else None,
        files_dir=args.files_dir,
        max_upload_bytes=args.max_upload_bytes,
        public_url=args.public_url,
        metrics_token=args.metrics_token,
    )


def _given_as(args: argparse.Namespace, name: str) -> str:
    """Where the setting `name` came from, as the user wrote it: the flag, the
    environment variable, or the flag's default."""
    if getattr(args, name) is not None:
        return FLAGS[name]
    if os.environ.get(VARIABLES[name]):
        return VARIABLES[name]
    return f"{FLAGS[name]} (default)"


def _check_files(args: argparse.Namespace, settings: Settings) -> None:
    """The uploads folder can be used: a directory, or one that can be made (it is made
    on the first upload). Nothing is created here."""
    folder = settings.uploads_folder
    try:
        problem = _folder_problem(folder)
    except OSError as exc:  # a folder on the way that cannot be searched
        problem = f"cannot look at it: {exc.strerror}"
    if problem is not None:
        where = _given_as(args, "files_dir")
        if settings.files_dir is None and not is_shared_url(settings.db):
            where = f"{FLAGS['files_dir']} (default: beside the database)"
        raise ConfigurationError(f"{where} {str(folder)!r}: {problem}")


def _folder_problem(folder: Path) -> str | None:
    if folder.is_symlink() and not folder.exists():
        return "a broken symbolic link"
    if folder.exists():
        if not folder.is_dir():
            return "not a directory"
        if not os.access(folder, os.W_OK | os.X_OK):
            return "permission denied: cannot write in it"
        return None
    parent = folder.parent
    while not parent.exists() and not parent.is_symlink() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"cannot be created: {str(parent)!r} is not a directory"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot be created: permission denied in {str(parent)!r}"
    return None


def _check_store(args: argparse.Namespace, db: str, *, open_it: bool = True) -> None:
    """Open, migrate and close the database: one that cannot be used is a message naming
    the flag or variable rather than a failed startup. Without `open_it`, only whether a
    SQLite file can be made or opened where it is, creating nothing."""
    try:
        if open_it:
            asyncio.run(check_store(db))
        else:
            check_location(db)
    except StoreError as exc:
        where = _given_as(args, "db")
        shown = redacted(db)
        message = str(exc)
        if repr(shown) in message or (is_shared_url(db) and shown in message):
            # the store's message names the database already
            raise StoreError(f"{where}: {message}") from None
        raise StoreError(f"{where} {shown!r}: {message}") from None


def _serve(args: argparse.Namespace) -> int:
    from reference.app import create_app
    from reference.serving import bind, bound_url, run, serve

    settings = _settings(args)
    _check_store(args, settings.db, open_it=False)
    _check_files(args, settings)
    configure_logging(args.log_level, args.log_format)
    # A bad host or a busy port is an error before anything starts (no database made).
    sock = bind(args.host, args.port)
    try:
        # The database is opened in the app's lifespan; check it first, so that one
        # that cannot be used is a clear message rather than a failed startup.
        _check_store(args, settings.db)
    except BaseException:
        sock.close()
        raise
    url = bound_url(sock)

    def announce(dispatcher: Dispatcher) -> None:
        print(f"webhooks-dispatcher on {url}", file=sys.stderr)
        print(f"  site id:   {dispatcher.site_id}", file=sys.stderr)
        print(f"  database:  {redacted(settings.db)}", file=sys.stderr)
        print(f"  API token: {settings.api_token}", file=sys.stderr)

    app = create_app(settings, on_start=announce)
    # SIGTERM and SIGINT end the lifespan: a clean stop (contract §8).
    run(serve(app, sock))
    return 0


def _render(args: argparse.Namespace) -> int:
    try:
        context = _render_context(args)
        if args.show_context:
            _write_stdout(json.dumps(context, indent=2, ensure_ascii=False) + "\n")
            return 0
        if args.template is None:
            raise _RenderError("a TEMPLATE file is needed (or --show-context)")
        source = _read_utf8(args.template, "TEMPLATE")
        try:
            body = render_template(source, context)
        except RecursionError:
            raise _RenderError("the template and context nest too deeply to render") from None
        _write_stdout(body)
    except TemplateSyntaxError as exc:
        print(f"{args.template}:{exc.line}:{exc.column}: {exc.reason}", file=sys.stderr)
        return 2
    except _RenderError as exc:
        print(f"webhooks-dispatcher render: {exc}", file=sys.stderr)
        return 2
    # The admin preview's check: custom payloads go out as application/json.
    warning = json_warning(body, "application/json")
    if warning is not None:
        print(f"webhooks-dispatcher render: warning: {warning}", file=sys.stderr)
    return 0


class _RenderError(Exception):
    """Why `render` cannot go on: one line for stderr."""


def _render_context(args: argparse.Namespace) -> Any:
    """The context: the --context file's JSON value, a --sample payload or the default."""
    if args.sample is not None and args.context is not None:
        raise _RenderError("--sample and --context exclude each other: give one")
    if args.sample is not None:
        return _sample_context(args.sample)
    if args.context is None:
        return sample_payload()
    try:
        return json.loads(_read_utf8(args.context, "--context"))
    except json.JSONDecodeError as exc:
        raise _RenderError(f"--context {str(args.context)!r}: not valid JSON ({exc})") from None
    except RecursionError:
        raise _RenderError(f"--context {str(args.context)!r}: the JSON nests too deeply") from None


def _sample_context(event: str) -> Any:
    """The context the admin preview renders against for `event` (`entity_type.event_type`).

    The webhook and site ids are those of `sample_payload`, the default context.
    """
    if event not in SAMPLE_EVENTS:
        entity_type = event.partition(".")[0]
        rule = MATRIX.get(entity_type)
        if rule is None:
            problem = f"unknown entity type {entity_type!r}; allowed pairs"
            allowed = SAMPLE_EVENTS
        else:
            problem = f"not an allowed pair; allowed for {entity_type}"
            allowed = [f"{entity_type}.{e}" for e in rule.event_types]
        raise _RenderError(f"--sample {event!r}: {problem}: {', '.join(allowed)}")
    return preview_context(
        WebhookForm(), event, webhook_id="42", site_id="424242", user_agent="sample"
    )


def _read_utf8(path: Path, given_as: str) -> str:
    """The file's text, decoded as UTF-8 with its line endings (CRLF) kept as they are;
    a _RenderError naming `given_as` (the argument) and the file if it cannot be read."""
    try:
        return path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise _RenderError(f"{given_as} {str(path)!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise _RenderError(
            f"{given_as} {str(path)!r}: not valid UTF-8 ({exc.reason} at byte {exc.start})"
        ) from None


def _write_stdout(text: str) -> None:
    """Write `text` as UTF-8 bytes, with no newline translation."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate from a JSON "\ud800" escape
        bad = text[exc.start : exc.end].encode("unicode_escape").decode()
        raise _RenderError(f"the output holds {bad}, which UTF-8 cannot write") from None
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # a text-only stand-in for stdout: nothing to translate
        sys.stdout.write(text)
        return
    sys.stdout.flush()
    buffer.write(data)
    buffer.flush()


def _demo(args: argparse.Namespace) -> int:
    from reference.demo import run_demo
    from reference.serving import bind, run

    settings = _settings(args)
    _check_store(args, settings.db, open_it=False)
    _check_files(args, settings)
    configure_logging(args.log_level, args.log_format)
    # With --serve, the port is taken before the demo runs: a busy one fails at once.
    sock = bind("127.0.0.1", args.port) if args.serve else None
    try:
        _check_store(args, settings.db)
    except BaseException:
        if sock is not None:
            sock.close()
        raise
    return run(run_demo(settings, serve_on=sock))
