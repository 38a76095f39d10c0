from __future__ import annotations

import anyio
import httpx
import pytest

from receiver import MockReceiver

pytestmark = pytest.mark.anyio


async def test_list_filter_and_clear(mock_receiver: MockReceiver) -> None:
    async with httpx.AsyncClient(base_url=mock_receiver.url) as client:
        await client.post("/a", content=b"1")
        await client.get("/b")
        await client.post("/a?status=201", content=b"\xff")
        listing = (await client.get("/_receiver/requests?path=/a&method=post")).json()
        assert listing["count"] == 2 and listing["lean"] is False
        first, second = listing["requests"]
        assert (first["seq"], first["body"], first["body_encoding"]) == (1, "1", "utf-8")
        assert (second["status"], second["body_encoding"], second["query"]) == (
            201,
            "base64",
            "status=201",
        )
        assert set(first) == {
            "seq", "connection", "listener", "method", "path", "query", "headers", "body",
            "body_encoding", "body_size", "body_truncated", "client", "received_at",
            "answered_at", "abandoned_at", "outcome", "status", "script_step", "signature",
        }  # fmt: skip
        since = (await client.get("/_receiver/requests?since=2")).json()
        assert [r["seq"] for r in since["requests"]] == [3]
        assert (await client.delete("/_receiver/requests")).status_code == 204
        assert (await client.get("/_receiver/requests")).json()["requests"] == []
    assert mock_receiver.count() == 0  # inspection requests are not recorded


async def test_unknown_inspection_paths_are_404_and_not_recorded(
    mock_receiver: MockReceiver,
) -> None:
    async with httpx.AsyncClient(base_url=mock_receiver.url) as client:
        assert (await client.get("/_receiver/nothing")).status_code == 404
    assert mock_receiver.count() == 0


@pytest.mark.parametrize(
    "query",
    [
        "since=-1",
        "since=x",
        "count=1.5",
        "timeout=301",
        "done=maybe",
        "timeout=nan",
        "count=%D9%A3",  # an Arabic-Indic 3: not ASCII digits
        "timeout=%D9%A3",
    ],
)
async def test_bad_query_parameters_are_400(mock_receiver: MockReceiver, query: str) -> None:
    endpoint = "requests" if query.startswith("since") else "wait"
    async with httpx.AsyncClient(base_url=mock_receiver.url) as client:
        response = await client.get(f"/_receiver/{endpoint}?{query}")
    assert response.status_code == 400
    assert response.json()["field"] == query.split("=")[0]


async def test_wait_long_polls_until_the_count_is_reached(mock_receiver: MockReceiver) -> None:
    async with httpx.AsyncClient(base_url=mock_receiver.url, timeout=5) as client:
        results: list[httpx.Response] = []
        async with anyio.create_task_group() as group:

            async def wait() -> None:
                results.append(await client.get("/_receiver/wait?count=2&path=/hook&timeout=5"))

            group.start_soon(wait)
            await client.post("/hook")
            await client.post("/other")
            await client.post("/hook")
        [response] = results
        assert response.status_code == 200
        assert response.json()["count"] == 2
        assert [r["path"] for r in response.json()["requests"]] == ["/hook", "/hook"]


async def test_wait_done_waits_for_outcomes(mock_receiver: MockReceiver) -> None:
    async with httpx.AsyncClient(base_url=mock_receiver.url, timeout=5) as client:
        response = await client.get("/_receiver/wait?count=1&done=1&timeout=0.05")
        assert response.status_code == 408
        await client.post("/hook?status=202")
        response = await client.get("/_receiver/wait?count=1&done=1")
        assert response.json()["requests"][0]["outcome"] == "answered"


async def test_wait_times_out_with_408(mock_receiver: MockReceiver) -> None:
    async with httpx.AsyncClient(base_url=mock_receiver.url) as client:
        await client.post("/hook")
        response = await client.get("/_receiver/wait?count=2&timeout=0.1")
    assert response.status_code == 408
    assert response.json()["count"] == 1
    assert "saw 1" in response.json()["error"]


async def test_a_stop_ends_a_long_poll(mock_receiver: MockReceiver) -> None:
    async with httpx.AsyncClient(base_url=mock_receiver.url, timeout=5) as client:
        results: list[httpx.Response] = []
        async with anyio.create_task_group() as group:

            async def wait() -> None:
                results.append(await client.get("/_receiver/wait?count=1&timeout=60"))

            group.start_soon(wait)
            await anyio.wait_all_tasks_blocked()
            with anyio.fail_after(2):
                await anyio.to_thread.run_sync(mock_receiver.stop)
    assert [response.status_code for response in results] == [503]


ROUTE = {"path": "/hook", "method": "POST", "steps": [{"status": 500, "times": 2}, {"status": 200}]}


async def test_routes_set_get_and_delete(mock_receiver: MockReceiver) -> None:
    async with httpx.AsyncClient(base_url=mock_receiver.url) as client:
        response = await client.post("/_receiver/routes", json=ROUTE)
        assert response.status_code == 201
        assert response.json() == {**ROUTE, "served": 0}
        statuses = [(await client.post("/hook")).status_code for _ in range(3)]
        assert statuses == [500, 500, 200]
        assert (await client.get("/hook")).status_code == 200  # POST only
        listing = (await client.get("/_receiver/routes")).json()
        assert listing == {"routes": [{**ROUTE, "served": 3}]}
        other = {"path": "/other", "steps": [{"status": 410}]}
        response = await client.put("/_receiver/routes", json={"routes": [other]})
        assert response.json() == {"routes": [{**other, "method": "*", "served": 0}]}
        assert (await client.post("/hook")).status_code == 200  # the PUT replaced it
        assert (await client.delete("/_receiver/routes?path=/nope")).status_code == 404
        assert (await client.delete("/_receiver/routes?path=/other")).status_code == 204
        await client.post("/_receiver/routes", json=other)
        assert (await client.delete("/_receiver/routes")).status_code == 204
        assert (await client.get("/_receiver/routes")).json() == {"routes": []}
    [step] = [r.script_step for r in mock_receiver.requests() if r.path == "/hook"][:1]
    assert step == 0


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b"{", 400, ""),
        (b'{"path": "/hook", "steps": [{"status": 999}]}', 422, "steps[0].status"),
        (b'{"path": "/hook"}', 422, "steps"),
        (b'{"path": "/_receiver/x", "steps": [{}]}', 422, "path"),
    ],
)
async def test_bad_routes_are_refused(
    mock_receiver: MockReceiver, body: bytes, status: int, field: str
) -> None:
    async with httpx.AsyncClient(base_url=mock_receiver.url) as client:
        response = await client.post("/_receiver/routes", content=body)
        assert (response.status_code, response.json()["field"]) == (status, field)
        response = await client.put("/_receiver/routes", content=b'{"routes": {}}')
        assert response.status_code == 422


async def test_info_names_the_fault_listener(mock_receiver: MockReceiver) -> None:
    async with httpx.AsyncClient(base_url=mock_receiver.url) as client:
        info = (await client.get("/_receiver/info")).json()
    assert info["fault_url"] == mock_receiver.fault_url
    assert set(info["faults"]) == {"close", "reset", "garbage", "no-read"}
    assert "dribble" in info["parameters"]
    assert set(info["signatures"]) == {"valid", "missing", "invalid", "stale"}
