"""Any body, however wrong, gets a precise 4xx and changes nothing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference import Dispatcher, Settings
from tests.reference.conftest import TOKEN, api_client
from tests.reference.factories import webhook_attributes

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
keys = st.sampled_from([*webhook_attributes().keys(), "enabled", "auto_retry", "other"])


@settings(
    max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(
    body=st.one_of(
        json_values,
        st.dictionaries(keys, json_values).map(
            lambda attrs: {
                "data": {"type": "webhook", "attributes": {**webhook_attributes(), **attrs}}
            }
        ),
    )
)
def test_random_bodies_never_crash_or_change_state(tmp_path: Path, body: Any) -> None:
    async def run() -> None:
        dispatcher = Dispatcher(Settings(api_token=TOKEN, db=":memory:"))
        async with dispatcher, api_client(dispatcher) as api:
            response = await api.post("/webhooks", content=json.dumps(body))
            assert response.status_code in (201, 422), response.text
            webhooks = (await api.get("/webhooks")).json()["data"]
            if response.status_code == 422:
                (error,) = response.json()["data"]
                assert error["attributes"]["code"] in ("INVALID_FIELD", "INVALID_FORMAT")
                assert error["attributes"]["details"]["message"]
                assert webhooks == []
            else:
                assert webhooks == [response.json()["data"]]

    asyncio.run(run())
