"""The package's layers import one way: the content model knows nothing of HTTP or of
the dispatcher, and the dispatcher nothing of its HTTP API (which is assembled in
`reference.app`)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REFERENCE = Path(__file__).resolve().parent.parent / "reference"


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, at run time or for type checking."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _offending(modules: set[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in forbidden))


@pytest.mark.parametrize(
    "path", sorted((REFERENCE / "content").glob("*.py")), ids=lambda p: f"content/{p.name}"
)
def test_the_content_model_knows_no_http_and_no_dispatcher(path: Path) -> None:
    forbidden = ("reference.api", "reference.dispatcher", "reference.app", "starlette", "httpx")
    assert _offending(_imports(path), forbidden) == []


def test_the_dispatcher_knows_nothing_of_its_http_api() -> None:
    forbidden = ("reference.api", "reference.app", "reference.admin", "starlette")
    assert _offending(_imports(REFERENCE / "dispatcher.py"), forbidden) == []


def test_the_check_sees_imports() -> None:
    """The scan is not blind: the API's modules do import the content model."""
    assert "reference.content" in _imports(REFERENCE / "api" / "items.py")
    assert _offending({"reference.api.items"}, ("reference.api",)) == ["reference.api.items"]
