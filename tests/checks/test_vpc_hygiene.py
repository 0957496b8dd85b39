from __future__ import annotations

import boto3

from auditor.models import Status
from tests.conftest import deny, only, scan, statuses

UNUSED_SG = "vpc.unused-security-groups"
UNUSED_NET = "vpc.unused-vpcs-and-subnets"
DEFAULT_SG = "vpc.resources-not-on-default-sg"
AMI = "ami-12c6146b"


def _ec2():
    return boto3.client("ec2", region_name="us-east-1")


def _default_vpc() -> str:
    return next(v["VpcId"] for v in _ec2().describe_vpcs()["Vpcs"] if v["IsDefault"])


def _sg(name: str, vpc: str | None = None) -> str:
    return _ec2().create_security_group(GroupName=name, Description=name, VpcId=vpc or _default_vpc())["GroupId"]


def test_unused_security_groups(session):
    ec2 = _ec2()
    attached, referenced, lonely, selfish = _sg("attached"), _sg("referenced"), _sg("lonely"), _sg("selfish")
    ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, SecurityGroupIds=[attached])
    ec2.authorize_security_group_ingress(GroupId=attached, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [{"GroupId": referenced}]}])
    ec2.authorize_security_group_ingress(GroupId=selfish, IpPermissions=[
        {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": selfish}]}])
    found = {f.resource.id: f for f in only(scan(session, [UNUSED_SG]), UNUSED_SG)}
    assert {k: f.status for k, f in found.items()} == {
        attached: Status.PASS, referenced: Status.PASS, lonely: Status.FAIL, selfish: Status.FAIL}  # no default
    assert found[referenced].evidence["referenced_by"] == [attached]
    assert found[attached].evidence["network_interface_count"] == 1
    assert "unused" in found[lonely].message


def test_unused_security_groups_error(session):
    _sg("lonely")
    deny(session, "ec2.DescribeNetworkInterfaces")
    assert set(statuses(scan(session, [UNUSED_SG]), UNUSED_SG)) == {Status.ERROR}


def test_unused_vpcs_and_subnets_warn(session):
    ec2 = _ec2()
    used = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    empty = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    busy = ec2.create_subnet(VpcId=used, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    idle = ec2.create_subnet(VpcId=used, CidrBlock="10.0.2.0/24")["Subnet"]["SubnetId"]
    ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=busy)
    found = {f.resource.id: f for f in only(scan(session, [UNUSED_NET]), UNUSED_NET)}
    assert set(found) == {used, empty, busy, idle}  # the default VPC and its default subnets are out of scope
    assert {f.status for f in found.values()} == {Status.PASS}  # informational: warnings, never FAIL
    assert {k for k, f in found.items() if "warning" in f.evidence} == {empty, idle}
    assert found[idle].message.startswith("warning:") and found[idle].resource.type == "AWS::EC2::Subnet"
    assert found[used].evidence["network_interface_count"] == 1


def test_unused_vpcs_not_applicable_and_error(session):
    assert statuses(scan(session, [UNUSED_NET]), UNUSED_NET) == [Status.NOT_APPLICABLE]
    _ec2().create_vpc(CidrBlock="10.1.0.0/16")
    deny(session, "ec2.DescribeSubnets")
    assert set(statuses(scan(session, [UNUSED_NET]), UNUSED_NET)) == {Status.ERROR}


def test_resources_not_on_default_sg(session):
    ec2 = _ec2()
    own = _sg("app")
    on_default = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    on_own = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, SecurityGroupIds=[own])["Instances"][0]
    default_sg = next(g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]
                      if g["GroupName"] == "default" and g["VpcId"] == _default_vpc())
    both = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, SecurityGroupIds=[own, default_sg])["Instances"][0]
    found = {f.evidence["instance_id"]: f for f in only(scan(session, [DEFAULT_SG]), DEFAULT_SG)}
    assert {k: f.status for k, f in found.items()} == {
        on_default: Status.FAIL, on_own["InstanceId"]: Status.PASS, both["InstanceId"]: Status.PASS}
    assert found[on_default].resource.type == "AWS::EC2::NetworkInterface"
    assert "default security group" in found[on_default].message


def test_resources_not_on_default_sg_not_applicable_and_error(session):
    assert statuses(scan(session, [DEFAULT_SG]), DEFAULT_SG) == [Status.NOT_APPLICABLE]
    _ec2().run_instances(ImageId=AMI, MinCount=1, MaxCount=1)
    deny(session, "ec2.DescribeSecurityGroups")
    assert set(statuses(scan(session, [DEFAULT_SG]), DEFAULT_SG)) == {Status.ERROR}
