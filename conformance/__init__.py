"""The webhook conformance suite: every rule of the contract as a case with a stable id.

Run it with `webhooks-conformance --target URL --token TOKEN` (`conformance.cli`);
the cases are registered with `case` (`conformance.cases`) and drive a dispatcher
only through its HTTP API (`conformance.client.Target`).
"""

from __future__ import annotations

from conformance.cases import FAMILIES, MAY, MUST, REGISTRY, SHOULD, Case, Level, case, case_of
from conformance.cli import main
from conformance.client import ApiFailure, Resource, Target

__all__ = [
    "FAMILIES",
    "MAY",
    "MUST",
    "REGISTRY",
    "SHOULD",
    "ApiFailure",
    "Case",
    "Level",
    "Resource",
    "Target",
    "case",
    "case_of",
    "main",
]
