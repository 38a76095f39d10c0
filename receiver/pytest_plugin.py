"""The pytest plugin (entry point ``pytest11``): the `mock_receiver` fixture.

Options go in a marker: ``@pytest.mark.mock_receiver(lean=True)``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from receiver.server import MockReceiver

__all__ = ["mock_receiver", "pytest_configure"]


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker, so that ``--strict-markers`` accepts it."""
    config.addinivalue_line(
        "markers", "mock_receiver(**options): keyword arguments for MockReceiver in the fixture"
    )


@pytest.fixture
def mock_receiver(request: pytest.FixtureRequest) -> Iterator[MockReceiver]:
    """A started `MockReceiver` on loopback ports, stopped after the test."""
    marker = request.node.get_closest_marker("mock_receiver")
    options = dict(marker.kwargs) if marker else {}
    with MockReceiver(**options) as receiver:
        yield receiver
