"""The mock receiver's exceptions.

    ReceiverError
    ├── ConfigurationError  settings that cannot work (port out of range, negative limit)
    ├── BehaviourError      a query parameter or script step asks for something impossible
    │   └── ScriptError     a script (file, JSON body, Python list) that does not parse
    ├── WaitTimeout         wait_for() saw fewer requests than asked before its deadline
    └── ServerError         the receiver could not start, or did not stop in time

Each exception carries what it is about (the field and value, the expected and
seen counts) so that the inspection API can answer with a JSON error naming the
field, and a failing test prints what the receiver saw.
"""

from __future__ import annotations

__all__ = [
    "BehaviourError",
    "ConfigurationError",
    "ReceiverError",
    "ScriptError",
    "ServerError",
    "WaitTimeout",
]


class ReceiverError(Exception):
    """Base class of every error the receiver raises on purpose."""


class ConfigurationError(ReceiverError):
    """A setting that cannot work; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class BehaviourError(ReceiverError):
    """A behaviour that cannot be played; `field` names the parameter (dotted path)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


class ScriptError(BehaviourError):
    """A script that does not parse: wrong shape, unknown key, bad step."""


class WaitTimeout(ReceiverError, TimeoutError):
    """`wait_for` gave up: fewer matching requests than `expected` arrived in time."""

    def __init__(self, *, expected: int, seen: int, timeout: float, what: str) -> None:
        super().__init__(
            f"waited {timeout:g} s for {expected} {what}, saw {seen}",
        )
        self.expected = expected
        self.seen = seen
        self.timeout = timeout


class ServerError(ReceiverError):
    """The receiver could not start (port in use, bad script) or did not stop in time."""
