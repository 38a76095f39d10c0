"""Logging for the servers: one line per HTTP request (`reference.access`) and per
delivery attempt (`reference.delivery`), as text or as JSON lines on stderr.

A line's message says what happened in words; its fields (the record's `fields`,
a dict) are the same facts as data, written as members by the JSON format.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = ["LEVELS", "LogFormat", "configure_logging", "log_fields"]

LogFormat = Literal["text", "json"]
LEVELS = ("debug", "info", "warning", "error")
_HANDLER = "reference.logs"


def log_fields(**fields: Any) -> dict[str, Any]:
    """`extra=` for a log call whose line carries these fields."""
    return {"fields": fields}


class _Text(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        line = f"{when}Z {record.levelname:<7} {record.name}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class _Json(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, ensure_ascii=False, default=str)


class _Stderr(logging.Handler):
    """Writes each line to `sys.stderr` as it is then, as `logging.lastResort` does, not
    to the stream it was when logging was configured: a host or a test runner that swaps
    stderr (and closes the old one) still gets the lines."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)


def configure_logging(level: str = "info", log_format: LogFormat = "text") -> None:
    """Send the dispatcher's logs to stderr at `level`, as `text` or `json` lines."""
    if level not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, got {level!r}")
    handler = _Stderr()
    handler.setFormatter(_Json() if log_format == "json" else _Text())
    handler.set_name(_HANDLER)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER]:
        root.removeHandler(old)  # configured again: one handler, the new one
    root.addHandler(handler)
    root.setLevel(level.upper())
    # The servers' own access logs would repeat ours.
    logging.getLogger("uvicorn.access").disabled = True
