from __future__ import annotations

import reference


def test_public_api_imports_and_is_sorted() -> None:
    assert reference.__all__ == sorted(reference.__all__)
    for name in reference.__all__:
        assert getattr(reference, name) is not None
