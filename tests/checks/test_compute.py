"""Compute checks: snapshots, AMIs, SSM instead of SSH, workloads inside a VPC.

moto lacks ssm.DescribeInstanceInformation, ec2.GetSnapshotBlockPublicAccessState and AMI deprecation: those
answers are recorded responses at the botocore layer (`recorded`).
"""
from __future__ import annotations

import boto3
import pytest

from auditor.config import AuditConfig
from auditor.models import Status
from tests.collectors.test_lambda import make_function
from tests.conftest import deny, future, only, recorded, scan

AMI = "ami-12c6146b"  # a moto stock AMI owned by "amazon"
REGION = "us-east-1"


@pytest.fixture
def ec2(aws):
    return boto3.client("ec2", region_name=REGION)


def _snapshot(ec2, encrypted: bool = False, public: bool = False) -> str:
    vol = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1, Encrypted=encrypted)["VolumeId"]
    snap = ec2.create_snapshot(VolumeId=vol)["SnapshotId"]
    if public:
        ec2.modify_snapshot_attribute(SnapshotId=snap, Attribute="createVolumePermission", OperationType="add",
                                      GroupNames=["all"])
    return snap


def _by_id(result, check_id: str) -> dict[str, Status]:
    return {f.resource.id: f.status for f in only(result, check_id)}


# ec2.ebs-snapshots-encrypted / ec2.ebs-snapshots-not-public

def test_snapshots_encrypted_pass_fail_error(session, ec2):
    good, bad = _snapshot(ec2, encrypted=True), _snapshot(ec2)
    assert _by_id(scan(session, ["ec2.ebs-snapshots-encrypted"]), "ec2.ebs-snapshots-encrypted") == {
        good: Status.PASS, bad: Status.FAIL}
    deny(session, "ec2.DescribeSnapshots")
    [f] = only(scan(session, ["ec2.ebs-snapshots-encrypted"]), "ec2.ebs-snapshots-encrypted")
    assert f.status is Status.ERROR and f.gap.iam_action == "ec2:DescribeSnapshots"


def test_no_snapshots_is_not_applicable(session, ec2):
    result = scan(session, ["ec2.ebs-snapshots-encrypted", "ec2.ebs-snapshots-not-public"])
    assert {f.status for f in result.findings} == {Status.NOT_APPLICABLE}


def test_public_snapshot_fails_private_passes_unreadable_is_error(session, ec2):
    private, public = _snapshot(ec2), _snapshot(ec2, public=True)
    result = scan(session, ["ec2.ebs-snapshots-not-public"])
    assert _by_id(result, "ec2.ebs-snapshots-not-public") == {private: Status.PASS, public: Status.FAIL}
    [fail] = only(result, "ec2.ebs-snapshots-not-public", status=Status.FAIL)
    assert "public" in fail.message and fail.evidence["block_public_access"] == "unknown"
    deny(session, "ec2.DescribeSnapshotAttribute")
    result = scan(session, ["ec2.ebs-snapshots-not-public"])
    assert _by_id(result, "ec2.ebs-snapshots-not-public") == {private: Status.ERROR, public: Status.ERROR}
    assert all(f.resource.type == "AWS::EC2::Snapshot" for f in result.findings)


def test_block_all_sharing_passes_the_region_and_neutralises_public_grants(session, ec2):
    public = _snapshot(ec2, public=True)
    recorded(session, "ec2.GetSnapshotBlockPublicAccessState", {"State": "block-all-sharing"})
    result = scan(session, ["ec2.ebs-snapshots-not-public"])
    by_id = {f.resource.id: f for f in result.findings}
    assert by_id[public].status is Status.PASS and "Group=all" in by_id[public].evidence["warning"]
    region = by_id[f"snapshot-block-public-access/{REGION}"]
    assert region.status is Status.PASS and region.evidence == {"state": "block-all-sharing"}


# ec2.ami-sanctioned / ec2.ami-age

def _instance(ec2, image: str = AMI) -> str:
    return ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]


def test_ami_sanctioned_by_owner_tag_or_config_and_unknown_fails(session, ec2):
    amazon = _instance(ec2)
    own_image = ec2.create_image(InstanceId=amazon, Name="golden")["ImageId"]
    own = _instance(ec2, own_image)
    gone_image = ec2.create_image(InstanceId=amazon, Name="old-golden")["ImageId"]
    gone = _instance(ec2, gone_image)
    ec2.deregister_image(ImageId=gone_image)
    result = scan(session, ["ec2.ami-sanctioned"])
    assert _by_id(result, "ec2.ami-sanctioned") == {amazon: Status.FAIL, own: Status.PASS, gone: Status.FAIL}
    assert "unknown AMI" in next(f.message for f in result.findings if f.resource.id == gone)
    cfg = AuditConfig(workers=4, sanctioned_ami_owners=["self", "amazon"])
    assert _by_id(scan(session, ["ec2.ami-sanctioned"], cfg=cfg), "ec2.ami-sanctioned")[amazon] is Status.PASS
    ec2.create_tags(Resources=[AMI], Tags=[{"Key": "approved-ami", "Value": "2026-q1 review"}])
    assert _by_id(scan(session, ["ec2.ami-sanctioned"]), "ec2.ami-sanctioned")[amazon] is Status.PASS


def test_ami_from_an_organization_account_is_sanctioned_when_the_organization_was_read(session, ec2):
    iid = _instance(ec2)
    org = boto3.client("organizations", region_name=REGION)
    org.create_organization(FeatureSet="ALL")
    member = org.create_account(AccountName="images", Email="images@example.com")["CreateAccountStatus"]["AccountId"]
    image = ec2.describe_images(ImageIds=[AMI])["Images"][0]
    recorded(session, "ec2.DescribeImages", {"Images": [{**image, "OwnerId": member, "ImageOwnerAlias": ""}]})
    [alone] = only(scan(session, ["ec2.ami-sanctioned"]), "ec2.ami-sanctioned")
    assert alone.status is Status.FAIL and alone.evidence["notes"] == [
        "organization accounts were not read; only listed owners count"]
    [with_org] = only(scan(session, ["ec2.ami-sanctioned", "org.ou-structure"]), "ec2.ami-sanctioned")
    assert (with_org.resource.id, with_org.status) == (iid, Status.PASS) and member in with_org.message


def test_ami_checks_error_when_images_or_instances_unreadable(session, ec2):
    iid = _instance(ec2)
    deny(session, "ec2.DescribeImages")
    result = scan(session, ["ec2.ami-sanctioned", "ec2.ami-age"])
    assert [(f.check_id, f.status) for f in result.findings] == [
        ("ec2.ami-age", Status.ERROR), ("ec2.ami-sanctioned", Status.ERROR)]
    assert all(f.gap and f.gap.iam_action == "ec2:DescribeImages" for f in result.findings)
    deny(session, "ec2.DescribeInstances")
    assert set(_by_id(scan(session, ["ec2.ami-age"]), "ec2.ami-age").values()) == {Status.ERROR}
    assert iid


def test_ami_age_passes_fresh_and_warns_old_or_deprecated(session, ec2):
    iid = _instance(ec2)
    [fresh] = only(scan(session, ["ec2.ami-age"]), "ec2.ami-age")
    assert fresh.status is Status.PASS and "warning" not in fresh.evidence
    [old] = only(scan(session, ["ec2.ami-age"], cfg=future(120)), "ec2.ami-age")
    assert old.status is Status.PASS and "120 days old" in old.evidence["warning"]
    image = boto3.client("ec2", region_name=REGION).describe_images(ImageIds=[AMI])["Images"][0]
    recorded(session, "ec2.DescribeImages", {"Images": [{**image, "DeprecationTime": "2020-01-01T00:00:00.000Z"}]})
    [deprecated] = only(scan(session, ["ec2.ami-age"]), "ec2.ami-age")
    assert deprecated.resource.id == iid and deprecated.evidence["warning"] == "it is deprecated"


# ec2.ssm-managed-no-ssh

def _group(ec2, cidr: str | None) -> str:
    vpc = next(v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if v["IsDefault"])
    gid = ec2.create_security_group(GroupName=f"g-{cidr}", Description="x", VpcId=vpc)["GroupId"]
    if cidr:
        ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": cidr}]}])
    return gid


def _managed(*ids: str, status: str = "Online") -> dict:
    return {"InstanceInformationList": [{"InstanceId": i, "PingStatus": status, "ResourceType": "EC2Instance",
                                         "AgentVersion": "3.3.0.0"} for i in ids]}


def test_ssm_managed_pass_fail_and_ssh_warning(session, ec2):
    closed = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, SecurityGroupIds=[_group(ec2, None)]
                               )["Instances"][0]["InstanceId"]
    open_ssh = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, SecurityGroupIds=[_group(ec2, "0.0.0.0/0")]
                                 )["Instances"][0]["InstanceId"]
    vpn = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, SecurityGroupIds=[_group(ec2, "10.8.0.0/16")]
                            )["Instances"][0]["InstanceId"]
    unmanaged = _instance(ec2)
    recorded(session, "ssm.DescribeInstanceInformation", _managed(closed, open_ssh, vpn))
    cfg = AuditConfig(workers=4, approved_admin_cidrs=["10.8.0.0/16"])
    result = scan(session, ["ec2.ssm-managed-no-ssh"], cfg=cfg)
    by_id = {f.resource.id: f for f in result.findings}
    assert {k: f.status for k, f in by_id.items()} == {closed: Status.PASS, open_ssh: Status.PASS,
                                                       vpn: Status.PASS, unmanaged: Status.FAIL}
    assert "warning" not in by_id[closed].evidence and "warning" not in by_id[vpn].evidence
    assert "tcp/22-22/0.0.0.0/0" in by_id[open_ssh].evidence["warning"]
    assert by_id[unmanaged].evidence["ssm_ping_status"] == "not registered"


def test_ssm_lost_connection_fails_and_unreadable_is_error(session, ec2):
    iid = _instance(ec2)
    recorded(session, "ssm.DescribeInstanceInformation", _managed(iid, status="ConnectionLost"))
    [f] = only(scan(session, ["ec2.ssm-managed-no-ssh"]), "ec2.ssm-managed-no-ssh")
    assert f.status is Status.FAIL and "ConnectionLost" in f.message


def test_ssm_unreadable_is_error(session, ec2):
    _instance(ec2)  # moto does not implement DescribeInstanceInformation: unsupported, never a verdict
    [f] = only(scan(session, ["ec2.ssm-managed-no-ssh"]), "ec2.ssm-managed-no-ssh")
    assert f.status is Status.ERROR and f.gap.error_code == "Unsupported"
    deny(session, "ssm.DescribeInstanceInformation")
    [f] = only(scan(session, ["ec2.ssm-managed-no-ssh"]), "ec2.ssm-managed-no-ssh")
    assert f.status is Status.ERROR and f.gap.error_code == "AccessDenied"
    assert f.gap.iam_action == "ssm:DescribeInstanceInformation"


# compute.inside-vpc

def test_lambda_inside_vpc_passes_outside_warns_and_scope_tag(session, ec2):
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    make_function("in-vpc", subnets=[subnet])
    make_function("outside", tags={"data-access": "yes"})
    make_function("edge-only")
    result = scan(session, ["compute.inside-vpc"])
    by_id = {f.resource.id: f for f in result.findings}
    assert {k: f.status for k, f in by_id.items()} == {"in-vpc": Status.PASS, "outside": Status.PASS,
                                                       "edge-only": Status.PASS}
    assert "warning" in by_id["outside"].evidence and "warning" not in by_id["in-vpc"].evidence
    cfg = AuditConfig(workers=4, lambda_vpc_scope_tag="data-access")
    assert list(_by_id(scan(session, ["compute.inside-vpc"], cfg=cfg), "compute.inside-vpc")) == ["outside"]
    deny(session, "lambda.ListTags")
    assert set(_by_id(scan(session, ["compute.inside-vpc"], cfg=cfg), "compute.inside-vpc").values()) == {
        Status.ERROR}


def test_lambda_unlistable_is_error(session, ec2):
    make_function("outside")
    deny(session, "lambda.ListFunctions")
    [f] = only(scan(session, ["compute.inside-vpc"]), "compute.inside-vpc")
    assert f.status is Status.ERROR and f.gap.iam_action == "lambda:ListFunctions"


def test_rds_without_subnet_group_fails_with_one_passes(session, ec2):
    rds = boto3.client("rds", region_name=REGION)
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"][:2]]
    rds.create_db_subnet_group(DBSubnetGroupName="app-db", DBSubnetGroupDescription="app", SubnetIds=subnets)
    common = {"DBInstanceClass": "db.t3.micro", "Engine": "postgres", "AllocatedStorage": 20,
              "MasterUsername": "app", "MasterUserPassword": "not-a-real-secret"}
    rds.create_db_instance(DBInstanceIdentifier="in-vpc", DBSubnetGroupName="app-db", **common)
    rds.create_db_instance(DBInstanceIdentifier="classic", **common)  # moto reports no DBSubnetGroup for it
    result = scan(session, ["compute.inside-vpc"])
    assert _by_id(result, "compute.inside-vpc") == {"in-vpc": Status.PASS, "classic": Status.FAIL}
    assert next(f for f in result.findings if f.resource.id == "in-vpc").evidence["db_subnet_group"] == "app-db"
    deny(session, "rds.DescribeDBInstances")
    assert {f.status for f in scan(session, ["compute.inside-vpc"]).findings} == {Status.ERROR}
