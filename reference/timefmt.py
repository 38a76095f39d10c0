"""Times on the wire and in the store: ISO 8601 UTC text and epoch seconds."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["format_time", "from_epoch", "parse_time", "to_epoch"]


def format_time(moment: datetime) -> str:
    """`2026-11-27T03:00:00.123Z`: UTC with milliseconds, as the CMA writes times."""
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """An ISO 8601 time; without an offset it is taken as UTC. Raises ValueError."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def to_epoch(moment: datetime) -> float:
    return moment.timestamp()


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
