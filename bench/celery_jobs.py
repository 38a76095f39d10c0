"""The Celery rival of scenario 8: post one webhook call with `requests`, record the
attempt durably (`bench.rival_log`), then return; the message is acknowledged only
after that (`task_acks_late`).

The worker runs as `celery -A bench.celery_jobs worker -P gevent -c 200`: Celery's
advice for I/O-bound tasks is a green-thread pool, which monkey-patches the standard
library, so `requests` waits for the receiver without holding an OS thread. The broker
is the Redis of `REDIS_URL`; the records go to a list on that same Redis.
"""

from __future__ import annotations

import os

from celery import Celery
from redis import Redis

from bench.rival_log import post_and_record, session

__all__ = ["POOL", "PREFETCH", "app", "post"]

#: green threads of the one worker process: calls in flight at most
POOL = 200
#: messages reserved per green thread; with late acknowledgement the worker then holds
#: at most POOL unacknowledged messages, each one being worked on, none waiting behind
#: a slow call while another worker (or a restarted one) could take it
PREFETCH = 1

app = Celery("bench", broker=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
app.conf.update(
    task_acks_late=True,
    worker_prefetch_multiplier=PREFETCH,
    task_ignore_result=True,
    task_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    # The Redis transport keeps 10 connections by default; every green thread acks its
    # own message, and an ack that finds no free connection makes the worker drop its
    # broker connection and put its unacknowledged messages back, to be sent again.
    broker_transport_options={"max_connections": POOL + 10},
)

# Keep-alive connections shared by the green threads, up to one per thread and receiver.
_session = session(POOL)
_records: Redis | None = None


def _redis() -> Redis:
    global _records
    if _records is None:
        _records = Redis.from_url(app.conf.broker_url)
    return _records


def _post(call: int, url: str, body: bytes, headers: dict[str, str], enqueued: float) -> int:
    """Raises on a network error or an answer other than 2xx, after recording it."""
    return post_and_record(_session, _redis(), call, url, body, headers, enqueued)


post = app.task(name="bench.post")(_post)
