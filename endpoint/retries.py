"""The handler's retry schedule, as data (like the dispatcher's, contract §8).

A handler that raises is run again after the next gap of the schedule; once every
gap is spent the event is `failed` and stays in the queue for a person to look at.
`scale` shrinks every gap (`--retry-scale 0.001` for tests), never the code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from endpoint.exceptions import ConfigurationError

__all__ = ["DEFAULT_RETRY_DELAYS", "RetrySchedule"]

#: 10 s, 1 min, 5 min, 30 min, 2 h, 6 h, 24 h: 8 runs in all, over about a day and a half.
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (10, 60, 300, 1800, 7200, 21600, 86400)


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """Gaps between the runs of a failing handler, the first after the first failure."""

    delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS
    scale: float = 1.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise ConfigurationError(
                f"the retry scale must be positive and finite, got {self.scale!r}"
            )
        if any(not (math.isfinite(d) and d >= 0) for d in self.delays):
            raise ConfigurationError(f"retry delays must be finite and >= 0, got {self.delays!r}")

    @property
    def attempts(self) -> int:
        """Runs of the handler at most: the first and one per gap."""
        return 1 + len(self.delays)

    def delay_after(self, failures: int) -> float | None:
        """Seconds before the next run once the handler has failed `failures` times
        (1 after the first run), or None when no retry is left."""
        if failures > len(self.delays):
            return None
        return self.delays[failures - 1] * self.scale

    def scaled(self) -> tuple[float, ...]:
        return tuple(d * self.scale for d in self.delays)
