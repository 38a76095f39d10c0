"""The auto-retry schedule (contract §8), as data."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

__all__ = [
    "DEFAULT_RETRY_DELAYS",
    "RETRY_AFTER_CAP",
    "RETRY_AFTER_STATUSES",
    "RetrySchedule",
    "retry_after",
]

# contract §8: 2 min, 6 min, 30 min, 1 h, 5 h, 1 day, 2 days after the attempt before.
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


#: contract §8: a `Retry-After` on these answers puts the next retry no earlier than it says...
RETRY_AFTER_STATUSES = frozenset({429, 503})
#: ...and no later than this after the attempt.
RETRY_AFTER_CAP = timedelta(hours=24)


def retry_after(value: str, now: datetime) -> int | None:
    """The whole seconds a `Retry-After` value asks to wait from `now`: delay-seconds
    or an HTTP date (RFC 9110 §10.2.3); None when it is neither. A date in the past
    asks for no wait (0)."""
    value = value.strip()
    if value.isascii() and value.isdigit():
        return int(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # "-0000": a time in UTC without a stated zone
        moment = moment.replace(tzinfo=now.tzinfo)
    return max(0, math.ceil((moment - now).total_seconds()))
