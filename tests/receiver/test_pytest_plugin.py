from __future__ import annotations

import httpx
import pytest

from receiver import MockReceiver


def test_the_fixture_is_a_started_receiver(mock_receiver: MockReceiver) -> None:
    assert httpx.get(mock_receiver.url + "/ping").status_code == 200
    assert [record.path for record in mock_receiver.requests()] == ["/ping"]


@pytest.mark.mock_receiver(lean=True, body_limit=10)
def test_a_marker_passes_options(mock_receiver: MockReceiver) -> None:
    assert mock_receiver.settings.lean
    httpx.post(mock_receiver.url + "/ping", content=b"x")
    assert mock_receiver.count() == 1
    assert mock_receiver.requests() == []
