from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from receiver.wire import WireError, error_response, header_block, parse_request_head, status_line


def test_parse_request_head() -> None:
    head = parse_request_head(
        b"POST /caf%C3%A9/hook?status=503&x=1 HTTP/1.1\r\nHost: h\r\nX-A:  1 \r\nx-a: 2"
    )
    assert (head.method, head.path, head.query) == ("POST", "/café/hook", "status=503&x=1")
    assert head.headers == (("host", "h"), ("x-a", "1"), ("x-a", "2"))
    assert head.content_length == 0 and not head.chunked


def test_framing_headers() -> None:
    head = parse_request_head(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked")
    assert head.chunked
    for bad in (b"-1", b"\xb2", b"9" * 5000):  # '\xb2' is '²': a digit to str.isdigit, not to int()
        with pytest.raises(WireError, match="Content-Length"):
            _ = parse_request_head(b"POST / HTTP/1.1\r\nContent-Length: " + bad).content_length


@pytest.mark.parametrize("head", [b"", b"GET /", b"GET / HTTP/2", b"GET / HTTP/1.1\r\nno colon"])
def test_bad_heads(head: bytes) -> None:
    with pytest.raises(WireError):
        parse_request_head(head)


@given(st.binary(max_size=200))
def test_any_bytes_parse_or_raise_wire_error(data: bytes) -> None:
    with contextlib.suppress(WireError):
        parse_request_head(data)


def test_response_bytes() -> None:
    assert status_line(503) == b"HTTP/1.1 503 Service Unavailable\r\n"
    assert status_line(599) == b"HTTP/1.1 599 Unknown\r\n"
    block = header_block([("X-A", "1")], now=0)
    assert block == b"Date: Thu, 01 Jan 1970 00:00:00 GMT\r\nX-A: 1\r\nConnection: close\r\n\r\n"
    assert error_response(400, "bad", now=0).endswith(b'\r\n\r\n{"error": "bad"}')
