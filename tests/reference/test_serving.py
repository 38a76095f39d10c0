"""The loop `serve` and `demo` run on: uvloop when installed, else asyncio's own."""

from __future__ import annotations

import asyncio
import sys

import pytest
import uvloop  # a test dependency (pyproject's test extra)

from reference.serving import run


async def _loop_type() -> type:
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop())


def test_uvloop_runs_the_servers_when_installed() -> None:
    assert run(_loop_type()) is uvloop.Loop


def test_asyncio_runs_them_where_uvloop_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop: ImportError
    loop: type = run(_loop_type())
    assert issubclass(loop, asyncio.BaseEventLoop)
    assert not issubclass(loop, uvloop.Loop)
