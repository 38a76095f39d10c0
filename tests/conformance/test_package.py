"""The `conformance` package declares its public API."""

from __future__ import annotations

import conformance


def _isort_style(name: str) -> tuple[int, str]:
    # the order ruff's RUF022 enforces: CONSTANTS, then Classes, then functions
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_all_is_sorted_and_importable() -> None:
    assert conformance.__all__ == sorted(conformance.__all__, key=_isort_style)
    for name in conformance.__all__:
        assert getattr(conformance, name) is not None


def test_all_names_the_case_api() -> None:
    assert {"Case", "Level", "MUST", "REGISTRY", "Target", "case", "main"} <= set(
        conformance.__all__
    )
