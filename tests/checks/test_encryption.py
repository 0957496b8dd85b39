from __future__ import annotations

import boto3
import pytest

import checks.encryption as rollup
from auditor.models import Status
from tests.conftest import deny, only, scan, statuses

R = "us-east-1"
CHECK = "encryption.kms-everywhere"


@pytest.fixture
def encrypted(session):
    """An account whose only data stores are encrypted with KMS (and EBS encryption by default is on)."""
    boto3.client("ec2", region_name=R).enable_ebs_encryption_by_default()
    boto3.client("sqs", region_name=R).create_queue(QueueName="jobs", Attributes={"KmsMasterKeyId": "alias/aws/sqs"})
    boto3.client("sns", region_name=R).create_topic(Name="alerts", Attributes={"KmsMasterKeyId": "alias/aws/sns"})
    return session


def test_rollup_passes_when_every_listed_check_passes(encrypted):
    [f] = only(scan(encrypted, [CHECK]), CHECK)
    assert f.status is Status.PASS and f.resource.type == "AWS::::Account"
    checks = f.evidence["checks"]
    assert checks["sqs.kms-encryption"] == {"status": "PASS", "pass": 1, "fail": 0, "error": 0, "warnings": 0,
                                            "failing": []}
    assert checks["efs.encrypted"]["status"] == "NOT_APPLICABLE"
    assert set(checks) | set(f.evidence["not_evaluated"]) == set(rollup.ROLLED_UP)


def test_rollup_fails_naming_the_failing_checks(encrypted):
    boto3.client("sns", region_name=R).create_topic(Name="plain")
    boto3.client("efs", region_name=R).create_file_system(CreationToken="fs", Encrypted=False)
    [f] = only(scan(encrypted, [CHECK]), CHECK)
    assert f.status is Status.FAIL
    assert "efs.encrypted (1 resource(s))" in f.message and "sns.kms-encryption (1 resource(s))" in f.message
    assert f.evidence["checks"]["sns.kms-encryption"]["failing"] == ["plain"]


def test_rollup_error_when_a_listed_check_cannot_read(encrypted):
    deny(encrypted, "sqs.GetQueueAttributes")
    found = only(scan(encrypted, [CHECK]), CHECK)
    assert {f.status for f in found} == {Status.ERROR}
    account = next(f for f in found if f.resource.type == "AWS::::Account")
    assert "sqs.kms-encryption could not be read" in account.message
    assert any(f.gap and f.gap.iam_action == "sqs:GetQueueAttributes" for f in found)


def test_rollup_error_in_any_region_makes_the_account_finding_error(encrypted):
    deny(encrypted, "ec2.GetEbsEncryptionByDefault")
    assert set(statuses(scan(encrypted, [CHECK], regions=[R, "eu-west-1"]), CHECK)) == {Status.ERROR}


def test_unimplemented_checks_are_listed_as_not_evaluated(encrypted, monkeypatch):
    monkeypatch.setattr(rollup, "ROLLED_UP", (*rollup.ROLLED_UP, "future.check-id"))
    [f] = only(scan(encrypted, [CHECK]), CHECK)
    assert f.status is Status.PASS and f.evidence["not_evaluated"]["future.check-id"] == "no check implements it yet"
    assert "not evaluated: " in f.message and "future.check-id" in f.message
