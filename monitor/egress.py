"""Which network addresses a fetch may connect to: the pure half of the egress policy.

A fetched document is untrusted: its links must not turn newsmon into a proxy
into the network it runs in. Whatever an address was written as (decimal,
hex, IPv4-mapped IPv6, 6to4, NAT64), it is judged on the resolved address:

- never: cloud metadata, link-local, multicast, unspecified, broadcast and
  reserved addresses;
- loopback and private ranges (RFC 1918, 100.64.0.0/10, fc00::/7, ...): only
  for a source's own configured URL (`EgressPolicy.private_ok`), or when the
  network is listed in `EgressPolicy.allowed` (the range the source itself
  lives in, and `settings.allow_networks`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "EgressPolicy",
    "Network",
    "address_problem",
    "canonical_address",
    "home_networks",
    "parse_network",
]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean
        "169.254.170.2",  # AWS ECS task credentials
        "fd00:ec2::254",  # AWS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud (legacy)
    )
)
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_BROADCAST = ipaddress.ip_address("255.255.255.255")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_COMPAT = ipaddress.ip_network("::/96")
# A source living in one of these may link to others in the same one.
_NAMED_RANGES: tuple[tuple[Network, ...], ...] = tuple(
    tuple(ipaddress.ip_network(n) for n in group)
    for group in (
        ("127.0.0.0/8", "::1/128"),
        ("10.0.0.0/8",),
        ("172.16.0.0/12",),
        ("192.168.0.0/16",),
        ("100.64.0.0/10",),
        ("fc00::/7",),
    )
)


@dataclass(frozen=True, slots=True)
class EgressPolicy:
    """What one request may reach beyond the public internet."""

    private_ok: bool = False  # a source's own configured URL: loopback and private allowed
    allowed: tuple[Network, ...] = ()  # extra loopback/private networks allowed


def canonical_address(address: Address) -> Address:
    """The IPv4 address an IPv6 one embeds (mapped, compatible, 6to4, NAT64), else itself."""
    if isinstance(address, ipaddress.IPv4Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (address in _COMPAT and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def _parse(text: str) -> Address | None:
    try:
        # A zone ("fe80::1%eth0") does not change which address it is.
        return ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return None


def address_problem(address: str, policy: EgressPolicy) -> str | None:
    """Why `policy` refuses the resolved `address` ("private address", ...); None if allowed."""
    parsed = _parse(address)
    if parsed is None:
        return "unparsable address"
    ip = canonical_address(parsed)
    if ip in METADATA or parsed in METADATA:
        return "cloud metadata address"
    if ip.is_unspecified or ip in _THIS_NETWORK:
        return "unspecified address"
    if ip.is_link_local:
        return "link-local address"
    if ip.is_multicast:
        return "multicast address"
    if ip == _BROADCAST:
        return "broadcast address"
    if ip.is_loopback:
        kind = "loopback address"
    elif ip.is_reserved:
        return "reserved address"
    elif not ip.is_global:
        kind = "private address"
    else:
        return None
    if policy.private_ok or any(ip in net for net in policy.allowed if net.version == ip.version):
        return None
    return kind


def home_networks(addresses: Iterable[str]) -> tuple[Network, ...]:
    """The loopback/private networks that a source at `addresses` lives in."""
    found: list[Network] = []
    for text in addresses:
        parsed = _parse(text)
        if parsed is None:
            continue
        ip = canonical_address(parsed)
        if ip.is_global:
            continue
        group = next(
            (g for g in _NAMED_RANGES if any(ip in n for n in g if n.version == ip.version)), None
        )
        for net in group or (ipaddress.ip_network(ip),):
            if net not in found:
                found.append(net)
    return tuple(found)


def parse_network(text: str) -> Network:
    """A CIDR network ("10.0.0.0/8", "fd12::/16", a single address); ValueError if invalid."""
    return ipaddress.ip_network(text.strip(), strict=False)
