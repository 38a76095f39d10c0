"""Where calls may go (contract §8, destinations), on the sender's production path: real
sockets to the mock receiver, aiohttp's connector, and a resolver that can lie."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from receiver import MockReceiver
from reference.destinations import DestinationPolicy, parse_networks
from reference.exceptions import ConfigurationError
from reference.sender import OutgoingRequest, Sender
from tests.reference.conftest import DispatcherFactory, api_client
from tests.reference.factories import item_event, webhook_attributes

DEFAULT = DestinationPolicy()
PUBLIC = DestinationPolicy(public_only=True)


@pytest.fixture
def receiver() -> Iterator[MockReceiver]:
    with MockReceiver() as receiver:
        yield receiver


@pytest.mark.parametrize(
    ("address", "default", "public_only"),
    [
        ("169.254.169.254", "link-local", "link-local"),
        ("fe80::1", "link-local", "link-local"),
        ("0.0.0.0", "unspecified", "unspecified"),
        ("::", "unspecified", "unspecified"),
        ("224.0.0.1", "multicast", "multicast"),
        ("ff02::1", "multicast", "multicast"),
        ("255.255.255.255", "broadcast", "broadcast"),
        ("240.0.0.1", "reserved", "reserved"),
        ("127.0.0.1", None, "loopback"),
        ("::1", None, "loopback"),
        ("10.1.2.3", None, "private"),
        ("172.16.0.1", None, "private"),
        ("192.168.1.1", None, "private"),
        ("100.64.0.1", None, "CGNAT"),
        ("fd12::1", None, "unique-local"),
        ("93.184.216.34", None, None),
        ("2606:2800:220:1::1", None, None),
        # IPv6 forms that carry an IPv4 address are judged by it.
        ("::ffff:169.254.169.254", "link-local", "link-local"),
        ("64:ff9b::a9fe:a9fe", "link-local", "link-local"),
        ("2002:a9fe:a9fe::1", "link-local", "link-local"),
        ("::ffff:10.0.0.1", None, "private"),
        ("64:ff9b::5db8:d822", None, None),
    ],
)
def test_the_rules(address: str, default: str | None, public_only: str | None) -> None:
    ip = ipaddress.ip_address(address)
    for policy, rule in ((DEFAULT, default), (PUBLIC, public_only)):
        why = policy.refusal(ip)
        if rule is None:
            assert why is None
        else:
            assert why is not None and f" is {rule} (blocked" in why and str(ip) in why


def test_allowed_ranges_override_both_rules() -> None:
    policy = DestinationPolicy(
        public_only=True, allowed=parse_networks(["127.0.0.0/8", "169.254.169.254"])
    )
    assert policy.refusal(ipaddress.ip_address("127.0.0.5")) is None
    assert policy.refusal(ipaddress.ip_address("169.254.169.254")) is None
    assert policy.refusal(ipaddress.ip_address("169.254.0.1")) is not None
    assert policy.refusal(ipaddress.ip_address("::ffff:127.0.0.1")) is None
    with pytest.raises(ConfigurationError, match="CIDR"):
        parse_networks(["10.0.0.0/33"])


class Lying(AbstractResolver):
    """A resolver that answers what it is told, whatever the name."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in self.addresses
        ]

    async def close(self) -> None:
        pass


async def _send(url: str, **options: Any) -> Any:
    async with Sender(deadline=2, connect_timeout=1, **options) as sender:
        return await sender.send(OutgoingRequest(url=url, headers=(), body=b"{}"))


@pytest.mark.anyio
async def test_loopback_is_refused_only_when_public_destinations_only(
    receiver: MockReceiver,
) -> None:
    assert (await _send(receiver.url_for("/a"))).ok
    blocked = await _send(receiver.url_for("/b"), policy=PUBLIC)
    assert blocked.error == "blocked_destination"
    assert blocked.error_detail == "127.0.0.1 is loopback (blocked: public destinations only)"
    allowed = DestinationPolicy(public_only=True, allowed=parse_networks(["127.0.0.0/8"]))
    assert (await _send(receiver.url_for("/c"), policy=allowed)).ok
    assert [r.path for r in receiver.requests()] == ["/a", "/c"]


@pytest.mark.anyio
async def test_a_name_is_checked_once_resolved_and_only_checked_addresses_are_used(
    receiver: MockReceiver,
) -> None:
    port = receiver.port
    # A name whose only answer is the metadata address: refused, nothing connects.
    metadata = await _send(f"http://metadata.test:{port}/m", resolver=Lying("169.254.169.254"))
    assert metadata.error == "blocked_destination"
    assert metadata.error_detail == (
        "'metadata.test' resolves to 169.254.169.254 is link-local (blocked)"
    )
    # A name answering a refused and an allowed address: only the allowed one is tried.
    mixed = Lying("169.254.169.254", "127.0.0.1")
    assert (await _send(f"http://mixed.test:{port}/x", resolver=mixed)).ok
    # localhost, resolved for real, under public destinations only.
    local = await _send(f"http://localhost:{port}/l", policy=PUBLIC)
    assert local.error == "blocked_destination"
    assert local.error_detail is not None and local.error_detail.startswith("'localhost' resolves")
    assert [r.path for r in receiver.requests()] == ["/x"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    "host",
    ["169.254.169.254", "[::ffff:169.254.169.254]", "[64:ff9b::a9fe:a9fe]", "[fe80::1]"],
)
async def test_a_literal_metadata_address_makes_no_connection(host: str) -> None:
    resolver = Lying("127.0.0.1")
    outcome = await _send(f"http://{host}/latest/meta-data/", resolver=resolver)
    assert outcome.error == "blocked_destination"
    assert outcome.error_detail is not None and "link-local (blocked)" in outcome.error_detail
    assert resolver.asked == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("url", "settings", "refused"),
    [
        ("http://169.254.169.254/latest", {}, True),
        ("http://[::ffff:a9fe:a9fe]/", {}, True),
        ("http://10.0.0.1/hook", {}, False),
        ("http://10.0.0.1/hook", {"public_destinations_only": True}, True),
        (
            "http://10.0.0.1/hook",
            {"public_destinations_only": True, "allowed_destinations": ("10.0.0.0/8",)},
            False,
        ),
        ("http://{{entity.id}}.169.254.169.254/", {}, False),  # checked when sent
        ("http://internal.example/", {"public_destinations_only": True}, False),  # idem
    ],
)
async def test_a_url_at_a_refused_literal_address_is_refused_when_saved(
    make_dispatcher: DispatcherFactory, url: str, settings: dict[str, Any], refused: bool
) -> None:
    async with make_dispatcher(**settings) as dispatcher, api_client(dispatcher) as api:
        body = {"data": {"type": "webhook", "attributes": webhook_attributes(url=url)}}
        created = await api.post("/webhooks", json=body)
        if refused:
            assert created.status_code == 422
            error = created.json()["data"][0]["attributes"]
            assert error["details"]["field"] == "url"
            assert "(blocked" in error["details"]["message"]
            assert (await api.get("/webhooks")).json()["data"] == []
        else:
            assert created.status_code == 201


@pytest.mark.anyio
async def test_a_call_to_a_refused_address_fails_with_the_rule_in_its_log(
    make_dispatcher: DispatcherFactory,
) -> None:
    async with make_dispatcher() as dispatcher:
        url = "http://169.254.169.{{entity.attributes.title}}/"
        event = item_event()
        event.entity["attributes"]["title"] = "254"
        await dispatcher.create_webhook(webhook_attributes(url=url, auto_retry=False))
        (call_id,) = await dispatcher.raise_event(event)
        call = await dispatcher.wait_for_call(call_id, "failed")
    (attempt,) = call.attempts
    assert (call.error, attempt.error) == ("blocked_destination", "blocked_destination")
    assert attempt.error_detail == "169.254.169.254 is link-local (blocked)"
    assert attempt.to_json()["error_detail"] == attempt.error_detail


@pytest.mark.anyio
async def test_a_refused_attempt_is_retried_like_any_failure(
    make_dispatcher: DispatcherFactory,
) -> None:
    async with make_dispatcher(retry_scale=0.0001) as dispatcher:
        url = "http://169.254.169.{{entity.attributes.title}}/"
        event = item_event()
        event.entity["attributes"]["title"] = "254"
        await dispatcher.create_webhook(webhook_attributes(url=url))
        (call_id,) = await dispatcher.raise_event(event)
        call = await dispatcher.wait_for_call(call_id, attempts=2)
    assert [a.trigger for a in call.attempts[:2]] == ["event", "auto_retry"]
    assert {a.error for a in call.attempts} == {"blocked_destination"}
