from __future__ import annotations

import boto3

from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.models import Status
from auditor.runner import collect, select_checks
from tests.conftest import deny, only, scan, statuses

_KEYS = {"KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
         "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"}


def _fs(token: str, encrypted: bool, region: str = "us-east-1") -> str:
    return boto3.client("efs", region_name=region).create_file_system(
        CreationToken=token, Encrypted=encrypted, Tags=[{"Key": "Name", "Value": token}])["FileSystemId"]


def _table(name: str, sse: dict | None = None) -> None:
    boto3.client("dynamodb", region_name="us-east-1").create_table(
        TableName=name, **_KEYS, **({"SSESpecification": sse} if sse else {}))


def _by_id(result, check_id):
    return {f.resource.id: f for f in only(result, check_id)}


# --- efs.encrypted ---------------------------------------------------------------------------------------------

def test_efs_encrypted_pass_and_fail(session):
    good, bad = _fs("good", True), _fs("bad", False)
    by_id = _by_id(scan(session, ["efs.encrypted"]), "efs.encrypted")
    assert {k: f.status for k, f in by_id.items()} == {good: Status.PASS, bad: Status.FAIL}
    assert by_id[bad].resource.type == "AWS::EFS::FileSystem" and "(bad) is not encrypted" in by_id[bad].message
    assert by_id[good].evidence["encrypted"] is True


def test_efs_error_only_in_the_denied_region(session):
    _fs("eu", False, region="eu-west-1")
    deny(session, "efs.DescribeFileSystems")
    [f] = only(scan(session, ["efs.encrypted"], regions=["eu-west-1"]), "efs.encrypted")
    assert f.status is Status.ERROR and f.gap.iam_action == "elasticfilesystem:DescribeFileSystems"


def test_efs_not_applicable_without_file_systems(session):
    assert statuses(scan(session, ["efs.encrypted"]), "efs.encrypted") == [Status.NOT_APPLICABLE]


# --- dynamodb.kms-encryption -----------------------------------------------------------------------------------

def test_dynamodb_kms_pass_default_key_fail(session):
    _table("orders", {"Enabled": True, "SSEType": "KMS"})
    _table("sessions")
    by_id = _by_id(scan(session, ["dynamodb.kms-encryption"]), "dynamodb.kms-encryption")
    assert {k: f.status for k, f in by_id.items()} == {"orders": Status.PASS, "sessions": Status.FAIL}
    assert "AWS-owned key" in by_id["sessions"].message and by_id["sessions"].evidence["sse_type"] is None
    assert by_id["orders"].evidence["kms_key_arn"].startswith("arn:aws:kms:")
    assert by_id["orders"].resource.arn.endswith(":table/orders")


def test_dynamodb_customer_managed_key_required(session):
    key = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
    _table("cmk", {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key})
    _table("aws-managed", {"Enabled": True, "SSEType": "KMS"})  # moto uses the alias/aws/dynamodb key
    cfg = AuditConfig(workers=4, require_customer_managed_keys=True)
    by_id = _by_id(scan(session, ["dynamodb.kms-encryption"], cfg=cfg), "dynamodb.kms-encryption")
    assert by_id["cmk"].status is Status.PASS and by_id["cmk"].evidence["key_manager"] == "CUSTOMER"
    assert by_id["aws-managed"].status is Status.FAIL and "AWS-managed" in by_id["aws-managed"].message


def test_dynamodb_error_when_table_unreadable(session):
    _table("orders", {"Enabled": True, "SSEType": "KMS"})
    deny(session, "dynamodb.DescribeTable")
    [f] = only(scan(session, ["dynamodb.kms-encryption"]), "dynamodb.kms-encryption")
    assert f.status is Status.ERROR and f.resource.id == "orders" and f.gap.iam_action == "dynamodb:DescribeTable"


def test_dynamodb_error_when_key_manager_unknown(session):
    _table("orders", {"Enabled": True, "SSEType": "KMS"})
    deny(session, "kms.DescribeKey")
    cfg = AuditConfig(workers=4, require_customer_managed_keys=True)
    assert set(statuses(scan(session, ["dynamodb.kms-encryption"], cfg=cfg), "dynamodb.kms-encryption")) \
        == {Status.ERROR}


def test_dynamodb_not_applicable_without_tables(session):
    assert statuses(scan(session, ["dynamodb.kms-encryption"]), "dynamodb.kms-encryption") == [Status.NOT_APPLICABLE]


def test_sections_survive_a_saved_inventory(session):
    _fs("one", True)
    _table("orders", {"Enabled": True, "SSEType": "KMS"})
    specs = select_checks(["efs.*", "dynamodb.*", "tagging.*", "iac.*"])
    inv = collect(session, specs, ["us-east-1"], AuditConfig(workers=4))
    restored = Inventory.model_validate(inv.model_dump(mode="json"))
    for name in ("efs", "dynamodb", "tagging", "cloudformation_stacks"):
        assert getattr(restored, name) == getattr(inv, name), name
