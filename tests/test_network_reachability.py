from __future__ import annotations

import pytest

from auditor.network import (
    ALL,
    AclRule,
    acl_reach,
    cidr_family,
    cidr_within,
    covers_all_ports,
    covers_port,
    exposure,
    internet_family,
    is_internet,
    is_internet_route,
    normalize_protocol,
    port_label,
    rule_exposures,
)


@pytest.mark.parametrize(("cidr", "family"), [
    ("0.0.0.0/0", "ipv4"), ("::/0", "ipv6"), ("::0/0", "ipv6"), (" 0.0.0.0/0 ", "ipv4"),
    ("10.0.0.0/8", None), ("0.0.0.0/1", None), ("::/1", None), ("1.2.3.4/32", None),
    ("", None), (None, None), ("not-a-cidr", None), ("pl-12345", None),
])
def test_internet_family(cidr, family):
    assert internet_family(cidr) == family
    assert is_internet(cidr) is (family is not None)


@pytest.mark.parametrize(("raw", "norm"), [
    ("-1", ALL), (-1, ALL), ("all", ALL), (None, ALL), ("TCP", "tcp"), ("6", "tcp"), ("17", "udp"),
    ("1", "icmp"), ("58", "icmpv6"), ("50", "50"),
])
def test_normalize_protocol(raw, norm):
    assert normalize_protocol(raw) == norm


@pytest.mark.parametrize(("proto", "low", "high", "port", "expected"), [
    ("-1", None, None, 22, True),        # all traffic covers every port
    ("-1", -1, -1, 3389, True),
    ("tcp", 22, 22, 22, True),
    ("tcp", 20, 30, 22, True),
    ("tcp", 23, 30, 22, False),
    ("6", 0, 65535, 3389, True),
    ("udp", 3389, 3389, 3389, True),
    ("tcp", None, None, 22, True),       # absent ports on tcp mean all ports
    ("icmp", -1, -1, 22, False),         # icmp type/code are not ports
    ("icmp", 22, 22, 22, False),
    ("50", None, None, 22, False),       # ESP has no ports
])
def test_covers_port(proto, low, high, port, expected):
    assert covers_port(proto, low, high, port) is expected


def test_covers_port_respects_protocol_filter():
    assert covers_port("udp", 22, 22, 22, protocols=("tcp",)) is False
    assert covers_port("-1", None, None, 22, protocols=("tcp",)) is True


def test_covers_all_ports():
    assert covers_all_ports("-1", None, None)
    assert covers_all_ports("tcp", 0, 65535)
    assert not covers_all_ports("tcp", 1, 65535)
    assert not covers_all_ports("icmp", -1, -1)


def test_labels_are_stable_and_readable():
    assert port_label("tcp", 22, 22) == "tcp/22-22"
    assert port_label("-1", -1, -1) == "all"
    assert port_label("icmp", 8, -1) == "icmp/8--1"
    assert port_label("50", None, None) == "50"
    assert exposure("tcp", 22, 22, "0.0.0.0/0").label == "tcp/22-22/0.0.0.0/0"
    assert exposure("-1", -1, -1, "::/0").label == "all/::/0"


def test_exposure_only_for_internet_sources():
    assert exposure("tcp", 22, 22, "10.0.0.0/8") is None
    assert exposure("tcp", 22, 22, None) is None
    e = exposure("6", 20, 25, "::/0")
    assert e is not None and e.family == "ipv6" and e.protocol == "tcp" and e.covers(22) and not e.all_traffic
    assert exposure("-1", None, None, "0.0.0.0/0").all_traffic


# --- prefix lists, CIDR containment, routes -----------------------------------------------------------------

PLS = {"pl-world": ["10.0.0.0/8", "0.0.0.0/0"], "pl-v6": ["::/0"], "pl-office": ["203.0.113.0/24"],
       "pl-empty": [], "pl-unread": None}


@pytest.mark.parametrize(("cidr", "pl", "labels"), [
    ("0.0.0.0/0", None, ["tcp/22-22/0.0.0.0/0"]),
    ("10.0.0.0/8", None, []),
    (None, None, []),                                   # a group reference never admits the internet
    (None, "pl-world", ["tcp/22-22/pl-world:0.0.0.0/0"]),
    (None, "pl-v6", ["tcp/22-22/pl-v6:::/0"]),
    (None, "pl-office", []),
    (None, "pl-empty", []),
])
def test_rule_exposures_resolve_prefix_lists(cidr, pl, labels):
    found = rule_exposures("tcp", 22, 22, cidr, pl, PLS)
    assert [e.label for e in found] == labels


@pytest.mark.parametrize("pl", ["pl-unread", "pl-unknown"])
def test_rule_exposures_unresolved_prefix_list_is_none_not_closed(pl):
    assert rule_exposures("tcp", 22, 22, None, pl, PLS) is None
    assert rule_exposures("tcp", 22, 22, None, pl, None) is None


def test_prefix_list_exposure_keeps_family_and_ports():
    [e] = rule_exposures("-1", None, None, None, "pl-v6", PLS)
    assert e.family == "ipv6" and e.all_traffic and e.prefix_list == "pl-v6" and e.source == "::/0"


@pytest.mark.parametrize(("cidr", "parents", "inside"), [
    ("10.1.2.0/24", ["10.0.0.0/8"], True),
    ("10.0.0.0/8", ["10.0.0.0/8"], True),
    ("10.0.0.0/7", ["10.0.0.0/8"], False),
    ("0.0.0.0/0", ["10.0.0.0/8", "192.168.0.0/16"], False),
    ("2001:db8::/48", ["2001:db8::/32"], True),
    ("2001:db8::/48", ["10.0.0.0/8"], False),           # families never mix
    ("10.1.2.3/32", [], False),
    ("junk", ["0.0.0.0/0"], False),
    ("10.1.2.3", ["10.1.2.0/24"], True),                # a bare address is a /32
])
def test_cidr_within(cidr, parents, inside):
    assert cidr_within(cidr, parents) is inside


def test_cidr_family():
    assert (cidr_family("10.0.0.0/8"), cidr_family("::/0"), cidr_family("pl-123"), cidr_family(None)) == (
        "ipv4", "ipv6", None, None)


@pytest.mark.parametrize(("dest", "target", "state", "expected"), [
    ("0.0.0.0/0", "igw-1", "active", True),
    ("::/0", "igw-1", "active", True),
    ("0.0.0.0/0", "igw-1", "blackhole", False),
    ("0.0.0.0/0", "nat-1", "active", False),
    ("::/0", "eigw-1", "active", False),                # egress-only gateways admit nothing
    ("10.0.0.0/8", "igw-1", "active", False),
    ("pl-1", "igw-1", "active", False),
])
def test_is_internet_route(dest, target, state, expected):
    assert is_internet_route(dest, target, state) is expected


# --- network ACLs: rule order, allow/deny, implicit deny, families, protocols, port ranges ------------------

def R(number, action, cidr="0.0.0.0/0", proto="-1", ports=None):  # reads like a table row
    low, high = ports if ports else (None, None)
    return AclRule(number, action == "allow", proto, cidr, low, high)


def _open(rules, port=22, family="ipv4", proto="tcp"):
    reach = acl_reach(rules, proto, port, family)
    return sorted(a.rule.number for a in reach.offending)


@pytest.mark.parametrize(("rules", "offending"), [
    ([], []),                                                             # implicit deny only
    ([R(100, "allow")], [100]),                                           # the default NACL
    ([R(100, "allow", proto="6", ports=(22, 22))], [100]),
    ([R(100, "allow", proto="6", ports=(20, 30))], [100]),                # range covers 22
    ([R(100, "allow", proto="6", ports=(23, 1024))], []),
    ([R(100, "allow", proto="17", ports=(22, 22))], []),                  # udp is not tcp
    ([R(100, "allow", proto="1")], []),                                   # icmp has no ports
    ([R(100, "deny", proto="6", ports=(22, 22)), R(200, "allow")], []),   # lower number wins
    ([R(200, "deny", proto="6", ports=(22, 22)), R(100, "allow")], [100]),  # order is by number, not list
    ([R(100, "deny", proto="6", ports=(0, 21)), R(200, "allow")], [200]),  # the deny misses 22
    ([R(100, "deny", "10.0.0.0/8"), R(200, "allow")], [200]),             # the rest of the world gets in
    ([R(100, "deny", "0.0.0.0/1"), R(110, "deny", "128.0.0.0/1"), R(200, "allow")], []),  # wholly shadowed
    ([R(100, "allow", "0.0.0.0/1"), R(110, "allow", "128.0.0.0/1")], [100, 110]),  # split /0 is still /0
    ([R(100, "allow", "203.0.113.0/24")], []),                            # one office range is not the world
    ([R(100, "allow", "0.0.0.0/1"), R(200, "deny")], []),                 # half open, no /0 allow: not world
    ([R(100, "allow", "::/0")], []),                                      # other family
    ([R(32767, "deny"), R(100, "allow", "junk")], []),                    # junk CIDR never matches
])
def test_acl_reach_ipv4_table(rules, offending):
    assert _open(rules) == offending


def test_acl_reach_ipv6_and_admitted_sources():
    rules = [R(90, "deny", "2001:db8::/32"), R(100, "allow", "::/0", "6", (22, 22)), R(101, "allow")]
    reach = acl_reach(rules, "tcp", 22, "ipv6")
    [adm] = reach.offending
    assert adm.rule.number == 100 and "2001:db8::/32" not in adm.sources and not reach.everything
    assert _open(rules, family="ipv4") == [101] and _open(rules, port=3389, family="ipv6") == []


def test_acl_reach_reports_sources_each_rule_decides():
    rules = [R(100, "deny", "10.0.0.0/8"), R(200, "allow")]
    reach = acl_reach(rules, "tcp", 22, "ipv4")
    [adm] = reach.admitted
    assert "10.0.0.0/8" not in adm.sources and "0.0.0.0/5" in adm.sources and "11.0.0.0/8" in adm.sources
    assert not reach.everything and reach.open_to_internet
    assert acl_reach([R(100, "allow")], "tcp", 22, "ipv4").everything
