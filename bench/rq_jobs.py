"""The RQ rival of scenario 8: post one webhook call with `requests`, record the attempt
durably (`bench.rival_log`), then return; RQ marks the job finished after that.

The workers are RQ's `SimpleWorker`, which runs jobs in its own process (RQ's default
worker forks for every job), one process per core; each keeps its connections to the
receivers open from one job to the next.
"""

from __future__ import annotations

from rq import get_current_job

from bench.rival_log import post_and_record, session

__all__ = ["post"]

# One call at a time per worker process: one connection per receiver is enough.
_session = session(1)


def post(call: int, url: str, body: bytes, headers: dict[str, str], enqueued: float) -> int:
    """Raises on a network error or an answer other than 2xx, after recording it."""
    job = get_current_job()
    if job is None:
        raise RuntimeError("bench.rq_jobs.post runs inside an RQ worker")
    return post_and_record(_session, job.connection, call, url, body, headers, enqueued)
