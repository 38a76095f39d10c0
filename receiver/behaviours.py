"""What an endpoint does with a request: the `Behaviour`, and the tables that define it.

A behaviour comes from the query string of the request itself
(``?status=503&delay=0.2``) or from a script step (``{"status": 503, "delay":
0.2}``). Both are read through one table, `PARAMETERS`; the faults that only a
raw socket can produce are the table `FAULTS`. A behaviour with a `secret` also
checks the request's Standard Webhooks signature (`receiver.signatures`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from email.utils import formatdate
from types import MappingProxyType
from typing import Literal, cast
from urllib.parse import parse_qsl

from receiver.exceptions import BehaviourError
from receiver.recording import Outcome
from receiver.signatures import SignatureCheck, parse_secret

__all__ = [
    "CLOSE_POINTS",
    "DRIBBLE_PARTS",
    "FAULTS",
    "FILLER_SIZE",
    "PARAMETERS",
    "Behaviour",
    "CloseAt",
    "Fault",
    "Parameter",
    "Part",
    "behaviour_from_mapping",
    "behaviour_from_query",
    "parse_size",
]

Part = Literal["status", "headers", "body"]
CloseAt = Literal["headers", "mid-body"]

DRIBBLE_PARTS: tuple[Part, ...] = ("status", "headers", "body")
CLOSE_POINTS: tuple[CloseAt, ...] = ("headers", "mid-body")
FILLER_SIZE = 1024
"""Body bytes announced when a behaviour needs a body (dribble, close) and has none."""
CHUNK_SIZE = 64 * 1024
MAX_SECONDS = 24 * 3600.0
MAX_HUGE = 64 * 1024**3


@dataclass(frozen=True)
class Fault:
    """A fault that an HTTP framework cannot produce; played by the fault listener."""

    name: str
    outcome: Outcome
    description: str


FAULTS: Mapping[str, Fault] = MappingProxyType(
    {
        fault.name: fault
        for fault in (
            Fault("close", "closed", "read the request, then close the connection, no reply"),
            Fault("reset", "reset", "read the request, then reset the connection (TCP RST)"),
            Fault("garbage", "garbage", "answer a line that is not an HTTP status line, close"),
            Fault("no-read", "abandoned", "read the request head only; never read on or answer"),
        )
    }
)


@dataclass(frozen=True)
class Behaviour:
    """How to answer one request. The default is an empty ``200``.

    Order: `delay`, then `fault` or `hang` if asked, else the response with its
    `dribble` and `close` variations.
    """

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    delay: float = 0.0
    retry_after_date: float | None = None
    hang: bool = False
    dribble: Part | None = None
    dribble_bytes: int = 1
    dribble_interval: float = 0.5
    close: CloseAt | None = None
    huge: int | None = None
    fault: str | None = None
    secret: bytes | None = None
    """The key of a Standard Webhooks secret: check the request's signature (record only)."""

    @property
    def needs_raw_socket(self) -> bool:
        """Whether only the fault listener can play this (uvicorn writes the head at once)."""
        return self.fault is not None or self.dribble in ("status", "headers")

    def signature_check(
        self, headers: Iterable[tuple[str, str]], now: float
    ) -> SignatureCheck | None:
        """The check of a request's signature, to feed its body; None without a `secret`."""
        if self.secret is None:
            return None
        return SignatureCheck(self.secret, headers, now)

    @property
    def body_size(self) -> int:
        """Bytes in the body as announced by ``Content-Length``."""
        return self.huge if self.huge is not None else len(self.body)

    @property
    def close_after(self) -> int | None:
        """Body bytes to send before closing the connection, or None to finish normally."""
        if self.close == "headers":
            return 0
        if self.close == "mid-body":
            return self.body_size // 2
        return None

    def response_headers(self, now: float) -> list[tuple[str, str]]:
        """The headers to send, `Retry-After` dates resolved at `now`, framing added."""
        headers = list(self.headers)
        if self.retry_after_date is not None:
            date = formatdate(now + self.retry_after_date, usegmt=True)
            headers.append(("Retry-After", date))
        names = {name.lower() for name, _ in headers}
        if _allows_body(self.status) and not names & {"content-length", "transfer-encoding"}:
            headers.append(("Content-Length", str(self.body_size)))
        return headers

    def body_chunks(self) -> Iterator[bytes]:
        """The body, at most `CHUNK_SIZE` at a time; a huge body reuses one block."""
        if self.huge is None:
            for start in range(0, len(self.body), CHUNK_SIZE):
                yield self.body[start : start + CHUNK_SIZE]
            return
        block = b"x" * CHUNK_SIZE
        full, rest = divmod(self.huge, CHUNK_SIZE)
        for _ in range(full):
            yield block
        if rest:
            yield block[:rest]

    def body_to_send(self) -> Iterator[bytes]:
        """`body_chunks`, cut short where `close` says to close the connection."""
        limit = self.close_after
        sent = 0
        for chunk in self.body_chunks():
            if limit is not None:
                chunk = chunk[: limit - sent]
                if not chunk:
                    return
            sent += len(chunk)
            yield chunk

    def schedule(self, part: Part, chunks: Iterable[bytes]) -> Iterator[tuple[float, bytes]]:
        """``(pause, data)`` pairs to write `part`: dribbled if asked, else as they come."""
        first = True
        for chunk in chunks:
            if self.dribble != part:
                yield 0.0, chunk
                continue
            for start in range(0, len(chunk), self.dribble_bytes):
                yield (
                    (0.0 if first else self.dribble_interval),
                    chunk[start : start + self.dribble_bytes],
                )
                first = False


def _allows_body(status: int) -> bool:
    return status not in (204, 304)


# -- parameters ---------------------------------------------------------------

Coerce = Callable[[str, object], object]


@dataclass(frozen=True)
class Parameter:
    """One behaviour parameter: its name in queries and script steps, and its parser."""

    name: str
    coerce: Coerce
    summary: str
    example: str
    repeatable: bool = False


def _bad(name: str, what: str, value: object) -> BehaviourError:
    return BehaviourError(name, f"must be {what}, got {value!r}")


def _integer(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,12}", value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _bad(name, f"an integer from {low} to {high}", value)
    return value


def _status(name: str, value: object) -> int:
    return _integer(name, value, 200, 599)


def _positive(name: str, value: object) -> int:
    return _integer(name, value, 1, 1024 * 1024)


def _seconds(name: str, value: object) -> float:
    number: object = value
    if isinstance(value, str):
        try:
            number = float(value) if value.isascii() else math.nan  # "٣" is not 3 here
        except ValueError:
            raise _bad(name, "a number of seconds", value) from None
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise _bad(name, "a number of seconds", value)
    if not math.isfinite(number) or not 0 <= number <= MAX_SECONDS:
        raise _bad(name, f"a number of seconds from 0 to {MAX_SECONDS:g}", value)
    return float(number)


_TRUE = frozenset({"", "1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _flag(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise _bad(name, "a flag (1, true, yes, on / 0, false, no, off)", value)


def _text(name: str, value: object) -> str:
    if not isinstance(value, str) or any(c in value for c in "\r\n\0") or not value.isascii():
        raise _bad(name, "ASCII text without CR, LF or NUL", value)
    return value


def _body(name: str, value: object) -> bytes:
    if not isinstance(value, str):
        raise _bad(name, "text", value)
    return value.encode()


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _header(name: str, value: object) -> tuple[str, str]:
    if isinstance(value, list | tuple) and len(value) == 2:
        header, text = value
    elif isinstance(value, str) and ":" in value:
        header, text = value.split(":", 1)
    else:
        raise _bad(name, "'Name: value'", value)
    if not isinstance(header, str) or not _TOKEN.fullmatch(header.strip()):
        raise _bad(name, "a header whose name is an HTTP token", value)
    return header.strip(), _text(name, text).strip()


def _choice(options: tuple[str, ...] | Mapping[str, object]) -> Coerce:
    allowed = tuple(options)

    def coerce(name: str, value: object) -> str:
        if value not in allowed:
            raise _bad(name, "one of " + ", ".join(allowed), value)
        return value

    return coerce


_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9}
_UNITS |= {"kib": 2**10, "mib": 2**20, "gib": 2**30}
_SIZE = re.compile(r"([0-9]{1,12})\s*([a-z]*)")


def parse_size(text: str) -> int:
    """``"300MiB"`` → 314572800. Units: B, KB, MB, GB (powers of 1000), KiB, MiB, GiB."""
    match = _SIZE.fullmatch(text.strip().lower())
    if match is None or match.group(2) not in _UNITS:
        raise _bad("huge", "a size such as 300MiB, 10MB or 4096", text)
    return int(match.group(1)) * _UNITS[match.group(2)]


def _secret(name: str, value: object) -> bytes:
    if not isinstance(value, str):
        raise _bad(name, "a secret 'whsec_<base64>'", value)
    try:
        return parse_secret(value)
    except ValueError as exc:
        raise BehaviourError(name, f"{exc}, got {value!r}") from None


def _size(name: str, value: object) -> int:
    size = parse_size(value) if isinstance(value, str) else value
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_HUGE:
        raise _bad(name, "a size from 0 B to 64 GiB", value)
    return size


PARAMETERS: tuple[Parameter, ...] = (
    Parameter("status", _status, "response status, 200-599 (302 with `redirect`)", "503"),
    Parameter("header", _header, "a response header `Name:value`; repeat it", "X-A:1", True),
    Parameter("body", _body, "response body, UTF-8 text", "busy"),
    Parameter("delay", _seconds, "seconds to wait before answering", "0.2"),
    Parameter("retry_after", _text, "`Retry-After` verbatim: seconds or an HTTP date", "120"),
    Parameter("retry_after_date", _seconds, "`Retry-After` as the HTTP date in N s", "120"),
    Parameter("redirect", _text, "`Location` of a redirect; status defaults to 302", "/elsewhere"),
    Parameter("hang", _flag, "never answer; wait until the sender hangs up", "1"),
    Parameter("dribble", _choice(DRIBBLE_PARTS), "send this part a few bytes at a time", "body"),
    Parameter("dribble_bytes", _positive, "bytes per dribbled piece (default 1)", "1"),
    Parameter("dribble_interval", _seconds, "seconds between pieces (default 0.5)", "0.5"),
    Parameter("close", _choice(CLOSE_POINTS), "close the connection after this point", "mid-body"),
    Parameter("huge", _size, "a body of this size, streamed in constant memory", "300MiB"),
    Parameter("fault", _choice(FAULTS), "a raw-socket fault (fault listener only)", "reset"),
    Parameter(
        "secret",
        _secret,
        "a Standard Webhooks secret `whsec_...`: check and record the request's signature",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    ),
)
_BY_NAME = {parameter.name: parameter for parameter in PARAMETERS}


def behaviour_from_query(query: str) -> Behaviour:
    """The behaviour a query string asks for; parameters not in `PARAMETERS` are ignored."""
    values: dict[str, object] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        parameter = _BY_NAME.get(name)
        if parameter is None:
            continue
        if parameter.repeatable:
            cast(list[object], values.setdefault(name, [])).append(value)
        elif name in values:
            raise BehaviourError(name, f"given twice ({values[name]!r} and {value!r})")
        else:
            values[name] = value
    return behaviour_from_mapping(values)


def behaviour_from_mapping(values: Mapping[str, object]) -> Behaviour:
    """The behaviour of a script step or of parsed query values.

    ``header`` takes a list of ``"Name: value"`` strings or ``[name, value]``
    pairs; a script step may also say ``headers`` as an object.
    """
    fields: dict[str, object] = {}
    headers: list[tuple[str, str]] = []
    for name, value in values.items():
        if name == "headers":
            headers += _headers_object(value)
            continue
        parameter = _BY_NAME.get(name)
        if parameter is None:
            known = ", ".join(sorted([*_BY_NAME, "headers"]))
            raise BehaviourError(name, f"unknown parameter (known: {known})")
        if parameter.repeatable:
            items = value if isinstance(value, list) else [value]
            headers += [_header(name, item) for item in items]
        else:
            fields[name] = parameter.coerce(name, value)
    return _assemble(fields, headers)


def _headers_object(value: object) -> list[tuple[str, str]]:
    if isinstance(value, Mapping):
        return [_header("headers", [name, text]) for name, text in value.items()]
    if isinstance(value, list):
        return [_header("headers", item) for item in value]
    raise _bad("headers", "an object or a list of [name, value] pairs", value)


def _assemble(fields: dict[str, object], headers: list[tuple[str, str]]) -> Behaviour:
    if "retry_after" in fields:
        headers.append(("Retry-After", cast(str, fields.pop("retry_after"))))
    if "redirect" in fields:
        headers.append(("Location", cast(str, fields.pop("redirect"))))
        fields.setdefault("status", 302)
    behaviour = replace(Behaviour(headers=tuple(headers)), **fields)  # type: ignore[arg-type]
    if behaviour.huge is not None and behaviour.body:
        raise BehaviourError("huge", "cannot be combined with body")
    if not _allows_body(behaviour.status) and behaviour.body_size:
        raise BehaviourError("body", f"status {behaviour.status} cannot have a body")
    wants_body = behaviour.dribble == "body" or behaviour.close is not None
    if wants_body and not behaviour.body_size and _allows_body(behaviour.status):
        behaviour = replace(behaviour, body=b"x" * FILLER_SIZE)
    return behaviour
