from __future__ import annotations

import receiver


def _isort_style(name: str) -> tuple[int, str]:
    # the order ruff's RUF022 enforces: CONSTANTS, then Classes, then functions
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_all_is_sorted_and_importable() -> None:
    assert receiver.__all__ == sorted(receiver.__all__, key=_isort_style)
    for name in receiver.__all__:
        assert getattr(receiver, name) is not None


def test_exception_tree_matches_its_docstring() -> None:
    from receiver import exceptions

    for name in exceptions.__all__:
        assert name in (exceptions.__doc__ or "")
        assert issubclass(getattr(exceptions, name), exceptions.ReceiverError)
    assert issubclass(exceptions.ScriptError, exceptions.BehaviourError)
    assert issubclass(exceptions.WaitTimeout, TimeoutError)
