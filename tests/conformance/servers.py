"""Reference dispatchers with one part swapped for a wrong one, served on a free port.

Each is the bundled dispatcher with exactly one defect, so that the cases
aimed at that defect, and only those, fail against it.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import aiohttp
import uvicorn

from reference.app import create_app
from reference.calls import WebhookCall
from reference.dispatcher import Dispatcher
from reference.events import Event
from reference.exceptions import ValidationError
from reference.payloads import CallContext, default_payload
from reference.retries import DEFAULT_RETRY_DELAYS
from reference.sender import Outcome, OutgoingRequest, Sender
from reference.settings import Settings
from reference.store import Transaction
from reference.triggers import matches_any
from reference.webhooks import Webhook

TOKEN = "conformance-self-test"
SCALE = 0.0001

FAILING = ("failed", "non-strict", "informational", "error")


class FollowingSender(Sender):
    """Wrong: follows a 3xx to its Location (contract §5 says never)."""

    async def send(self, request: OutgoingRequest) -> Outcome:
        outcome = await super().send(request)
        location = dict((k.lower(), v) for k, v in outcome.headers).get("location")
        if outcome.status is not None and 300 <= outcome.status < 400 and location:
            followed = OutgoingRequest(
                urljoin(request.url, location), request.headers, request.body
            )
            return await super().send(followed)
        return outcome


class PerReadSender(Sender):
    """Wrong: a 5 s timeout on each read instead of one deadline over the exchange."""

    def __init__(self) -> None:
        super().__init__()
        self._deadline = 3600.0

    def _client(self) -> aiohttp.ClientSession:
        session = super()._client()
        session._timeout = aiohttp.ClientTimeout(total=None, connect=2.0, sock_read=5.0)
        return session


class OneLimit(dict[str, asyncio.Semaphore]):
    """Wrong: one in-flight cap shared by every webhook instead of one per webhook (contract §8)."""

    def setdefault(self, key: str, default: asyncio.Semaphore) -> asyncio.Semaphore:
        return super().setdefault("every webhook", default)


def share_one_limit(dispatcher: Dispatcher) -> None:
    dispatcher.delivery._limits = OneLimit()


async def resend_as_new_call(dispatcher: Dispatcher, call_id: str) -> WebhookCall:
    """Wrong: a resend stores a new call for the same event instead of updating the call."""
    call = await dispatcher.get_call(call_id)
    if await dispatcher.find_webhook(call.webhook_id) is None:
        raise ValidationError("webhook", f"webhook {call.webhook_id} was deleted")

    def copy(tx: Transaction) -> None:
        db = tx._db  # type: ignore[attr-defined]  # the defect reaches under the boundary
        db.execute(
            "INSERT INTO webhook_calls (webhook_id, event_id, entity_type, event_type,"
            " created_at, status, due_at) SELECT webhook_id, event_id, entity_type,"
            " event_type, created_at, 'pending', ? FROM webhook_calls WHERE id = ?",
            (time.time(), int(call_id)),
        )

    await dispatcher.store.transaction(copy)
    dispatcher.delivery.wake()
    return call


def null_as_none(coerce: Callable[[Any, object], str]) -> Callable[[Any, object], str]:
    """Wrong: a null value renders as pystache writes it, "None" (contract §6 says "")."""

    def str_coerce(renderer: object, val: object) -> str:
        return "None" if val is None else coerce(renderer, val)

    return str_coerce


def spaced_dumps(value: object) -> str:
    """Wrong: the default body as `json.dumps` writes it, with spaces (contract §5: compact)."""
    return json.dumps(value, ensure_ascii=False)


def previous_entity_last(event: Event, webhook: Webhook, call: CallContext) -> dict[str, object]:
    """Wrong: previous_entity after related_entities (contract §5: before it)."""
    payload = default_payload(event, webhook, call)
    if "previous_entity" in payload:
        payload["previous_entity"] = payload.pop("previous_entity")
    return payload


def unmasked_headers(headers: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """Wrong: the activity log keeps Authorization as it was sent (contract §7: `Basic ***`)."""
    return dict(headers)


def match_disabled_too(dispatcher: Dispatcher) -> None:
    """Wrong: disabled webhooks match events like enabled ones (contract §3)."""

    def matching_webhooks(tx: Transaction, event: Event) -> list[str]:
        webhooks = tx.webhooks.all().values()
        return [w.id for w in webhooks if matches_any(w.events, event)]

    dispatcher.matching_webhooks = matching_webhooks  # type: ignore[method-assign]


def swap_sender(dispatcher: Dispatcher, sender: Sender) -> None:
    dispatcher._sender = sender
    dispatcher.delivery._sender = sender


@contextmanager
def served(
    db: Path,
    change: Callable[[Dispatcher], None] = lambda d: None,
    *,
    retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
    retry_scale: float = SCALE,
) -> Iterator[str]:
    """The reference app (after `change` on its dispatcher) on a free port: its URL."""
    settings = Settings(
        api_token=TOKEN, db=str(db), retry_scale=retry_scale, retry_delays=retry_delays
    )
    app = create_app(settings)
    change(app.state.dispatcher)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the dispatcher did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


def failing_cases(url: str, report: Path, *prefixes: str) -> dict[str, str]:
    """Run `webhooks-conformance` on `url` with `prefixes`: the cases that did not pass."""
    argv = [
        sys.executable,
        "-c",
        "from conformance.cli import main; raise SystemExit(main())",
        "--target",
        url,
        "--token",
        TOKEN,
        "--retry-scale",
        str(SCALE),
        "--report-dir",
        str(report),
    ]
    for prefix in prefixes:
        argv += ["-k", prefix]
    run = subprocess.run([*argv, "--", "-q"], capture_output=True, text=True, timeout=120)
    if not (report / "index.json").exists():
        raise RuntimeError(f"webhooks-conformance wrote no index:\n{run.stdout}\n{run.stderr}")
    index = json.loads((report / "index.json").read_text(encoding="utf-8"))
    return {c["id"]: c["outcome"] for c in index["cases"] if c["outcome"] in FAILING}
