from __future__ import annotations

import json

import boto3
import pytest

from auditor.config import AuditConfig
from auditor.models import Status
from auditor.policy import statements
from checks.s3 import _denies_insecure
from tests.collectors.test_cloudfront import request_names, respond_with
from tests.conftest import ACCOUNT, deny, only, scan, statuses

ALL_ON = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}


def _bucket(name: str, region: str = "us-east-1", *, pab: dict | None = None, sse: str | None = None,
            key: str | None = None, policy: dict | None = None) -> str:
    s3 = boto3.client("s3", region_name=region)
    extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **extra)
    if pab is not None:
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=pab)
    if sse:
        default = {"SSEAlgorithm": sse, **({"KMSMasterKeyID": key} if key else {})}
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": default}]})
    if policy is not None:
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
    return name


def _account_pab(flags: dict) -> None:
    boto3.client("s3control", region_name="us-east-1").put_public_access_block(
        AccountId=ACCOUNT, PublicAccessBlockConfiguration=flags)


def _tls_policy(bucket: str, *, resources: list[str] | None = None, condition: dict | None = None,
                action: str | list[str] = "s3:*", principal: object = "*", effect: str = "Deny") -> dict:
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "TlsOnly", "Effect": effect, "Principal": principal, "Action": action,
        "Resource": resources or [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": condition or {"Bool": {"aws:SecureTransport": "false"}}}]}


# --- s3.account-public-access-block -------------------------------------------------------------

def test_account_pab_fail_when_not_configured(session):
    [f] = only(scan(session, ["s3.account-public-access-block"]), "s3.account-public-access-block")
    assert f.status is Status.FAIL and "not configured" in f.message
    assert f.resource.type == "AWS::::AccountSetting" and f.region == "global"


def test_account_pab_fail_names_the_flag_that_is_off(session):
    _account_pab({**ALL_ON, "RestrictPublicBuckets": False})
    [f] = only(scan(session, ["s3.account-public-access-block"]), "s3.account-public-access-block")
    assert f.status is Status.FAIL and "RestrictPublicBuckets" in f.message
    assert f.evidence["RestrictPublicBuckets"] is False and f.evidence["configured"] is True


def test_account_pab_pass(session):
    _account_pab(ALL_ON)
    assert statuses(scan(session, ["s3.account-public-access-block"]),
                    "s3.account-public-access-block") == [Status.PASS]


def test_account_pab_error_when_unreadable(session):
    _account_pab(ALL_ON)
    deny(session, "s3control.GetPublicAccessBlock")
    [f] = only(scan(session, ["s3.account-public-access-block"]), "s3.account-public-access-block")
    assert f.status is Status.ERROR and f.gap and f.gap.iam_action == "s3:GetAccountPublicAccessBlock"


# --- s3.bucket-public-access-block --------------------------------------------------------------

def test_bucket_pab_pass_fail_and_account_level_cover(session):
    _bucket("blocked-bucket", pab=ALL_ON)
    _bucket("open-bucket")
    _bucket("half-bucket", pab={"BlockPublicAcls": True, "IgnorePublicAcls": True})
    by_id = {f.resource.id: f for f in only(scan(session, ["s3.bucket-public-access-block"]),
                                            "s3.bucket-public-access-block")}
    assert {k: f.status for k, f in by_id.items()} == {
        "blocked-bucket": Status.PASS, "open-bucket": Status.FAIL, "half-bucket": Status.FAIL}
    assert "BlockPublicPolicy" in by_id["half-bucket"].message
    # The account supplies the two missing flags of half-bucket, and all four for open-bucket.
    _account_pab({"BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    by_status = {f.resource.id: f.status for f in only(scan(session, ["s3.bucket-public-access-block"]),
                                                       "s3.bucket-public-access-block")}
    assert by_status == {"blocked-bucket": Status.PASS, "open-bucket": Status.FAIL, "half-bucket": Status.PASS}
    _account_pab(ALL_ON)
    assert set(statuses(scan(session, ["s3.bucket-public-access-block"]),
                        "s3.bucket-public-access-block")) == {Status.PASS}


def test_bucket_pab_error_when_bucket_or_account_setting_unreadable(session):
    _bucket("blocked-bucket", pab=ALL_ON)
    deny(session, "s3.GetPublicAccessBlock")
    [f] = only(scan(session, ["s3.bucket-public-access-block"]), "s3.bucket-public-access-block")
    assert f.status is Status.ERROR and f.gap.iam_action == "s3:GetBucketPublicAccessBlock"
    assert f.resource.id == "blocked-bucket"


def test_bucket_pab_error_when_account_setting_unreadable(session):
    _bucket("blocked-bucket", pab=ALL_ON)
    deny(session, "s3control.GetPublicAccessBlock")
    assert set(statuses(scan(session, ["s3.bucket-public-access-block"]),
                        "s3.bucket-public-access-block")) == {Status.ERROR}


def test_bucket_checks_not_applicable_without_buckets(session):
    result = scan(session, ["s3.bucket-public-access-block", "s3.default-encryption-kms",
                            "s3.deny-insecure-transport", "s3.bucket-not-public", "s3.versioning-enabled",
                            "s3.mfa-delete", "s3.bucket-access-logging"])
    assert {f.status for f in result.findings} == {Status.NOT_APPLICABLE}


# --- s3.default-encryption-kms ------------------------------------------------------------------

def test_default_encryption_pass_and_fail(session):
    _bucket("kms-bucket", sse="aws:kms")
    _bucket("dsse-bucket", sse="aws:kms:dsse")
    _bucket("aes-bucket", sse="AES256")
    _bucket("plain-bucket")
    by_id = {f.resource.id: f for f in only(scan(session, ["s3.default-encryption-kms"]),
                                            "s3.default-encryption-kms")}
    assert {k: f.status for k, f in by_id.items()} == {
        "kms-bucket": Status.PASS, "dsse-bucket": Status.PASS, "aes-bucket": Status.FAIL,
        "plain-bucket": Status.FAIL}
    assert by_id["plain-bucket"].evidence["algorithm"] == "AES256"  # not-found is SSE-S3
    assert "no default encryption rule" in by_id["plain-bucket"].message


def test_default_encryption_customer_managed_key_required(session):
    key = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
    _bucket("cmk-bucket", sse="aws:kms", key=key)
    _bucket("aws-key-bucket", sse="aws:kms")
    _bucket("alias-bucket", sse="aws:kms", key="alias/aws/s3")
    cfg = AuditConfig(workers=4, require_customer_managed_keys=True)
    by_id = {f.resource.id: f.status for f in only(scan(session, ["s3.default-encryption-kms"], cfg=cfg),
                                                   "s3.default-encryption-kms")}
    assert by_id == {"cmk-bucket": Status.PASS, "aws-key-bucket": Status.FAIL, "alias-bucket": Status.FAIL}


def test_default_encryption_error_when_unreadable(session):
    _bucket("kms-bucket", sse="aws:kms")
    deny(session, "s3.GetBucketEncryption")
    [f] = only(scan(session, ["s3.default-encryption-kms"]), "s3.default-encryption-kms")
    assert f.status is Status.ERROR and f.gap.iam_action == "s3:GetEncryptionConfiguration"


# --- s3.deny-insecure-transport -----------------------------------------------------------------

def test_deny_insecure_transport_pass_fail(session):
    _bucket("tls-bucket", policy=_tls_policy("tls-bucket"))
    _bucket("no-policy-bucket")
    _bucket("objects-only-bucket", policy=_tls_policy("objects-only-bucket",
                                                      resources=["arn:aws:s3:::objects-only-bucket/*"]))
    by_id = {f.resource.id: f for f in only(scan(session, ["s3.deny-insecure-transport"]),
                                            "s3.deny-insecure-transport")}
    assert {k: f.status for k, f in by_id.items()} == {
        "tls-bucket": Status.PASS, "no-policy-bucket": Status.FAIL, "objects-only-bucket": Status.FAIL}
    assert by_id["tls-bucket"].evidence["denying_statements"] == ["TlsOnly"]
    assert by_id["objects-only-bucket"].evidence["not_covered"] == ["bucket"]
    assert "no bucket policy" in by_id["no-policy-bucket"].message


def test_deny_insecure_transport_error_when_policy_unreadable(session):
    _bucket("tls-bucket", policy=_tls_policy("tls-bucket"))
    deny(session, "s3.GetBucketPolicy")
    [f] = only(scan(session, ["s3.deny-insecure-transport"]), "s3.deny-insecure-transport")
    assert f.status is Status.ERROR and f.gap.iam_action == "s3:GetBucketPolicy"


B = "arn:aws:s3:::b"


@pytest.mark.parametrize(("doc", "expected"), [
    (_tls_policy("b"), True),
    (_tls_policy("b", principal={"AWS": "*"}, action="*"), True),
    (_tls_policy("b", condition={"Bool": {"aws:SecureTransport": False}}), True),
    (_tls_policy("b", condition={"NumericLessThan": {"s3:TlsVersion": "1.2"}}), True),
    (_tls_policy("b", resources=["*"]), True),
    (_tls_policy("b", condition={"NumericLessThan": {"s3:TlsVersion": "1.0"}}), False),
    (_tls_policy("b", condition={"Bool": {"aws:SecureTransport": "true"}}), False),
    (_tls_policy("b", effect="Allow"), False),
    (_tls_policy("b", principal={"AWS": "arn:aws:iam::123456789012:root"}), False),
    (_tls_policy("b", action=["s3:GetObject", "s3:PutObject"]), False),
    (_tls_policy("b", action="s3:Get*"), False),
    (_tls_policy("b", condition={"Bool": {"aws:SecureTransport": "false"},
                                 "StringNotEquals": {"aws:SourceVpce": "vpce-1"}}), False),  # narrowed deny
    ({"Statement": [{"Effect": "Deny", "Principal": "*", "NotAction": "s3:GetObject", "Resource": [B, B + "/*"],
                     "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}, False),
])
def test_denies_insecure_statement_shapes(doc, expected):
    assert [_denies_insecure(s) for s in statements(doc)] == [expected]


def test_bucket_and_objects_may_be_covered_by_two_statements(session):
    cond = {"Bool": {"aws:SecureTransport": "false"}}
    doc = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Bucket", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::two-stmt",
         "Condition": cond},
        {"Sid": "Objects", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": "arn:aws:s3:::two-stmt/*", "Condition": cond}]}
    _bucket("two-stmt", policy=doc)
    [f] = only(scan(session, ["s3.deny-insecure-transport"]), "s3.deny-insecure-transport")
    assert f.status is Status.PASS and f.evidence["denying_statements"] == ["Bucket", "Objects"]


# --- s3.versioning-enabled / s3.mfa-delete / s3.bucket-access-logging ---------------------------------------

def _version(bucket: str, status: str) -> None:
    boto3.client("s3").put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})


def _tag(bucket: str, **tags: str) -> None:
    boto3.client("s3", region_name="us-east-1").put_bucket_tagging(
        Bucket=bucket, Tagging={"TagSet": [{"Key": k.replace("_", "-"), "Value": v} for k, v in tags.items()]})


def test_versioning_pass_fail_error(session):
    _bucket("on-bucket")
    _version("on-bucket", "Enabled")
    _bucket("paused-bucket")
    _version("paused-bucket", "Suspended")
    _bucket("never-bucket")
    by_id = {f.resource.id: f for f in only(scan(session, ["s3.versioning-enabled"]), "s3.versioning-enabled")}
    assert {k: f.status for k, f in by_id.items()} == {
        "on-bucket": Status.PASS, "paused-bucket": Status.FAIL, "never-bucket": Status.FAIL}
    assert by_id["never-bucket"].message == "bucket never-bucket versioning is never enabled"
    deny(session, "s3.GetBucketVersioning")
    assert set(statuses(scan(session, ["s3.versioning-enabled"]), "s3.versioning-enabled")) == {Status.ERROR}


def test_versioning_scoped_to_tagged_buckets(session):
    _bucket("data-bucket")
    _tag("data-bucket", data_classification="confidential")
    _bucket("scratch-bucket")
    cfg = AuditConfig(workers=4, s3_versioning_scope="tagged")
    [f] = only(scan(session, ["s3.versioning-enabled"], cfg=cfg), "s3.versioning-enabled")
    assert f.resource.id == "data-bucket" and f.status is Status.FAIL
    assert f.evidence["scope"] == "tagged data-classification"
    deny(session, "s3.GetBucketTagging")
    found = only(scan(session, ["s3.versioning-enabled"], cfg=cfg), "s3.versioning-enabled")
    assert {f.status for f in found} == {Status.ERROR} and {f.resource.id for f in found} == {
        "data-bucket", "scratch-bucket"}
    assert all(f.gap.iam_action == "s3:GetBucketTagging" for f in found)


def test_mfa_delete_scope_is_trail_and_tagged_buckets(session):
    _bucket("trail-bucket")
    boto3.client("cloudtrail", region_name="us-east-1").create_trail(Name="main", S3BucketName="trail-bucket")
    _bucket("data-bucket")
    _version("data-bucket", "Enabled")
    _tag("data-bucket", data_classification="restricted")
    _bucket("scratch-bucket")
    by_id = {f.resource.id: f for f in only(scan(session, ["s3.mfa-delete"]), "s3.mfa-delete")}
    assert {k: f.status for k, f in by_id.items()} == {"trail-bucket": Status.FAIL, "data-bucket": Status.FAIL}
    assert by_id["trail-bucket"].evidence["scope"] == "CloudTrail log bucket"
    assert "versioning Enabled" in by_id["data-bucket"].message
    cfg = AuditConfig(workers=4, s3_mfa_delete_scope="all")
    assert len(only(scan(session, ["s3.mfa-delete"], cfg=cfg), "s3.mfa-delete")) == 3


def test_mfa_delete_pass_from_a_recorded_answer(session):
    # moto drops MFADelete from GetBucketVersioning, so the answer for this bucket is a recorded one.
    _bucket("vault-bucket")
    _tag("vault-bucket", data_classification="secret")
    respond_with(session, "s3", "GetBucketVersioning", lambda p: {"Status": "Enabled", "MFADelete": "Enabled"}
                 if request_names(p, "vault-bucket") else None)
    [f] = only(scan(session, ["s3.mfa-delete"]), "s3.mfa-delete")
    assert f.status is Status.PASS and f.evidence["mfa_delete"] == "Enabled"


def test_mfa_delete_error_and_not_applicable(session):
    _bucket("scratch-bucket")
    assert statuses(scan(session, ["s3.mfa-delete"]), "s3.mfa-delete") == [Status.NOT_APPLICABLE]
    _tag("scratch-bucket", data_classification="internal")
    deny(session, "s3.GetBucketVersioning")
    [f] = only(scan(session, ["s3.mfa-delete"]), "s3.mfa-delete")
    assert f.status is Status.ERROR and f.gap.iam_action == "s3:GetBucketVersioning"


def test_access_logging_pass_fail_error_and_scope(session):
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="access-logs", ACL="log-delivery-write")
    _bucket("logged-bucket")
    s3.put_bucket_logging(Bucket="logged-bucket", BucketLoggingStatus={"LoggingEnabled": {
        "TargetBucket": "access-logs", "TargetPrefix": "logged/"}})
    _tag("logged-bucket", data_classification="confidential")
    by_id = {f.resource.id: f for f in only(scan(session, ["s3.bucket-access-logging"]), "s3.bucket-access-logging")}
    assert {k: f.status for k, f in by_id.items()} == {"access-logs": Status.FAIL, "logged-bucket": Status.PASS}
    assert by_id["logged-bucket"].message == "bucket logged-bucket logs access to s3://access-logs/logged/"
    cfg = AuditConfig(workers=4, s3_access_logging_scope="tagged", data_classification_tag="data-classification=x")
    assert statuses(scan(session, ["s3.bucket-access-logging"], cfg=cfg),
                    "s3.bucket-access-logging") == [Status.NOT_APPLICABLE]
    deny(session, "s3.GetBucketLogging")
    assert set(statuses(scan(session, ["s3.bucket-access-logging"]), "s3.bucket-access-logging")) == {Status.ERROR}
