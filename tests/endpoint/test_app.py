"""The endpoint in-process, on both queues: what each answer means (contract §10)."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest

from endpoint import Endpoint, Event, PayloadError, RetrySchedule
from reference.signatures import generate_secret, signed_headers
from tests.endpoint.conftest import QueueFactory, payload
from tests.endpoint.handlers import read_runs, scripted, scripted_async
from tests.endpoint.helpers import finished, phases, post, serving, stored, wait_for_runs

pytestmark = pytest.mark.anyio

FAST = RetrySchedule(scale=0.001)  # 10 ms, 60 ms, ...: RQ rounds each gap up to 1 s


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def test_an_accepted_call_is_handled_once_and_its_repeats_are_not_queued(
    make_queue: QueueFactory, runs_log: Path
) -> None:
    endpoint = Endpoint(scripted, workers=2, queue=make_queue(), retry=FAST)
    async with serving(endpoint) as client:
        first = await post(client, payload("7", log=str(runs_log)))
        assert first.status_code == 202
        assert first.json() == {"status": "queued", "webhook_call_id": "7"}
        # A retry after a lost answer (the sender counts it) and a resend: the same call.
        retry = payload("7", log=str(runs_log)) | {"attempted_auto_retries_count": 1}
        for body in (retry, payload("7", log=str(runs_log))):
            again = await post(client, body)
            assert again.status_code == 202
            assert again.json() == {"status": "already_accepted", "webhook_call_id": "7"}
        runs = await wait_for_runs(runs_log, lambda runs: finished(runs, "7"))
        await asyncio.sleep(0.5)  # a second run, were there one, would have started
        assert phases(read_runs(runs_log), "7") == ["start", "done"], runs
        assert await stored(endpoint.queue) == 1


async def test_the_same_call_id_from_another_site_is_another_call(
    make_queue: QueueFactory, runs_log: Path
) -> None:
    endpoint = Endpoint(scripted, workers=2, queue=make_queue(), retry=FAST)
    async with serving(endpoint) as client:
        one = payload("8", log=str(runs_log))
        other = one | {"site_id": "999"}
        assert (await post(client, one)).json()["status"] == "queued"
        assert (await post(client, other)).json()["status"] == "queued"
        runs = await wait_for_runs(runs_log, lambda runs: len(runs) >= 4)
    assert sorted(r["site"] for r in runs if r["phase"] == "done") == ["424242", "999"]


async def test_every_delivery_is_processed_when_asked(
    make_queue: QueueFactory, runs_log: Path
) -> None:
    endpoint = Endpoint(scripted, workers=2, queue=make_queue(), retry=FAST, every_delivery=True)
    async with serving(endpoint) as client:
        for _ in range(2):
            answer = await post(client, payload("9", log=str(runs_log)))
            assert answer.json() == {"status": "queued", "webhook_call_id": "9"}
        runs = await wait_for_runs(runs_log, lambda runs: phases(runs, "9").count("done") == 2)
    assert phases(runs, "9") in (["start", "done"] * 2, ["start", "start", "done", "done"])


async def test_a_handler_that_fails_twice_is_run_a_third_time(
    make_queue: QueueFactory, runs_log: Path
) -> None:
    endpoint = Endpoint(scripted, workers=2, queue=make_queue(), retry=FAST)
    async with serving(endpoint) as client:
        started = time.monotonic()
        assert (await post(client, payload("3", log=str(runs_log), fail=2))).status_code == 202
        runs = await wait_for_runs(runs_log, lambda runs: finished(runs, "3"))
        took = time.monotonic() - started
    assert phases(runs, "3") == ["start", "fail", "start", "fail", "start", "done"]
    gaps = [b["at"] - a["at"] for a, b in zip(runs[1::2], runs[2::2], strict=False)]
    # Backoff: the second gap follows the schedule's second delay (60 ms, or RQ's 1 s).
    assert all(gap >= 0.009 for gap in gaps), gaps
    assert took < 10


async def test_a_handler_that_never_succeeds_ends_failed_after_the_schedule(
    make_queue: QueueFactory, runs_log: Path
) -> None:
    endpoint = Endpoint(
        scripted, queue=make_queue(), retry=RetrySchedule(delays=(0.01, 0.02), scale=1)
    )
    async with serving(endpoint) as client:
        await post(client, payload("4", log=str(runs_log), fail=99))
        await wait_for_runs(runs_log, lambda runs: phases(runs, "4").count("fail") == 3)
        give_up = time.monotonic() + 5
        while (await endpoint.queue.counts()).get("failed", 0) != 1:
            assert time.monotonic() < give_up, await endpoint.queue.counts()
            await asyncio.sleep(0.05)
    assert phases(read_runs(runs_log), "4").count("start") == 3


async def test_an_async_handler_runs_too(make_queue: QueueFactory, runs_log: Path) -> None:
    endpoint = Endpoint(scripted_async, workers=2, queue=make_queue(), retry=FAST)
    async with serving(endpoint) as client:
        await post(client, payload("5", log=str(runs_log), fail=1))
        runs = await wait_for_runs(runs_log, lambda runs: finished(runs, "5"))
    assert phases(runs, "5") == ["start", "fail", "start", "done"]


# -- 401: nothing stored ----------------------------------------------------------------


BAD_BASIC_AUTH = [
    {},
    basic("hook", "wrong"),
    basic("other", "s3cr:t"),
    basic("hook", "s3cr"),
    {"Authorization": "Bearer s3cr:t"},
    {"Authorization": "Basic !!!"},
]


async def test_bad_basic_auth_is_401_and_stores_nothing(
    make_queue: QueueFactory, runs_log: Path
) -> None:
    endpoint = Endpoint(scripted, workers=2, queue=make_queue(), basic_auth=("hook", "s3cr:t"))
    async with serving(endpoint) as client:
        for headers in BAD_BASIC_AUTH:
            answer = await post(client, payload("1", log=str(runs_log)), headers=headers)
            assert answer.status_code == 401, headers
            assert answer.headers["www-authenticate"] == 'Basic realm="webhooks"'
            assert answer.json()["error"] == "unauthorized"
        assert await stored(endpoint.queue) == 0
        good = await post(client, payload("1", log=str(runs_log)), headers=basic("hook", "s3cr:t"))
        assert good.status_code == 202
        await wait_for_runs(runs_log, lambda runs: finished(runs, "1"))


def _signed(
    secret: str, body: bytes, *, at: float | None = None, call: str = "1"
) -> dict[str, str]:
    stamp = int(time.time() if at is None else at)
    return dict(signed_headers([secret], call, stamp, body))


async def test_bad_signatures_are_401_and_store_nothing(
    make_queue: QueueFactory, runs_log: Path
) -> None:
    secret = generate_secret()
    body = json.dumps(payload("2", log=str(runs_log))).encode()
    endpoint = Endpoint(
        scripted, workers=2, queue=make_queue(), signing_secret=secret, tolerance=60
    )
    good = _signed(secret, body)
    bad: list[tuple[Mapping[str, str], str]] = [
        ({}, "no webhook-id, webhook-timestamp, webhook-signature header"),
        (_signed(generate_secret(), body), "no webhook-signature matches"),
        (_signed(secret, body + b" "), "no webhook-signature matches"),
        (good | {"webhook-id": "2x"}, "no webhook-signature matches"),
        (_signed(secret, body, at=time.time() - 61), "s old"),
        (_signed(secret, body, at=time.time() + 61), "s ahead"),
        (good | {"webhook-timestamp": "soon"}, "not whole Unix seconds"),
        (good | {"webhook-signature": "v1,AAAA"}, "no webhook-signature matches"),
        (good | {"webhook-signature": "garbage"}, "no webhook-signature matches"),
    ]
    async with serving(endpoint) as client:
        for headers, reason in bad:
            answer = await client.post("/", content=body, headers=headers)
            assert answer.status_code == 401, headers
            assert reason in answer.json()["message"], (answer.json(), headers)
        assert await stored(endpoint.queue) == 0
        # Within the tolerance, and with a rotated secret's two signatures, it holds.
        both = _signed(secret, body, at=time.time() - 50)
        both["webhook-signature"] = (
            _signed(generate_secret(), body)["webhook-signature"] + " " + both["webhook-signature"]
        )
        assert (await client.post("/", content=body, headers=both)).status_code == 202
        await wait_for_runs(runs_log, lambda runs: finished(runs, "2"))


# -- 400: nothing stored ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (b"", "", "not JSON"),
        (b"\xff\xfe", "", "not UTF-8"),
        (b"[1, 2]", "", "got a list"),
        (json.dumps({"hello": "world"}).encode(), "entity_type", "missing"),
        (json.dumps(payload() | {"entity_type": "page"}).encode(), "entity_type", "'page'"),
        (json.dumps(payload() | {"event_type": "explode"}).encode(), "event_type", "'item'"),
        (json.dumps(payload() | {"webhook_call_id": None}).encode(), "webhook_call_id", "null"),
        (json.dumps(payload() | {"entity": {"id": 42}}).encode(), "entity.id", "42"),
    ],
    ids=["empty", "not utf-8", "a list", "not a payload", "entity", "event", "call id", "id"],
)
async def test_a_body_that_is_not_a_payload_is_400_naming_what_is_wrong(
    make_queue: QueueFactory, body: bytes, field: str, words: str
) -> None:
    endpoint = Endpoint(scripted, workers=2, queue=make_queue())
    async with serving(endpoint) as client:
        answer = await post(client, body)
        assert answer.status_code == 400
        error = answer.json()
        assert error["error"] == "invalid_payload"
        assert error["field"] == field
        assert words in error["message"]
        assert await stored(endpoint.queue) == 0


async def test_a_custom_payload_goes_through_the_parser_given(
    make_queue: QueueFactory, runs_log: Path
) -> None:
    def parse(body: bytes, headers: Mapping[str, str]) -> Event:
        data = json.loads(body)
        if "id" not in data:
            raise PayloadError("id", "missing")
        return Event(
            webhook_call_id=headers["webhook-id"],
            webhook_id=headers["x-webhook-id"],
            site_id=headers["x-site-id"],
            entity_type="item",
            event_type=data["event"],
            entity={"id": data["id"], "attributes": {"script": {"log": str(runs_log)}}},
        )

    endpoint = Endpoint(scripted, workers=2, queue=make_queue(), parser=parse)
    headers = {"webhook-id": "77", "x-webhook-id": "3", "x-site-id": "42"}
    async with serving(endpoint) as client:
        answer = await client.post("/", json={"id": "12", "event": "publish"}, headers=headers)
        assert answer.json() == {"status": "queued", "webhook_call_id": "77"}
        refused = await client.post("/", json={"event": "publish"}, headers=headers)
        assert (refused.status_code, refused.json()["field"]) == (400, "id")
        broken = await client.post("/", json={"id": "1"}, headers=headers)  # KeyError
        assert broken.status_code == 400 and "KeyError" in broken.json()["message"]
        runs = await wait_for_runs(runs_log, lambda runs: finished(runs, "77"))
    assert [r["site"] for r in runs] == ["42", "42"]


async def test_a_body_over_the_limit_is_413(make_queue: QueueFactory) -> None:
    endpoint = Endpoint(scripted, workers=2, queue=make_queue(), max_body_bytes=1000)
    async with serving(endpoint) as client:
        answer = await post(client, payload() | {"padding": "x" * 1000})
        assert answer.status_code == 413
        assert await stored(endpoint.queue) == 0


async def test_health_and_other_methods(make_queue: QueueFactory) -> None:
    endpoint = Endpoint(
        scripted, workers=2, queue=make_queue(), basic_auth="hook:secret", path="/hooks"
    )
    async with serving(endpoint) as client:
        assert (await client.get("/health")).json() == {"status": "ok"}
        ready = await client.get("/health", params={"ready": "1"})
        assert ready.json() == {"status": "ok", "queue": "ok"}
        assert (await client.get("/hooks")).status_code == 405
        assert (await client.post("/", json=payload())).status_code == 404
        assert (await client.post("/hooks", json=payload())).status_code == 401


async def test_not_ready_when_the_storage_fails(tmp_path: Path) -> None:
    endpoint = Endpoint(scripted, db=tmp_path / "events.db")
    async with serving(endpoint) as client:

        async def broken() -> None:
            raise OSError("disk gone")

        endpoint.queue.ping = broken  # type: ignore[method-assign]
        ready = await client.get("/health?ready=1")
        assert (ready.status_code, ready.json()) == (
            503,
            {"status": "unavailable", "queue": "OSError"},
        )


async def test_a_store_that_fails_is_503_so_the_sender_tries_again(tmp_path: Path) -> None:
    endpoint = Endpoint(scripted, db=tmp_path / "events.db")
    async with serving(endpoint) as client:

        async def full(event: Event, *, dedupe: bool) -> bool:
            raise OSError("disk full")

        endpoint.queue.accept = full  # type: ignore[method-assign]
        answer = await post(client, payload())
        assert answer.status_code == 503


async def test_a_queue_that_cannot_open_is_503_on_the_first_request(tmp_path: Path) -> None:
    """Mounted where no lifespan starts it, the endpoint starts on its first request; when
    its queue cannot open, the sender is told to try again later."""
    endpoint = Endpoint(scripted, db=tmp_path / "no such folder" / "events.db")
    transport = httpx.ASGITransport(app=endpoint)
    async with httpx.AsyncClient(transport=transport, base_url="http://endpoint") as client:
        answer = await post(client, payload())
    assert (answer.status_code, answer.json()["error"]) == (503, "unavailable")
