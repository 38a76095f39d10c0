"""The bundled dispatcher passes every case of the suite, SHOULD and MAY included.

The broken dispatchers beside this file are this dispatcher with one defect
each; this is the run they are compared against.
"""

from __future__ import annotations

from pathlib import Path

from tests.conformance.servers import failing_cases, served


def test_the_reference_passes_every_case(tmp_path: Path) -> None:
    with served(tmp_path / "reference.db") as url:
        failing = failing_cases(url, tmp_path / "report")
    assert failing == {}
