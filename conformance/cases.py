"""The case registry: each case has a stable id, a level, its contract section and an expectation.

    @case("HDR-001", MUST, "§5", "x-site-id holds the site id")
    def test_site_id(...): ...

Ids are `FAMILY-NNN`; a family is one of `FAMILIES`. The decorator only
records the case and tags the test function; the plugin (`conformance.plugin`)
turns levels into outcomes and writes the reports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, TypeVar

__all__ = ["FAMILIES", "MAY", "MUST", "REGISTRY", "SHOULD", "Case", "Level", "case", "case_of"]


class Level(StrEnum):
    """RFC 2119 levels: a failed MUST fails the run, SHOULD only with `--strict`, MAY never."""

    MUST = "MUST"
    SHOULD = "SHOULD"
    MAY = "MAY"


MUST: Final = Level.MUST
SHOULD: Final = Level.SHOULD
MAY: Final = Level.MAY

#: The families, in the order of the summary.
FAMILIES: Final = (
    "API",
    "TRG",
    "HDR",
    "PAY",
    "TPL",
    "TMO",
    "OUT",
    "RTY",
    "RSD",
    "LOG",
    "ISO",
    "SIG",
    "DST",
)


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    level: Level
    section: str
    expect: str

    @property
    def family(self) -> str:
        return self.id.split("-", 1)[0]


#: Every case, by id, filled in as the case modules are imported.
REGISTRY: dict[str, Case] = {}

_ATTRIBUTE: Final = "__conformance_case__"

F = TypeVar("F", bound=Callable[..., object])


def case(case_id: str, level: Level, section: str, expect: str) -> Callable[[F], F]:
    """Register a case and tag its test function with it."""
    family, _, number = case_id.partition("-")
    if family not in FAMILIES or not (number.isdigit() and len(number) == 3):
        raise ValueError(f"case ids are FAMILY-NNN with a family of {FAMILIES}, got {case_id!r}")
    if case_id in REGISTRY:
        raise ValueError(f"duplicate case id {case_id!r}")
    registered = Case(case_id, level, section, expect)
    REGISTRY[case_id] = registered

    def tag(function: F) -> F:
        setattr(function, _ATTRIBUTE, registered)
        return function

    return tag


def case_of(function: object) -> Case | None:
    """The case a test function was tagged with, if any."""
    found = getattr(function, _ATTRIBUTE, None)
    return found if isinstance(found, Case) else None
