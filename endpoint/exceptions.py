"""The receiving kit's exceptions, one hierarchy.

    EndpointError
    ├── ConfigurationError   a setting that cannot work (the CLI names its option)
    ├── Unauthorized         basic auth or the signature does not hold (401)
    ├── PayloadError         a body that is not a webhook payload (400), naming what is wrong
    └── QueueError           the queue's storage cannot be used (a SQLite file, a Redis server)

Each carries what it is about, so that the app can answer with it and the CLI can
print it on one line.
"""

from __future__ import annotations

__all__ = ["ConfigurationError", "EndpointError", "PayloadError", "QueueError", "Unauthorized"]


class EndpointError(Exception):
    """Base class of every error the kit raises on purpose."""


class ConfigurationError(EndpointError):
    """A setting that cannot work."""


class Unauthorized(EndpointError):
    """The request did not prove it comes from the sender: `reason` says how (401)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PayloadError(EndpointError):
    """The body is not a webhook payload; `field` names the member (dotted path, empty for
    the body as a whole) and `message` what is wrong with it (400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


class QueueError(EndpointError):
    """The queue's storage cannot be used."""
