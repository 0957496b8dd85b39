from __future__ import annotations

import json

import boto3
import pytest

from auditor.models import Status
from tests.conftest import ACCOUNT, REGIONS, deny, only, scan

CHECKS = ["cloudtrail.bucket-not-public", "cloudtrail.bucket-access-logging", "cloudtrail.bucket-protected"]


def _trail(name: str, bucket: str, region: str = "us-east-1", *, acl: str | None = None, logged: bool = False,
           versioned: bool = False, locked: bool = False, policy: dict | None = None) -> None:
    s3 = boto3.client("s3", region_name=region)
    extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=locked, **extra)
    if acl:
        s3.put_bucket_acl(Bucket=bucket, ACL=acl)
    if policy:
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    if versioned and not locked:  # Object Lock turns versioning on by itself
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    if logged:
        s3.create_bucket(Bucket=f"{bucket}-access", ACL="log-delivery-write", **extra)
        s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus={"LoggingEnabled": {
            "TargetBucket": f"{bucket}-access", "TargetPrefix": "trail/"}})
    boto3.client("cloudtrail", region_name=region).create_trail(Name=name, S3BucketName=bucket)


def _external_trail(name: str, bucket: str) -> None:
    """A trail whose bucket is not in this account's bucket list (moto insists the bucket exists at creation)."""
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    boto3.client("cloudtrail", region_name="us-east-1").create_trail(Name=name, S3BucketName=bucket)
    s3.delete_bucket(Bucket=bucket)


def _replicate(bucket: str, dest_bucket: str, dest_account: str | None) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    dest = {"Bucket": f"arn:aws:s3:::{dest_bucket}", **({"Account": dest_account} if dest_account else {})}
    s3.put_bucket_replication(Bucket=bucket, ReplicationConfiguration={
        "Role": f"arn:aws:iam::{ACCOUNT}:role/replication", "Rules": [{
            "ID": "to-archive", "Status": "Enabled", "Priority": 1, "Filter": {"Prefix": ""},
            "DeleteMarkerReplication": {"Status": "Disabled"}, "Destination": dest}]})


def _by_id(result, check_id):
    return {f.resource.id: f for f in only(result, check_id)}


SERVICE_ONLY = {"Version": "2012-10-17", "Statement": [{
    "Sid": "CloudTrailWrite", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
    "Action": "s3:PutObject", "Resource": "arn:aws:s3:::private-trail-logs/AWSLogs/*",
    "Condition": {"StringEquals": {"aws:SourceArn": f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/private"}}}]}


# --- cloudtrail.bucket-not-public ---------------------------------------------------------------------------

def test_not_public_pass_fail_and_external(session):
    _trail("private", "private-trail-logs", policy=SERVICE_ONLY)
    _trail("leaky", "leaky-trail-logs", acl="authenticated-read")
    _external_trail("org", "org-archive-logs")
    by_id = _by_id(scan(session, ["cloudtrail.bucket-not-public"]), "cloudtrail.bucket-not-public")
    assert {k: f.status for k, f in by_id.items()} == {
        "private-trail-logs": Status.PASS, "leaky-trail-logs": Status.FAIL, "org-archive-logs": Status.NOT_APPLICABLE}
    assert "AuthenticatedUsers:READ" in by_id["leaky-trail-logs"].message
    assert by_id["leaky-trail-logs"].evidence["trails"] == [f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/leaky"]
    assert "external (log-archive)" in by_id["org-archive-logs"].message
    assert by_id["org-archive-logs"].resource.arn == "arn:aws:s3:::org-archive-logs"


def test_not_public_ignore_public_acls_neutralises(session):
    _trail("leaky", "leaky-trail-logs", acl="public-read")
    boto3.client("s3", region_name="us-east-1").put_public_access_block(
        Bucket="leaky-trail-logs", PublicAccessBlockConfiguration={"IgnorePublicAcls": True})
    [f] = only(scan(session, ["cloudtrail.bucket-not-public"]), "cloudtrail.bucket-not-public")
    assert f.status is Status.PASS and "IgnorePublicAcls" in f.message


def test_not_public_error_when_acl_or_trails_unreadable(session):
    _trail("leaky", "leaky-trail-logs", acl="public-read")
    deny(session, "s3.GetBucketAcl")
    [f] = only(scan(session, ["cloudtrail.bucket-not-public"]), "cloudtrail.bucket-not-public")
    assert f.status is Status.ERROR and f.gap.iam_action == "s3:GetBucketAcl"


def test_trail_bucket_checks_error_when_trails_unlistable(session):
    _trail("main", "main-trail-logs")
    deny(session, "cloudtrail.DescribeTrails")
    for f in scan(session, CHECKS).findings:
        assert f.status is Status.ERROR and f.gap.iam_action == "cloudtrail:DescribeTrails"


def test_trail_bucket_checks_not_applicable_without_trails(session):
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="not-a-trail-bucket")
    assert {f.status for f in scan(session, CHECKS).findings} == {Status.NOT_APPLICABLE}


# --- cloudtrail.bucket-access-logging -----------------------------------------------------------------------

def test_access_logging_pass_fail_external_error(session):
    _trail("logged", "logged-trail-logs", logged=True)
    _trail("quiet", "quiet-trail-logs", region="eu-west-1")
    _external_trail("org", "org-archive-logs")
    result = scan(session, ["cloudtrail.bucket-access-logging"], regions=REGIONS)
    by_id = _by_id(result, "cloudtrail.bucket-access-logging")
    assert {k: f.status for k, f in by_id.items()} == {
        "logged-trail-logs": Status.PASS, "quiet-trail-logs": Status.FAIL, "org-archive-logs": Status.NOT_APPLICABLE}
    assert by_id["quiet-trail-logs"].region == "eu-west-1"
    assert by_id["logged-trail-logs"].evidence["target_bucket"] == "logged-trail-logs-access"
    deny(session, "s3.GetBucketLogging")
    by_id = _by_id(scan(session, ["cloudtrail.bucket-access-logging"], regions=REGIONS),
                   "cloudtrail.bucket-access-logging")
    assert by_id["logged-trail-logs"].status is Status.ERROR
    assert by_id["logged-trail-logs"].gap.iam_action == "s3:GetBucketLogging"


def test_one_bucket_shared_by_two_trails_is_judged_once(session):
    _trail("first", "shared-trail-logs")
    boto3.client("cloudtrail", region_name="us-east-1").create_trail(Name="second", S3BucketName="shared-trail-logs")
    [f] = only(scan(session, ["cloudtrail.bucket-access-logging"]), "cloudtrail.bucket-access-logging")
    assert f.status is Status.FAIL and len(f.evidence["trails"]) == 2


# --- cloudtrail.bucket-protected ----------------------------------------------------------------------------

def test_protected_pass_and_fail(session):
    _trail("plain", "plain-trail-logs")
    _trail("versioned", "versioned-trail-logs", versioned=True)
    _trail("locked", "locked-trail-logs", locked=True)
    _trail("copied", "copied-trail-logs", versioned=True)
    _replicate("copied-trail-logs", "archive-bucket", "999999999999")
    _trail("copied-home", "copied-home-trail-logs", versioned=True)
    _replicate("copied-home-trail-logs", "plain-trail-logs", None)  # our own bucket: same account
    _external_trail("org", "org-archive-logs")
    by_id = _by_id(scan(session, ["cloudtrail.bucket-protected"]), "cloudtrail.bucket-protected")
    assert {k: f.status for k, f in by_id.items()} == {
        "plain-trail-logs": Status.FAIL, "versioned-trail-logs": Status.FAIL, "locked-trail-logs": Status.PASS,
        "copied-trail-logs": Status.PASS, "copied-home-trail-logs": Status.FAIL, "org-archive-logs": Status.PASS}
    assert "not versioned" in by_id["plain-trail-logs"].message
    assert "neither Object Lock nor replication" in by_id["versioned-trail-logs"].message
    assert by_id["copied-trail-logs"].evidence["replicates_to"] == ["999999999999"]
    assert by_id["locked-trail-logs"].evidence["object_lock"] is True
    assert "external (log-archive)" in by_id["org-archive-logs"].message


def test_protected_replication_to_a_bucket_not_in_this_account_counts(session):
    _trail("copied", "copied-trail-logs", versioned=True)
    _replicate("copied-trail-logs", "someone-elses-archive", None)
    [f] = only(scan(session, ["cloudtrail.bucket-protected"]), "cloudtrail.bucket-protected")
    assert f.status is Status.PASS and f.evidence["replicates_to"] == ["arn:aws:s3:::someone-elses-archive"]


@pytest.mark.parametrize(("operation", "action"), [
    ("s3.GetBucketVersioning", "s3:GetBucketVersioning"),
    ("s3.GetObjectLockConfiguration", "s3:GetBucketObjectLockConfiguration"),
    ("s3.GetBucketReplication", "s3:GetReplicationConfiguration")])
def test_protected_error_when_unreadable(session, operation, action):
    _trail("versioned", "versioned-trail-logs", versioned=True)
    deny(session, operation)
    [f] = only(scan(session, ["cloudtrail.bucket-protected"]), "cloudtrail.bucket-protected")
    assert f.status is Status.ERROR and f.gap.iam_action == action
