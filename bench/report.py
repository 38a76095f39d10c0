"""The table: printed, and written as JSON and Markdown to `bench/results/`."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import Row

__all__ = ["RESULTS", "machine", "markdown", "write"]

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, float) and value.is_integer() and abs(value) >= 100:
        return f"{int(value):,}"
    if isinstance(value, int | float):
        return f"{value:,}"
    return str(value).replace("|", "\\|")


def markdown(rows: Sequence[Row], info: dict[str, Any], seconds: float) -> str:
    head = (
        f"Machine: {info['cpu'] or 'unknown CPU'}, {info['cores']} cores, Python"
        f" {info['python']}, {info['system']}; receiver and dispatcher on the same"
        f" machine, loopback. Whole run: {seconds:.0f} s. The value column is SQLite's (the"
        " default store) where a scenario stores calls; scenarios 2 to 7 also ran on"
        " PostgreSQL, whose figure is in its own column, and a goal counts as met only when"
        " both backends meet it (PostgreSQL's ratio is in the notes); 9 and 10 are on"
        " PostgreSQL alone. PostgreSQL is durable (fsync on) and on disk, as SQLite is"
        " (synchronous=FULL), and Redis writes every command to its append-only file with"
        " fsync before answering (8, 11). Rates and times vary by up to a factor of two"
        " between runs on this shared machine; ratios within the run are what the goals"
        " are set on.\n\n"
    )
    lines = [
        "| # | figure | value | PostgreSQL | unit | ratio | against | goal | met | notes |",
        "|---|---|---:|---:|---|---:|---|---|---|---|",
    ]
    for row in rows:
        cells = (
            row.scenario,
            row.figure,
            row.value,
            row.postgresql,
            row.unit,
            row.ratio,
            row.against,
            row.goal,
            row.met,
            row.note,
        )
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return head + "\n".join(lines) + "\n"


def write(rows: Sequence[Row], seconds: float, options: dict[str, Any]) -> str:
    info = machine()
    RESULTS.mkdir(exist_ok=True)
    document = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": info,
        "options": options,
        "seconds": round(seconds, 1),
        "rows": [row.to_json() for row in rows],
    }
    (RESULTS / "latest.json").write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    text = markdown(rows, info, seconds)
    (RESULTS / "latest.md").write_text(text)
    return text
