"""s3.bucket-not-public and the shared public-policy reader (auditor.policy_public)."""
from __future__ import annotations

import boto3
import pytest

from auditor.models import Status
from auditor.policy_public import S3_RESTRICTING_KEYS, public_statements
from tests.checks.test_s3 import _account_pab, _bucket
from tests.collectors.test_cloudfront import request_names, respond_with
from tests.conftest import deny, only, scan, statuses

# --- s3.bucket-not-public -------------------------------------------------------------------------------------

def _public_read_policy(bucket: str, condition: dict | None = None) -> dict:
    stmt = {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/*"}
    return {"Version": "2012-10-17", "Statement": [{**stmt, **({"Condition": condition} if condition else {})}]}


def _acl(bucket: str, acl: str) -> None:
    boto3.client("s3", region_name="us-east-1").put_bucket_acl(Bucket=bucket, ACL=acl)


def _grant_all_users(bucket: str, *permissions: str) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    owner = s3.get_bucket_acl(Bucket=bucket)["Owner"]
    everyone = {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}
    s3.put_bucket_acl(Bucket=bucket, AccessControlPolicy={"Owner": owner, "Grants": [
        {"Grantee": {"Type": "CanonicalUser", "ID": owner["ID"]}, "Permission": "FULL_CONTROL"},
        *({"Grantee": everyone, "Permission": p} for p in permissions)]})


def test_bucket_not_public_pass_and_fail(session):
    _bucket("private-bucket")
    _bucket("acl-bucket")
    _grant_all_users("acl-bucket", "WRITE", "READ")
    _bucket("authn-bucket")
    _acl("authn-bucket", "authenticated-read")
    _bucket("policy-bucket", policy=_public_read_policy("policy-bucket"))
    _bucket("vpce-bucket", policy=_public_read_policy("vpce-bucket", {"StringEquals": {"aws:SourceVpce": "vpce-1a"}}))
    _bucket("not-vpce-bucket", policy=_public_read_policy("not-vpce-bucket",
                                                          {"StringNotEquals": {"aws:SourceVpce": "vpce-1a"}}))
    by_id = {f.resource.id: f for f in only(scan(session, ["s3.bucket-not-public"]), "s3.bucket-not-public")}
    assert {k: f.status for k, f in by_id.items()} == {
        "private-bucket": Status.PASS, "acl-bucket": Status.FAIL, "authn-bucket": Status.FAIL,
        "policy-bucket": Status.FAIL, "vpce-bucket": Status.PASS, "not-vpce-bucket": Status.FAIL}
    assert by_id["acl-bucket"].evidence["acl_public_grants"] == ["AllUsers:READ", "AllUsers:WRITE"]
    assert by_id["authn-bucket"].message == "bucket authn-bucket is public: ACL grants AuthenticatedUsers:READ"
    assert by_id["policy-bucket"].evidence["public_statements"] == ["PublicRead"]
    assert "PublicRead allows Principal '*'" in by_id["policy-bucket"].message


def test_bucket_not_public_block_public_access_neutralises(session):
    _bucket("acl-bucket")
    _acl("acl-bucket", "public-read")
    _bucket("policy-bucket", policy=_public_read_policy("policy-bucket"), pab={"RestrictPublicBuckets": True})
    _bucket("block-only-bucket")
    _acl("block-only-bucket", "public-read")
    s3 = boto3.client("s3", region_name="us-east-1")
    # BlockPublicAcls only refuses new public ACLs: the existing grant still works.
    s3.put_public_access_block(Bucket="block-only-bucket", PublicAccessBlockConfiguration={"BlockPublicAcls": True})
    by_id = {f.resource.id: f for f in only(scan(session, ["s3.bucket-not-public"]), "s3.bucket-not-public")}
    assert {k: f.status for k, f in by_id.items()} == {
        "acl-bucket": Status.FAIL, "policy-bucket": Status.PASS, "block-only-bucket": Status.FAIL}
    assert "RestrictPublicBuckets neutralises" in by_id["policy-bucket"].message
    _account_pab({"IgnorePublicAcls": True})
    assert set(statuses(scan(session, ["s3.bucket-not-public"]), "s3.bucket-not-public")) == {Status.PASS}


def test_bucket_not_public_error_when_acl_unreadable(session):
    _bucket("private-bucket")
    deny(session, "s3.GetBucketAcl")
    [f] = only(scan(session, ["s3.bucket-not-public"]), "s3.bucket-not-public")
    assert f.status is Status.ERROR and f.gap.iam_action == "s3:GetBucketAcl"


def test_bucket_not_public_needs_block_public_access_only_when_something_is_public(session):
    _bucket("private-bucket")
    _bucket("policy-bucket", policy=_public_read_policy("policy-bucket"))
    deny(session, "s3.GetPublicAccessBlock")
    by_id = {f.resource.id: f for f in only(scan(session, ["s3.bucket-not-public"]), "s3.bucket-not-public")}
    assert by_id["private-bucket"].status is Status.PASS
    assert by_id["policy-bucket"].status is Status.ERROR
    assert by_id["policy-bucket"].gap.iam_action == "s3:GetBucketPublicAccessBlock"


def test_bucket_not_public_policy_status_cross_check(session):
    # AWS's own verdict (GetBucketPolicyStatus) wins when it says public; moto's is simpler, so it is recorded.
    _bucket("ip-bucket", policy=_public_read_policy("ip-bucket", {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}))
    respond_with(session, "s3", "GetBucketPolicyStatus",
                 lambda p: {"PolicyStatus": {"IsPublic": True}} if request_names(p, "ip-bucket") else None)
    [f] = only(scan(session, ["s3.bucket-not-public"]), "s3.bucket-not-public")
    assert f.status is Status.FAIL and f.evidence["policy_status_is_public"] is True
    assert "GetBucketPolicyStatus" in f.message


# --- auditor.policy_public: which statements open a resource to the world ------------------------------------

def _stmt(condition: dict | None = None, principal: object = "*", effect: str = "Allow", **extra) -> dict:
    s = {"Effect": effect, "Principal": principal, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*", **extra}
    return {"Statement": [{**s, **({"Condition": condition} if condition else {})}]}


@pytest.mark.parametrize(("doc", "public"), [
    (_stmt(), True),
    (_stmt(principal={"AWS": "*"}), True),
    (_stmt(principal={"AWS": "arn:aws:iam::*:root"}), True),
    (_stmt(principal={"AWS": "arn:aws:iam::123456789012:root"}), False),
    (_stmt(principal={"Service": "cloudtrail.amazonaws.com"}), False),
    (_stmt(effect="Deny"), False),
    ({"Statement": {"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::1:root"}, "Action": "s3:*",
                    "Resource": "*"}}, True),
    (_stmt({"StringEquals": {"aws:SourceVpce": "vpce-1"}}), False),
    (_stmt({"StringEquals": {"AWS:sourcevpce": ["vpce-1", "vpce-2"]}}), False),
    (_stmt({"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}), True),
    (_stmt({"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1"}}), True),
    (_stmt({"StringLike": {"aws:PrincipalOrgID": "*"}}), True),
    (_stmt({"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}), False),
    (_stmt({"ForAllValues:StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}), True),
    (_stmt({"ForAnyValue:StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}), False),
    (_stmt({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}), True),
    (_stmt({"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "::/0"]}}), True),
    (_stmt({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}), False),
    (_stmt({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}), True),
    (_stmt({"ArnLike": {"aws:SourceArn": "arn:aws:cloudfront::*:distribution/*"}}), True),
    (_stmt({"ArnLike": {"aws:SourceArn": "arn:aws:cloudfront::123456789012:distribution/*"}}), False),
    (_stmt({"ArnEquals": {"aws:SourceArn": "arn:aws:s3:::source-bucket"}}), False),
    (_stmt({"StringEquals": {"aws:SourceAccount": "123456789012"}}), False),
    (_stmt({"Bool": {"aws:SecureTransport": "true"}}), True),
    (_stmt({"StringEquals": {"s3:DataAccessPointAccount": "123456789012"}}), False),
    (_stmt({"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}), True),
])
def test_public_statement_shapes(doc, public):
    assert bool(public_statements(doc, S3_RESTRICTING_KEYS)) is public
