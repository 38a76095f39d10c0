"""Scenario 10: the claim's cost as the due backlog grows, on PostgreSQL, with its plan.

One database grows from the smallest size to the largest: each step inserts the
missing due calls with one `INSERT ... SELECT FROM generate_series` (all pointing
to one stored event, due at random moments of the past week), then VACUUM
ANALYZE. At each size the production claim (`store.claim`, 256 calls) is timed
after a few warm-ups, each claim given back (`store.release`) so the backlog
keeps its size; only the claim is timed.

The SQL and parameters the claim sends (its locking SELECTs, and the UPDATE
that marks the calls claimed) are recorded on the store's database and
explained on a connection of their own, in a transaction rolled back (EXPLAIN
ANALYZE of `FOR UPDATE` locks rows, of the UPDATE changes them): the custom
plan a one-off statement gets, and the generic plan the claim may run once
psycopg has prepared it (after 5 executions) and PostgreSQL has cached one plan
for all parameters. The full plans go to `bench/results/claim_plans.txt`.

`python -m bench.claims [--quick]` starts its own PostgreSQL server and prints the rows.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from bench.common import Row, sample_event, webhook_attributes
from reference.store import Transaction, create_store
from reference.store.database import Cursor
from reference.store.sql import SQLStore
from reference.timefmt import to_epoch
from reference.webhooks import Webhook
from tests.postgres import PostgresServer

__all__ = ["PLANS", "measure"]

SCENARIO = "10 claim cost"
SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (10_000, 100_000)
LIMIT = 256  # what the dispatcher claims at once
LEASE = 30.0
WARMUPS = 3
REPEATS = 30
SPREAD = 7 * 86_400.0  # due calls are due at some moment of the past week
URL = "http://127.0.0.1:9/claims"  # never called: nothing is sent
PLANS = Path(__file__).parent / "results" / "claim_plans.txt"


@dataclass(frozen=True, slots=True)
class _Plan:
    """One claim query, explained."""

    label: str
    sql: str
    params: tuple[Any, ...]
    custom: dict[str, Any]  # EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON): the plan node tree
    custom_text: str
    milliseconds: float  # the custom plan's execution time, as EXPLAIN ANALYZE measured it
    generic: dict[str, Any]
    generic_text: str

    @property
    def summary(self) -> str:
        return _summary(self.custom)

    @property
    def problems(self) -> list[str]:
        """What the plans do beside reading the first due calls through an index."""
        found = _problems(self.custom)
        found += [f"generic plan: {p}" for p in _problems(self.generic) if p not in found]
        return found


@dataclass(frozen=True, slots=True)
class _Measured:
    size: int
    samples: list[float]  # ms per claim
    skip_samples: list[float]  # ms per claim with one (idle) webhook skipped
    plans: list[_Plan]  # the claim's queries
    skip_plans: list[_Plan]  # the per-webhook path's queries


# -- filling the backlog ---------------------------------------------------------------


def _create_webhook(tx: Transaction, name: str, now: datetime) -> Webhook:
    return tx.webhooks.create(webhook_attributes(name, URL), now)


def _record_event(tx: Transaction, webhook_id: str, now: datetime) -> list[str]:
    return tx.calls.record(sample_event(0), [webhook_id], now)


def _grow(conn: psycopg.Connection[Any], webhook_id: int, size: int, now: float) -> None:
    """Insert due calls until the table holds `size`, then VACUUM ANALYZE it."""
    (have,) = _one(conn, "SELECT COUNT(*) FROM webhook_calls")
    (event_id,) = _one(conn, "SELECT MIN(id) FROM events")
    with conn.transaction():
        conn.execute("SELECT setseed(%s)", (1.0 / (1 + size.bit_length()),))
        conn.execute(
            "INSERT INTO webhook_calls (webhook_id, event_id, entity_type, event_type,"
            " created_at, status, due_at) SELECT %s, %s, 'item', 'create', d, 'pending', d"
            " FROM (SELECT %s - 1 - %s * random() AS d FROM generate_series(1, %s)) AS s",
            (webhook_id, event_id, now, SPREAD, size - int(have)),
        )
    # The previous size's claims left dead rows: each size starts clean.
    conn.execute("VACUUM (ANALYZE) webhook_calls")


def _one(conn: psycopg.Connection[Any], sql: str) -> tuple[Any, ...]:
    row = conn.execute(sql).fetchone()
    if row is None:
        raise RuntimeError(f"no row from {sql}")
    return tuple(row)


# -- the claim -------------------------------------------------------------------------


async def _claim(store: SQLStore, skip: Sequence[str]) -> float:
    """One claim of `LIMIT` calls, given back; its time in ms (the claim's only)."""
    now = datetime.now(UTC)
    started = time.perf_counter()
    calls = await store.claim(now, LIMIT, LEASE, skip, 0)
    elapsed = time.perf_counter() - started
    await store.release([call.id for call in calls])
    if len(calls) != LIMIT:
        raise RuntimeError(f"claimed {len(calls)} calls, not {LIMIT}")
    return elapsed * 1000


async def _timed(store: SQLStore, skip: Sequence[str]) -> list[float]:
    for _ in range(WARMUPS):
        await _claim(store, skip)
    return [await _claim(store, skip) for _ in range(REPEATS)]


async def _captured(store: SQLStore, skip: Sequence[str]) -> list[tuple[str, tuple[Any, ...]]]:
    """What one claim sends to webhook_calls, with the parameters, as the driver gets it:
    its locking SELECTs and the UPDATE that marks the calls claimed."""
    db = store._db
    original = db.execute
    sent: list[tuple[str, tuple[Any, ...]]] = []

    def recording(sql: str, params: Sequence[Any] = ()) -> Cursor:
        # `Database.rows` runs its SQL through `execute`.
        if "FOR UPDATE" in sql or sql.startswith("UPDATE webhook_calls SET claimed = 1"):
            sent.append((db.backend.placeholders(sql), tuple(params)))
        return original(sql, params)

    # On the instance, for this one claim: the claim's own code path, unchanged.
    vars(db)["execute"] = recording
    try:
        await _claim(store, skip)
    finally:
        del vars(db)["execute"]
    return sent


# -- EXPLAIN ---------------------------------------------------------------------------


def _explain(conn: psycopg.Connection[Any], sql: str, params: tuple[Any, ...]) -> _Plan:
    if sql.startswith("UPDATE"):
        label = "mark claimed (UPDATE)"
    elif "resend_requested = 1" in sql:
        label = "resend lookup"
    elif "c.webhook_id = %s" in sql:
        label = f"due lookup of webhook {params[0]}"
    else:
        label = "due lookup"
    custom, custom_text, milliseconds = _explained(conn, sql, params)
    # The generic plan: the statement prepared with $n, parameters inlined in EXECUTE.
    numbers = itertools.count(1)
    prepared = "".join(
        f"${next(numbers)}{part}" if i else part for i, part in enumerate(sql.split("%s"))
    )
    execute = psycopg.ClientCursor(conn).mogrify(
        f"EXECUTE claim_plan ({', '.join(['%s'] * len(params))})", params
    )
    conn.execute(f"PREPARE claim_plan AS {prepared}")
    try:
        with conn.transaction():
            conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            generic, generic_text, _ = _explained(conn, execute, ())
    finally:
        conn.execute("DEALLOCATE claim_plan")
    return _Plan(label, sql, params, custom, custom_text, milliseconds, generic, generic_text)


def _explained(
    conn: psycopg.Connection[Any], sql: str, params: tuple[Any, ...]
) -> tuple[dict[str, Any], str, float]:
    """The plan tree, its text and execution time (ms) of `sql`, run (it locks or changes
    rows) in a transaction rolled back."""
    with conn.transaction(force_rollback=True):
        (document,) = _fetch(conn, f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params)[0]
    with conn.transaction(force_rollback=True):
        lines = _fetch(conn, f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
    tree: dict[str, Any] = document[0]["Plan"]
    return tree, "\n".join(str(line[0]) for line in lines), float(document[0]["Execution Time"])


def _fetch(conn: psycopg.Connection[Any], sql: str, params: tuple[Any, ...]) -> list[Any]:
    return conn.execute(sql, params or None).fetchall()


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", ()):
        yield from _nodes(child)


def _summary(node: dict[str, Any]) -> str:
    """`Limit → LockRows → Nested Loop (Index Scan using ..., ...)`."""
    label = str(node["Node Type"])
    if label == "ModifyTable":
        label = f"{node.get('Operation', label)} on {node.get('Relation Name')}"
    elif "Index Name" in node:
        label += f" using {node['Index Name']}"
    elif "Relation Name" in node:
        label += f" on {node['Relation Name']}"
    if node.get("Relation Name") == "webhook_calls" and "Scan" in node["Node Type"]:
        label += f" ({node['Actual Rows']:,} rows"
        removed = node.get("Rows Removed by Filter", 0)
        label += f", {removed:,} filtered out)" if removed else ")"
    if node["Node Type"] in ("Sort", "Incremental Sort"):
        label += f" by {', '.join(node.get('Sort Key', []))}"
    children = node.get("Plans", [])
    if len(children) == 1:
        return f"{label} → {_summary(children[0])}"
    if children:
        return f"{label} ({', '.join(_summary(child) for child in children)})"
    return label


def _problems(tree: dict[str, Any]) -> list[str]:
    """Sorts and sequential scans, and a claim that reads webhook_calls without an index."""
    problems: list[str] = []
    indexed = False
    for node in _nodes(tree):
        kind = node["Node Type"]
        if kind in ("Sort", "Incremental Sort"):
            rows = node.get("Actual Rows", node.get("Plan Rows"))
            problems.append(
                f"{kind.lower()} by {', '.join(node.get('Sort Key', []))} ({rows} rows)"
            )
        if node.get("Relation Name") == "webhook_calls" and kind != "ModifyTable":
            if kind == "Seq Scan":
                problems.append("seq scan of webhook_calls")
            elif kind in ("Index Scan", "Index Only Scan"):
                indexed = True
            else:
                problems.append(f"{kind.lower()} of webhook_calls")
    if not indexed:
        problems.append("no index scan of webhook_calls")
    return problems


# -- the figure ------------------------------------------------------------------------


async def _run(url: str, sizes: Sequence[int]) -> list[_Measured]:
    created = create_store(url)
    if not isinstance(created, SQLStore):
        raise TypeError(f"expected the SQL store, got {type(created).__name__}")
    store: SQLStore = created
    await store.open()
    try:
        now = datetime.now(UTC)
        webhook = await store.transaction(_create_webhook, "bench", now)
        # Never has a call: skipping it sends the claim down the per-webhook path.
        idle = await store.transaction(_create_webhook, "bench idle", now)
        await store.transaction(_record_event, webhook.id, now)
        measured: list[_Measured] = []
        with psycopg.connect(url, autocommit=True) as conn:
            for size in sizes:
                await asyncio.to_thread(_grow, conn, int(webhook.id), size, to_epoch(now))
                sent = await _captured(store, ())
                skip_sent = await _captured(store, (idle.id,))
                samples = await _timed(store, ())
                skip_samples = await _timed(store, (idle.id,))
                plans = [_explain(conn, sql, params) for sql, params in sent]
                skip_plans = [_explain(conn, sql, params) for sql, params in skip_sent]
                measured.append(_Measured(size, samples, skip_samples, plans, skip_plans))
        return measured
    finally:
        await store.close()


def _p90(samples: Sequence[float]) -> float:
    return statistics.quantiles(samples, n=10, method="inclusive")[8]


def _main_plan(plans: Sequence[_Plan]) -> _Plan:
    """The lookup of due calls: the one that grows with the backlog."""
    return next(plan for plan in plans if plan.label.startswith("due lookup"))


def _plan_note(plans: Sequence[_Plan]) -> str:
    main = _main_plan(plans)
    note = f"plan: {main.summary}"
    generic = _summary(main.generic)
    same = _shape(main.generic) == _shape(main.custom)
    note += "; generic plan the same" if same else f"; generic plan: {generic}"
    update = next((plan for plan in plans if plan.label.startswith("mark claimed")), None)
    note += f"; the SELECT executes in {main.milliseconds:.2f} ms"
    if update is not None:
        note += f", the UPDATE marking the calls claimed in {update.milliseconds:.2f} ms"
        note += f" ({update.summary})"
    return note


def _shape(node: dict[str, Any]) -> list[tuple[str, str]]:
    return [(str(n["Node Type"]), str(n.get("Index Name", ""))) for n in _nodes(node)]


def _write_plans(measured: Sequence[_Measured], path: Path) -> None:
    parts = [
        "The claim's queries on PostgreSQL as the due backlog grows (python -m bench.claims).",
        "Custom plan: EXPLAIN (ANALYZE, BUFFERS) with the claim's parameters, as a one-off",
        "statement gets it. Generic plan: the same statement PREPAREd with",
        "plan_cache_mode = force_generic_plan, as the claim may run it once psycopg has",
        "prepared it. Each run in a transaction rolled back.",
    ]
    for result in measured:
        for path_name, plans in (
            ("claim", result.plans),
            ("one webhook skipped", result.skip_plans),
        ):
            for plan in plans:
                parts += [
                    "",
                    "=" * 88,
                    f"{result.size:,} due calls; {path_name}: {plan.label}",
                    "=" * 88,
                    plan.sql,
                    f"parameters: {plan.params!r}",
                    "",
                    "-- custom plan",
                    plan.custom_text,
                    "",
                    "-- generic plan",
                    plan.generic_text,
                ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts) + "\n")


def measure(server: PostgresServer, sizes: Sequence[int] = SIZES) -> list[Row]:
    """A row per size (the median claim, in ms) and the growth from the smallest to the
    largest; the plans are written to `PLANS`."""
    ordered = sorted(set(sizes))
    if not ordered or ordered[0] < LIMIT:
        raise ValueError(f"sizes must be at least {LIMIT}: {sizes}")
    measured = asyncio.run(_run(server.create_database(), ordered))
    _write_plans(measured, PLANS)
    rows: list[Row] = []
    for result in measured:
        skip = _main_plan(result.skip_plans)
        rows.append(
            Row(
                SCENARIO,
                f"claim of {LIMIT} due calls, {result.size:,} due in all",
                round(statistics.median(result.samples), 2),
                "ms per claim",
                note=f"p90 {_p90(result.samples):.2f} ms; {_plan_note(result.plans)};"
                f" one webhook skipped (per-webhook path): median"
                f" {statistics.median(result.skip_samples):.2f} ms,"
                f" p90 {_p90(result.skip_samples):.2f} ms, plan: {skip.summary}",
            )
        )
    first, last = measured[0], measured[-1]
    growth = statistics.median(last.samples) / statistics.median(first.samples)
    problems = [
        f"{result.size:,}, {plan.label}: {problem}"
        for result in measured
        for plan in result.plans
        for problem in plan.problems
    ]
    skip_problems = [
        f"{result.size:,}, {plan.label}: {problem}"
        for result in measured
        for plan in result.skip_plans
        for problem in plan.problems
    ]
    note = "index scan, no sort" if not problems else "; ".join(problems)
    skip_growth = statistics.median(last.skip_samples) / statistics.median(first.skip_samples)
    note += f"; one webhook skipped: {skip_growth:.2f}x"
    if skip_problems:
        note += f" ({'; '.join(skip_problems)})"
    note += f"; plans in bench/results/{PLANS.name}"
    rows.append(
        Row(
            SCENARIO,
            f"claim time at {last.size:,} ÷ at {first.size:,}",
            round(growth, 2),
            "x",
            goal="flat (≤ 2×)",  # noqa: RUF001 - the sign the table shows
            met=growth <= 2,
            note=note,
        )
    )
    return rows


def _show(rows: Sequence[Row]) -> None:
    for row in rows:
        verdict = "" if row.met is None else ("  [met]" if row.met else "  [NOT met]")
        print(f"{row.value:>10,} {row.unit:<14}{verdict}  {row.figure}")
        print(f"{'':>10} {row.note}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.claims", description=__doc__)
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES}")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with PostgresServer() as server:
        rows = measure(server, QUICK_SIZES if args.quick else SIZES)
    _show(rows)
    print(f"plans: {PLANS}; whole run {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
