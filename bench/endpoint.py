"""Scenario 11: the receiving kit (endpoint/), which answers `202` once an event is stored.

Measured against a ceiling taken in the same run: a bare ASGI app that reads the body
and answers `202` and nothing else, on the same server stack (`reference.serving`:
uvicorn, with httptools and uvloop when installed), in a process of its own. Then
`webhooks-endpoint serve` with handlers that sleep, on the embedded SQLite queue
(durable: `synchronous=FULL`) and, when `REDIS_URL` is set, on the RQ queue:

- accepted and durable per second at 64 connections, as a ratio of the bare ceiling;
- the acknowledgement latency (request sent to `202` read) at a steady load that is a
  share of the bare ceiling, p99, while the workers run the sleeping handlers.

Each request is a default payload (a record update, about 1 KB) with a call id of its
own, so that every one is stored; afterwards the store is counted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
from starlette.types import Receive, Scope, Send

from bench.common import CpuMeter, Row
from endpoint import Event

__all__ = ["measure", "sleepy"]

SLEEP = 0.05  # seconds each handler takes
WORKERS = 4
CONCURRENCY = 64  # connections of the throughput figure (the dispatcher's per-webhook limit)
SHARE = 0.25  # the latency figure's load: this share of the bare ceiling
ROOT = Path(__file__).resolve().parent.parent
ADDRESS = re.compile(r" on (http://\S+)")


def sleepy(event: Event) -> None:
    """The handler: some work that takes SLEEP seconds."""
    time.sleep(SLEEP)


async def _bare(scope: Scope, receive: Receive, send: Send) -> None:
    """The ceiling: read the body, answer 202, store nothing."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    body = b'{"status":"queued"}'
    headers = [(b"content-type", b"application/json"), (b"content-length", b"19")]
    await send({"type": "http.response.start", "status": 202, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _Server:
    """A server process that prints `... on URL` on stderr once bound."""

    def __init__(self, command: list[str], log: Path) -> None:
        self.log = log
        with log.open("wb") as err:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=err,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
        give_up = time.monotonic() + 30
        while True:
            found = ADDRESS.search(log.read_text(errors="replace"))
            if found:
                self.url = found.group(1)
                break
            if self.process.poll() is not None or time.monotonic() > give_up:
                raise RuntimeError(f"the server did not start: {log.read_text()}")
            time.sleep(0.05)
        # Bound is not yet listening: wait until it answers.
        health = self.url.split("/", 3)
        while True:
            try:
                urllib.request.urlopen(f"{health[0]}//{health[2]}/health", timeout=2).close()
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > give_up:
                    raise RuntimeError(f"the server does not answer: {log.read_text()}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _bodies(count: int, run: str) -> list[bytes]:
    from reference.samples import sample_payload

    template = sample_payload()
    return [
        json.dumps({**template, "webhook_call_id": f"{run}-{n}"}).encode() for n in range(count)
    ]


async def _throughput(url: str, bodies: list[bytes]) -> tuple[float, dict[int, int]]:
    """POST every body from CONCURRENCY connections; requests per second and statuses."""
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    statuses: dict[int, int] = {}
    async with aiohttp.ClientSession(connector=connector) as session:
        warm = [b'{"warm": true}'] * CONCURRENCY
        pending = list(reversed(bodies))

        async def worker(queue: list[bytes]) -> None:
            while queue:
                body = queue.pop()
                async with session.post(url, data=body) as answer:
                    await answer.read()
                    statuses[answer.status] = statuses.get(answer.status, 0) + 1

        await asyncio.gather(*(worker(warm) for _ in range(CONCURRENCY)))  # open connections
        statuses.clear()
        started = time.perf_counter()
        await asyncio.gather(*(worker(pending) for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    return len(bodies) / elapsed, statuses


async def _latencies(url: str, bodies: list[bytes], rate: float) -> tuple[list[float], int]:
    """Send the bodies at `rate` per second (open loop: each at its moment, whatever the
    answers before); each one's milliseconds from sending to the answer read, and the
    number answered 202."""
    connector = aiohttp.TCPConnector(limit=0)
    latencies: list[float] = []
    accepted = 0
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(body: bytes) -> None:
            nonlocal accepted
            sent = time.perf_counter()
            async with session.post(url, data=body) as answer:
                await answer.read()
                accepted += answer.status == 202
            latencies.append((time.perf_counter() - sent) * 1000)

        loop = asyncio.get_running_loop()
        start = loop.time() + 0.1
        tasks = []
        for n, body in enumerate(bodies):
            await asyncio.sleep(max(0.0, start + n / rate - loop.time()))
            tasks.append(asyncio.create_task(one(body)))
        await asyncio.gather(*tasks)
    return sorted(latencies), accepted


def _percentile(values: list[float], fraction: float) -> float:
    return values[min(len(values) - 1, int(fraction * len(values)))]


def _stored_sqlite(db: Path) -> int:
    with sqlite3.connect(db) as connection:
        (count,) = connection.execute("SELECT COUNT(*) FROM events").fetchone()
    connection.close()
    return int(count)


def _stored_rq(redis_url: str, queue: str) -> int:
    from redis import Redis

    client = Redis.from_url(redis_url)
    try:
        return sum(1 for _ in client.scan_iter(f"{queue}:seen:*", count=1000))
    finally:
        client.close()


def _endpoint_command(queue_args: list[str]) -> list[str]:
    command = [sys.executable, "-m", "endpoint", "serve", "--handler", "bench.endpoint:sleepy"]
    command += ["--port", "0", "--workers", str(WORKERS), "--log-level", "warning"]
    return command + queue_args


def _run_endpoint(
    name: str,
    queue_args: list[str],
    stored: Any,
    folder: Path,
    throughput_bodies: list[bytes],
    latency_bodies: list[bytes],
    ceiling: float,
) -> tuple[float, list[float], dict[str, Any]]:
    server = _Server(_endpoint_command(queue_args), folder / f"{name}.log")
    cpu = CpuMeter(server.process.pid)
    try:
        cpu.start()
        rate, statuses = asyncio.run(_throughput(server.url, throughput_bodies))
        server_cpu = cpu.percent()
        time.sleep(1.0)
        latencies, accepted = asyncio.run(_latencies(server.url, latency_bodies, SHARE * ceiling))
    finally:
        server.stop()
    facts = {
        "statuses": statuses,
        "cpu": server_cpu,
        "accepted": accepted,
        "stored": stored(),
        "sent": len(throughput_bodies) + len(latency_bodies),
    }
    return rate, latencies, facts


def measure(count: int, seconds: float, redis_url: str | None) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-endpoint-") as scratch:
        folder = Path(scratch)
        bare = _Server([sys.executable, "-m", "bench.endpoint", "--bare"], folder / "bare.log")
        cpu = CpuMeter(bare.process.pid)
        try:
            cpu.start()
            ceiling, statuses = asyncio.run(_throughput(bare.url, _bodies(count, "bare")))
            bare_cpu = cpu.percent()
        finally:
            bare.stop()
        rows.append(
            Row(
                "11 endpoint",
                f"ceiling: a bare ASGI app answering 202, {CONCURRENCY} connections",
                round(ceiling),
                "req/s",
                note=f"{statuses}; the same server stack as the endpoint; its CPU {bare_cpu:.0f}%",
            )
        )
        steady = max(1, round(SHARE * ceiling * seconds))
        backends: list[tuple[str, list[str], Any]] = [
            (
                "SQLite",
                ["--db", str(folder / "events.db")],
                lambda: _stored_sqlite(folder / "events.db"),
            )
        ]
        if redis_url is not None:
            name = f"bench-{uuid.uuid4().hex[:8]}"
            backends.append(
                (
                    "RQ",
                    ["--queue", "rq", "--redis-url", redis_url, "--rq-queue", name],
                    lambda: _stored_rq(redis_url, name),
                )
            )
        for backend, queue_args, stored in backends:
            run = uuid.uuid4().hex[:6]
            rate, latencies, facts = _run_endpoint(
                backend.lower(),
                queue_args,
                stored,
                folder,
                _bodies(count, f"{run}-t"),
                _bodies(steady, f"{run}-l"),
                ceiling,
            )
            durable = facts["stored"] == facts["sent"] and facts["statuses"] == {202: count}
            ratio = rate / ceiling
            p99 = _percentile(latencies, 0.99)
            rows.append(
                Row(
                    "11 endpoint",
                    f"{backend}: accepted and durable, {CONCURRENCY} connections,"
                    f" {WORKERS} workers running {SLEEP * 1000:.0f} ms handlers",
                    round(rate),
                    "req/s",
                    ratio=round(ratio, 2),
                    against="bare ASGI ceiling",
                    goal="≥ 25%, every 202 stored",
                    met=durable and ratio >= 0.25,
                    note=f"{facts['statuses']}; stored {facts['stored']:,} of"
                    f" {facts['sent']:,} sent; endpoint CPU {facts['cpu']:.0f}%",
                )
            )
            rows.append(
                Row(
                    "11 endpoint",
                    f"{backend}: acknowledgement p99 at {SHARE:.0%} of the ceiling"
                    f" ({SHARE * ceiling:,.0f} req/s for {seconds:g} s), handlers sleeping",
                    round(p99, 1),
                    "ms",
                    goal="< 50 ms (the sender's deadline is 5 s)",
                    met=p99 < 50 and facts["accepted"] == len(latencies),
                    note=f"p50 {statistics.median(latencies):.1f} ms,"
                    f" max {latencies[-1]:.1f} ms; {facts['accepted']:,} of"
                    f" {len(latencies):,} answered 202",
                )
            )
    return rows


def _serve_bare() -> None:
    from reference.serving import bind, bound_url, serve

    sock = bind("127.0.0.1", 0)
    print(f"bare on {bound_url(sock)}/", file=sys.stderr, flush=True)
    asyncio.run(serve(_bare, sock))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.endpoint", description=__doc__)
    parser.add_argument("--bare", action="store_true", help="serve the bare ceiling app")
    parser.add_argument("--count", type=int, default=10_000, help="requests of the throughput")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the latency run")
    args = parser.parse_args(argv)
    if args.bare:
        _serve_bare()
        return
    for row in measure(args.count, args.seconds, os.environ.get("REDIS_URL")):
        print(row)


if __name__ == "__main__":
    main()
