"""Scenario 1, the ceiling: the receiver driven directly by aiohttp, by httpx, and by
the dispatcher's own `Sender` (HTTP only, no store), at the dispatcher's concurrency.

The receiver's own ceiling is read from the aiohttp run: its rate divided by
the share of a core the receiver used meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx

from bench.common import CpuMeter, Row
from bench.receiver_process import ReceiverProcess
from reference import serving
from reference.sender import OutgoingRequest, Sender

__all__ = ["run"]

CONCURRENCY = 64  # the dispatcher's per-webhook (and per-origin) limit
BODY = json.dumps({"entity": {"id": "1", "attributes": {"title": "x" * 600}}}).encode()
HEADERS = {"Content-Type": "application/json", "x-webhook-id": "1"}


async def _drive(count: int, concurrency: int, post: Callable[[], Awaitable[int]]) -> float:
    """Send `count` requests from `concurrency` workers; requests per second."""
    remaining = count
    failures = 0

    async def worker() -> None:
        nonlocal remaining, failures
        while remaining > 0:
            remaining -= 1
            if not 200 <= await post() < 300:
                failures += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{failures} of {count} ceiling requests failed")
    return count / elapsed


async def aiohttp_rate(url: str, count: int, concurrency: int) -> float:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def post() -> int:
            async with session.post(url, data=BODY, headers=HEADERS) as response:
                await response.read()
                status: int = response.status
                return status

        await _drive(concurrency * 4, concurrency, post)  # open the connections
        return await _drive(count, concurrency, post)


async def httpx_rate(url: str, count: int, concurrency: int) -> float:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, trust_env=False) as client:

        async def post() -> int:
            return (await client.post(url, content=BODY, headers=HEADERS)).status_code

        await _drive(concurrency * 4, concurrency, post)
        return await _drive(count, concurrency, post)


async def sender_rate(url: str, count: int, concurrency: int) -> float:
    request = OutgoingRequest(url=url, headers=tuple(HEADERS.items()), body=BODY)
    async with Sender(max_connections_per_origin=concurrency) as sender:

        async def post() -> int:
            outcome = await sender.send(request)
            return outcome.status or 0

        await _drive(concurrency * 4, concurrency, post)
        return await _drive(count, concurrency, post)


def run(receiver: ReceiverProcess, count: int) -> tuple[list[Row], dict[str, float]]:
    url = receiver.url(0) + "/ceiling"
    rows: list[Row] = []
    rates: dict[str, float] = {}
    cpu = CpuMeter(receiver.pid)
    own = CpuMeter()  # this process: the client's CPU per request
    receiver_busy: dict[str, float] = {}
    for name, measure in (
        ("aiohttp", aiohttp_rate),
        ("httpx", httpx_rate),
        ("Sender (aiohttp underneath)", sender_rate),
    ):
        cpu.start()
        own.start()
        started = time.perf_counter()
        rate = serving.run(measure(url, count, CONCURRENCY))  # the dispatcher's loop
        # The warm-up requests are in the window too: CPU over all requests sent.
        sent = count + CONCURRENCY * 4
        client_ms = own.percent() / 100 * (time.perf_counter() - started) / sent * 1000
        rates[name] = rate
        receiver_busy[name] = cpu.percent()
        rows.append(
            Row(
                "1 ceiling",
                f"{name} → receiver, {CONCURRENCY} connections",
                round(rate),
                "req/s",
                note=f"receiver CPU {receiver_busy[name]:.0f}%; the client's CPU per request"
                f" {client_ms:.3f} ms",
            )
        )
    # The receiver's own ceiling: what it answered while the fastest client kept
    # it busy; when its CPU is near one core, it, not aiohttp, set the pace.
    busy = receiver_busy["aiohttp"]
    rows.insert(
        0,
        Row(
            "1 ceiling",
            f"receiver's own ceiling (lean, {receiver.http}, one process)",
            round(rates["aiohttp"] * 100 / max(busy, 1.0)),
            "req/s per core",
            note=f"aiohttp's rate ÷ the receiver's CPU share ({busy:.0f}% of a core)",
        ),
    )
    return rows, rates
