from __future__ import annotations

import boto3
import pytest
from pydantic import ValidationError

from auditor.config import AuditConfig
from auditor.models import Status
from tests.checks.test_network import _by, _default_vpc, _group, _tcp
from tests.conftest import deny, only, scan, statuses

CIFS = "vpc.sg-no-cifs-from-internet"
ALL_PORTS = "vpc.sg-no-all-ports-from-internet"
APPROVED = "vpc.admin-ports-from-approved-cidrs"
NACL = "vpc.nacl-no-admin-ports"


def _ec2():
    return boto3.client("ec2", region_name="us-east-1")


def _pl(*cidrs: str, family: str = "IPv4") -> str:
    return _ec2().create_managed_prefix_list(PrefixListName="list", MaxEntries=5, AddressFamily=family,
                                             Entries=[{"Cidr": c} for c in cidrs])["PrefixList"]["PrefixListId"]


def _pl_rule(pl: str, low: int, high: int, proto: str = "tcp") -> dict:
    return {"IpProtocol": proto, "FromPort": low, "ToPort": high, "PrefixListIds": [{"PrefixListId": pl}]}


def _statuses_by_subkey(result, check_id, gid):
    return {k: f.status for k, f in _by(result, check_id, gid).items()}


# --- vpc.sg-no-cifs-from-internet ---------------------------------------------------------------------------

def test_cifs_per_rule_both_families_and_prefix_lists(session):
    world = _pl("0.0.0.0/0")
    smb = _group("smb", _tcp(445), _tcp(440, 450, v4=None, v6="::/0"), _pl_rule(world, 445, 445))
    everything = _group("everything", {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]})
    udp_only = _group("udp445", _tcp(445, proto="udp"))  # SMB is TCP
    private = _group("private", _tcp(445, v4="10.0.0.0/8"), _tcp(443))
    result = scan(session, [CIFS])
    assert _statuses_by_subkey(result, CIFS, smb) == {
        "tcp/445-445/0.0.0.0/0": Status.FAIL, "tcp/440-450/::/0": Status.FAIL,
        f"tcp/445-445/{world}:0.0.0.0/0": Status.FAIL}
    assert _statuses_by_subkey(result, CIFS, everything) == {"all/0.0.0.0/0": Status.FAIL}
    assert _statuses_by_subkey(result, CIFS, udp_only) == {"": Status.PASS}
    assert _statuses_by_subkey(result, CIFS, private) == {"": Status.PASS}


def test_cifs_error_for_unreadable_prefix_list_and_for_unreadable_groups(session):
    pl = _pl("192.0.2.0/24")
    gid = _group("smb-pl", _pl_rule(pl, 0, 1000))
    deny(session, "ec2.GetManagedPrefixListEntries")
    [f] = _by(scan(session, [CIFS]), CIFS, gid).values()
    assert f.status is Status.ERROR and f.subkey == f"tcp/0-1000/{pl}"
    deny(session, "ec2.DescribeSecurityGroups")
    assert set(statuses(scan(session, [CIFS]), CIFS)) == {Status.ERROR}


# --- vpc.sg-no-all-ports-from-internet ----------------------------------------------------------------------

def test_all_ports_per_rule_not_exemptible(session):
    tag = {"public-ingress-justification": "load test harness, removed after the run"}
    wide = _group("wide", {"IpProtocol": "-1", "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}, _tcp(0, 65535),
                  _tcp(0, 65535, proto="udp"), group_tags=tag)
    almost = _group("almost", _tcp(1, 65535), _tcp(0, 65535, v4="10.0.0.0/8"))
    result = scan(session, [ALL_PORTS], cfg=AuditConfig(workers=4, allow_admin_port_exemptions=True))
    assert _statuses_by_subkey(result, ALL_PORTS, wide) == {
        "all/::/0": Status.FAIL, "tcp/0-65535/0.0.0.0/0": Status.FAIL, "udp/0-65535/0.0.0.0/0": Status.FAIL}
    assert "all traffic" in _by(result, ALL_PORTS, wide)["all/::/0"].message
    assert _statuses_by_subkey(result, ALL_PORTS, almost) == {"": Status.PASS}


def test_all_ports_via_prefix_list_and_error(session):
    pl = _pl("::/0", family="IPv6")
    gid = _group("pl-all", {"IpProtocol": "-1", "PrefixListIds": [{"PrefixListId": pl}]})
    assert _statuses_by_subkey(scan(session, [ALL_PORTS]), ALL_PORTS, gid) == {f"all/{pl}:::/0": Status.FAIL}
    deny(session, "ec2.DescribeManagedPrefixLists")  # the list itself is unknown now: ERROR, never PASS
    assert _statuses_by_subkey(scan(session, [ALL_PORTS]), ALL_PORTS, gid) == {f"all/{pl}": Status.ERROR}
    deny(session, "ec2.DescribeSecurityGroupRules")
    assert set(statuses(scan(session, [ALL_PORTS]), ALL_PORTS)) == {Status.ERROR}


# --- vpc.admin-ports-from-approved-cidrs --------------------------------------------------------------------

def _approved(**kw) -> AuditConfig:
    return AuditConfig(workers=4, approved_admin_cidrs=["10.20.0.0/16", "2001:db8::/32"], **kw)


def test_approved_sources_pass_and_each_unapproved_rule_fails(session):
    ec2 = _ec2()
    bastion = ec2.create_security_group(GroupName="bastion", Description="b", VpcId=_default_vpc())["GroupId"]
    vpn = _pl("10.20.1.0/24", "10.20.2.0/24")
    mixed = _pl("10.20.1.0/24", "198.51.100.0/24")
    good = _group("good", _tcp(22, v4="10.20.5.0/24"), _tcp(3389, v4=None, v6="2001:db8:1::/48"), _pl_rule(vpn, 22, 22))
    bad = _group("bad", _tcp(22, v4="10.0.0.0/8"), _tcp(20, 30, v4="0.0.0.0/0"), _pl_rule(mixed, 22, 22),
                 {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [{"GroupId": bastion}]})
    web = _group("web", _tcp(443))
    result = scan(session, [APPROVED], cfg=_approved())
    assert _statuses_by_subkey(result, APPROVED, good) == {"": Status.PASS}
    found = _by(result, APPROVED, bad)
    assert {k: f.status for k, f in found.items()} == {
        "tcp/22-22/10.0.0.0/8": Status.FAIL, "tcp/20-30/0.0.0.0/0": Status.FAIL,
        f"tcp/22-22/{mixed}": Status.FAIL, f"tcp/22-22/{bastion}": Status.FAIL}
    assert found[f"tcp/22-22/{mixed}"].evidence["prefix_list_outside"] == ["198.51.100.0/24"]
    assert found["tcp/20-30/0.0.0.0/0"].evidence["admin_ports"] == [22]
    assert _statuses_by_subkey(result, APPROVED, web) == {"": Status.PASS}
    # a group or prefix list named in approved_admin_sources is fine
    named = scan(session, [APPROVED], cfg=_approved(approved_admin_sources=[bastion, mixed]))
    assert set(_statuses_by_subkey(named, APPROVED, bad)) == {"tcp/22-22/10.0.0.0/8", "tcp/20-30/0.0.0.0/0"}


def test_approved_nothing_configured_fails_every_admin_rule(session):
    gid = _group("ssh", _tcp(22, v4="10.20.5.0/24"))
    [f] = _by(scan(session, [APPROVED]), APPROVED, gid).values()
    assert f.status is Status.FAIL and "not inside approved_admin_cidrs" in f.message


def test_approved_aws_managed_list_fails_unreadable_list_errors(session):
    s3_list = next(p["PrefixListId"] for p in _ec2().describe_managed_prefix_lists()["PrefixLists"]
                   if p["PrefixListName"].endswith(".s3"))
    vpn = _pl("10.20.1.0/24")
    gid = _group("lists", _pl_rule(s3_list, 22, 22), _pl_rule(vpn, 3389, 3389))
    assert _statuses_by_subkey(scan(session, [APPROVED], cfg=_approved()), APPROVED, gid) == {
        f"tcp/22-22/{s3_list}": Status.FAIL}
    deny(session, "ec2.GetManagedPrefixListEntries")
    assert _statuses_by_subkey(scan(session, [APPROVED], cfg=_approved()), APPROVED, gid) == {
        f"tcp/22-22/{s3_list}": Status.FAIL, f"tcp/3389-3389/{vpn}": Status.ERROR}


def test_approved_error_when_groups_unreadable(session):
    _group("ssh", _tcp(22))
    deny(session, "ec2.DescribeSecurityGroups")
    assert set(statuses(scan(session, [APPROVED], cfg=_approved()), APPROVED)) == {Status.ERROR}


def test_approved_cidrs_are_validated():
    with pytest.raises(ValidationError):
        AuditConfig(approved_admin_cidrs=["10.0.0.1/8"])


# --- vpc.nacl-no-admin-ports --------------------------------------------------------------------------------

def _acl(vpc: str, *entries: tuple) -> str:
    ec2 = _ec2()
    acl = ec2.create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
    for number, action, proto, cidr, ports in entries:
        extra = {"PortRange": {"From": ports[0], "To": ports[1]}} if ports else {}
        key = "Ipv6CidrBlock" if ":" in cidr else "CidrBlock"
        ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=number, Protocol=proto, RuleAction=action,
                                     Egress=False, **{key: cidr}, **extra)
    return acl


def test_nacl_rule_order_and_each_offending_entry(session):
    vpc = _ec2().create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    shielded = _acl(vpc, (100, "deny", "6", "0.0.0.0/0", (22, 22)), (110, "deny", "6", "0.0.0.0/0", (3389, 3389)),
                    (200, "allow", "-1", "0.0.0.0/0", None))
    leaky = _acl(vpc, (100, "deny", "6", "0.0.0.0/0", (22, 22)), (150, "allow", "6", "0.0.0.0/0", (1024, 65535)),
                 (200, "allow", "6", "0.0.0.0/0", (3000, 4000)), (300, "allow", "-1", "::/0", None))
    office = _acl(vpc, (100, "allow", "6", "203.0.113.0/24", (22, 22)))
    egress_only = _ec2().create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
    _ec2().create_network_acl_entry(NetworkAclId=egress_only, RuleNumber=100, Protocol="-1", RuleAction="allow",
                                    Egress=True, CidrBlock="0.0.0.0/0")
    result = scan(session, [NACL])
    by_acl = {acl: {f.subkey: f for f in only(result, NACL) if f.resource.id == acl}
              for acl in (shielded, leaky, office, egress_only)}
    for acl in (shielded, office, egress_only):
        assert {k: f.status for k, f in by_acl[acl].items()} == {"": Status.PASS}
    # 150 admits 3389 first, so 200 is shadowed for every admin port and is not a finding of its own
    assert {k: f.status for k, f in by_acl[leaky].items()} == {
        "150/tcp/1024-65535/0.0.0.0/0": Status.FAIL, "300/all/::/0": Status.FAIL}
    v6 = by_acl[leaky]["300/all/::/0"]
    assert v6.evidence["admin_ports"] == [22, 3389] and v6.resource.type == "AWS::EC2::NetworkAcl"
    assert by_acl[leaky]["150/tcp/1024-65535/0.0.0.0/0"].evidence["admin_ports"] == [3389]


def test_nacl_default_acl_allows_everything(session):
    default = next(a for a in _ec2().describe_network_acls()["NetworkAcls"] if a["IsDefault"])
    [f] = [f for f in only(scan(session, [NACL]), NACL) if f.resource.id == default["NetworkAclId"]]
    assert f.status is Status.FAIL and f.subkey == "100/all/0.0.0.0/0" and "(default)" in f.message


def test_nacl_admin_ports_from_config_and_error(session):
    vpc = _ec2().create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    winrm = _acl(vpc, (100, "allow", "6", "0.0.0.0/0", (5985, 5986)))
    default = scan(session, [NACL])
    custom = scan(session, [NACL], cfg=AuditConfig(workers=4, admin_ports=[22, 3389, 5986]))
    assert [f.status for f in only(default, NACL) if f.resource.id == winrm] == [Status.PASS]
    assert [f.status for f in only(custom, NACL) if f.resource.id == winrm] == [Status.FAIL]
    deny(session, "ec2.DescribeNetworkAcls")
    [f] = only(scan(session, [NACL]), NACL)
    assert f.status is Status.ERROR and f.gap and f.gap.iam_action == "ec2:DescribeNetworkAcls"
