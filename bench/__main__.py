"""`python -m bench [--quick]`: every scenario of the benchmark, in order, one table."""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Sequence

from bench import (
    alternative,
    backlog,
    ceiling,
    claims,
    deadline,
    endpoint,
    harness,
    latency,
    processes,
    report,
    throughput,
)
from bench.common import Row
from bench.receiver_process import ReceiverProcess


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--events", type=int, default=20_000, help="events of scenario 2")
    parser.add_argument(
        "--backlog", type=int, default=1_000_000, help="due calls of scenario 6 (and a tenth)"
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="length of scenarios 4, 5")
    parser.add_argument(
        "--slow-events", type=int, default=500, help="events of scenario 3 (20 calls each)"
    )
    parser.add_argument(
        "--rival-calls", type=int, default=2_000, help="calls of scenario 8 (2); (3): a fifth"
    )
    parser.add_argument(
        "--endpoint-requests", type=int, default=10_000, help="requests of scenario 11's throughput"
    )
    parser.add_argument("--quick", action="store_true", help="a tenth of everything")
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.backlog, args.seconds = 2_000, 100_000, 2.0
        args.slow_events = 2 * throughput.SLOW_IN_FLIGHT // throughput.SLOW_WEBHOOKS
        args.endpoint_requests = 2_000
        args.rival_calls = 400
    started = time.perf_counter()
    rows: list[Row] = []
    stack = contextlib.ExitStack()
    # Port 0: scenarios 1, 2, 4, 6, 7; port 1: the hung receiver of 5; 1..20: scenario 3.
    receiver = ReceiverProcess(1 + throughput.SLOW_WEBHOOKS)
    receiver.start()
    try:
        server = stack.enter_context(harness.postgres())
        postgres = harness.Databases(server)
        found, rates = ceiling.run(receiver, count=max(5_000, args.events // 2))
        rows += found
        _show(found)
        fast, _ = throughput.fast(receiver, args.events, rates["aiohttp"], postgres)
        slow, _ = throughput.slow(receiver, args.slow_events, postgres)
        rows += _show([*fast, slow])
        rows += _show(
            latency.measure(
                receiver,
                args.seconds,
                rates["aiohttp"],
                postgres,
                rounds=1 if args.quick else 5,
            )
        )
        rows += _show(backlog.measure(receiver, args.backlog // 10, args.backlog, postgres))
        rows += _show([deadline.measure(receiver, postgres)])
        rows += _show(processes.measure(receiver, server, calls=args.events))
        rows += _show(claims.measure(server, claims.QUICK_SIZES if args.quick else claims.SIZES))
        redis_url = alternative.available()
        if redis_url is None:
            print("scenario 8 skipped: REDIS_URL is not set (nox -s bench starts Redis)")
        else:
            # The rivals are slow: (2) and (3) at a tenth of their size and less, and
            # the dispatcher again on exactly those, for rates and p99s that compare.
            slow_urls = [
                receiver.url(i + 1) + f"/slow?delay={throughput.SLOW_DELAY}"
                for i in range(throughput.SLOW_WEBHOOKS)
            ]
            fast_run = throughput.fast_run(receiver, args.rival_calls)
            slow_run = throughput.slow_run(receiver, args.rival_calls // 5 // len(slow_urls))
            rows += _show(
                alternative.measure(
                    redis_url,
                    receiver.url(0) + "/rival",
                    slow_urls,
                    fast_run.calls,
                    slow_run.calls,
                    (fast_run.rate, fast_run.p99_ms),
                    (slow_run.rate, slow_run.p99_ms),
                )
            )
        # Scenario 11, the receiving kit: on SQLite, and on RQ when Redis is there.
        rows += _show(endpoint.measure(args.endpoint_requests, args.seconds, redis_url))
    finally:
        receiver.stop()
        stack.close()
    seconds = time.perf_counter() - started
    text = report.write(rows, seconds, vars(args))
    print()
    print(text)


def _show(rows: list[Row]) -> list[Row]:
    for row in rows:
        verdict = "" if row.met is None else ("  [met]" if row.met else "  [NOT met]")
        ratio = "" if row.ratio is None else f"  ratio {row.ratio}"
        print(f"{row.scenario:<28} {row.value:>10,} {row.unit:<14}{ratio}{verdict}  {row.figure}")
    return rows


if __name__ == "__main__":
    main()
