"""The receiving kit stands alone: its library modules import nothing of the dispatcher
(a receiver installs the kit without running a dispatcher); only the command line reuses
the servers' binding of a port (reference/serving.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ENDPOINT = Path(__file__).resolve().parents[2] / "endpoint"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize(
    "path", sorted(p for p in ENDPOINT.glob("*.py") if p.name != "cli.py"), ids=lambda p: p.name
)
def test_the_kit_imports_nothing_of_the_dispatcher(path: Path) -> None:
    assert sorted(m for m in _imports(path) if m.split(".")[0] == "reference") == []


def test_the_command_line_reuses_only_the_servers_conventions() -> None:
    used = {m for m in _imports(ENDPOINT / "cli.py") if m.split(".")[0] == "reference"}
    assert used == {"reference.exceptions", "reference.serving"}
