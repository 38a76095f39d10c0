"""The receiving kit: an ASGI endpoint that takes DatoCMS-style webhook calls in as the
guide tells receivers to (check, validate, store, answer `202`), and workers that run
your handler on each accepted event later, at least once, with retries (contract §10).

    from endpoint import Endpoint, Event

    def handle(event: Event) -> None:
        ...

    app = Endpoint(handle, db="events.db")
"""

from __future__ import annotations

from endpoint.app import Endpoint
from endpoint.auth import BasicAuth, SignatureCheck
from endpoint.events import ENTITY_EVENTS, Event, PayloadParser, Resource, parse_payload
from endpoint.exceptions import (
    ConfigurationError,
    EndpointError,
    PayloadError,
    QueueError,
    Unauthorized,
)
from endpoint.handlers import Handler
from endpoint.queue import Queue
from endpoint.retries import DEFAULT_RETRY_DELAYS, RetrySchedule
from endpoint.sqlite import SqliteQueue

__all__ = [
    "DEFAULT_RETRY_DELAYS",
    "ENTITY_EVENTS",
    "BasicAuth",
    "ConfigurationError",
    "Endpoint",
    "EndpointError",
    "Event",
    "Handler",
    "PayloadError",
    "PayloadParser",
    "Queue",
    "QueueError",
    "Resource",
    "RetrySchedule",
    "SignatureCheck",
    "SqliteQueue",
    "Unauthorized",
    "parse_payload",
]
