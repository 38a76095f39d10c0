"""`webhooks-dispatcher`: serve the dispatcher, render a template, or run the demo."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from reference.exceptions import ConfigurationError, DispatcherError, TemplateSyntaxError
from reference.samples import sample_payload
from reference.settings import Settings
from reference.store import check_store, redacted
from reference.templates import render_template

if TYPE_CHECKING:
    from reference.dispatcher import Dispatcher

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.run(args)
    except (ConfigurationError, DispatcherError) as exc:
        print(f"webhooks-dispatcher: {exc}", file=sys.stderr)
        return 2
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="webhooks-dispatcher", description="DatoCMS-style webhook dispatcher"
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve the API and deliver webhooks")
    _settings_arguments(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(run=_serve)

    render = commands.add_parser("render", help="render a custom payload template")
    render.add_argument("template", type=Path, help="the Mustache template file")
    render.add_argument(
        "--context", type=Path, help="a JSON file (default: a sample record-update payload)"
    )
    render.set_defaults(run=_render)

    demo = commands.add_parser("demo", help="run a dispatcher and a receiver and show calls")
    _settings_arguments(demo)
    demo.add_argument("--port", type=int, default=8000, help="the API port when --serve")
    demo.add_argument("--serve", action="store_true", help="keep the API running after the demo")
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
        "--retry-scale", type=float, help="shrink the retry schedule (0.001: 2 min -> 120 ms)"
    )
    parser.add_argument(
        "--claim-lease",
        type=float,
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
        type=float,
        metavar="SECONDS",
        help="how long a webhook's previous signing secret still signs after it changed"
        " (default 86400)",
    )


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_environ(
        db=args.db,
        api_token=args.api_token,
        site_id=args.site_id,
        retry_scale=args.retry_scale,
        claim_lease=args.claim_lease,
        signing_secret_grace=args.signing_secret_grace,
        public_destinations_only=args.public_destinations_only,
        allowed_destinations=tuple(args.allow_destination) if args.allow_destination else None,
    )


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from reference.app import create_app

    settings = _settings(args)
    # The database is opened in the app's lifespan; check it first, so that one
    # that cannot be used is a clear message rather than a failed startup.
    asyncio.run(check_store(settings.db))

    def announce(dispatcher: Dispatcher) -> None:
        print(f"webhooks-dispatcher on http://{args.host}:{args.port}", file=sys.stderr)
        print(f"  site id:   {dispatcher.site_id}", file=sys.stderr)
        print(f"  database:  {redacted(settings.db)}", file=sys.stderr)
        print(f"  API token: {settings.api_token}", file=sys.stderr)

    app = create_app(settings, on_start=announce)
    # SIGTERM and SIGINT end the lifespan: a clean stop (SPEC §8).
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def _render(args: argparse.Namespace) -> int:
    try:
        source = args.template.read_text(encoding="utf-8")
        context = (
            json.loads(args.context.read_text(encoding="utf-8"))
            if args.context
            else sample_payload()
        )
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        print(f"webhooks-dispatcher render: {exc}", file=sys.stderr)
        return 2
    if not isinstance(context, dict):
        print("webhooks-dispatcher render: the context must be a JSON object", file=sys.stderr)
        return 2
    try:
        sys.stdout.write(render_template(source, context))
    except TemplateSyntaxError as exc:
        print(f"{args.template}:{exc.line}:{exc.column}: {exc.reason}", file=sys.stderr)
        return 2
    return 0


def _demo(args: argparse.Namespace) -> int:
    from reference.demo import run_demo

    return asyncio.run(run_demo(_settings(args), serve_port=args.port if args.serve else None))
