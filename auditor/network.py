"""Reachability of one ingress rule from the internet (security groups, and anything shaped like them).

Pure functions on plain values, so security-group and network-ACL checks share one reading of
"open to the world": a source CIDR of prefix length 0 (0.0.0.0/0, ::/0), protocol -1 covering every
protocol and port, tcp/udp covering their FromPort..ToPort. Prefix lists and referenced groups are not
resolved here: a prefix list may well contain 0.0.0.0/0, so callers report such rules as unresolved.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

ALL = "-1"
INTERNET_V4 = "0.0.0.0/0"
INTERNET_V6 = "::/0"
PORTED = ("tcp", "udp")  # protocols whose FromPort/ToPort are ports (icmp uses them for type/code)
_NUMBERS = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": ALL}


def normalize_protocol(protocol: str | int | None) -> str:
    """'tcp', 'udp', 'icmp', 'icmpv6', '-1' for all, or the number as text for other IP protocols."""
    text = ALL if protocol is None else str(protocol).strip().lower()
    return _NUMBERS.get(text, text)


def internet_family(cidr: str | None) -> str | None:
    """'ipv4' or 'ipv6' when the CIDR is the whole address space, else None (also for junk input)."""
    if not cidr:
        return None
    try:
        net = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        return None
    if net.prefixlen != 0:
        return None
    return "ipv4" if net.version == 4 else "ipv6"


def is_internet(cidr: str | None) -> bool:
    return internet_family(cidr) is not None


def _bounds(from_port: int | None, to_port: int | None) -> tuple[int, int]:
    # Absent or -1 ports on tcp/udp mean "all ports" in the EC2 API.
    low = 0 if from_port is None or from_port < 0 else from_port
    high = 65535 if to_port is None or to_port < 0 else to_port
    return low, high


def covers_port(protocol: str | int | None, from_port: int | None, to_port: int | None, port: int,
                protocols: tuple[str, ...] = PORTED) -> bool:
    """Does traffic to `port` over any of `protocols` match this rule?"""
    proto = normalize_protocol(protocol)
    if proto == ALL:
        return True
    if proto not in protocols or proto not in PORTED:
        return False
    low, high = _bounds(from_port, to_port)
    return low <= port <= high


def covers_all_ports(protocol: str | int | None, from_port: int | None, to_port: int | None) -> bool:
    """Protocol -1, or tcp/udp over 0-65535."""
    proto = normalize_protocol(protocol)
    if proto == ALL:
        return True
    return proto in PORTED and _bounds(from_port, to_port) == (0, 65535)


def port_label(protocol: str | int | None, from_port: int | None, to_port: int | None) -> str:
    """'all', 'tcp/22-22', 'icmp/8--1': stable, human-readable, used in finding subkeys."""
    proto = normalize_protocol(protocol)
    if proto == ALL:
        return "all"
    if proto in PORTED:
        low, high = _bounds(from_port, to_port)
        return f"{proto}/{low}-{high}"
    if from_port is None and to_port is None:
        return proto
    return f"{proto}/{from_port}-{to_port}"


@dataclass(frozen=True)
class Exposure:
    """An ingress rule that the whole internet can reach."""

    family: str  # ipv4 | ipv6
    protocol: str
    from_port: int | None
    to_port: int | None
    source: str

    @property
    def label(self) -> str:
        return f"{port_label(self.protocol, self.from_port, self.to_port)}/{self.source}"

    @property
    def all_traffic(self) -> bool:
        return covers_all_ports(self.protocol, self.from_port, self.to_port)

    def covers(self, port: int, protocols: tuple[str, ...] = PORTED) -> bool:
        return covers_port(self.protocol, self.from_port, self.to_port, port, protocols)


def exposure(protocol: str | int | None, from_port: int | None, to_port: int | None,
             cidr: str | None) -> Exposure | None:
    """The rule's internet exposure, or None when its source is narrower than the internet."""
    family = internet_family(cidr)
    if family is None or cidr is None:
        return None
    return Exposure(family, normalize_protocol(protocol), from_port, to_port, cidr.strip())
