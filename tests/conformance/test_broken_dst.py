"""A dispatcher that calls wherever its webhooks point fails the DST cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from reference.destinations import DestinationPolicy
from tests.conformance.servers import failing_cases, served


def test_no_destination_policy_fails_both_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Wrong: every address is allowed (contract §8: link-local ones never are).
    monkeypatch.setattr(DestinationPolicy, "refusal", lambda self, address: None)
    with served(tmp_path / "anywhere.db") as url:
        failing = failing_cases(url, tmp_path / "report", "DST")
    assert failing == {"DST-001": "non-strict", "DST-002": "non-strict"}
