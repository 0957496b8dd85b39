from __future__ import annotations

import json

import boto3

from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.runner import collect, select_checks
from tests.checks.test_messaging import _function
from tests.collectors.test_cloudfront import respond_with
from tests.conftest import ACCOUNT

R = "us-east-1"


def _collect(session) -> Inventory:
    return collect(session, select_checks(["policy.resource-policies-not-public"]), [R], AuditConfig(workers=4))


def test_key_policies_skip_aws_managed_keys(session):
    kms = boto3.client("kms", region_name=R)
    mine = kms.create_key()["KeyMetadata"]["KeyId"]
    boto3.client("dynamodb", region_name=R).create_table(  # materialises the AWS-managed alias/aws/dynamodb key
        TableName="t", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        SSESpecification={"Enabled": True, "SSEType": "KMS"})
    inv = _collect(session)
    assert [k.id for k in inv.kms_policies.key_policies] == [mine]
    assert inv.api_calls["kms:us-east-1:GetKeyPolicy"] == 1
    assert '"Statement"' in inv.kms_policies.key_policies[0].policy


def test_event_bus_pages_are_followed(session):
    arn = f"arn:aws:events:{R}:{ACCOUNT}:event-bus/"
    pages = {None: {"EventBuses": [{"Name": "default", "Arn": arn + "default"}], "NextToken": "t2"},
             "t2": {"EventBuses": [{"Name": "orders", "Arn": arn + "orders", "Policy": "{}"}]}}
    respond_with(session, "eventbridge", "ListEventBuses",
                 lambda p: pages[json.loads(p["body"] or b"{}").get("NextToken")])
    inv = _collect(session)
    assert [(b.name, b.policy) for b in inv.event_buses.buses] == [("default", None), ("orders", "{}")]


def test_lambda_without_policy_and_secret_values_never_read(session):
    _function("quiet")
    boto3.client("secretsmanager", region_name=R).create_secret(Name="s", SecretString="hunter2")
    inv = _collect(session)
    [fn] = inv.lambda_policies.functions
    assert fn.policy_read and fn.policy is None
    assert not any("GetSecretValue" in k for k in inv.api_calls)
    assert "hunter2" not in inv.model_dump_json()
    restored = Inventory.model_validate(inv.model_dump(mode="json"))
    for name in ("lambda_policies", "secretsmanager", "sqs", "kms_policies", "event_buses", "glacier"):
        assert getattr(restored, name) == getattr(inv, name), name
