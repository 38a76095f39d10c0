"""Scenario 9: one versus two dispatcher processes delivering one backlog from one PostgreSQL.

The backlog, `calls` due calls to the fast receiver, is stored once by a
dispatcher that is opened, never started (`raise_events`, 1,000 events per
transaction); each run gets a fresh copy of that database (CREATE DATABASE ...
TEMPLATE, then a CHECKPOINT), which takes a second where raising them again
would take ten. For k = 1 and k = 2, k processes
`python -m bench.processes child DB_URL` open a dispatcher on it, say `ready`,
and wait. Once all are ready the parent writes `go` to each (they start
delivering), polls the database every 25 ms with its own connection, and stops
the clock when `calls` attempts are stored: time runs from `go` to the last
outcome committed. Then it writes `stop`; each child reads its counters,
leaves its dispatcher cleanly and prints them as one JSON line.

CPU is read from /proc over the same window: each dispatcher process, the
receiver, PostgreSQL (the postmaster with its reaped children, plus every live
child: backends, WAL writer, checkpointer, autovacuum; the parent's polling
backend left out), this process, and the machine's busy time (/proc/stat), so
that other load on the machine shows in the notes.

A database round trip, as counted in the children: one `psycopg.Cursor.execute`
(one statement sent, its answer awaited; `Connection.execute` goes through it
and is not counted twice) or one `psycopg.Cursor.executemany` (its statements
are pipelined: sent together and awaited once, at the pipeline's sync). The
statements, an executemany counting one per parameter set, are given beside.

`python -m bench.processes [--calls N]` runs the scenario alone, with its own
receiver and a durable PostgreSQL on disk, and prints the rows.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench.common import CpuMeter, Row, sample_event, webhook_attributes
from bench.receiver_process import ReceiverProcess
from reference import Dispatcher, Settings
from reference.calls import DueCall
from reference.store import Settlement
from tests.postgres import PostgresServer

__all__ = ["measure"]

SCENARIO = "9 processes"
PROCESSES = (1, 2)
BATCH = 1000  # events per transaction while filling
POLL = 0.025  # seconds between the parent's counts of stored attempts
TIMEOUT = 300.0  # seconds a run may take before it is given up
_TICKS = os.sysconf("SC_CLK_TCK")
_ROOT = Path(__file__).resolve().parent.parent
#: Durable and on disk, as the whole benchmark's server (standalone mode only).
DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}


# -- the child: one dispatcher process -----------------------------------------------------


@dataclass
class _Counts:
    round_trips: int = 0
    statements: int = 0
    executemany: int = 0
    claims: int = 0  # claim transactions, those that found nothing included
    claimed: int = 0  # claims that found calls
    batches: int = 0  # batches of outcomes written
    deliveries: int = 0
    db_seconds: float = 0.0  # wall time inside execute and executemany

    def reset(self) -> None:
        for name in vars(self):
            setattr(self, name, 0)

    def as_json(self) -> dict[str, float]:
        return {name: float(value) for name, value in vars(self).items()}


def _count_round_trips(counts: _Counts) -> None:
    """Patch psycopg's cursor, class-wide, to count what this process asks the server."""
    execute = psycopg.Cursor.execute
    executemany = psycopg.Cursor.executemany

    def counted_execute(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        counts.round_trips += 1
        counts.statements += 1
        if isinstance(query, str):
            # A claim's first SELECT looks for requested resends; its UPDATE marks the calls.
            counts.claims += "c.resend_requested = 1 AND c.claimed = 0" in query
            counts.claimed += query.startswith("UPDATE webhook_calls SET claimed = 1,")
        started = time.perf_counter()
        try:
            return execute(self, query, *args, **kwargs)
        finally:
            counts.db_seconds += time.perf_counter() - started

    def counted_executemany(self: Any, query: Any, params_seq: Any, **kwargs: Any) -> Any:
        params = list(params_seq)
        counts.round_trips += 1
        counts.executemany += 1
        counts.statements += len(params)
        started = time.perf_counter()
        try:
            return executemany(self, query, params, **kwargs)
        finally:
            counts.db_seconds += time.perf_counter() - started

    setattr(psycopg.Cursor, "execute", counted_execute)  # noqa: B010
    setattr(psycopg.Cursor, "executemany", counted_executemany)  # noqa: B010


async def _child(url: str) -> None:
    counts = _Counts()
    _count_round_trips(counts)
    found = Dispatcher(Settings(api_token="bench", db=url))
    settle = found.store.settle

    async def counted_settle(settlement: Settlement) -> list[DueCall]:
        claimed = await settle(settlement)
        if settlement.completions:
            counts.batches += 1
            counts.deliveries += len(settlement.completions)
        return claimed

    setattr(found.store, "settle", counted_settle)  # noqa: B010
    result: dict[str, float] = {}
    try:
        # Opened (connected, migrated, listening) but not sending until every process is.
        await found.open()
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)  # go
        counts.reset()
        await found.start()
        await asyncio.to_thread(sys.stdin.readline)  # stop (or the parent is gone)
        result = counts.as_json()
    finally:
        await found.close()
    print(json.dumps(result), flush=True)


# -- the parent: filling, timing, counting ------------------------------------------------


async def _raise(url: str, target: str, calls: int) -> None:
    """Store `calls` due calls of one webhook without sending any."""
    found = Dispatcher(Settings(api_token="bench", db=url))
    await found.open()
    try:
        await found.create_webhook(webhook_attributes("bench", target))
        for offset in range(0, calls, BATCH):
            stop = min(calls, offset + BATCH)
            await found.raise_events([sample_event(n) for n in range(offset, stop)])
    finally:
        await found.close()


@contextlib.contextmanager
def _database(server: PostgresServer, template: str | None = None) -> Iterator[str]:
    """A new database (a copy of `template`), checkpointed; dropped afterwards."""
    name = f"processes_{uuid.uuid4().hex[:12]}"
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(create)
        conn.execute("CHECKPOINT")
    try:
        yield name
    finally:
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextlib.contextmanager
def _backlog(server: PostgresServer, target: str, calls: int) -> Iterator[str]:
    """A database holding `calls` due calls: the runs' template.

    Not vacuumed: a VACUUM while webhook_call_attempts is empty records it as empty,
    and the plan of the outcomes' INSERT then counts a call's attempts with a
    sequential scan, slower with every attempt stored (measured: 8 ms per batch
    of outcomes at the start of 20,000 calls, 50 ms at the end, at half the rate).
    """
    with _database(server) as name:
        asyncio.run(_raise(server.database_url(name), target, calls))
        yield name


def _stat(pid: int) -> list[str]:
    """/proc/<pid>/stat's fields after the command's name: [0] is the state, [1] the ppid."""
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()


def _postgres_ticks(postmaster: int, leave_out: int) -> int:
    """CPU ticks of the server: the postmaster, its reaped children, its live children."""
    fields = _stat(postmaster)
    total = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    for entry in os.scandir("/proc"):
        if not entry.name.isdecimal() or int(entry.name) == leave_out:
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            child = _stat(int(entry.name))
            if int(child[1]) == postmaster:
                total += int(child[11]) + int(child[12])
    return total


def _machine_ticks() -> tuple[int, int]:
    """(busy, iowait) ticks of all cores together, from /proc/stat (steal is not busy)."""
    with open("/proc/stat") as stat:
        user, nice, system, _idle, iowait, irq, softirq = map(int, stat.readline().split()[1:8])
    return user + nice + system + irq + softirq, iowait


def _postmaster_pid(server: PostgresServer) -> int:
    return int((server.directory / "data" / "postmaster.pid").read_text().split()[0])


@dataclass
class _Run:
    processes: int
    calls: int
    seconds: float
    process_cpu: list[float]  # percent of one core, each dispatcher process
    receiver_cpu: float
    postgres_cpu: float
    machine_cpu: float  # percent of one core, all cores together
    own_cpu: float  # this process's, polling the database
    iowait: float  # percent of one core
    children: list[dict[str, float]]
    statuses: dict[str, int]
    attempts: int
    most_attempts: int

    @property
    def rate(self) -> float:
        return self.calls / self.seconds

    @property
    def ok(self) -> bool:
        return (
            self.statuses == {"success": self.calls}
            and self.attempts == self.calls
            and self.most_attempts == 1
        )

    @property
    def dispatcher_cpu_seconds(self) -> float:
        return sum(self.process_cpu) / 100 * self.seconds

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.dispatcher_cpu_seconds / self.calls

    @property
    def other_cpu(self) -> float:
        """The machine's busy time that none of the processes measured accounts for."""
        known = sum(self.process_cpu) + self.receiver_cpu + self.postgres_cpu + self.own_cpu
        return max(0.0, self.machine_cpu - known)

    def total(self, key: str) -> int:
        return int(sum(child[key] for child in self.children))

    def per_delivery(self, key: str) -> float:
        return sum(child[key] for child in self.children) / self.calls

    @property
    def db_busy(self) -> list[float]:
        """Each process's share of the time inside database calls, in percent."""
        return [100 * child["db_seconds"] / self.seconds for child in self.children]


@contextlib.contextmanager
def _children(url: str, count: int) -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    try:
        for _ in range(count):
            started.append(
                subprocess.Popen(
                    [sys.executable, "-m", "bench.processes", "child", url],
                    cwd=_ROOT,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
        yield started
    finally:
        for child in started:
            if child.poll() is None:
                child.kill()
            child.wait()


def _tell(children: list[subprocess.Popen[str]], word: str) -> None:
    for child in children:
        assert child.stdin is not None
        child.stdin.write(word + "\n")
        child.stdin.flush()


def _answered(conn: psycopg.Connection[tuple[Any, ...]]) -> int:
    row = conn.execute("SELECT COUNT(*) FROM webhook_call_attempts").fetchone()
    return 0 if row is None else int(row[0])


def _run(
    receiver: ReceiverProcess, server: PostgresServer, template: str, count: int, calls: int
) -> _Run:
    with _database(server, template) as name:
        return _deliver(receiver, server, server.database_url(name), count, calls)


def _deliver(
    receiver: ReceiverProcess, server: PostgresServer, url: str, count: int, calls: int
) -> _Run:
    postmaster = _postmaster_pid(server)
    with _children(url, count) as children, psycopg.connect(url, autocommit=True) as conn:
        for child in children:
            assert child.stdout is not None
            if child.stdout.readline().strip() != "ready":
                raise RuntimeError(f"dispatcher process {child.pid} did not start")
        poller = conn.info.backend_pid
        meters = [CpuMeter(child.pid) for child in children]
        receiver_meter, own_meter = CpuMeter(receiver.pid), CpuMeter()
        for meter in (*meters, receiver_meter, own_meter):
            meter.start()
        postgres_before = _postgres_ticks(postmaster, poller)
        machine_before = _machine_ticks()
        started = time.perf_counter()
        _tell(children, "go")
        while _answered(conn) < calls:
            if time.perf_counter() - started > TIMEOUT:
                raise TimeoutError(f"{calls} calls were not answered within {TIMEOUT} s")
            if any(child.poll() is not None for child in children):
                raise RuntimeError("a dispatcher process exited before the backlog was sent")
            time.sleep(POLL)
        seconds = time.perf_counter() - started
        process_cpu = [meter.percent() for meter in meters]
        receiver_cpu, own_cpu = receiver_meter.percent(), own_meter.percent()
        postgres_seconds = (_postgres_ticks(postmaster, poller) - postgres_before) / _TICKS
        machine_after = _machine_ticks()
        _tell(children, "stop")
        results: list[dict[str, float]] = []
        for child in children:
            assert child.stdout is not None
            results.append(json.loads(child.stdout.readline()))
            child.wait(30)
        statuses = {
            str(status): int(count)
            for status, count in conn.execute(
                "SELECT status, COUNT(*) FROM webhook_calls GROUP BY status"
            )
        }
        row = conn.execute(
            "SELECT COALESCE(SUM(n), 0), COALESCE(MAX(n), 0) FROM"
            " (SELECT COUNT(*) AS n FROM webhook_call_attempts GROUP BY call_id) AS a"
        ).fetchone()
        attempts, most = (0, 0) if row is None else (int(row[0]), int(row[1]))
    machine = [(a - b) / _TICKS for a, b in zip(machine_after, machine_before, strict=True)]
    return _Run(
        processes=count,
        calls=calls,
        seconds=seconds,
        process_cpu=process_cpu,
        receiver_cpu=receiver_cpu,
        postgres_cpu=100 * postgres_seconds / seconds,
        machine_cpu=100 * machine[0] / seconds,
        own_cpu=own_cpu,
        iowait=100 * machine[1] / seconds,
        children=results,
        statuses=statuses,
        attempts=attempts,
        most_attempts=most,
    )


def _name(count: int) -> str:
    return f"{count} process" + ("es" if count > 1 else "")


def _cores() -> int:
    return 100 * (os.cpu_count() or 1)


def _rows(run: _Run) -> list[Row]:
    name = _name(run.processes)
    shares = " + ".join(f"{cpu:.0f}%" for cpu in run.process_cpu)
    split = " / ".join(f"{int(child['deliveries']):,}" for child in run.children)
    problem = (
        ""
        if run.ok
        else f"; NOT every call sent once as success: {run.statuses},"
        f" {run.attempts:,} attempts, at most {run.most_attempts} for one call"
    )
    postgres_ms = 10 * run.postgres_cpu * run.seconds / run.calls
    total = run.total
    claimed, batches = max(1, total("claimed")), max(1, total("batches"))
    waits = " + ".join(f"{busy:.0f}%" for busy in run.db_busy)
    return [
        Row(
            scenario=SCENARIO,
            figure=f"{name}, {run.calls:,} due calls on one PostgreSQL → fast receiver",
            value=round(run.rate),
            unit="deliveries/s",
            goal="every call sent once, success",
            met=run.ok,
            note=f"{run.statuses} in {run.seconds:.1f} s (deliveries {split});"
            f" CPU: dispatcher {shares}, receiver {run.receiver_cpu:.0f}%, PostgreSQL"
            f" {run.postgres_cpu:.0f}%, the benchmark's polling {run.own_cpu:.0f}%, anything"
            f" else {run.other_cpu:.0f}%; machine busy {run.machine_cpu:.0f}% of {_cores()}%,"
            f" iowait {run.iowait:.0f}%; time inside database calls {waits}{problem}",
        ),
        Row(
            scenario=SCENARIO,
            figure=f"{name}: dispatcher CPU per delivery",
            value=round(run.cpu_ms, 3),
            unit="ms",
            note=f"all dispatcher processes together: {run.dispatcher_cpu_seconds:.1f} s of CPU"
            f" for {run.calls:,} deliveries; PostgreSQL {postgres_ms:.3f} ms per delivery",
        ),
        Row(
            scenario=SCENARIO,
            figure=f"{name}: database round trips per delivery",
            value=round(run.per_delivery("round_trips"), 3),
            unit="round trips",
            note="round trip: one psycopg execute, or one executemany (its statements"
            f" pipelined, one wait); {total('round_trips'):,} in all, {total('statements'):,}"
            f" statements counting each row of an executemany; {total('claims'):,} claims,"
            f" {total('claimed'):,} finding calls ({total('deliveries') / claimed:.0f} each);"
            f" {total('batches'):,} batches of outcomes ({total('deliveries') / batches:.0f}"
            " each)",
        ),
    ]


def _limit(one: _Run, two: _Run) -> str:
    """What held each run back, in the figures measured."""
    cores = _cores()
    disturbed = [run for run in (one, two) if run.other_cpu >= 20]
    if disturbed:
        return "other load on the machine disturbed the run: " + ", ".join(
            f"{_name(run.processes)} {run.other_cpu:.0f}% of {cores}%" for run in disturbed
        )
    if one.machine_cpu < 0.9 * cores:
        first = (
            f"1 process leaves the cores {cores - one.machine_cpu:.0f}% idle (machine busy"
            f" {one.machine_cpu:.0f}%, the process {one.process_cpu[0]:.0f}%) while its one"
            f" database thread is inside database calls {one.db_busy[0]:.0f}% of the time:"
            " its one connection, one transaction at a time, is what it waits for"
        )
    else:
        first = f"1 process already fills the cores ({one.machine_cpu:.0f}% of {cores}%)"
    spent = (
        f"dispatchers {sum(two.process_cpu):.0f}%, receiver {two.receiver_cpu:.0f}%,"
        f" PostgreSQL {two.postgres_cpu:.0f}%"
    )
    waits = ", ".join(f"{busy:.0f}%" for busy in two.db_busy)
    second = (
        f"2 processes bring the machine to {two.machine_cpu:.0f}% of {cores}% ({spent});"
        f" their database threads are inside database calls {waits} of the time"
    )
    cost = (
        f"splitting the backlog costs CPU: {one.cpu_ms:.3f} → {two.cpu_ms:.3f} ms per"
        f" delivery, round trips {one.per_delivery('round_trips'):.3f} →"
        f" {two.per_delivery('round_trips'):.3f}, outcomes per write"
        f" {one.calls / max(1, one.total('batches')):.0f} →"
        f" {two.calls / max(1, two.total('batches')):.0f}"
    )
    return f"{first}; {second}; {cost}"


def measure(receiver: ReceiverProcess, server: PostgresServer, calls: int = 20_000) -> list[Row]:
    with _backlog(server, receiver.url(0) + "/fast", calls) as template:
        runs = {count: _run(receiver, server, template, count, calls) for count in PROCESSES}
    one, two = runs[1], runs[2]
    ratio = two.rate / one.rate
    rows = _rows(one) + _rows(two)
    rows.append(
        Row(
            scenario=SCENARIO,
            figure="2 processes ÷ 1 process, delivery rate",
            value=round(ratio, 2),
            unit="x",
            ratio=round(ratio, 2),
            against="1 process",
            note=_limit(one, two),
        )
    )
    return rows


# -- entry points -------------------------------------------------------------------------


def _standalone(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.processes", description=__doc__)
    parser.add_argument("--calls", type=int, default=20_000, help="due calls in each backlog")
    args = parser.parse_args(argv)
    receiver = ReceiverProcess(1)
    receiver.start()
    try:
        with PostgresServer(settings=DURABLE, base=Path(tempfile.gettempdir())) as server:
            started = time.perf_counter()
            rows = measure(receiver, server, args.calls)
            elapsed = time.perf_counter() - started
    finally:
        receiver.stop()
    for row in rows:
        verdict = "" if row.met is None else ("  [met]" if row.met else "  [NOT met]")
        print(f"{row.value:>10,} {row.unit:<14}{verdict}  {row.figure}\n{'':>12}{row.note}")
    print(f"measured in {elapsed:.1f} s")


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["child"]:
        if len(args) != 2:
            raise SystemExit("usage: python -m bench.processes child DB_URL")
        asyncio.run(_child(args[1]))
    else:
        _standalone(args)


if __name__ == "__main__":
    main()
