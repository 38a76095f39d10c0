"""The receiver's clock: wall-clock seconds, so recorded times compare with `time.time()`."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["Clock", "system_clock"]

Clock = Callable[[], float]
"""Seconds since the epoch, as a float; tests pass a fake one."""

system_clock: Clock = time.time
