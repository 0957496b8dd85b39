"""Reachability from the internet: security-group rules, network-ACL rule lists and routes.

Pure functions on plain values, so every network check shares one reading of "open to the world":
a source CIDR of prefix length 0 (0.0.0.0/0, ::/0), protocol -1 covering every protocol and port,
tcp/udp covering their FromPort..ToPort. A prefix-list source is resolved through a mapping the caller
builds (None = could not resolve, never "closed"). A rule that references another security group admits
only that group's interfaces, never the internet. Network ACLs are evaluated in rule-number order with
allow/deny and the implicit deny, over exact address sets (see `acl_reach`).
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
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
    prefix_list: str | None = None  # set when the world CIDR came from this prefix list's entries

    @property
    def label(self) -> str:
        via = f"{self.prefix_list}:" if self.prefix_list else ""
        return f"{port_label(self.protocol, self.from_port, self.to_port)}/{via}{self.source}"

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


PrefixLists = Mapping[str, Sequence[str] | None]  # prefix-list id -> its CIDRs, None when unreadable


def rule_exposures(protocol: str | int | None, from_port: int | None, to_port: int | None, cidr: str | None,
                   prefix_list_id: str | None = None,
                   prefix_lists: PrefixLists | None = None) -> list[Exposure] | None:
    """Every world-wide source one security-group rule admits; None when its prefix list is unresolved.

    A group-reference rule (no CIDR, no prefix list) admits no internet source.
    """
    if not prefix_list_id:
        found = exposure(protocol, from_port, to_port, cidr)
        return [found] if found else []
    entries = (prefix_lists or {}).get(prefix_list_id)
    if entries is None:
        return None
    out = []
    for entry in sorted(set(entries)):
        found = exposure(protocol, from_port, to_port, entry)
        if found:
            out.append(Exposure(found.family, found.protocol, from_port, to_port, found.source, prefix_list_id))
    return out


def _network(cidr: str | None) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network((cidr or "").strip(), strict=False)
    except ValueError:
        return None


def cidr_family(cidr: str | None) -> str | None:
    net = _network(cidr)
    return None if net is None else f"ipv{net.version}"


def cidr_within(cidr: str | None, parents: Iterable[str | ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    """Is `cidr` inside one of `parents` (same address family)? Junk input is never inside."""
    net = _network(cidr)
    if net is None:
        return False
    for parent in parents:
        p = parent if not isinstance(parent, str) else _network(parent)
        if p is not None and p.version == net.version and net.subnet_of(p):  # type: ignore[arg-type]
            return True
    return False


def is_internet_route(destination: str | None, target: str | None, state: str = "active") -> bool:
    """A default route (0.0.0.0/0 or ::/0) to an internet gateway that is not a blackhole."""
    return is_internet(destination) and (target or "").startswith("igw-") and state != "blackhole"


# --- network ACLs -------------------------------------------------------------------------------------------

Span = tuple[int, int]  # inclusive integer range of addresses
_SPACE = {"ipv4": (0, 2**32 - 1), "ipv6": (0, 2**128 - 1)}


def _span(cidr: str) -> Span | None:
    net = _network(cidr)
    return None if net is None else (int(net.network_address), int(net.broadcast_address))


def _intersect(spans: list[Span], cut: Span) -> list[Span]:
    return [(max(a, cut[0]), min(b, cut[1])) for a, b in spans if a <= cut[1] and cut[0] <= b]


def _subtract(spans: list[Span], cut: Span) -> list[Span]:
    out: list[Span] = []
    for a, b in spans:
        if b < cut[0] or cut[1] < a:
            out.append((a, b))
            continue
        if a < cut[0]:
            out.append((a, cut[0] - 1))
        if cut[1] < b:
            out.append((cut[1] + 1, b))
    return out


def _cidrs(spans: list[Span], family: str) -> tuple[str, ...]:
    make = ipaddress.IPv4Address if family == "ipv4" else ipaddress.IPv6Address
    return tuple(str(n) for a, b in spans for n in ipaddress.summarize_address_range(make(a), make(b)))


@dataclass(frozen=True)
class AclRule:
    """One network-ACL entry of one direction: exactly one CIDR, IPv4 or IPv6."""

    number: int
    allow: bool
    protocol: str
    cidr: str
    from_port: int | None = None
    to_port: int | None = None


@dataclass(frozen=True)
class AclAdmission:
    rule: AclRule
    sources: tuple[str, ...]  # the part of the rule's CIDR no earlier rule had decided


@dataclass(frozen=True)
class AclReach:
    """Who a rule list lets in for one (family, protocol, port), after rule order and the implicit deny."""

    family: str
    protocol: str
    port: int
    admitted: tuple[AclAdmission, ...]
    everything: bool  # the admitted sources add up to the family's whole address space

    @property
    def offending(self) -> tuple[AclAdmission, ...]:
        """Allow rules that open the port to the internet: a world-wide (/0) allow that is not wholly
        shadowed by earlier rules, or every admitting rule when together they admit every address."""
        if self.everything:
            return self.admitted
        return tuple(a for a in self.admitted if is_internet(a.rule.cidr))

    @property
    def open_to_internet(self) -> bool:
        return bool(self.offending)


def acl_reach(rules: Iterable[AclRule], protocol: str, port: int, family: str) -> AclReach:
    """Evaluate rules lowest number first; the first rule matching an address decides it, and whatever
    no rule matched is denied (the implicit '*' rule). Rules of the other family never match."""
    space = _SPACE[family]
    undecided: list[Span] = [space]
    admitted: list[AclAdmission] = []
    allowed: list[Span] = []
    for rule in sorted(rules, key=lambda r: r.number):
        span = _span(rule.cidr)
        if span is None or cidr_family(rule.cidr) != family or not undecided:
            continue
        if not covers_port(rule.protocol, rule.from_port, rule.to_port, port, protocols=(protocol,)):
            continue
        hit = _intersect(undecided, span)
        if not hit:
            continue
        if rule.allow:
            admitted.append(AclAdmission(rule, _cidrs(hit, family)))
            allowed.extend(hit)
        undecided = _subtract(undecided, span)
    total = sum(b - a + 1 for a, b in allowed)  # decided spans never overlap
    return AclReach(family, normalize_protocol(protocol), port, tuple(admitted),
                    everything=total == space[1] - space[0] + 1)
