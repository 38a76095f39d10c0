"""The `secret` behaviour: the receiver checks Standard Webhooks signatures and records
the verdict (`RecordedRequest.signature`), over real HTTP to both listeners."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from standardwebhooks import Webhook

from receiver import MockReceiver, ScriptError
from receiver.behaviours import behaviour_from_mapping, behaviour_from_query
from receiver.exceptions import BehaviourError
from receiver.recording import Listener
from receiver.signatures import check_signature, parse_secret, sign

#: The Standard Webhooks specification's own example.
EXAMPLE_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
EXAMPLE_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
EXAMPLE_TIMESTAMP = 1614265330
EXAMPLE_BODY = b'{"test": 2432232314}'
EXAMPLE_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(bytes(range(100, 132))).decode()
NOW = 1_767_225_600  # the receiver's fake clock
BODY = '{"entity": {"id": "7"}, "event_type": "publish"}'


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def receiver(clock: FakeClock) -> Iterator[MockReceiver]:
    with MockReceiver(clock=clock, body_limit=4096) as receiver:
        yield receiver


def _signature(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    return Webhook(secret).sign(msg_id, datetime.fromtimestamp(timestamp, UTC), body)


def _signed(
    secret: str = SECRET, *, msg_id: str = "msg_1", timestamp: int = NOW, body: str = BODY
) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": _signature(secret, msg_id, timestamp, body),
    }


def _post(
    receiver: MockReceiver,
    headers: dict[str, str],
    content: str | bytes = BODY,
    /,
    *,
    listener: Listener = "app",
    **params: str,
) -> tuple[httpx.Response, str | None]:
    """POST to /hook with `params` (secret SECRET unless told); the response and verdict."""
    params.setdefault("secret", SECRET)
    query = {name: value for name, value in params.items() if value}
    url = receiver.url_for("/hook", listener=listener, **query)
    response = httpx.post(url, content=content, headers=headers)
    [record] = receiver.wait_for(1, path="/hook", done=True)
    receiver.clear()
    return response, record.signature


# -- the HMAC itself ------------------------------------------------------------


def test_the_specifications_example() -> None:
    key = parse_secret(EXAMPLE_SECRET)
    assert sign(key, EXAMPLE_ID, EXAMPLE_TIMESTAMP, EXAMPLE_BODY) == EXAMPLE_SIGNATURE
    headers = [
        ("webhook-id", EXAMPLE_ID),
        ("webhook-timestamp", str(EXAMPLE_TIMESTAMP)),
        ("webhook-signature", EXAMPLE_SIGNATURE),
    ]
    assert check_signature(key, headers, EXAMPLE_BODY, EXAMPLE_TIMESTAMP + 10) == "valid"
    assert check_signature(key, headers, EXAMPLE_BODY + b" ", EXAMPLE_TIMESTAMP) == "invalid"
    assert check_signature(key, headers, EXAMPLE_BODY, EXAMPLE_TIMESTAMP + 301) == "stale"
    assert check_signature(key, headers[:2], EXAMPLE_BODY, EXAMPLE_TIMESTAMP) == "missing"


def test_the_specifications_example_over_http() -> None:
    with MockReceiver(clock=lambda: EXAMPLE_TIMESTAMP + 1.5) as receiver:
        headers = {
            "webhook-id": EXAMPLE_ID,
            "webhook-timestamp": str(EXAMPLE_TIMESTAMP),
            "webhook-signature": EXAMPLE_SIGNATURE,
        }
        _, verdict = _post(receiver, headers, EXAMPLE_BODY, secret=EXAMPLE_SECRET)
    assert verdict == "valid"


def test_standardwebhooks_signs_as_the_receiver_checks() -> None:
    signature = _signature(SECRET, "msg_1", NOW, BODY)
    assert signature == sign(parse_secret(SECRET), "msg_1", NOW, BODY.encode())


# -- the verdicts ---------------------------------------------------------------


def test_one_valid_signature(receiver: MockReceiver) -> None:
    assert _post(receiver, _signed())[1] == "valid"


def test_rotation_two_signatures_the_second_matches(receiver: MockReceiver) -> None:
    old, new = _signed(OTHER_SECRET), _signed(SECRET)
    headers = {**new, "webhook-signature": f"{old['webhook-signature']} {new['webhook-signature']}"}
    assert _post(receiver, headers)[1] == "valid"
    # other schemes (asymmetric v1a) are skipped, not malformed
    headers["webhook-signature"] = "v1a,c2lnbmF0dXJl " + new["webhook-signature"]
    assert _post(receiver, headers)[1] == "valid"


@pytest.mark.parametrize("absent", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header(receiver: MockReceiver, absent: str) -> None:
    headers = _signed()
    del headers[absent]
    assert _post(receiver, headers)[1] == "missing"
    assert _post(receiver, {})[1] == "missing"


def test_the_wrong_secret_is_invalid(receiver: MockReceiver) -> None:
    assert _post(receiver, _signed(OTHER_SECRET))[1] == "invalid"


@pytest.mark.parametrize(
    "header",
    [
        "",
        "garbage",
        "v1",
        ",{good}",
        "v1,not-base64!",
        "v1,c2lnbmF0dXJl",  # base64, but not the signature
        "v2,{good}",  # the right bytes under another version
        "v1,{good} garbage",  # a malformed entry spoils the header
    ],
)
def test_a_malformed_header_is_invalid(receiver: MockReceiver, header: str) -> None:
    headers = _signed()
    good = headers["webhook-signature"].removeprefix("v1,")
    headers["webhook-signature"] = header.format(good=good)
    assert _post(receiver, headers)[1] == "invalid"


@pytest.mark.parametrize("offset", [-360, 360])
def test_a_timestamp_six_minutes_off_is_stale(receiver: MockReceiver, offset: int) -> None:
    assert _post(receiver, _signed(timestamp=NOW + offset))[1] == "stale"


@pytest.mark.parametrize("offset", [-300, 300])
def test_five_minutes_either_way_is_in_time(receiver: MockReceiver, offset: int) -> None:
    assert _post(receiver, _signed(timestamp=NOW + offset))[1] == "valid"


@pytest.mark.parametrize("timestamp", ["", "soon", f"{NOW}.5", "-1", "1e9"])
def test_an_unparsable_timestamp_is_stale(receiver: MockReceiver, timestamp: str) -> None:
    headers = _signed()
    headers["webhook-timestamp"] = timestamp
    assert _post(receiver, headers)[1] == "stale"


def test_the_clock_is_the_receivers(receiver: MockReceiver, clock: FakeClock) -> None:
    headers = _signed(timestamp=NOW)
    clock.now = NOW + 360
    assert _post(receiver, headers)[1] == "stale"
    clock.now = NOW + 299
    assert _post(receiver, headers)[1] == "valid"


def test_the_timestamp_is_checked_before_the_signatures(receiver: MockReceiver) -> None:
    headers = _signed(OTHER_SECRET, timestamp=NOW - 360)
    assert _post(receiver, headers)[1] == "stale"


def test_a_tampered_body_is_invalid(receiver: MockReceiver) -> None:
    headers = _signed()
    assert _post(receiver, headers, BODY.replace("7", "8"))[1] == "invalid"
    assert _post(receiver, headers, BODY + "\n")[1] == "invalid"
    headers = _signed(msg_id="msg_2")
    headers["webhook-id"] = "msg_3"  # the id is signed too
    assert _post(receiver, headers)[1] == "invalid"


def test_without_a_secret_nothing_is_checked(receiver: MockReceiver) -> None:
    assert _post(receiver, _signed(), secret="")[1] is None
    assert _post(receiver, {}, secret="")[1] is None
    httpx.post(receiver.url + "/hook")
    listing = httpx.get(receiver.url + "/_receiver/requests").json()
    assert listing["requests"][0]["signature"] is None


# -- the answer, the whole body, both listeners, the inspection API ----------------------


def test_the_answer_is_unchanged(receiver: MockReceiver) -> None:
    response, verdict = _post(receiver, _signed(OTHER_SECRET), status="503", body="busy")
    assert (response.status_code, response.text, verdict) == (503, "busy", "invalid")
    response, verdict = _post(receiver, _signed(), status="503", body="busy")
    assert (response.status_code, response.text, verdict) == (503, "busy", "valid")


def test_the_whole_body_is_checked_beyond_the_body_limit(receiver: MockReceiver) -> None:
    body = '{"big": "' + "x" * 300_000 + '"}'
    headers = _signed(body=body)
    httpx.post(receiver.url_for("/hook", secret=SECRET), content=body, headers=headers)
    [record] = receiver.wait_for(1, path="/hook", done=True)
    assert (record.body_truncated, len(record.body), record.body_size) == (True, 4096, len(body))
    assert record.signature == "valid"
    receiver.clear()
    tampered = body[:-3] + 'y"}'  # past the kept bytes
    assert _post(receiver, headers, tampered)[1] == "invalid"


def test_a_chunked_body_is_checked_as_it_streams(receiver: MockReceiver) -> None:
    def pieces() -> Iterator[bytes]:
        data = BODY.encode()
        for start in range(0, len(data), 5):
            yield data[start : start + 5]

    listeners: tuple[Listener, ...] = ("app", "fault")
    for listener in listeners:
        url = receiver.url_for("/hook", listener=listener, secret=SECRET)
        httpx.post(url, content=pieces(), headers=_signed())
        [record] = receiver.wait_for(1, path="/hook", done=True)
        receiver.clear()
        assert (record.listener, record.signature) == (listener, "valid")


def test_the_fault_listener_checks_too(receiver: MockReceiver) -> None:
    assert _post(receiver, _signed(), listener="fault")[1] == "valid"
    assert _post(receiver, _signed(), "tampered", listener="fault")[1] == "invalid"
    assert _post(receiver, {}, listener="fault")[1] == "missing"
    url = receiver.url_for("/hook", fault="close", secret=SECRET)
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(url, content=BODY, headers=_signed())
    [record] = receiver.wait_for(1, done=True)
    assert (record.outcome, record.signature) == ("closed", "valid")


def test_the_inspection_api_shows_the_verdict(receiver: MockReceiver) -> None:
    httpx.post(receiver.url_for("/hook", secret=SECRET), content=BODY, headers=_signed())
    listing = httpx.get(receiver.url + "/_receiver/requests?path=/hook").json()
    assert [r["signature"] for r in listing["requests"]] == ["valid"]


# -- the secret parameter -----------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "must start with 'whsec_'"),
        ("whsec_not base64!", "no spaces"),
        ("whsec_not-base64!", "followed by base64"),
        ("whsec_Zoë", "followed by base64"),
        ("whsec_", "got 0"),
        ("whsec_" + base64.b64encode(bytes(23)).decode(), "24 to 64 bytes of key, got 23"),
        ("whsec_" + base64.b64encode(bytes(65)).decode(), "24 to 64 bytes of key, got 65"),
    ],
)
def test_a_bad_secret_is_a_behaviour_error(secret: str, why: str) -> None:
    with pytest.raises(BehaviourError, match=why) as caught:
        behaviour_from_mapping({"secret": secret})
    assert caught.value.field == "secret"
    with pytest.raises(BehaviourError, match="secret"):
        behaviour_from_mapping({"secret": 42})


def test_secrets_of_24_and_64_bytes_are_accepted() -> None:
    for size in (24, 64):
        key = bytes(range(size))
        secret = "whsec_" + base64.b64encode(key).decode()
        assert behaviour_from_mapping({"secret": secret}).secret == key
    assert behaviour_from_query("").secret is None


def test_a_bad_secret_parameter_is_a_400_naming_it(receiver: MockReceiver) -> None:
    response = httpx.post(receiver.url + "/hook?secret=nope", content=BODY, headers=_signed())
    assert response.status_code == 400
    assert response.json()["field"] == "secret"
    assert "whsec_" in response.json()["error"]
    [record] = receiver.wait_for(1, done=True)
    assert (record.status, record.signature) == (400, None)
    # a '+' left raw in a query string arrives as a space: the error says so
    response = httpx.post(receiver.url + "/hook?secret=whsec_ab+cd")
    assert response.status_code == 400
    assert "%2B" in response.json()["error"]


def test_a_script_step_takes_a_secret(receiver: MockReceiver) -> None:
    receiver.script("/hook", [{"secret": SECRET, "times": 1}, {"status": 202}])
    assert _post(receiver, _signed(), secret="")[1] == "valid"
    response, verdict = _post(receiver, _signed(), secret="")
    assert (response.status_code, verdict) == (202, None)  # the next step asks for none
    receiver.script("/hook", [{"secret": SECRET, "status": 503}])
    response, verdict = _post(receiver, _signed(OTHER_SECRET), secret="", listener="fault")
    assert (response.status_code, verdict) == (503, "invalid")
    with pytest.raises(ScriptError) as caught:
        receiver.script("/hook", [{"secret": "whsec_short"}])
    assert caught.value.field == "steps[0].secret"
    routes = httpx.get(receiver.url + "/_receiver/routes").json()["routes"]
    assert routes[0]["steps"] == [{"secret": SECRET, "status": 503}]
