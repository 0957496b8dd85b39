from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from auditor.collectors import load_collectors
from auditor.collectors.s3 import BUCKET_POLICIES, BUCKET_POLICY_STATUS, BUCKET_TAGS, BUCKETS, bucket_region
from auditor.config import AuditConfig
from auditor.guard import iam_action
from auditor.inventory import Inventory
from auditor.models import Status
from auditor.runner import collect, select_checks
from tests.conftest import deny, only, scan

S3_CHECKS = ["s3.account-public-access-block", "s3.bucket-public-access-block", "s3.default-encryption-kms",
             "s3.deny-insecure-transport"]


def _buckets() -> None:
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="zz-us-bucket")
    boto3.client("s3", region_name="eu-west-1").create_bucket(
        Bucket="aa-eu-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})


def _collect(session):
    return collect(session, select_checks(S3_CHECKS), ["us-east-1"], AuditConfig(workers=4))


def _deny_for_bucket(session, operation: str, bucket: str) -> None:
    def refuse(model, params, **_):
        if model.name == operation and params.get("Bucket") == bucket:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "test"}}, operation)
    session.boto._session.register("before-parameter-build.s3", refuse)
    session._clients.clear()


@pytest.mark.parametrize(("location", "region"), [
    (None, "us-east-1"), ("", "us-east-1"), ("EU", "eu-west-1"), ("eu-west-1", "eu-west-1"),
    ("ap-south-1", "ap-south-1")])
def test_bucket_region_from_location_constraint(location, region):
    assert bucket_region(location) == region


def test_declared_actions_are_what_the_guard_names():
    spec = load_collectors().get("s3")
    assert set(spec.datasets[BUCKETS]) == {iam_action("s3", "ListBuckets"), iam_action("s3", "GetBucketLocation")}
    assert spec.permissions == sorted({
        "s3:ListAllMyBuckets", "s3:GetBucketLocation", "s3:GetBucketPublicAccessBlock",
        "s3:GetEncryptionConfiguration", "s3:GetBucketPolicy", "s3:GetAccountPublicAccessBlock",
        "s3:GetBucketAcl", "s3:GetBucketVersioning", "s3:GetBucketLogging", "s3:GetBucketObjectLockConfiguration",
        "s3:GetReplicationConfiguration", "s3:GetBucketTagging", "s3:GetBucketWebsite", "s3:GetBucketPolicyStatus"})
    ops = {"GetBucketAcl", "GetBucketVersioning", "GetBucketLogging", "GetObjectLockConfiguration",
           "GetBucketReplication", "GetBucketTagging", "GetBucketWebsite", "GetBucketPolicyStatus"}
    declared = {a for actions in spec.datasets.values() for a in actions}
    assert {iam_action("s3", op) for op in ops} <= declared


def test_buckets_carry_their_region_and_are_read_through_a_regional_client(session):
    _buckets()
    inv = _collect(session)
    assert [(b.id, b.region, b.arn) for b in inv.s3.buckets] == [
        ("aa-eu-bucket", "eu-west-1", "arn:aws:s3:::aa-eu-bucket"),
        ("zz-us-bucket", "us-east-1", "arn:aws:s3:::zz-us-bucket")]
    assert inv.api_calls.get("s3:eu-west-1:GetBucketPolicy") == 1
    assert inv.api_calls.get("s3:us-east-1:GetBucketPolicy") == 1
    # "not configured" is data, not a gap
    assert inv.gaps == []
    eu = inv.s3.buckets[0]
    assert eu.policy.exists is False and eu.encryption.configured is False
    assert eu.public_access_block.configured is False
    assert inv.s3.account_public_access_block.configured is False


def test_snapshot_round_trips_and_is_deterministic(session):
    _buckets()
    first = _collect(session)
    again = Inventory.model_validate(first.model_dump(mode="json"))
    assert again.s3 == first.s3
    assert _collect(session).s3 == first.s3


def test_detail_denial_taints_only_that_bucket(session):
    _buckets()
    _deny_for_bucket(session, "GetBucketPolicy", "aa-eu-bucket")
    result = scan(session, ["s3.deny-insecure-transport", "s3.default-encryption-kms"])
    tls = {f.resource.id: f for f in only(result, "s3.deny-insecure-transport")}
    assert {k: f.status for k, f in tls.items()} == {"aa-eu-bucket": Status.ERROR, "zz-us-bucket": Status.FAIL}
    gap = tls["aa-eu-bucket"].gap
    assert gap.dataset == BUCKET_POLICIES and gap.resource_id == "arn:aws:s3:::aa-eu-bucket"
    # the encryption check does not read policies, so the same bucket is still judged
    assert {f.status for f in only(result, "s3.default-encryption-kms")} == {Status.FAIL}


def test_unknown_location_is_an_error_for_that_bucket_only(session):
    _buckets()
    _deny_for_bucket(session, "GetBucketLocation", "zz-us-bucket")
    inv = _collect(session)
    assert {b.id: b.region for b in inv.s3.buckets} == {"aa-eu-bucket": "eu-west-1", "zz-us-bucket": "global"}
    result = scan(session, ["s3.default-encryption-kms"])
    by_id = {f.resource.id: f.status for f in only(result, "s3.default-encryption-kms")}
    assert by_id == {"aa-eu-bucket": Status.FAIL, "zz-us-bucket": Status.ERROR}


def test_list_denied_is_error_but_account_setting_still_judged(session):
    _buckets()
    deny(session, "s3.ListBuckets")
    result = scan(session, S3_CHECKS)
    assert [f.status for f in only(result, "s3.account-public-access-block")] == [Status.FAIL]
    for check_id in S3_CHECKS[1:]:
        [f] = only(result, check_id)
        assert f.status is Status.ERROR and f.gap.iam_action == "s3:ListAllMyBuckets"


def test_bucket_details_not_configured_is_data_not_a_gap(session):
    _buckets()
    inv = _collect(session)
    assert inv.gaps == []
    for b in inv.s3.buckets:
        assert b.acl.grants[0].permission == "FULL_CONTROL" and b.acl.owner_id
        assert (b.versioning.status, b.versioning.mfa_delete) == ("", "")
        assert b.logging.enabled is False and b.tags == {} and b.website is False
        # Object Lock and replication need versioning, so they are not even asked for here
        assert b.object_lock is None and b.replication is None
    assert not any(k.endswith(("GetObjectLockConfiguration", "GetBucketReplication", "GetBucketPolicyStatus"))
                   for k in inv.api_calls)


def test_bucket_details_read_back(session):
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="locked-bucket", ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(Bucket="locked-bucket", ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 365}}})
    s3.create_bucket(Bucket="logs-bucket", ACL="log-delivery-write")
    s3.create_bucket(Bucket="site-bucket")
    s3.put_bucket_versioning(Bucket="site-bucket", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_logging(Bucket="site-bucket", BucketLoggingStatus={"LoggingEnabled": {
        "TargetBucket": "logs-bucket", "TargetPrefix": "site/"}})
    s3.put_bucket_tagging(Bucket="site-bucket", Tagging={"TagSet": [{"Key": "data-classification", "Value": "x"}]})
    s3.put_bucket_website(Bucket="site-bucket", WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
    s3.put_bucket_policy(Bucket="site-bucket", Policy='{"Statement": []}')
    s3.put_bucket_replication(Bucket="site-bucket", ReplicationConfiguration={
        "Role": "arn:aws:iam::123456789012:role/r", "Rules": [{
            "ID": "out", "Status": "Enabled", "Priority": 1, "Filter": {"Prefix": ""},
            "DeleteMarkerReplication": {"Status": "Disabled"},
            "Destination": {"Bucket": "arn:aws:s3:::archive", "Account": "999999999999"}}]})
    inv = _collect(session)
    assert inv.gaps == []
    by = {b.id: b for b in inv.s3.buckets}
    lock = by["locked-bucket"].object_lock
    assert (lock.enabled, lock.mode, lock.days) == (True, "COMPLIANCE", 365)
    assert by["locked-bucket"].replication == [] and by["locked-bucket"].versioning.enabled
    site = by["site-bucket"]
    assert (site.logging.target_bucket, site.logging.target_prefix) == ("logs-bucket", "site/")
    assert site.tags == {"data-classification": "x"} and site.website is True
    assert [(r.id, r.destination_bucket, r.destination_account) for r in site.replication] == [
        ("out", "arn:aws:s3:::archive", "999999999999")]
    assert site.object_lock.enabled is False
    assert site.policy_is_public is False  # moto 5.2.1 does answer GetBucketPolicyStatus
    assert "http://acs.amazonaws.com/groups/s3/LogDelivery" in {g.grantee for g in by["logs-bucket"].acl.grants}
    assert inv.api_calls["s3:us-east-1:GetBucketPolicyStatus"] == 1  # only the bucket that has a policy


def test_optional_policy_status_denial_taints_no_check(session):
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="pol-bucket")
    boto3.client("s3", region_name="us-east-1").put_bucket_policy(Bucket="pol-bucket", Policy='{"Statement": []}')
    deny(session, "s3.GetBucketPolicyStatus")
    result = scan(session, ["s3.bucket-not-public"])
    assert [g.dataset for g in result.gaps] == [BUCKET_POLICY_STATUS]
    assert [f.status for f in only(result, "s3.bucket-not-public")] == [Status.PASS]


def test_tag_denial_records_a_per_bucket_gap(session):
    _buckets()
    _deny_for_bucket(session, "GetBucketTagging", "aa-eu-bucket")
    inv = _collect(session)
    [gap] = inv.gaps
    assert (gap.dataset, gap.resource_id, gap.region) == (BUCKET_TAGS, "arn:aws:s3:::aa-eu-bucket", "eu-west-1")
    assert {b.id: b.tags for b in inv.s3.buckets} == {"aa-eu-bucket": None, "zz-us-bucket": {}}
