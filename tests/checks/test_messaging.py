from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timedelta, timezone

import boto3
import pytest

from auditor.config import AuditConfig
from auditor.models import Status
from tests.collectors.test_cloudfront import respond_with
from tests.conftest import ACCOUNT, deny, future, only, scan, statuses

R = "us-east-1"
PUBLIC = "policy.resource-policies-not-public"


def _doc(principal, action: str, resource: str = "*", condition: dict | None = None, sid: str = "S") -> str:
    stmt = {"Sid": sid, "Effect": "Allow", "Principal": principal, "Action": action, "Resource": resource}
    return json.dumps({"Version": "2012-10-17", "Statement": [{**stmt, **({"Condition": condition}
                                                                           if condition else {})}]})


def _by_id(result, check_id):
    return {f.resource.id: f for f in only(result, check_id)}


def _function(name: str) -> str:
    role = boto3.client("iam", region_name=R).create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("f.py", "def h(e, c):\n    return 1\n")
    return boto3.client("lambda", region_name=R).create_function(
        FunctionName=name, Runtime="python3.12", Role=role["Role"]["Arn"], Handler="f.h",
        Code={"ZipFile": buf.getvalue()})["FunctionArn"]


# --- sqs.kms-encryption / sns.kms-encryption ------------------------------------------------------------------

def test_sqs_kms_sse_sqs_and_unencrypted(session):
    sqs = boto3.client("sqs", region_name=R)
    sqs.create_queue(QueueName="kms", Attributes={"KmsMasterKeyId": "alias/aws/sqs"})
    sqs.create_queue(QueueName="sse-sqs")  # moto (like AWS) turns SSE-SQS on by default
    sqs.create_queue(QueueName="plain", Attributes={"SqsManagedSseEnabled": "false"})
    by_id = _by_id(scan(session, ["sqs.kms-encryption"]), "sqs.kms-encryption")
    assert {k: f.status for k, f in by_id.items()} == {"kms": Status.PASS, "sse-sqs": Status.PASS,
                                                       "plain": Status.FAIL}
    assert "warning" not in by_id["kms"].evidence and by_id["kms"].evidence["aws_managed_key"] is True
    assert "SSE-SQS" in by_id["sse-sqs"].evidence["warning"] and "warning" in by_id["sse-sqs"].message
    assert by_id["plain"].resource.arn == f"arn:aws:sqs:{R}:{ACCOUNT}:plain"


def test_sqs_error_when_attributes_unreadable(session):
    boto3.client("sqs", region_name=R).create_queue(QueueName="q")
    deny(session, "sqs.GetQueueAttributes")
    [f] = only(scan(session, ["sqs.kms-encryption"]), "sqs.kms-encryption")
    assert f.status is Status.ERROR and f.resource.id == "q" and f.gap.iam_action == "sqs:GetQueueAttributes"


def test_sns_kms_pass_fail_error(session):
    sns = boto3.client("sns", region_name=R)
    sns.create_topic(Name="alerts", Attributes={"KmsMasterKeyId": "alias/aws/sns"})
    sns.create_topic(Name="plain")
    by_id = _by_id(scan(session, ["sns.kms-encryption"]), "sns.kms-encryption")
    assert {k: f.status for k, f in by_id.items()} == {"alerts": Status.PASS, "plain": Status.FAIL}
    deny(session, "sns.GetTopicAttributes")
    assert set(statuses(scan(session, ["sns.kms-encryption"]), "sns.kms-encryption")) == {Status.ERROR}


def test_queue_and_topic_checks_not_applicable_when_empty(session):
    result = scan(session, ["sqs.kms-encryption", "sns.kms-encryption"])
    assert {f.status for f in result.findings} == {Status.NOT_APPLICABLE}


# --- secretsmanager.rotation ----------------------------------------------------------------------------------

def _rotating_secret(name: str, days: int = 30) -> None:
    sm = boto3.client("secretsmanager", region_name=R)
    sm.create_secret(Name=name, SecretString="not-a-real-secret")
    sm.rotate_secret(SecretId=name, RotationLambdaARN=_function(f"{name}-rotator"),
                     RotationRules={"AutomaticallyAfterDays": days}, RotateImmediately=False)


def test_rotation_pass_and_fail(session):
    _rotating_secret("db-password")
    boto3.client("secretsmanager", region_name=R).create_secret(Name="api-token", SecretString="x")
    by_id = _by_id(scan(session, ["secretsmanager.rotation"]), "secretsmanager.rotation")
    assert by_id["db-password"].status is Status.PASS and "every 30 day(s)" in by_id["db-password"].message
    assert by_id["api-token"].status is Status.FAIL and "does not rotate" in by_id["api-token"].message
    assert by_id["db-password"].resource.type == "AWS::SecretsManager::Secret"
    assert all("not-a-real-secret" not in f.model_dump_json() for f in by_id.values())


def test_rotation_overdue_after_interval_plus_grace(session):
    _rotating_secret("db-password", days=30)
    assert statuses(scan(session, ["secretsmanager.rotation"], cfg=future(36)), "secretsmanager.rotation") \
        == [Status.PASS]  # 30 days + 7 days of grace
    [f] = only(scan(session, ["secretsmanager.rotation"], cfg=future(38)), "secretsmanager.rotation")
    assert f.status is Status.FAIL and "overdue" in f.message and f.evidence["overdue_since"]


def test_rotation_cron_schedule_uses_next_rotation_date(session):
    now = datetime.now(timezone.utc)
    arn = f"arn:aws:secretsmanager:{R}:{ACCOUNT}:secret:cron-AbCdEf"
    respond_with(session, "secrets-manager", "ListSecrets", lambda p: {"SecretList": [{
        "ARN": arn, "Name": "cron", "RotationEnabled": True, "CreatedDate": now - timedelta(days=400),
        "RotationRules": {"ScheduleExpression": "cron(0 4 1 * ? *)"}, "NextRotationDate": now - timedelta(days=10)}]})
    respond_with(session, "secrets-manager", "GetResourcePolicy", lambda p: {"ARN": arn, "Name": "cron"})
    [f] = only(scan(session, ["secretsmanager.rotation"]), "secretsmanager.rotation")
    assert f.status is Status.FAIL and f.evidence["schedule"].startswith("cron(")
    ok = AuditConfig(workers=4, secret_rotation_grace_days=30)
    assert statuses(scan(session, ["secretsmanager.rotation"], cfg=ok), "secretsmanager.rotation") == [Status.PASS]


def test_rotation_error_and_not_applicable(session):
    assert statuses(scan(session, ["secretsmanager.rotation"]), "secretsmanager.rotation") == [Status.NOT_APPLICABLE]
    boto3.client("secretsmanager", region_name=R).create_secret(Name="s", SecretString="x")
    deny(session, "secretsmanager.ListSecrets")
    [f] = only(scan(session, ["secretsmanager.rotation"]), "secretsmanager.rotation")
    assert f.status is Status.ERROR and f.gap.iam_action == "secretsmanager:ListSecrets"


# --- policy.resource-policies-not-public ----------------------------------------------------------------------

@pytest.fixture
def exposed(session):
    """One public and one private (or policy-less) resource of each kind moto can build."""
    sqs = boto3.client("sqs", region_name=R)
    sqs.create_queue(QueueName="open-q", Attributes={"Policy": _doc("*", "sqs:SendMessage")})
    sqs.create_queue(QueueName="s3-events-q", Attributes={"Policy": _doc(
        {"Service": "s3.amazonaws.com"}, "sqs:SendMessage")})
    sqs.create_queue(QueueName="scoped-q", Attributes={"Policy": _doc("*", "sqs:SendMessage", condition={
        "ArnEquals": {"aws:SourceArn": f"arn:aws:sns:{R}:{ACCOUNT}:alerts"}})})
    sns = boto3.client("sns", region_name=R)
    sns.create_topic(Name="default-topic")  # AWS's default policy: Principal AWS '*' scoped by AWS:SourceOwner
    sns.create_topic(Name="open-topic", Attributes={"Policy": _doc({"AWS": "*"}, "sns:Publish")})
    sm = boto3.client("secretsmanager", region_name=R)
    sm.create_secret(Name="open-secret", SecretString="x")
    sm.put_resource_policy(SecretId="open-secret", ResourcePolicy=_doc("*", "secretsmanager:GetSecretValue"))
    sm.create_secret(Name="plain-secret", SecretString="x")
    kms = boto3.client("kms", region_name=R)
    open_key = kms.create_key(Policy=_doc({"AWS": "*"}, "kms:*"))["KeyMetadata"]["KeyId"]
    org_key = kms.create_key(Policy=_doc({"AWS": "*"}, "kms:Decrypt", condition={
        "StringEquals": {"kms:CallerAccount": ACCOUNT}}))["KeyMetadata"]["KeyId"]
    _function("open-fn")
    boto3.client("lambda", region_name=R).add_permission(FunctionName="open-fn", StatementId="any",
                                                        Action="lambda:InvokeFunction", Principal="*")
    _function("quiet-fn")
    boto3.client("events", region_name=R).put_permission(Action="events:PutEvents", Principal="*", StatementId="all")
    s3 = boto3.client("s3", region_name=R)
    s3.create_bucket(Bucket="open-bucket")
    s3.put_bucket_policy(Bucket="open-bucket", Policy=_doc("*", "s3:GetObject", "arn:aws:s3:::open-bucket/*"))
    return {"open_key": open_key, "org_key": org_key}


def test_resource_policies_public_and_private(session, exposed):
    by_id = _by_id(scan(session, [PUBLIC]), PUBLIC)
    failed = {k for k, f in by_id.items() if f.status is Status.FAIL}
    assert failed == {"open-q", "open-topic", "open-secret", exposed["open_key"], "open-fn", "default",
                      "open-bucket"}
    for rid in ("s3-events-q", "scoped-q", "default-topic", "plain-secret", exposed["org_key"], "quiet-fn"):
        assert by_id[rid].status is Status.PASS, rid
    assert by_id["open-q"].evidence["public_statements"] == ["S"] and "Principal '*'" in by_id["open-q"].message
    assert by_id["default"].resource.type == "AWS::Events::EventBus"  # moto stores '*' as arn:aws:iam::*:root
    assert by_id["plain-secret"].message.endswith("has no resource policy")
    assert {f.region for f in by_id.values()} == {R}


def test_resource_policy_error_only_for_the_unreadable_resource(session, exposed):
    deny(session, "secretsmanager.GetResourcePolicy")
    by_id = _by_id(scan(session, [PUBLIC]), PUBLIC)
    assert by_id["open-secret"].status is Status.ERROR and by_id["plain-secret"].status is Status.ERROR
    assert by_id["open-q"].status is Status.FAIL and by_id["scoped-q"].status is Status.PASS


def test_resource_policy_error_when_queues_unlistable(session, exposed):
    deny(session, "sqs.ListQueues")
    found = only(scan(session, [PUBLIC]), PUBLIC)
    assert {f.status for f in found} == {Status.ERROR}  # every finding in us-east-1 is tainted


def test_glacier_vault_policy_from_recorded_response(session):
    # moto lacks GetVaultAccessPolicy; the answer is the real API's shape.
    glacier = boto3.client("glacier", region_name=R)
    glacier.create_vault(vaultName="open-vault")
    glacier.create_vault(vaultName="no-policy")
    policies = {"open-vault": _doc("*", "glacier:InitiateJob", sid="Everyone")}

    def answer(params):
        name = params["url_path"].rsplit("/", 2)[-2]
        if name in policies:
            return {"policy": {"Policy": policies[name]}}
        raise boto3.client("glacier", region_name=R).exceptions.ResourceNotFoundException(
            {"Error": {"Code": "ResourceNotFoundException", "Message": "no policy"}}, "GetVaultAccessPolicy")

    respond_with(session, "glacier", "GetVaultAccessPolicy", answer)
    by_id = _by_id(scan(session, [PUBLIC]), PUBLIC)
    assert by_id["open-vault"].status is Status.FAIL and by_id["open-vault"].evidence["public_statements"] == [
        "Everyone"]
    assert by_id["no-policy"].status is Status.PASS


def test_glacier_unimplemented_in_moto_is_an_error(session):
    boto3.client("glacier", region_name=R).create_vault(vaultName="v")
    by_id = _by_id(scan(session, [PUBLIC]), PUBLIC)
    assert by_id["v"].status is Status.ERROR and by_id["v"].gap.operation == "GetVaultAccessPolicy"
