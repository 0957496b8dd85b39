from __future__ import annotations

import pytest

from auditor.network import (
    ALL,
    covers_all_ports,
    covers_port,
    exposure,
    internet_family,
    is_internet,
    normalize_protocol,
    port_label,
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
