from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from auditor.collectors import load_collectors
from auditor.collectors.s3 import BUCKET_POLICIES, BUCKETS, bucket_region
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
        "s3:GetEncryptionConfiguration", "s3:GetBucketPolicy", "s3:GetAccountPublicAccessBlock"})


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
