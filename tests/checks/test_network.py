from __future__ import annotations

from datetime import datetime, timezone

import boto3
import pytest

from auditor.collectors import COLLECTORS
from auditor.collectors.ec2 import Ec2Section, Vpc
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.models import Identity, Status
from auditor.runner import evaluate, select_checks
from tests.conftest import ACCOUNT, deny, only, scan, statuses

JUSTIFIED = "vpc.sg-internet-ingress-justified"
ADMIN = "vpc.sg-no-admin-ports-ipv4"
DEFAULT_SG = "vpc.default-sg-restricts-all"
FLOW = "vpc.flow-logs-enabled"
DEFAULT_VPC = "vpc.default-vpc-absent"
TAG = "public-ingress-justification"
LONG = "public website for all customers"  # >= 20 chars


def _ec2(region: str = "us-east-1"):
    return boto3.client("ec2", region_name=region)


def _default_vpc(region: str = "us-east-1") -> str:
    return next(v["VpcId"] for v in _ec2(region).describe_vpcs()["Vpcs"] if v["IsDefault"])


def _group(name: str, *perms: dict, group_tags: dict | None = None, rule_tags: dict | None = None) -> str:
    ec2 = _ec2()
    extra = {"TagSpecifications": [{"ResourceType": "security-group",
                                    "Tags": [{"Key": k, "Value": v} for k, v in group_tags.items()]}]} \
        if group_tags else {}
    gid = ec2.create_security_group(GroupName=name, Description=name, VpcId=_default_vpc(), **extra)["GroupId"]
    if perms:
        rextra = {"TagSpecifications": [{"ResourceType": "security-group-rule",
                                         "Tags": [{"Key": k, "Value": v} for k, v in rule_tags.items()]}]} \
            if rule_tags else {}
        ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=list(perms), **rextra)
    return gid


def _tcp(port: int, to: int | None = None, v4: str | None = "0.0.0.0/0", v6: str | None = None, desc: str = "",
         proto: str = "tcp") -> dict:
    perm: dict = {"IpProtocol": proto, "FromPort": port, "ToPort": to if to is not None else port}
    if v4:
        perm["IpRanges"] = [{"CidrIp": v4, **({"Description": desc} if desc else {})}]
    if v6:
        perm["Ipv6Ranges"] = [{"CidrIpv6": v6, **({"Description": desc} if desc else {})}]
    return perm


def _by(result, check_id, gid):
    return {f.subkey: f for f in only(result, check_id) if f.resource.id == gid}


# --- vpc.sg-internet-ingress-justified ----------------------------------------------------------------------

def test_justification_by_description_rule_tag_or_group_tag(session):
    described = _group("described", _tcp(443, desc=LONG))
    short = _group("short", _tcp(443, desc="web"))
    rule_tagged = _group("rule-tagged", _tcp(80), rule_tags={TAG: "redirect to https"})
    group_tagged = _group("group-tagged", _tcp(443, v6="::/0"), group_tags={TAG: "public ALB"})
    empty_tag = _group("empty-tag", _tcp(8080), group_tags={TAG: "  "})
    private = _group("private", _tcp(22, v4="10.0.0.0/8"))
    result = scan(session, [JUSTIFIED])
    assert {k: f.status for k, f in _by(result, JUSTIFIED, described).items()} == {
        "tcp/443-443/0.0.0.0/0": Status.PASS}
    assert [f.status for f in _by(result, JUSTIFIED, short).values()] == [Status.FAIL]
    assert _by(result, JUSTIFIED, rule_tagged)["tcp/80-80/0.0.0.0/0"].status is Status.PASS
    tagged = _by(result, JUSTIFIED, group_tagged)
    assert set(tagged) == {"tcp/443-443/0.0.0.0/0", "tcp/443-443/::/0"}  # every open rule is its own finding
    assert {f.status for f in tagged.values()} == {Status.PASS}
    assert tagged["tcp/443-443/::/0"].evidence["justification"] == {"source": f"group tag {TAG}", "text": "public ALB"}
    assert [f.status for f in _by(result, JUSTIFIED, empty_tag).values()] == [Status.FAIL]
    assert {k: f.status for k, f in _by(result, JUSTIFIED, private).items()} == {"": Status.PASS}


def test_justification_threshold_and_tag_come_from_config(session):
    gid = _group("cfg", _tcp(443, desc="web site"), group_tags={"why": "ok"})
    strict = scan(session, [JUSTIFIED])
    lax = scan(session, [JUSTIFIED], cfg=AuditConfig(workers=4, min_justification_chars=5))
    other_tag = scan(session, [JUSTIFIED], cfg=AuditConfig(workers=4, justification_tag="why"))
    assert [f.status for f in _by(strict, JUSTIFIED, gid).values()] == [Status.FAIL]
    assert [f.status for f in _by(lax, JUSTIFIED, gid).values()] == [Status.PASS]
    assert [f.status for f in _by(other_tag, JUSTIFIED, gid).values()] == [Status.PASS]


def test_user_strings_stay_data_and_messages_are_short(session):
    evil = "<script>alert(1)</script> " + "x" * 200
    gid = _group("evil", _tcp(443, desc=evil[:255]))
    [f] = _by(scan(session, [JUSTIFIED]), JUSTIFIED, gid).values()
    assert f.status is Status.PASS and f.evidence["description"] == evil[:255]
    assert len(f.message) < 250 and "\n" not in f.message


def test_prefix_list_rules_are_noted_not_judged(session):
    pl = _ec2().create_managed_prefix_list(PrefixListName="office", MaxEntries=1, AddressFamily="IPv4",
                                           Entries=[{"Cidr": "0.0.0.0/0"}])["PrefixList"]["PrefixListId"]
    gid = _group("pl", {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "PrefixListIds": [{"PrefixListId": pl}]})
    [f] = _by(scan(session, [JUSTIFIED]), JUSTIFIED, gid).values()
    assert f.status is Status.PASS and f.evidence["unresolved_prefix_list_rules"] == [f"tcp/22-22/{pl}"]


def test_justification_error_when_rules_unreadable(session):
    _group("open", _tcp(443))
    deny(session, "ec2.DescribeSecurityGroupRules")
    assert set(statuses(scan(session, [JUSTIFIED]), JUSTIFIED)) == {Status.ERROR}


# --- vpc.sg-no-admin-ports-ipv4 -----------------------------------------------------------------------------

def test_admin_ports_fail_per_rule_and_pass_per_group(session):
    ssh = _group("ssh", _tcp(22), _tcp(3389, proto="udp"))
    wide = _group("wide", _tcp(20, 30))
    everything = _group("all", {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]})
    web = _group("web", _tcp(443), _tcp(22, v4="10.0.0.0/8"), _tcp(22, v4=None, v6="::/0"))
    result = scan(session, [ADMIN])
    assert {k: f.status for k, f in _by(result, ADMIN, ssh).items()} == {
        "tcp/22-22/0.0.0.0/0": Status.FAIL, "udp/3389-3389/0.0.0.0/0": Status.FAIL}
    assert [f.evidence["admin_ports"] for f in _by(result, ADMIN, wide).values()] == [[22]]
    [all_traffic] = _by(result, ADMIN, everything).values()
    assert all_traffic.status is Status.FAIL and all_traffic.subkey == "all/0.0.0.0/0"
    assert all_traffic.evidence["admin_ports"] == "all"
    assert {k: f.status for k, f in _by(result, ADMIN, web).items()} == {"": Status.PASS}  # ::/0 is the ipv6 check


def test_admin_ports_from_config(session):
    gid = _group("winrm", _tcp(5985, 5986))
    default = scan(session, [ADMIN])
    custom = scan(session, [ADMIN], cfg=AuditConfig(workers=4, admin_ports=[22, 3389, 5985]))
    assert [f.status for f in _by(default, ADMIN, gid).values()] == [Status.PASS]
    assert [f.status for f in _by(custom, ADMIN, gid).values()] == [Status.FAIL]


@pytest.mark.parametrize(("allow", "expected"), [(False, Status.FAIL), (True, Status.WAIVED)])
def test_admin_port_justification_only_exempts_when_allowed(session, allow, expected):
    gid = _group("bastion", _tcp(22, desc="bastion for the on-call team, MFA at the gate"))
    cfg = AuditConfig(workers=4, allow_admin_port_exemptions=allow)
    [f] = _by(scan(session, [ADMIN], cfg=cfg), ADMIN, gid).values()
    assert f.status is expected and f.evidence["justification"]["source"] == "rule description"
    assert (f.waiver is not None) is allow


def test_admin_ports_error_when_groups_unreadable(session):
    _group("ssh", _tcp(22))
    deny(session, "ec2.DescribeSecurityGroups")
    [f] = only(scan(session, [ADMIN]), ADMIN)
    assert f.status is Status.ERROR and f.gap and f.gap.iam_action == "ec2:DescribeSecurityGroups"


# --- vpc.sg-no-admin-ports-ipv6 -----------------------------------------------------------------------------

ADMIN6 = "vpc.sg-no-admin-ports-ipv6"


def _pl(family: str, *cidrs: str) -> str:
    return _ec2().create_managed_prefix_list(PrefixListName=f"pl-{len(cidrs)}-{family}", MaxEntries=5,
                                             AddressFamily=family, Entries=[{"Cidr": c} for c in cidrs]
                                             )["PrefixList"]["PrefixListId"]


def test_admin_ports_ipv6_per_rule_with_prefix_lists(session):
    world6 = _pl("IPv6", "::/0")
    office = _pl("IPv4", "0.0.0.0/0")  # an IPv4 list never opens ::/0
    ssh6 = _group("ssh6", _tcp(22, v4=None, v6="::/0"), _tcp(3389, v4=None, v6="::/0", proto="udp"))
    via_pl = _group("via-pl", {"IpProtocol": "tcp", "FromPort": 20, "ToPort": 25,
                               "PrefixListIds": [{"PrefixListId": world6}]})
    all6 = _group("all6", {"IpProtocol": "-1", "Ipv6Ranges": [{"CidrIpv6": "::/0"}]})
    v4_only = _group("v4-only", _tcp(22), {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                           "PrefixListIds": [{"PrefixListId": office}]})
    web6 = _group("web6", _tcp(443, v4=None, v6="::/0"), _tcp(22, v4=None, v6="2001:db8::/32"))
    result = scan(session, [ADMIN6])
    assert {k: f.status for k, f in _by(result, ADMIN6, ssh6).items()} == {
        "tcp/22-22/::/0": Status.FAIL, "udp/3389-3389/::/0": Status.FAIL}
    [pl_hit] = _by(result, ADMIN6, via_pl).values()
    assert pl_hit.status is Status.FAIL and pl_hit.subkey == f"tcp/20-25/{world6}:::/0"
    assert pl_hit.evidence["prefix_list"] == world6 and pl_hit.evidence["admin_ports"] == [22]
    assert [f.evidence["admin_ports"] for f in _by(result, ADMIN6, all6).values()] == ["all"]
    assert {k: f.status for k, f in _by(result, ADMIN6, v4_only).items()} == {"": Status.PASS}
    assert {k: f.status for k, f in _by(result, ADMIN6, web6).items()} == {"": Status.PASS}


def test_admin_ports_ipv6_exemption_follows_config(session):
    gid = _group("bastion6", _tcp(22, v4=None, v6="::/0", desc="bastion for the on-call team, MFA at the gate"))
    strict = scan(session, [ADMIN6])
    lax = scan(session, [ADMIN6], cfg=AuditConfig(workers=4, allow_admin_port_exemptions=True))
    assert [f.status for f in _by(strict, ADMIN6, gid).values()] == [Status.FAIL]
    assert [f.status for f in _by(lax, ADMIN6, gid).values()] == [Status.WAIVED]


def test_admin_ports_ipv6_unreadable_prefix_list_is_error_for_that_rule(session):
    pl = _pl("IPv6", "2001:db8::/32")
    gid = _group("pl6", {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "PrefixListIds": [{"PrefixListId": pl}]})
    other = _group("plain", _tcp(443, v4=None, v6="::/0"))
    assert [f.status for f in _by(scan(session, [ADMIN6]), ADMIN6, gid).values()] == [Status.PASS]
    deny(session, "ec2.GetManagedPrefixListEntries")
    result = scan(session, [ADMIN6])
    [f] = _by(result, ADMIN6, gid).values()
    assert f.status is Status.ERROR and f.subkey == f"tcp/22-22/{pl}" and "could not be read" in f.message
    assert [x.status for x in _by(result, ADMIN6, other).values()] == [Status.PASS]  # only that rule is unknown


def test_admin_ports_ipv6_error_when_rules_unreadable(session):
    _group("ssh6", _tcp(22, v4=None, v6="::/0"))
    deny(session, "ec2.DescribeSecurityGroupRules")
    [f] = only(scan(session, [ADMIN6]), ADMIN6)
    assert f.status is Status.ERROR and f.gap and f.gap.iam_action == "ec2:DescribeSecurityGroupRules"


# --- vpc.default-sg-restricts-all ---------------------------------------------------------------------------

def test_default_sg_fail_pass_error(session):
    ec2 = _ec2()
    default = next(g for g in ec2.describe_security_groups()["SecurityGroups"] if g["GroupName"] == "default")
    _group("not-default", _tcp(22))
    [f] = only(scan(session, [DEFAULT_SG]), DEFAULT_SG)  # moto's default group has the allow-all egress rule
    assert f.status is Status.FAIL and f.resource.id == default["GroupId"] and len(f.evidence["egress_rules"]) == 1
    ec2.revoke_security_group_egress(GroupId=default["GroupId"], IpPermissions=default["IpPermissionsEgress"])
    assert statuses(scan(session, [DEFAULT_SG]), DEFAULT_SG) == [Status.PASS]
    deny(session, "ec2.DescribeSecurityGroupRules")
    assert statuses(scan(session, [DEFAULT_SG]), DEFAULT_SG) == [Status.ERROR]


# --- vpc.flow-logs-enabled ----------------------------------------------------------------------------------

def _flow_log(vpc: str, traffic: str) -> None:
    _ec2().create_flow_logs(ResourceIds=[vpc], ResourceType="VPC", TrafficType=traffic, LogGroupName="flow",
                            DeliverLogsPermissionArn=f"arn:aws:iam::{ACCOUNT}:role/flow")


def test_flow_logs_pass_fail(session):
    default = _default_vpc()
    accept_only = _ec2().create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    bare = _ec2().create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    _flow_log(default, "REJECT")
    _flow_log(accept_only, "ACCEPT")
    found = {f.resource.id: f for f in only(scan(session, [FLOW]), FLOW)}
    assert {k: f.status for k, f in found.items()} == {default: Status.PASS, accept_only: Status.FAIL,
                                                       bare: Status.FAIL}
    assert found[bare].message.endswith("has no flow log") and found[default].resource.type == "AWS::EC2::VPC"


def test_flow_logs_error_only_where_unreadable(session):
    deny(session, "ec2.DescribeFlowLogs")
    assert set(statuses(scan(session, [FLOW]), FLOW)) == {Status.ERROR}


# --- vpc.default-vpc-absent ---------------------------------------------------------------------------------

def test_default_vpc_unused_fails_in_use_passes_with_warning(session):
    _ec2().run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)
    result = scan(session, [DEFAULT_VPC], regions=["us-east-1", "eu-west-1"])
    found = {f.region: f for f in only(result, DEFAULT_VPC)}
    assert {r: f.status for r, f in found.items()} == {"us-east-1": Status.PASS, "eu-west-1": Status.FAIL}
    used = found["us-east-1"]
    assert "in use" in used.message and used.evidence["warning"] and used.evidence["network_interface_count"] == 1
    assert found["eu-west-1"].resource.id == "default-vpc/eu-west-1"


def test_default_vpc_absent_passes():
    vpc = Vpc(arn=f"arn:aws:ec2:us-east-1:{ACCOUNT}:vpc/vpc-1", id="vpc-1", region="us-east-1", is_default=False)
    inv = Inventory(identity=Identity(account_id=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:root"), regions=["us-east-1"],
                    collected_at=datetime.now(timezone.utc), datasets=sorted(COLLECTORS.get("ec2").datasets),
                    sections={"ec2": Ec2Section(vpcs=[vpc])})
    [f] = evaluate(inv, select_checks([DEFAULT_VPC]), AuditConfig())
    assert f.status is Status.PASS and f.evidence["default_vpc"] is None


def test_default_vpc_error_when_interfaces_unreadable(session):
    deny(session, "ec2.DescribeNetworkInterfaces")
    [f] = only(scan(session, [DEFAULT_VPC]), DEFAULT_VPC)
    assert f.status is Status.ERROR and f.gap and f.gap.iam_action == "ec2:DescribeNetworkInterfaces"


# --- the demo account ---------------------------------------------------------------------------------------

def test_demo_network_step_plants_good_and_bad_state(session):
    from auditor.demo import DemoContext
    from auditor.demo.network import network

    network(DemoContext())
    ids = [JUSTIFIED, ADMIN, DEFAULT_VPC, FLOW, "ec2.*"]
    result = scan(session, ids, regions=["us-east-1", "eu-west-1"])
    names = {f.resource.id: f.evidence.get("group_name") for f in only(result, ADMIN)}
    admin = {names[f.resource.id]: f.status for f in only(result, ADMIN, region="us-east-1")}
    assert admin["ssh-open"] is Status.FAIL and admin["public-https"] is Status.PASS
    justified = {(names[f.resource.id], f.subkey): f.status for f in only(result, JUSTIFIED, region="us-east-1")}
    assert justified[("ssh-open", "tcp/22-22/0.0.0.0/0")] is Status.FAIL
    assert justified[("public-https", "tcp/443-443/::/0")] is Status.PASS
    assert sorted(f.status.value for f in only(result, "ec2.imdsv2-required")) == ["FAIL", "PASS"]
    assert sorted(f.status.value for f in only(result, "ec2.ebs-volumes-encrypted")).count("FAIL") == 1
    assert {f.region: f.status for f in only(result, "ec2.ebs-default-encryption")} == {
        "us-east-1": Status.PASS, "eu-west-1": Status.FAIL}
    assert {f.status.value for f in only(result, FLOW)} == {"FAIL", "PASS"}  # network-vpc adds a VPC
    assert Status.FAIL in statuses(result, DEFAULT_VPC)
