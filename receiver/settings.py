"""The receiver's settings: one frozen object, read once at the edge (CLI, MockReceiver)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from receiver.exceptions import ConfigurationError
from receiver.recording import DEFAULT_BODY_LIMIT

__all__ = ["Settings"]


@dataclass(frozen=True)
class Settings:
    """How to run a receiver.

    `port` and `fault_port` 0 mean "any free port"; `lean` keeps counts only
    (no requests, no bodies) for benchmarks; `body_limit` caps each recorded
    body; `script` is a YAML or JSON file of routes loaded at start;
    `stop_timeout` (whole seconds, as uvicorn wants) bounds how long stopping
    may wait for requests in flight that ignore the stop signal.
    """

    host: str = "127.0.0.1"
    port: int = 0
    fault_port: int = 0
    lean: bool = False
    body_limit: int = DEFAULT_BODY_LIMIT
    script: Path | None = None
    stop_timeout: int = 1

    def __post_init__(self) -> None:
        for field in ("port", "fault_port"):
            value = getattr(self, field)
            if not 0 <= value <= 65535:
                raise ConfigurationError(field, f"must be from 0 to 65535, got {value!r}")
        if self.body_limit < 0:
            raise ConfigurationError("body_limit", f"must be >= 0, got {self.body_limit!r}")
        if not 1 <= self.stop_timeout <= 60:
            raise ConfigurationError(
                "stop_timeout", f"must be from 1 to 60 seconds, got {self.stop_timeout!r}"
            )
