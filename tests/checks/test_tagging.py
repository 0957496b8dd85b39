from __future__ import annotations

import boto3

from auditor.config import AuditConfig
from auditor.models import Status
from tests.checks.test_messaging import _function
from tests.collectors.test_cloudfront import respond_with
from tests.conftest import ACCOUNT, deny, only, scan, statuses

R = "us-east-1"
REQUIRED = "tagging.required-keys"
IAC = "iac.resources-managed-as-code"
FULL = {"org": "acme", "project": "shop", "stack": "prod", "stage": "prod", "role": "api"}


def _tags(d: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in d.items()]


def _by_id(result, check_id):
    return {f.resource.id: f for f in only(result, check_id)}


def test_required_keys_across_services(session):
    boto3.client("sqs", region_name=R).create_queue(QueueName="tagged-q", tags=FULL)
    boto3.client("sns", region_name=R).create_topic(Name="bare-topic")
    boto3.client("secretsmanager", region_name=R).create_secret(Name="tagged-secret", SecretString="x",
                                                                 Tags=_tags(FULL))
    s3 = boto3.client("s3", region_name=R)
    s3.create_bucket(Bucket="half-bucket")
    s3.put_bucket_tagging(Bucket="half-bucket", Tagging={"TagSet": _tags(
        {"org": "acme", "Project": "shop", "stack": " ", "stage": "dev", "role": "data"})})
    _function("untagged-fn")
    vol = boto3.client("ec2", region_name=R).create_volume(AvailabilityZone=f"{R}a", Size=1, TagSpecifications=[
        {"ResourceType": "volume", "Tags": _tags(FULL)}])["VolumeId"]
    by_id = _by_id(scan(session, [REQUIRED]), REQUIRED)
    # the default VPC and its default security group are AWS-created and out of scope
    assert {k: f.status for k, f in by_id.items()} == {
        "tagged-q": Status.PASS, "bare-topic": Status.FAIL, "tagged-secret": Status.PASS,
        "half-bucket": Status.FAIL, vol: Status.PASS, "untagged-fn": Status.FAIL}
    half = by_id["half-bucket"]
    assert half.evidence["missing"] == ["project"] and half.evidence["empty"] == ["stack"]
    assert half.evidence["differently_cased"] == {"project": "Project"}
    assert half.message == "S3 bucket half-bucket lacks tag(s) project and has empty tag(s) stack"
    assert by_id["bare-topic"].evidence["missing"] == list(FULL)


def test_required_keys_from_config(session):
    boto3.client("sqs", region_name=R).create_queue(QueueName="q", tags={"owner": "team-a"})
    cfg = AuditConfig(workers=4, tag_policy_required_keys=["owner"])
    assert statuses(scan(session, [REQUIRED], cfg=cfg), REQUIRED) == [Status.PASS]
    none = AuditConfig(workers=4, tag_policy_required_keys=[])
    assert statuses(scan(session, [REQUIRED], cfg=none), REQUIRED) == [Status.NOT_APPLICABLE]


def test_required_keys_error_when_tags_unreadable(session):
    boto3.client("sqs", region_name=R).create_queue(QueueName="q", tags=FULL)
    boto3.client("s3", region_name=R).create_bucket(Bucket="plain-bucket")
    deny(session, "s3.GetBucketTagging")
    by_id = _by_id(scan(session, [REQUIRED]), REQUIRED)
    assert by_id["plain-bucket"].status is Status.ERROR and by_id["q"].status is Status.PASS
    deny(session, "resourcegroupstaggingapi.GetResources")
    assert {f.status for f in only(scan(session, [REQUIRED]), REQUIRED)} == {Status.ERROR}


def test_required_keys_not_applicable_in_an_empty_account(session):
    assert statuses(scan(session, [REQUIRED]), REQUIRED) == [Status.NOT_APPLICABLE]


# --- iac.resources-managed-as-code ------------------------------------------------------------------------------

def test_iac_share_below_threshold_warns(session):
    sqs = boto3.client("sqs", region_name=R)
    sqs.create_queue(QueueName="tf", tags={"Managed-By": "Terraform"})
    sqs.create_queue(QueueName="console", tags={"owner": "bob"})
    [f] = only(scan(session, [IAC]), IAC)
    assert f.status is Status.PASS and f.resource.type == "AWS::::Account"
    assert f.evidence["tagged_resources"] == 2 and f.evidence["iac_managed"] == 1 and f.evidence["share"] == 0.5
    assert "50%" in f.evidence["warning"] and f.evidence["by_marker"] == {"managed-by=terraform": 1}
    lenient = AuditConfig(workers=4, iac_min_managed_share=0.5)
    [f] = only(scan(session, [IAC], cfg=lenient), IAC)
    assert "warning" not in f.evidence and f.message == "1 of 2 tagged resources (50%) carry an IaC marker tag"


def test_iac_cloudformation_tags_and_failed_stacks_from_recorded_responses(session):
    # moto neither tags stack resources with aws:cloudformation:* nor leaves stacks rolled back.
    stack_id = f"arn:aws:cloudformation:{R}:{ACCOUNT}:stack/web/1"
    respond_with(session, "resource-groups-tagging-api", "GetResources", lambda p: {"ResourceTagMappingList": [
        {"ResourceARN": f"arn:aws:sqs:{R}:{ACCOUNT}:q", "Tags": [
            {"Key": "aws:cloudformation:stack-name", "Value": "web"}]}]})
    respond_with(session, "cloudformation", "DescribeStacks", lambda p: {"Stacks": [
        {"StackId": stack_id, "StackName": "web", "CreationTime": "2024-01-01T00:00:00Z",
         "StackStatus": "UPDATE_ROLLBACK_COMPLETE", "StackStatusReason": "resource failed"},
        {"StackId": stack_id.replace("web/1", "ok/2"), "StackName": "ok", "CreationTime": "2024-01-01T00:00:00Z",
         "StackStatus": "CREATE_COMPLETE"}]})
    [f] = only(scan(session, [IAC]), IAC)
    assert f.status is Status.PASS and f.evidence["share"] == 1.0
    assert f.evidence["failed_stacks"] == [{"stack": "web", "region": R, "status": "UPDATE_ROLLBACK_COMPLETE",
                                            "reason": "resource failed"}]
    assert "1 CloudFormation stack(s)" in f.evidence["warning"]


def test_iac_without_tagged_resources_warns(session):
    [f] = only(scan(session, [IAC]), IAC)
    assert f.status is Status.PASS and f.evidence["share"] is None and "no tagged resources" in f.evidence["warning"]


def test_iac_error_when_stacks_or_tags_unreadable(session):
    deny(session, "cloudformation.DescribeStacks")
    [f] = only(scan(session, [IAC]), IAC)
    assert f.status is Status.ERROR and f.gap.iam_action == "cloudformation:DescribeStacks"
    deny(session, "resourcegroupstaggingapi.GetResources")
    assert {f.status for f in only(scan(session, [IAC], regions=[R, "eu-west-1"]), IAC)} == {Status.ERROR}
