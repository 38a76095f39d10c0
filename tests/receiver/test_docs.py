"""The README's receiver section stays true: it names every parameter, fault and field,
and its examples run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_type_hints

import pytest

from receiver.behaviours import FAULTS, PARAMETERS
from receiver.recording import OUTCOMES, RecordedRequestJSON

DOC = Path(__file__).parents[2] / "README.md"
_README = DOC.read_text(encoding="utf-8")
_START = _README.index("## The mock webhook receiver")
_END = _README.index("\n## ", _START + 1)
TEXT = _README[_START:_END]
EXAMPLES = re.findall(r"```python\n(.*?)```", TEXT, flags=re.DOTALL)


def test_every_parameter_fault_outcome_and_field_is_documented() -> None:
    names = [p.name for p in PARAMETERS] + list(FAULTS) + list(OUTCOMES)
    names += list(get_type_hints(RecordedRequestJSON))
    missing = [name for name in names if f"`{name}`" not in TEXT]
    assert missing == []


def test_every_inspection_route_is_documented() -> None:
    for route in ("requests", "wait", "routes", "info"):
        assert f"/_receiver/{route}" in TEXT


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"example-{i}" for i in range(len(EXAMPLES))])
def test_the_examples_run(example: str) -> None:
    exec(compile(example, str(DOC), "exec"), {"__name__": "docs_example"})
