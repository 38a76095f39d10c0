"""HTTP/1.1 as bytes, for the fault listener: request heads in, response heads out.

Only what a webhook sender sends is understood: a request line, headers, and a
body framed by ``Content-Length`` or ``Transfer-Encoding: chunked``.
"""

from __future__ import annotations

import http
import json
import re
from dataclasses import dataclass
from email.utils import formatdate
from urllib.parse import unquote

__all__ = [
    "CONTINUE",
    "GARBAGE",
    "MAX_HEAD",
    "RequestHead",
    "WireError",
    "error_response",
    "header_block",
    "parse_request_head",
    "status_line",
]

MAX_HEAD = 64 * 1024
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
GARBAGE = b"HTTP/1.1 TWO-HUNDRED \x00\xff this is not a status line\r\n\r\n"
_REQUEST_LINE = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP/1\.[01]")
_HEADER = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*")


class WireError(Exception):
    """A request the fault listener cannot read; answered with `status`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class RequestHead:
    """The request line and headers (names lower-cased, order and duplicates kept)."""

    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]

    def header(self, name: str) -> str | None:
        """The last value of header `name` (lower-case), or None."""
        values = [value for key, value in self.headers if key == name]
        return values[-1] if values else None

    @property
    def chunked(self) -> bool:
        """Whether the body is sent with chunked transfer coding."""
        return "chunked" in (self.header("transfer-encoding") or "").lower()

    @property
    def content_length(self) -> int:
        """The declared body length (0 without ``Content-Length``)."""
        value = self.header("content-length")
        if value is None:
            return 0
        if not (value.isascii() and value.isdigit()) or len(value) > 18:
            raise WireError(400, f"bad Content-Length {value!r}")
        return int(value)


def parse_request_head(head: bytes) -> RequestHead:
    """Parse the bytes before the blank line; raises `WireError` for anything else."""
    request_line, *lines = head.split(b"\r\n")
    match = _REQUEST_LINE.fullmatch(request_line)
    if match is None:
        raise WireError(400, f"bad request line {request_line[:100]!r}")
    headers = []
    for line in lines:
        header = _HEADER.fullmatch(line)
        if header is None:
            raise WireError(400, f"bad header line {line[:100]!r}")
        name, value = header.groups()
        headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))
    target = match.group(2).decode("latin-1")
    path, _, query = target.partition("?")
    return RequestHead(match.group(1).decode("latin-1"), unquote(path), query, tuple(headers))


def status_line(status: int) -> bytes:
    """``HTTP/1.1 503 Service Unavailable\\r\\n``."""
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    return f"HTTP/1.1 {status} {reason}\r\n".encode("latin-1")


def header_block(headers: list[tuple[str, str]], now: float) -> bytes:
    """The header lines and the blank line: ``Date``, `headers`, ``Connection: close``."""
    lines = [("Date", formatdate(now, usegmt=True)), *headers, ("Connection", "close")]
    return b"".join(f"{name}: {value}\r\n".encode("latin-1") for name, value in lines) + b"\r\n"


def error_response(status: int, message: str, now: float) -> bytes:
    """A whole JSON error response, for requests the listener cannot serve."""
    body = json.dumps({"error": message}).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    return status_line(status) + header_block(headers, now) + body
