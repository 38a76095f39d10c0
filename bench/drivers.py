"""`python -m bench.drivers [--rounds N]`: asyncpg against psycopg 3 on the delivery queue.

The store is synchronous and runs in one thread per process, called from the
event loop with `run_in_executor`. This measures, on the queue's two hot
transactions (claim a batch of due calls; record a batch of outcomes), what
each PostgreSQL driver costs in wall time and in this process's CPU time:

- psycopg 3 sync `Connection` in a one-thread pool (the store's design);
- psycopg 3 `AsyncConnection` on the loop, and asyncpg on the loop, for reference;
- psycopg 3 sync on the loop (no thread hop), to show what the hop costs.

The machine's speed varies between runs, so every round runs every mode once,
in an order that rotates and reverses from round to round, on a queue reset
and vacuumed before each segment; the table gives medians over rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import itertools
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

import asyncpg
import psycopg

__all__ = ["main"]

BATCH: Final = 256
CALLS: Final = 50_000
WEBHOOKS: Final = 20
OWNER: Final = "bench-worker-1"
_TICKS: Final = os.sysconf("SC_CLK_TCK")
_PG_BIN: Final = Path("/usr/lib/postgresql/15/bin")
_SERVER_MODULE: Final = Path(__file__).resolve().parent.parent / "tests" / "postgres.py"

SCHEMA: Final = """
CREATE TABLE events (id BIGSERIAL PRIMARY KEY, entity_type TEXT NOT NULL,
    event_type TEXT NOT NULL, environment TEXT NOT NULL,
    is_environment_primary INTEGER NOT NULL, happened_at DOUBLE PRECISION NOT NULL,
    entity TEXT NOT NULL, previous_entity TEXT, related_entities TEXT NOT NULL, variants TEXT);
CREATE TABLE webhook_calls (id BIGSERIAL PRIMARY KEY, webhook_id BIGINT NOT NULL,
    event_id BIGINT NOT NULL REFERENCES events (id), entity_type TEXT NOT NULL,
    event_type TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, status TEXT NOT NULL,
    attempted_auto_retries_count INTEGER NOT NULL DEFAULT 0, last_sent_at DOUBLE PRECISION,
    next_retry_at DOUBLE PRECISION, due_at DOUBLE PRECISION,
    resend_requested INTEGER NOT NULL DEFAULT 0, claimed INTEGER NOT NULL DEFAULT 0,
    claimed_by TEXT, lease_until DOUBLE PRECISION, request_url TEXT, request_headers TEXT,
    request_payload TEXT, response_status INTEGER, response_headers TEXT,
    response_payload TEXT, error TEXT);
CREATE INDEX webhook_calls_due ON webhook_calls (due_at) WHERE due_at IS NOT NULL AND claimed = 0;
CREATE TABLE webhook_call_attempts (call_id BIGINT NOT NULL REFERENCES webhook_calls (id),
    number INTEGER NOT NULL, sent_at DOUBLE PRECISION NOT NULL, duration_ms INTEGER NOT NULL,
    trigger TEXT NOT NULL, response_status INTEGER, error TEXT, PRIMARY KEY (call_id, number));
"""

# The statements, in psycopg's placeholder style; `_numbered` gives asyncpg's.
CLAIM_SELECT: Final = (
    "SELECT c.id, c.webhook_id, c.event_id, c.entity_type, c.event_type, c.created_at,"
    " c.status, c.attempted_auto_retries_count, c.resend_requested, e.environment,"
    " e.is_environment_primary, e.happened_at, e.entity, e.previous_entity,"
    " e.related_entities, e.variants"
    " FROM webhook_calls c JOIN events e ON e.id = c.event_id"
    " WHERE c.due_at <= %s AND c.due_at IS NOT NULL AND c.claimed = 0"
    " AND c.resend_requested = 0"
    " ORDER BY c.due_at LIMIT 256 FOR UPDATE OF c SKIP LOCKED"
)
CLAIM_ANY: Final = (
    "UPDATE webhook_calls SET claimed = 1, claimed_by = %s, lease_until = %s"
    " WHERE id = ANY(%s::bigint[])"
)
CLAIM_ONE: Final = (
    "UPDATE webhook_calls SET claimed = 1, claimed_by = %s, lease_until = %s WHERE id = %s"
)
INSERT_ATTEMPT: Final = (
    "INSERT INTO webhook_call_attempts"
    " (call_id, number, sent_at, duration_ms, trigger, response_status, error)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s)"
)
UPDATE_OUTCOME: Final = (
    "UPDATE webhook_calls SET status = %s, attempted_auto_retries_count = %s,"
    " last_sent_at = %s, next_retry_at = %s, due_at = %s, claimed = %s, claimed_by = %s,"
    " lease_until = %s, request_url = %s, request_headers = %s, request_payload = %s,"
    " response_status = %s, response_headers = %s WHERE id = %s"
)
# The same two writes as one statement each, the batch sent as one array per column.
# `%b`: psycopg sends the arrays in binary; in text it quotes every JSON string in
# Python (16 ms of CPU for the UPDATE's arrays, against 1 ms in binary).
INSERT_ATTEMPTS_UNNEST: Final = (
    "INSERT INTO webhook_call_attempts"
    " (call_id, number, sent_at, duration_ms, trigger, response_status, error)"
    " SELECT * FROM unnest(%b::bigint[], %b::integer[], %b::float8[], %b::integer[],"
    " %b::text[], %b::integer[], %b::text[])"
)
UPDATE_OUTCOMES_UNNEST: Final = (
    "UPDATE webhook_calls c SET status = v.status, attempted_auto_retries_count = v.retries,"
    " last_sent_at = v.sent, next_retry_at = v.next_retry, due_at = v.due,"
    " claimed = v.claimed, claimed_by = v.claimed_by, lease_until = v.lease_until,"
    " request_url = v.url, request_headers = v.request_headers,"
    " request_payload = v.payload, response_status = v.response_status,"
    " response_headers = v.response_headers"
    " FROM unnest(%b::text[], %b::integer[], %b::float8[], %b::float8[], %b::float8[],"
    " %b::integer[], %b::text[], %b::float8[], %b::text[], %b::text[], %b::text[],"
    " %b::integer[], %b::text[], %b::bigint[])"
    " AS v(status, retries, sent, next_retry, due, claimed, claimed_by, lease_until, url,"
    " request_headers, payload, response_status, response_headers, id)"
    " WHERE c.id = v.id"
)
RESET: Final = (
    "UPDATE webhook_calls SET status = 'pending', due_at = created_at, claimed = 0,"
    " claimed_by = NULL, lease_until = NULL, last_sent_at = NULL, request_url = NULL,"
    " request_headers = NULL, request_payload = NULL, response_status = NULL,"
    " response_headers = NULL WHERE due_at IS NULL OR claimed <> 0"
)


def _numbered(sql: str) -> str:
    """`%s, %b` -> `$1, $2` (asyncpg's placeholders)."""
    counter = itertools.count(1)
    return re.sub("%[sb]", lambda _: f"${next(counter)}", sql)


_ENTITY: Final = json.dumps(
    {
        "id": "0",
        "type": "item",
        "attributes": {
            "title": "Article",
            "slug": "article",
            "summary": "A benchmark record with a few attributes of ordinary size. " * 3,
            "published": True,
            "word_count": 812,
        },
        "relationships": {"item_type": {"data": {"id": "42", "type": "item_type"}}},
        "meta": {"status": "published", "current_version": "v1"},
    }
)
_REQUEST_HEADERS: Final = json.dumps(
    {
        "Content-Type": "application/json",
        "User-Agent": "DatoCMS (datocms.com)",
        "X-Webhook-Signature": "sha256=" + "0" * 64,
    }
)
_RESPONSE_HEADERS: Final = json.dumps({"content-type": "text/plain", "content-length": "2"})

Attempt = tuple[int, int, float, int, str, int | None, str | None]
Outcome = tuple[str, int, float, None, None, int, None, None, str, str, str, int, str, int]


def _columns(rows: Sequence[tuple[Any, ...]]) -> list[list[Any]]:
    """Rows -> one list per column (the parameters of an `unnest` statement)."""
    return [list(column) for column in zip(*rows, strict=True)]


def _outcomes(ids: Sequence[int]) -> tuple[list[Attempt], list[Outcome]]:
    """A batch of successful deliveries of the calls `ids`."""
    sent = time.time()
    attempts: list[Attempt] = [(i, 1, sent, 37, "event", 200, None) for i in ids]
    updates: list[Outcome] = [
        (
            "success",
            0,
            sent,
            None,
            None,
            0,
            None,
            None,
            f"https://hooks.example.com/{i % WEBHOOKS}",
            _REQUEST_HEADERS,
            _ENTITY,
            200,
            _RESPONSE_HEADERS,
            i,
        )
        for i in ids
    ]
    return attempts, updates


# -- the drivers ---------------------------------------------------------------


class Mode(Protocol):
    name: str
    backend_pid: int

    async def claim(self, now: float, until: float, *, any_: bool) -> list[int]: ...

    async def outcome(
        self, attempts: list[Attempt], updates: list[Outcome], *, unnest: bool
    ) -> None: ...

    async def close(self) -> None: ...


class SyncStore:
    """psycopg 3's sync connection, autocommit, explicit BEGIN/COMMIT: the store's code."""

    def __init__(self, url: str, prepare_threshold: int | None) -> None:
        self.conn = psycopg.connect(url, autocommit=True, prepare_threshold=prepare_threshold)
        self.cur = self.conn.cursor()
        self.backend_pid = self.conn.info.backend_pid

    def claim(self, now: float, until: float, any_: bool) -> list[int]:
        cur = self.cur
        cur.execute("BEGIN")
        try:
            cur.execute(CLAIM_SELECT, (now,))
            ids = [row[0] for row in cur.fetchall()]
            if any_:
                cur.execute(CLAIM_ANY, (OWNER, until, ids))
            else:
                cur.executemany(CLAIM_ONE, [(OWNER, until, i) for i in ids])
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")
        return ids

    def outcome(self, attempts: list[Attempt], updates: list[Outcome], unnest: bool) -> None:
        cur = self.cur
        cur.execute("BEGIN")
        try:
            if unnest:
                cur.execute(INSERT_ATTEMPTS_UNNEST, _columns(attempts))
                cur.execute(UPDATE_OUTCOMES_UNNEST, _columns(updates))
            else:
                cur.executemany(INSERT_ATTEMPT, attempts)
                cur.executemany(UPDATE_OUTCOME, updates)
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


class PsycopgThread:
    """The store's design: the sync code in a one-thread pool, awaited from the loop."""

    def __init__(self, name: str, url: str, prepare_threshold: int | None) -> None:
        self.name = name
        self.store = SyncStore(url, prepare_threshold)
        self.backend_pid = self.store.backend_pid
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="bench-db")

    async def claim(self, now: float, until: float, *, any_: bool) -> list[int]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, self.store.claim, now, until, any_)

    async def outcome(
        self, attempts: list[Attempt], updates: list[Outcome], *, unnest: bool
    ) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.executor, self.store.outcome, attempts, updates, unnest)

    async def close(self) -> None:
        self.store.close()
        self.executor.shutdown()


class PsycopgOnLoop:
    """Reference only: the same sync code called on the loop (it blocks the loop)."""

    def __init__(self, name: str, url: str, prepare_threshold: int | None) -> None:
        self.name = name
        self.store = SyncStore(url, prepare_threshold)
        self.backend_pid = self.store.backend_pid

    async def claim(self, now: float, until: float, *, any_: bool) -> list[int]:
        return self.store.claim(now, until, any_)

    async def outcome(
        self, attempts: list[Attempt], updates: list[Outcome], *, unnest: bool
    ) -> None:
        self.store.outcome(attempts, updates, unnest)

    async def close(self) -> None:
        self.store.close()


class PsycopgAsync:
    """psycopg 3's AsyncConnection on the loop, autocommit, explicit BEGIN/COMMIT."""

    def __init__(self, name: str, conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> None:
        self.name = name
        self.conn = conn
        self.cur = conn.cursor()
        self.backend_pid = conn.info.backend_pid

    @classmethod
    async def open(cls, name: str, url: str, prepare_threshold: int | None) -> PsycopgAsync:
        conn = await psycopg.AsyncConnection.connect(
            url, autocommit=True, prepare_threshold=prepare_threshold
        )
        return cls(name, conn)

    async def claim(self, now: float, until: float, *, any_: bool) -> list[int]:
        cur = self.cur
        await cur.execute("BEGIN")
        try:
            await cur.execute(CLAIM_SELECT, (now,))
            ids = [row[0] for row in await cur.fetchall()]
            if any_:
                await cur.execute(CLAIM_ANY, (OWNER, until, ids))
            else:
                await cur.executemany(CLAIM_ONE, [(OWNER, until, i) for i in ids])
        except BaseException:
            await cur.execute("ROLLBACK")
            raise
        await cur.execute("COMMIT")
        return ids

    async def outcome(
        self, attempts: list[Attempt], updates: list[Outcome], *, unnest: bool
    ) -> None:
        cur = self.cur
        await cur.execute("BEGIN")
        try:
            if unnest:
                await cur.execute(INSERT_ATTEMPTS_UNNEST, _columns(attempts))
                await cur.execute(UPDATE_OUTCOMES_UNNEST, _columns(updates))
            else:
                await cur.executemany(INSERT_ATTEMPT, attempts)
                await cur.executemany(UPDATE_OUTCOME, updates)
        except BaseException:
            await cur.execute("ROLLBACK")
            raise
        await cur.execute("COMMIT")

    async def close(self) -> None:
        await self.conn.close()


_A_CLAIM_SELECT: Final = _numbered(CLAIM_SELECT)
_A_CLAIM_ANY: Final = _numbered(CLAIM_ANY)
_A_CLAIM_ONE: Final = _numbered(CLAIM_ONE)
_A_INSERT_ATTEMPT: Final = _numbered(INSERT_ATTEMPT)
_A_UPDATE_OUTCOME: Final = _numbered(UPDATE_OUTCOME)
_A_INSERT_ATTEMPTS_UNNEST: Final = _numbered(INSERT_ATTEMPTS_UNNEST)
_A_UPDATE_OUTCOMES_UNNEST: Final = _numbered(UPDATE_OUTCOMES_UNNEST)


class Asyncpg:
    """asyncpg on the loop; it prepares (and caches) every statement itself."""

    def __init__(self, name: str, conn: Any, backend_pid: int) -> None:
        self.name = name
        self.conn = conn
        self.backend_pid = backend_pid

    @classmethod
    async def open(cls, name: str, url: str) -> Asyncpg:
        conn = await asyncpg.connect(url)
        pid: int = conn.get_server_pid()
        return cls(name, conn, pid)

    async def claim(self, now: float, until: float, *, any_: bool) -> list[int]:
        async with self.conn.transaction():
            ids = [row[0] for row in await self.conn.fetch(_A_CLAIM_SELECT, now)]
            if any_:
                await self.conn.execute(_A_CLAIM_ANY, OWNER, until, ids)
            else:
                await self.conn.executemany(_A_CLAIM_ONE, [(OWNER, until, i) for i in ids])
        return ids

    async def outcome(
        self, attempts: list[Attempt], updates: list[Outcome], *, unnest: bool
    ) -> None:
        async with self.conn.transaction():
            if unnest:
                await self.conn.execute(_A_INSERT_ATTEMPTS_UNNEST, *_columns(attempts))
                await self.conn.execute(_A_UPDATE_OUTCOMES_UNNEST, *_columns(updates))
            else:
                await self.conn.executemany(_A_INSERT_ATTEMPT, attempts)
                await self.conn.executemany(_A_UPDATE_OUTCOME, updates)

    async def close(self) -> None:
        await self.conn.close()


async def open_modes(url: str) -> list[Mode]:
    return [
        PsycopgThread("psycopg sync, thread (prepare 5, default)", url, 5),
        PsycopgThread("psycopg sync, thread, prepare 0", url, 0),
        PsycopgThread("psycopg sync, thread, never prepare", url, None),
        await PsycopgAsync.open("psycopg async (prepare 5, default)", url, 5),
        await PsycopgAsync.open("psycopg async, prepare 0", url, 0),
        await Asyncpg.open("asyncpg", url),
        PsycopgOnLoop("ref: psycopg sync on the loop, prepare 0", url, 0),
    ]


# -- the server ----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def _own_server() -> Iterator[Callable[[], str]]:
    """A throwaway cluster (initdb, pg_ctl) run as the `postgres` user."""
    base = Path(tempfile.mkdtemp(prefix="bench-drivers-pg-"))
    shutil.chown(base, "postgres", "postgres")
    data, log, port = base / "data", base / "log", _free_port()
    as_postgres = ["runuser", "-u", "postgres", "--"]
    initdb = [str(_PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
    subprocess.run(
        [*as_postgres, *initdb, "-E", "UTF8", "--no-sync"], check=True, stdout=subprocess.DEVNULL
    )
    options = (
        f"-p {port} -k {base} -c listen_addresses=127.0.0.1"
        " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    pg_ctl = [*as_postgres, str(_PG_BIN / "pg_ctl"), "-D", str(data)]
    subprocess.run(
        [*pg_ctl, "-o", options, "-l", str(log), "-w", "start"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    numbers = itertools.count(1)

    def create_database() -> str:
        name = f"bench_{next(numbers)}"
        admin = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}".encode())
        return f"postgresql://postgres@127.0.0.1:{port}/{name}"

    try:
        yield create_database
    finally:
        subprocess.run(
            [*pg_ctl, "-m", "fast", "-w", "stop"], check=False, stdout=subprocess.DEVNULL
        )
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def _shared_server(server_class: Any) -> Iterator[Callable[[], str]]:
    with ExitStack() as stack:
        try:
            server = stack.enter_context(server_class())
        except Exception as exc:  # e.g. it looked for the binaries in the wrong place
            print(f"PostgresServer() failed ({exc!r}): again with bindir={_PG_BIN}", flush=True)
            server = stack.enter_context(server_class(bindir=_PG_BIN))
        create: Callable[[], str] = server.create_database
        yield create


def _server(wait: float) -> tuple[str, AbstractContextManager[Callable[[], str]]]:
    """`tests.postgres.PostgresServer` once it exists (polled for `wait` s), else our own."""
    deadline = time.monotonic() + wait
    announced = False
    while True:
        if _SERVER_MODULE.exists():
            try:
                module = importlib.import_module("tests.postgres")
                return "tests.postgres.PostgresServer", _shared_server(module.PostgresServer)
            except Exception as exc:  # still being written: try again
                sys.modules.pop("tests.postgres", None)
                error = exc
            else:
                error = None
        else:
            error = None
        if time.monotonic() > deadline:
            note = f" ({error!r})" if error else ""
            print(f"tests/postgres.py not usable{note}: starting a server here", flush=True)
            return f"own initdb/pg_ctl in {_PG_BIN}", _own_server()
        if not announced:
            print(f"waiting up to {wait:.0f} s for tests/postgres.py ...", flush=True)
            announced = True
        time.sleep(5)


# -- the measurement -----------------------------------------------------------


def _fill(url: str) -> None:
    """The schema, and CALLS due calls, one per event, due in creation order."""
    base = time.time() - 86_400
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SCHEMA.encode())
        with conn.cursor() as cur:
            columns = "(id, entity_type, event_type, environment, is_environment_primary,"
            columns += " happened_at, entity, previous_entity, related_entities, variants)"
            with cur.copy(f"COPY events {columns} FROM STDIN".encode()) as copy:
                for i in range(1, CALLS + 1):
                    copy.write_row(
                        (i, "item", "update", "main", 1, base + i, _ENTITY, None, "[]", None)
                    )
            columns = "(id, webhook_id, event_id, entity_type, event_type, created_at, status,"
            columns += " due_at)"
            with cur.copy(f"COPY webhook_calls {columns} FROM STDIN".encode()) as copy:
                for i in range(1, CALLS + 1):
                    created = base + i + 0.5
                    copy.write_row(
                        (i, 1 + i % WEBHOOKS, i, "item", "update", created, "pending", created)
                    )
            cur.execute("SELECT setval('events_id_seq', %s)", (CALLS,))
            cur.execute("SELECT setval('webhook_calls_id_seq', %s)", (CALLS,))
        conn.execute("VACUUM ANALYZE")


def _reset(admin: psycopg.Connection[tuple[Any, ...]]) -> None:
    """Every call due and unclaimed again, no attempts, no dead rows."""
    admin.execute("TRUNCATE webhook_call_attempts")
    admin.execute(RESET)
    admin.execute("VACUUM ANALYZE webhook_calls")
    admin.execute("CHECKPOINT")


def _server_cpu(pid: int) -> float | None:
    """CPU seconds the backend `pid` has used (None if /proc does not show it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


@dataclass
class Sums:
    """Wall, client CPU and server CPU seconds of a number of operations."""

    count: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    server: float | None = 0.0

    def per_op_ms(self) -> tuple[float, float, float | None]:
        n = max(self.count, 1)
        server = None if self.server is None else 1000 * self.server / n
        return 1000 * self.wall / n, 1000 * self.cpu / n, server


@dataclass
class Segment:
    claim_any: Sums = field(default_factory=Sums)
    claim_many: Sums = field(default_factory=Sums)
    outcome_many: Sums = field(default_factory=Sums)
    outcome_unnest: Sums = field(default_factory=Sums)


async def _timed(sums: Sums, pid: int, op: Callable[[], Awaitable[Any]]) -> Any:
    server_before = _server_cpu(pid)
    cpu, wall = time.process_time(), time.perf_counter()
    result = await op()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    server_after = _server_cpu(pid)
    sums.count += 1
    sums.wall += wall
    sums.cpu += cpu
    if sums.server is not None and server_before is not None and server_after is not None:
        sums.server += server_after - server_before
    else:
        sums.server = None
    return result


async def _segment(mode: Mode, batches: int, warmup: int) -> Segment:
    """`warmup` untimed then `batches` timed claim + outcome pairs, each form in turn."""
    segment = Segment()
    pid = mode.backend_pid
    for number in range(warmup + batches):
        any_ = number % 2 == 0
        now = time.time()

        def claim(now: float = now, any_: bool = any_) -> Awaitable[list[int]]:
            return mode.claim(now, now + 60.0, any_=any_)

        if number < warmup:
            ids = await claim()
        else:
            sums = segment.claim_any if any_ else segment.claim_many
            ids = await _timed(sums, pid, claim)
        if len(ids) != BATCH:
            raise RuntimeError(f"{mode.name}: claimed {len(ids)} calls, not {BATCH}")
        attempts, updates = _outcomes(ids)

        unnest = number // 2 % 2 == 0  # every pairing of the two forms

        def outcome(
            attempts: list[Attempt] = attempts,
            updates: list[Outcome] = updates,
            unnest: bool = unnest,
        ) -> Awaitable[None]:
            return mode.outcome(attempts, updates, unnest=unnest)

        if number < warmup:
            await outcome()
        else:
            sums = segment.outcome_unnest if unnest else segment.outcome_many
            await _timed(sums, pid, outcome)
    return segment


def _median(values: Sequence[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return statistics.median(known) if len(known) == len(values) and known else None


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


Figures = tuple[float | None, float | None, float | None]


def _report(names: Sequence[str], results: dict[str, list[Segment]]) -> None:
    def medians(name: str, part: str) -> Figures:
        figures = [getattr(segment, part).per_op_ms() for segment in results[name]]
        return (
            _median([f[0] for f in figures]),
            _median([f[1] for f in figures]),
            _median([f[2] for f in figures]),
        )

    def best(name: str, forms: dict[str, str]) -> tuple[str, Figures]:
        figures = {form: medians(name, part) for form, part in forms.items()}
        form = min(figures, key=lambda form: figures[form][0] or float("inf"))
        return form, figures[form]

    claims = {"ANY": "claim_any", "many": "claim_many"}
    outcomes = {"many": "outcome_many", "unnest": "outcome_unnest"}
    width = max(len(name) for name in names)
    head = (
        f"{'driver / mode':<{width}}  {'claim ms':>8}  {'claim CPU':>9}  {'form':>4}"
        f"  {'outcome ms':>10}  {'outc. CPU':>9}  {'form':>6}"
        f"  {'srv CPU claim':>13}  {'srv CPU outc.':>13}"
    )
    print()
    print("medians over rounds, ms per operation (256 calls), the faster form of each;")
    print("CPU = this process's CPU time (all threads); srv CPU = the backend's, from /proc")
    print(head)
    print("-" * len(head))
    for name in names:
        claim_form, claim = best(name, claims)
        outcome_form, outcome = best(name, outcomes)
        print(
            f"{name:<{width}}  {_fmt(claim[0]):>8}  {_fmt(claim[1]):>9}  {claim_form:>4}"
            f"  {_fmt(outcome[0]):>10}  {_fmt(outcome[1]):>9}  {outcome_form:>6}"
            f"  {_fmt(claim[2]):>13}  {_fmt(outcome[2]):>13}"
        )
    parts = {
        "claim ANY": "claim_any",
        "claim many": "claim_many",
        "outc. many": "outcome_many",
        "outc. unnest": "outcome_unnest",
    }
    head = f"{'every form: wall ms / CPU ms':<{width}}" + "".join(f"  {part:>13}" for part in parts)
    print()
    print("ANY: UPDATE ... WHERE id = ANY($ids); many: executemany; unnest: one statement")
    print("over unnest() of one array per column")
    print(head)
    print("-" * len(head))
    for name in names:
        cells = []
        for part in parts.values():
            wall, cpu, _ = medians(name, part)
            cells.append(f"  {_fmt(wall) + ' / ' + _fmt(cpu):>13}")
        print(f"{name:<{width}}" + "".join(cells))


async def _run(url: str, rounds: int, batches: int, warmup: int) -> None:
    modes = await open_modes(url)
    names = [mode.name for mode in modes]
    results: dict[str, list[Segment]] = {name: [] for name in names}
    try:
        with psycopg.connect(url, autocommit=True) as admin:
            for number in range(rounds):
                shift = number % len(modes)
                order = modes[shift:] + modes[:shift]
                if number % 2:
                    order.reverse()
                started = time.perf_counter()
                for mode in order:
                    _reset(admin)
                    results[mode.name].append(await _segment(mode, batches, warmup))
                print(
                    f"round {number + 1}/{rounds}: {time.perf_counter() - started:.1f} s",
                    flush=True,
                )
    finally:
        for mode in modes:
            await mode.close()
    _report(names, results)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.drivers", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="segments per mode (medians)")
    parser.add_argument("--batches", type=int, default=40, help="timed batches per segment")
    parser.add_argument("--warmup", type=int, default=4, help="untimed batches per segment")
    parser.add_argument("--wait", type=float, default=600.0, help="s to wait for tests.postgres")
    args = parser.parse_args(argv)
    if (args.batches + args.warmup) * BATCH > CALLS:
        parser.error(f"at most {CALLS // BATCH} batches per segment")
    where, server = _server(args.wait)
    with server as create_database:
        url = create_database()
        _fill(url)
        with psycopg.connect(url) as conn:
            version = conn.execute("SHOW server_version").fetchone()
            settings = conn.execute(
                "SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) FROM pg_settings"
                " WHERE name IN ('fsync', 'synchronous_commit', 'shared_buffers')"
            ).fetchone()
        print(f"server: {where}; PostgreSQL {version and version[0]}; {settings and settings[0]}")
        print(
            f"psycopg {psycopg.__version__} (libpq {psycopg.pq.version()}, {psycopg.pq.__impl__}),"
            f" asyncpg {asyncpg.__version__}, Python {sys.version.split()[0]},"
            f" {os.cpu_count()} CPUs; {args.rounds} rounds x {args.batches} batches"
            f" of {BATCH} calls per mode"
        )
        asyncio.run(_run(url, args.rounds, args.batches, args.warmup))


if __name__ == "__main__":
    main()
