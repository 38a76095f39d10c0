"""What every scenario shares: a result row, the sample event and webhook, CPU meters."""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from typing import Any

from reference import Event

__all__ = ["CpuMeter", "Row", "sample_event", "webhook_attributes"]

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Row:
    """One figure of the table, with what it is measured against."""

    scenario: str
    figure: str
    value: float
    unit: str
    ratio: float | None = None
    against: str = ""
    goal: str = ""
    met: bool | None = None
    note: str = ""
    #: the same figure with the store on PostgreSQL, for the scenarios run on both
    postgresql: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def sample_event(number: int, event_type: str = "create") -> Event:
    """A record of a realistic size (the default body is about 700 bytes)."""
    entity = {
        "id": str(number),
        "type": "item",
        "attributes": {
            "title": f"Article {number}",
            "slug": f"article-{number}",
            "summary": "A benchmark record with a few attributes of ordinary size. " * 3,
            "published": True,
            "word_count": 812,
        },
        "relationships": {"item_type": {"data": {"id": "42", "type": "item_type"}}},
        "meta": {"status": "published", "current_version": f"v{number}"},
    }
    return Event("item", event_type, entity)


def webhook_attributes(name: str, url: str, event_type: str = "create") -> dict[str, Any]:
    return {
        "name": name,
        "url": url,
        "custom_payload": None,
        "headers": {},
        "events": [{"entity_type": "item", "event_types": [event_type]}],
        "http_basic_user": None,
        "http_basic_password": None,
    }


class CpuMeter:
    """CPU time used by a process (another one by pid, or this one) over a window."""

    def __init__(self, pid: int | None = None) -> None:
        self._pid = pid
        self._cpu = 0.0
        self._wall = 0.0

    def _cpu_seconds(self) -> float:
        if self._pid is None:
            return time.process_time()
        with open(f"/proc/{self._pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS

    def start(self) -> None:
        self._cpu, self._wall = self._cpu_seconds(), time.perf_counter()

    def percent(self) -> float:
        """Percent of one core since `start()`."""
        wall = time.perf_counter() - self._wall
        return 100.0 * (self._cpu_seconds() - self._cpu) / wall if wall > 0 else 0.0
