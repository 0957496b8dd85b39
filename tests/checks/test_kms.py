from __future__ import annotations

import boto3

from auditor.models import Status
from tests.conftest import deny, only, scan, statuses


def _key(rotate: bool, region: str = "us-east-1") -> str:
    kms = boto3.client("kms", region_name=region)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    if rotate:
        kms.enable_key_rotation(KeyId=key_id)
    return key_id


def test_rotation_pass(session):
    _key(rotate=True)
    assert statuses(scan(session, ["kms.cmk-rotation"]), "kms.cmk-rotation") == [Status.PASS]


def test_rotation_fail_names_the_key(session):
    key_id = _key(rotate=False)
    [f] = only(scan(session, ["kms.cmk-rotation"]), "kms.cmk-rotation")
    assert f.status is Status.FAIL and f.resource.id == key_id and f.resource.type == "AWS::KMS::Key"


def test_rotation_error_when_status_unreadable(session):
    _key(rotate=True)
    deny(session, "kms.GetKeyRotationStatus")
    [f] = only(scan(session, ["kms.cmk-rotation"]), "kms.cmk-rotation")
    assert f.status is Status.ERROR
    assert f.gap and f.gap.iam_action == "kms:GetKeyRotationStatus" and f.gap.error_code == "AccessDenied"


def test_rotation_error_when_keys_unlistable_in_one_region_only(session):
    _key(rotate=True, region="us-east-1")
    _key(rotate=False, region="eu-west-1")
    deny(session, "kms.ListKeys")
    result = scan(session, ["kms.cmk-rotation"], regions=["us-east-1", "eu-west-1"])
    assert {f.status for f in result.findings} == {Status.ERROR}
    assert {f.region for f in result.findings} == {"us-east-1", "eu-west-1"}


def test_no_customer_keys_is_not_applicable(session):
    assert statuses(scan(session, ["kms.cmk-rotation"]), "kms.cmk-rotation") == [Status.NOT_APPLICABLE]


def test_pending_deletion_pass_fail_error(session):
    keep = _key(rotate=True)
    doomed = _key(rotate=True)
    boto3.client("kms", region_name="us-east-1").schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7)
    result = scan(session, ["kms.no-pending-deletion"])
    by_id = {f.resource.id: f.status for f in only(result, "kms.no-pending-deletion")}
    assert by_id == {keep: Status.PASS, doomed: Status.FAIL}
    deny(session, "kms.DescribeKey")
    assert set(statuses(scan(session, ["kms.no-pending-deletion"]), "kms.no-pending-deletion")) == {Status.ERROR}
