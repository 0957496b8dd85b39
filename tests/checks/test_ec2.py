from __future__ import annotations

from datetime import datetime, timezone

import boto3
import pytest

from auditor.collectors.ec2 import EbsDefaultKey, EbsEncryptionDefault, Ec2Section, Instance, MetadataDefaults
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.models import Identity, Status
from auditor.runner import evaluate, select_checks
from tests.conftest import ACCOUNT, deny, only, scan, statuses

EBS_DEFAULT = "ec2.ebs-default-encryption"
VOLUMES = "ec2.ebs-volumes-encrypted"
IMDS = "ec2.imdsv2-required"
AMI = "ami-12c6146b"


def _client(region: str = "us-east-1"):
    return boto3.client("ec2", region_name=region)


def _hand_inventory(section: Ec2Section, regions: list[str]) -> Inventory:
    from auditor.collectors import COLLECTORS

    return Inventory(identity=Identity(account_id=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:root"), regions=regions,
                     collected_at=datetime.now(timezone.utc), datasets=sorted(COLLECTORS.get("ec2").datasets),
                     sections={"ec2": section})


def _evaluate(section: Ec2Section, check_id: str, cfg: AuditConfig | None = None, regions=("us-east-1",)):
    return evaluate(_hand_inventory(section, list(regions)), select_checks([check_id]), cfg or AuditConfig())


# --- ec2.ebs-default-encryption -----------------------------------------------------------------------------

def test_ebs_default_encryption_per_region_pass_and_fail(session):
    _client("us-east-1").enable_ebs_encryption_by_default()
    result = scan(session, [EBS_DEFAULT], regions=["us-east-1", "eu-west-1"])
    by_region = {f.region: f for f in only(result, EBS_DEFAULT)}
    assert {r: f.status for r, f in by_region.items()} == {"us-east-1": Status.PASS, "eu-west-1": Status.FAIL}
    on, off = by_region["us-east-1"], by_region["eu-west-1"]
    # moto lacks GetEbsDefaultKmsKeyId: the optional key is "unknown", never an ERROR verdict
    assert on.evidence["default_kms_key"] == "unknown" and "unknown" in on.message
    assert off.resource.type == "AWS::::AccountSetting" and off.resource.id == "ebs-encryption-by-default/eu-west-1"
    assert "off in eu-west-1" in off.message


def test_ebs_default_encryption_error_when_unreadable(session):
    deny(session, "ec2.GetEbsEncryptionByDefault")
    [f] = only(scan(session, [EBS_DEFAULT]), EBS_DEFAULT)
    assert f.status is Status.ERROR and f.gap and f.gap.iam_action == "ec2:GetEbsEncryptionByDefault"


def test_ebs_default_key_denied_is_not_an_error(session):
    _client().enable_ebs_encryption_by_default()
    deny(session, "ec2.GetEbsDefaultKmsKeyId")
    result = scan(session, [EBS_DEFAULT])
    assert statuses(result, EBS_DEFAULT) == [Status.PASS]
    assert [g.iam_action for g in result.gaps] == ["ec2:GetEbsDefaultKmsKeyId"]


@pytest.mark.parametrize(("key", "require_cmk", "warned"), [
    ("arn:aws:kms:us-east-1:123456789012:alias/aws/ebs", True, True),
    ("arn:aws:kms:us-east-1:123456789012:alias/aws/ebs", False, False),
    ("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", True, False),
])
def test_ebs_default_key_warning_when_cmk_required(key, require_cmk, warned):
    section = Ec2Section(ebs_encryption=[EbsEncryptionDefault(region="us-east-1", enabled=True)],
                         ebs_default_keys=[EbsDefaultKey(region="us-east-1", kms_key_id=key)])
    [f] = _evaluate(section, EBS_DEFAULT, AuditConfig(require_customer_managed_keys=require_cmk))
    assert f.status is Status.PASS and f.evidence["default_kms_key"] == key
    assert ("warning" in f.evidence) is warned and ("warning" in f.message) is warned


# --- ec2.ebs-volumes-encrypted ------------------------------------------------------------------------------

def test_volumes_pass_and_fail(session):
    ec2 = _client()
    good = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1, Encrypted=True)["VolumeId"]
    bad = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1, Encrypted=False)["VolumeId"]
    found = {f.resource.id: f for f in only(scan(session, [VOLUMES]), VOLUMES)}
    assert {k: f.status for k, f in found.items()} == {good: Status.PASS, bad: Status.FAIL}
    assert found[bad].resource.type == "AWS::EC2::Volume" and "not encrypted" in found[bad].message


def test_volumes_error_and_not_applicable(session):
    assert statuses(scan(session, [VOLUMES]), VOLUMES) == [Status.NOT_APPLICABLE]
    _client().create_volume(AvailabilityZone="us-east-1a", Size=1, Encrypted=True)
    deny(session, "ec2.DescribeVolumes")
    assert statuses(scan(session, [VOLUMES]), VOLUMES) == [Status.ERROR]


# --- ec2.imdsv2-required ------------------------------------------------------------------------------------

def _launch(tokens: str, endpoint: str = "enabled") -> str:
    return _client().run_instances(ImageId=AMI, MinCount=1, MaxCount=1,
                                   MetadataOptions={"HttpTokens": tokens, "HttpEndpoint": endpoint}
                                   )["Instances"][0]["InstanceId"]


def test_imdsv2_pass_fail_and_endpoint_disabled(session):
    v2, v1, off = _launch("required"), _launch("optional"), _launch("optional", "disabled")
    stopped = _launch("optional")
    _client().stop_instances(InstanceIds=[stopped])
    found = {f.resource.id: f for f in only(scan(session, [IMDS]), IMDS)}
    assert {k: f.status for k, f in found.items()} == {v2: Status.PASS, v1: Status.FAIL, off: Status.PASS,
                                                       stopped: Status.FAIL}
    assert found[v1].evidence["http_tokens"] == "optional" and "IMDSv1" in found[v1].message
    assert found[v1].evidence["account_default_http_tokens"] == "unknown"  # moto: optional read unsupported


def test_imdsv2_terminated_instances_are_out_of_scope(session):
    gone = _launch("optional")
    _client().terminate_instances(InstanceIds=[gone])
    assert statuses(scan(session, [IMDS]), IMDS) == [Status.NOT_APPLICABLE]


def test_imdsv2_error_when_instances_unreadable(session):
    _launch("required")
    deny(session, "ec2.DescribeInstances")
    [f] = only(scan(session, [IMDS]), IMDS)
    assert f.status is Status.ERROR and f.gap and f.gap.iam_action == "ec2:DescribeInstances"


def test_imdsv2_reports_account_default_when_readable():
    inst = Instance(arn=f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-1", id="i-1", region="us-east-1",
                    state="running", http_tokens="optional", http_endpoint="enabled")
    section = Ec2Section(instances=[inst], metadata_defaults=[MetadataDefaults(region="us-east-1",
                                                                               http_tokens="required")])
    [f] = _evaluate(section, IMDS)
    assert f.status is Status.FAIL and f.evidence["account_default_http_tokens"] == "required"


# --- ec2.instance-no-public-ip ------------------------------------------------------------------------------

PUBLIC_IP = "ec2.instance-no-public-ip"


def _ipv6_subnet(routed: bool) -> str:
    ec2 = _client()
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", AmazonProvidedIpv6CidrBlock=True)["Vpc"]
    v6 = vpc["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"].replace("/56", "/64")
    sub = ec2.create_subnet(VpcId=vpc["VpcId"], CidrBlock="10.0.1.0/24", Ipv6CidrBlock=v6)["Subnet"]["SubnetId"]
    if routed:
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc["VpcId"])
        rt = ec2.create_route_table(VpcId=vpc["VpcId"])["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=rt, DestinationIpv6CidrBlock="::/0", GatewayId=igw)
        ec2.associate_route_table(RouteTableId=rt, SubnetId=sub)
    return sub


def _run(**kw) -> str:
    return _client().run_instances(ImageId=AMI, MinCount=1, MaxCount=1, **kw)["Instances"][0]["InstanceId"]


def test_public_ip_pass_fail_justified_and_ipv6(session):
    public = _run()  # moto gives instances in default subnets a public IPv4 address
    justified = _run(TagSpecifications=[{"ResourceType": "instance", "Tags": [
        {"Key": "public-exposure-justification", "Value": "public game server"}]}])
    private_sub = _ipv6_subnet(routed=False)
    private = _run(NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": private_sub, "AssociatePublicIpAddress": False}])
    v6_private = _run(SubnetId=private_sub, Ipv6AddressCount=1)
    v6_public = _run(SubnetId=_ipv6_subnet(routed=True), Ipv6AddressCount=1)
    stopped = _run()
    _client().stop_instances(InstanceIds=[stopped])
    found = {f.resource.id: f for f in only(scan(session, [PUBLIC_IP]), PUBLIC_IP)}
    assert {k: f.status for k, f in found.items()} == {
        public: Status.FAIL, justified: Status.PASS, private: Status.PASS, v6_private: Status.PASS,
        v6_public: Status.FAIL}  # stopped instances are out of scope
    assert found[public].evidence["public_ip"] and "public IP" in found[public].message
    assert found[justified].evidence["justification"]["text"] == "public game server"
    assert found[v6_public].evidence["ipv6_internet_routes"] == ["::/0"] and "IPv6" in found[v6_public].message
    custom = scan(session, [PUBLIC_IP], cfg=AuditConfig(workers=4, public_exposure_tag="exposure"))
    assert {f.resource.id: f.status for f in only(custom, PUBLIC_IP)}[justified] is Status.FAIL


def test_public_ip_error_and_not_applicable(session):
    assert statuses(scan(session, [PUBLIC_IP]), PUBLIC_IP) == [Status.NOT_APPLICABLE]
    v4 = _run()
    v6 = _run(SubnetId=_ipv6_subnet(routed=False), Ipv6AddressCount=1)
    deny(session, "ec2.DescribeRouteTables")  # only the IPv6 verdict rests on routes
    assert {f.resource.id: f.status for f in only(scan(session, [PUBLIC_IP]), PUBLIC_IP)} == {
        v4: Status.FAIL, v6: Status.ERROR}
    deny(session, "ec2.DescribeInstances")
    assert set(statuses(scan(session, [PUBLIC_IP]), PUBLIC_IP)) == {Status.ERROR}


def test_public_ip_ipv6_with_unknown_route_table_is_error():
    inst = Instance(arn=f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-1", id="i-1", region="us-east-1",
                    state="running", vpc_id="vpc-1", subnet_id="subnet-1", ipv6_addresses=["2001:db8::1"])
    [f] = _evaluate(Ec2Section(instances=[inst]), PUBLIC_IP)
    assert f.status is Status.ERROR and "route table" in f.message
