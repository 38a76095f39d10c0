"""The auto-retry schedule (SPEC §8), as data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

__all__ = ["DEFAULT_RETRY_DELAYS", "RetrySchedule"]

# SPEC §8: 2 min, 6 min, 30 min, 1 h, 5 h, 1 day, 2 days after the attempt before.
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (120, 360, 1800, 3600, 18000, 86400, 172800)


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """Gaps between attempts; `scale` shrinks them all (tests), never the code."""

    delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS
    scale: float = 1.0

    def delay_after(self, retries_done: int) -> timedelta | None:
        """The gap before the next retry, or None when every retry has been spent."""
        if retries_done >= len(self.delays):
            return None
        return timedelta(seconds=self.delays[retries_done] * self.scale)
