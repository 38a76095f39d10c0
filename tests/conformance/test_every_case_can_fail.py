"""Every case of the suite is failed by at least one deliberately broken dispatcher.

The broken dispatchers live in `tests/conformance/test_broken_*.py`; each test
ends with `assert set(failing) == {...}` (or `failing == {id: outcome}`), the
exact cases its defect fails.
This reads those sets and checks that together they name every case of the suite.
"""

from __future__ import annotations

import re
from pathlib import Path

import conformance

HERE = Path(__file__).resolve().parent
SUITE = Path(conformance.__file__).resolve().parent
_CASE = re.compile(r'@case\(\s*"([A-Z]{3}-\d{3})"')
_EXACTLY = re.compile(r"assert (?:set\(failing\)|failing) == \{([^}]*)\}")
_ID = re.compile(r'"([A-Z]{3}-\d{3})"')


def _registered() -> set[str]:
    # Read, not imported: the case modules use the suite's own pytest markers.
    found: set[str] = set()
    for path in sorted(SUITE.glob("test_*.py")):
        found.update(_CASE.findall(path.read_text(encoding="utf-8")))
    return found


def _failed_by_some_broken_dispatcher() -> set[str]:
    found: set[str] = set()
    for path in sorted(HERE.glob("test_broken_*.py")):
        for listed in _EXACTLY.findall(path.read_text(encoding="utf-8")):
            found.update(_ID.findall(listed))
    return found


def test_every_case_is_failed_by_a_broken_dispatcher() -> None:
    registered = _registered()
    assert len(registered) >= 90
    missing = sorted(registered - _failed_by_some_broken_dispatcher())
    assert missing == [], f"no broken dispatcher fails {missing}"


def test_broken_dispatchers_name_only_registered_cases() -> None:
    unknown = sorted(_failed_by_some_broken_dispatcher() - _registered())
    assert unknown == []
