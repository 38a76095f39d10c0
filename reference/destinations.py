"""Where calls may go (contract §8, destinations): the address actually connected to is
checked, after DNS resolution, at connect time.

By default link-local (cloud metadata: 169.254.0.0/16, fe80::/10), unspecified,
multicast, broadcast and reserved addresses are refused. `public_only` also refuses
loopback, private, CGNAT (100.64.0.0/10) and unique-local (fc00::/7) ones, for
deployments whose webhook authors are not trusted with the network. Explicit
`allowed` ranges override both. IPv6 forms that carry an IPv4 address (IPv4-mapped
`::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are judged by it.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from aiohttp.abc import AbstractResolver, ResolveResult

from reference.exceptions import ConfigurationError

__all__ = [
    "Address",
    "BlockedDestination",
    "DestinationPolicy",
    "PolicyResolver",
    "parse_networks",
]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_UNIQUE_LOCAL = ipaddress.IPv6Network("fc00::/7")
_BROADCAST = ipaddress.IPv4Address("255.255.255.255")


class BlockedDestination(Exception):
    """A destination the policy refuses; the message names the address and the rule."""


def _embedded(address: Address) -> Address:
    """The IPv4 address an IPv6 one carries (mapped, NAT64, 6to4), else the address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.sixtofour is not None:
            return address.sixtofour
    return address


def _always_refused(address: Address) -> str | None:
    if address.is_link_local:
        return "link-local"
    if address.is_unspecified:
        return "unspecified"
    if address.is_multicast:
        return "multicast"
    if address == _BROADCAST:
        return "broadcast"
    if address.is_reserved and not address.is_loopback:  # ::1 is inside ::/8
        return "reserved"
    return None


def _not_public(address: Address) -> str | None:
    if address.is_loopback:
        return "loopback"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "CGNAT"
    if isinstance(address, ipaddress.IPv6Address) and address in _UNIQUE_LOCAL:
        return "unique-local"
    if address.is_private:
        return "private"
    return None


@dataclass(frozen=True, slots=True)
class DestinationPolicy:
    """Which addresses calls may connect to."""

    public_only: bool = False
    allowed: tuple[Network, ...] = ()

    def refusal(self, address: Address) -> str | None:
        """Why `address` is refused (`'169.254.169.254 is link-local (blocked)'`), or None."""
        judged = _embedded(address)
        if any(judged in network or address in network for network in self.allowed):
            return None
        rule, setting = _always_refused(judged), ""
        if rule is None and self.public_only:
            rule, setting = _not_public(judged), ": public destinations only"
        if rule is None:
            return None
        shown = str(address) if judged == address else f"{address} ({judged})"
        return f"{shown} is {rule} (blocked{setting})"

    def check_host(self, host: str) -> None:
        """Refuse a literal IP address the policy refuses; a name passes (it is checked
        once resolved, at connect time)."""
        why = _literal_refusal(self, host)
        if why is not None:
            raise BlockedDestination(why)


# Judged once per policy and host: a webhook's calls all go to the same few hosts.
@functools.lru_cache(maxsize=4096)
def _literal_refusal(policy: DestinationPolicy, host: str) -> str | None:
    try:
        address = ipaddress.ip_address(host.strip("[]").partition("%")[0])
    except ValueError:
        return None
    return policy.refusal(address)


def parse_networks(values: Sequence[str]) -> tuple[Network, ...]:
    """CIDR ranges (`10.0.0.0/8`, `fd00::/8`, or one address); ConfigurationError if not."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ConfigurationError(
                f"allowed destinations are CIDR ranges such as 10.0.0.0/8, got {value!r}"
            ) from None
    return tuple(networks)


class PolicyResolver(AbstractResolver):
    """Resolves with `inner`, then keeps only the addresses the policy allows: aiohttp
    connects to what this returns, so the address checked is the address connected to
    (no second lookup, no DNS-rebinding window)."""

    def __init__(self, policy: DestinationPolicy, inner: AbstractResolver) -> None:
        self._policy = policy
        self._inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        kept: list[ResolveResult] = []
        refusals: list[str] = []
        for answer in answers:
            why = self._policy.refusal(ipaddress.ip_address(str(answer["host"]).partition("%")[0]))
            if why is None:
                kept.append(answer)
            else:
                refusals.append(why)
        if not kept:
            raise BlockedDestination(f"{host!r} resolves to {'; '.join(refusals)}")
        return kept

    async def close(self) -> None:
        await self._inner.close()
