"""Checks made before any case runs: the target answers, takes the token, runs the retry scale.

`check_target` is the CLI's (`conformance.cli`): a target that does not answer or
refuses the token fails it with one line, and no case runs. `check_retry_scale` is
the plugin's (`conformance.plugin`), made once the cases are selected and only when
some of them wait for retries: it reads from the target's activity log (or, failing
that, times at the mock receiver) the first retry gap of a call whose receiver
answers 500, and compares it with contract §8's first gap times `--retry-scale`.
A target retrying later than that most likely runs another scale: the cases that
wait for retries are skipped, with the measured and expected gaps as the reason.
A target retrying earlier is not excused: retrying sooner than the schedule breaks
the contract at any scale, so those cases run (and fail), after a printed hint.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from conformance.client import Resource, Target

if TYPE_CHECKING:  # not imported at run time: the CLI imports this before pytest
    # loads the receiver's pytest plugin, which pytest can then no longer rewrite
    from receiver import MockReceiver

__all__ = ["SCHEDULE", "CheckFailed", "RetryCheck", "check_retry_scale", "check_target"]

#: contract §8: the gaps before each retry, in seconds.
SCHEDULE: Final = (120, 360, 1800, 3600, 18000, 86400, 172800)

#: A measured gap matches `expected` from `expected * EARLY - EARLY_SLACK` (RTY-002's lower
#: bound) to `expected * LATE` (past that, a retry fails RTY-005) plus a slack: small for a
#: gap read in the activity log (to the millisecond), RTY-005's own for one timed at the
#: mock receiver (a busy machine delays a retry).
EARLY: Final = 0.9
EARLY_SLACK: Final = 0.005
LATE: Final = 1.5
LOG_SLACK: Final = 0.05
RECEIVER_SLACK: Final = 1.0

_SSO: Final = [{"entity_type": "sso_user", "event_types": ["create"]}]


class CheckFailed(Exception):
    """A check failed; the message is one line that names the option at fault."""


# -- the target and its token ------------------------------------------------------------


def check_target(base_url: str, token: str, *, timeout: float = 5.0) -> None:
    """`GET /webhooks` with the token answers a JSON:API list; else `CheckFailed`.

    With the standard library's client: the CLI makes this check before pytest
    starts, and an httpx client would import anyio, whose pytest plugin pytest
    could then no longer rewrite (a warning on every run).
    """
    where = f"--target {base_url}"
    url = base_url.rstrip("/") + "/webhooks"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())
    try:
        with opener.open(request, timeout=timeout) as answer:
            status, headers, body = answer.status, answer.headers, answer.read(1 << 20)
    except urllib.error.HTTPError as error:
        status, headers, body = error.code, error.headers, error.read(1 << 20)
    except urllib.error.URLError as error:
        raise CheckFailed(f"{where}: cannot connect ({_reason(error.reason)})") from None
    except TimeoutError:
        raise CheckFailed(f"{where}: no answer to GET /webhooks within {timeout:g} s") from None
    except (OSError, http.client.HTTPException, ValueError) as error:
        raise CheckFailed(f"{where}: GET /webhooks failed ({_reason(error)})") from None
    if status in (401, 403):
        raise CheckFailed(
            f"--token: the target refuses it (GET {url} answered {status}{_code(body)})"
        )
    if 300 <= status < 400:
        location = headers.get("location", "nowhere")
        raise CheckFailed(
            f"{where}: GET /webhooks answered {status}, a redirect to {location}:"
            " give the API's own base URL"
        )
    if status != 200:
        raise CheckFailed(
            f"{where}: GET /webhooks answered {status}: is this the base URL of the"
            " dispatcher's API?"
        )
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        kind = headers.get("content-type", "no content type")
        raise CheckFailed(
            f"{where}: GET /webhooks answered 200 but not with a JSON:API list ({kind}):"
            " is this the base URL of the dispatcher's API?"
        )


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx is raised as an HTTPError, and reported


def _reason(error: object) -> str:
    """An error as a few words: `[Errno 111] Connection refused` -> `connection refused`."""
    if isinstance(error, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(error, socket.gaierror):
        return f"the name does not resolve: {error.strerror}"
    if isinstance(error, ssl.SSLError):
        return f"TLS: {getattr(error, 'reason', None) or error}"
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[-1] if lines else type(error).__name__
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", text)
    return text[:1].lower() + text[1:]


def _code(body: bytes) -> str:
    """` UNAUTHORIZED`: the error code of a JSON:API error document, if any."""
    try:
        code = json.loads(body)["data"][0]["attributes"]["code"]
    except (ValueError, KeyError, IndexError, TypeError):
        return ""
    return f" {code}" if isinstance(code, str) else ""


# -- the retry scale ---------------------------------------------------------------------


@dataclass(frozen=True)
class RetryCheck:
    """What the retry-scale check found: a line for the console, and why to skip, if so."""

    line: str
    skip: str | None = None


def check_retry_scale(
    target: Target, receiver: MockReceiver, scale: float, *, wait: float = 2.0
) -> RetryCheck:
    """Measure one retry gap of the target and compare it with contract §8 times `scale`.

    A webhook to `receiver` that always answers 500 gets one event; the gap is read
    from the call (`next_retry_at - last_sent_at`, exact), or else timed at the
    receiver, for at most `wait` seconds (plus the expected gap). The webhook is
    deleted afterwards.
    """
    path = f"/pre-check/{os.getpid()}-{time.time_ns()}/retry"
    attributes = Target.webhook_attributes(receiver.url_for(path, status=500), _SSO)
    webhook = target.create_webhook(attributes)
    try:
        target.sso_user()
        wait += SCHEDULE[0] * scale * LATE + RECEIVER_SLACK
        found = _measure(target, receiver, webhook["id"], path, wait)
    finally:
        target.delete_webhook(webhook["id"])
    if isinstance(found, _Unmeasured):
        if found.final:
            return RetryCheck(f"retry scale: not measured, {found.why}; the retry cases run")
        reason = f"the retry scale could not be measured: {found.why}"
        return RetryCheck(
            f"retry scale: {reason}; the cases that wait for retries are skipped", reason
        )
    base = SCHEDULE[found.retries]
    expected = base * scale
    seen = (
        f"the target's retry {found.retries + 1} {found.how} {found.seconds:.3f} s after the"
        f" attempt before, expected {expected:.3f} s ({base} s at --retry-scale {scale:g})"
    )
    apparent = f"the target seems to run with a retry scale of {found.seconds / base:.2g}"
    slack = LOG_SLACK if found.how == _DUE else RECEIVER_SLACK
    if found.seconds > expected * LATE + slack:
        reason = f"{seen}: {apparent}"
        return RetryCheck(
            f"retry scale: {reason}; the cases that wait for retries are skipped", reason
        )
    if found.seconds < expected * EARLY - EARLY_SLACK:
        return RetryCheck(
            f"retry scale: {seen}: earlier than the schedule allows ({apparent});"
            " the retry cases run, and fail where it is too early"
        )
    return RetryCheck(f"retry scale: {seen}: as expected")


_DUE: Final = "is due"
_CAME: Final = "came"


@dataclass(frozen=True)
class _Gap:
    retries: int  # the retries done before it: the gap is SCHEDULE[retries]'s
    seconds: float
    how: str  # _DUE (read in the activity log) or _CAME (timed at the mock receiver)


@dataclass(frozen=True)
class _Unmeasured:
    why: str
    final: bool = False  # the call failed without a retry: the retry cases fail, not skip


def _measure(
    target: Target, receiver: MockReceiver, webhook_id: str, path: str, wait: float
) -> _Gap | _Unmeasured:
    deadline = time.monotonic() + wait
    while True:
        calls = target.calls_of(webhook_id)
        for call in calls:
            found = _scheduled_gap(call)
            if found is not None:
                return _Gap(*found, _DUE)
        sent = receiver.requests(path=path)
        if len(sent) >= 2:
            return _Gap(0, sent[1].received_at - sent[0].received_at, _CAME)
        if any(c["attributes"].get("status") == "failed" for c in calls):
            return _Unmeasured("the first failure was final (the call is failed)", final=True)
        if time.monotonic() > deadline:
            if not sent:
                return _Unmeasured(
                    f"the target sent nothing to the mock receiver ({receiver.url})"
                    f" within {wait:.1f} s of an event"
                )
            return _Unmeasured(
                f"no retry reached the mock receiver within {wait:.1f} s of the first attempt"
            )
        time.sleep(0.02)


def _scheduled_gap(call: Resource) -> tuple[int, float] | None:
    """A rescheduled call's (retries done, next_retry_at - last_sent_at), if it says."""
    attributes = call.get("attributes") or {}
    retries = attributes.get("attempted_auto_retries_count")
    due, sent = attributes.get("next_retry_at"), attributes.get("last_sent_at")
    if attributes.get("status") != "rescheduled" or not isinstance(retries, int):
        return None
    if not (0 <= retries < len(SCHEDULE) and isinstance(due, str) and isinstance(sent, str)):
        return None
    try:
        gap = _seconds(due) - _seconds(sent)
    except ValueError:
        return None
    return retries, gap


def _seconds(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
