"""The read-only guard refuses writes in-process, before anything is sent."""
from __future__ import annotations

import pytest
from botocore.httpsession import URLLib3Session

from auditor.guard import ReadOnlyViolation, iam_action, is_read
from auditor.session import AuditSession


@pytest.fixture
def sent(monkeypatch):
    """Every HTTP request botocore tries to send; sending is replaced by a failure."""
    requests = []

    def fake_send(self, request):
        requests.append(request)
        raise AssertionError("no request may leave the process in this test")
    monkeypatch.setattr(URLLib3Session, "send", fake_send)
    return requests


@pytest.mark.parametrize("service,method,params", [
    ("iam", "create_user", {"UserName": "x"}),
    ("ec2", "authorize_security_group_ingress", {"GroupId": "sg-1"}),
    ("s3", "put_bucket_policy", {"Bucket": "b", "Policy": "{}"}),
    ("s3", "get_object", {"Bucket": "b", "Key": "k"}),  # a data read: refused too
    ("secretsmanager", "get_secret_value", {"SecretId": "s"}),
    ("kms", "schedule_key_deletion", {"KeyId": "k"}),
])
def test_write_raises_before_any_http(sent, service, method, params):
    session = AuditSession(region="us-east-1")
    client = session.client(service)
    with pytest.raises(ReadOnlyViolation, match="only reads"):
        getattr(client, method)(**params)
    assert sent == []


def test_guard_also_covers_clients_made_outside_the_factory(sent):
    session = AuditSession(region="us-east-1")
    with pytest.raises(ReadOnlyViolation):
        session.boto.client("sqs", region_name="us-east-1").delete_queue(QueueUrl="https://x")
    assert sent == []


def test_guard_with_assumed_role_session(sent):
    session = AuditSession(region="us-east-1", role_arn="arn:aws:iam::123456789012:role/audit")
    with pytest.raises(ReadOnlyViolation):
        session.client("iam").delete_role(RoleName="x")
    assert sent == []


def test_reads_pass_the_guard(aws):
    session = AuditSession(region="us-east-1")
    assert session.client("iam").list_users()["Users"] == []
    assert session.calls[("iam", "us-east-1", "ListUsers")] == 1


@pytest.mark.parametrize("service,op,expected", [
    ("iam", "GenerateCredentialReport", True), ("sts", "AssumeRole", True), ("ec2", "DescribeRegions", True),
    ("iam", "CreateUser", False), ("ec2", "RunInstances", False), ("s3", "GetObject", False),
    ("lambda", "GetFunction", False), ("s3", "PutObject", False), ("dynamodb", "Scan", False),
])
def test_is_read(service, op, expected):
    assert is_read(service, op) is expected


def test_iam_action_names():
    assert iam_action("s3", "ListBuckets") == "s3:ListAllMyBuckets"
    assert iam_action("s3control", "GetPublicAccessBlock") == "s3:GetAccountPublicAccessBlock"
    assert iam_action("sso-admin", "ListInstances") == "sso:ListInstances"
    assert iam_action("kms", "ListKeys") == "kms:ListKeys"
