from __future__ import annotations

import boto3
from botocore.exceptions import ClientError

from auditor.models import Status
from tests.conftest import deny, only, scan, statuses

CHECK = "logs.log-group-kms"


def test_log_group_kms_pass_fail(session):
    key = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
    logs = boto3.client("logs", region_name="us-east-1")
    logs.create_log_group(logGroupName="app/payments", kmsKeyId=key)
    logs.create_log_group(logGroupName="app/web")
    by_id = {f.resource.id: f for f in only(scan(session, [CHECK]), CHECK)}
    assert {k: f.status for k, f in by_id.items()} == {"app/payments": Status.PASS, "app/web": Status.FAIL}
    web = by_id["app/web"]
    assert web.resource.type == "AWS::Logs::LogGroup" and web.resource.arn.endswith(":log-group:app/web")
    assert web.message == "log group app/web is not encrypted with a KMS key"


def test_log_group_kms_error_only_where_unreadable(session):
    boto3.client("logs", region_name="us-east-1").create_log_group(logGroupName="app/web")
    boto3.client("logs", region_name="eu-west-1").create_log_group(logGroupName="app/eu")

    def refuse_in_eu(context, **_):
        if context.get("client_region") == "eu-west-1":
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "DescribeLogGroups")
    session.boto._session.register("before-call.logs.DescribeLogGroups", refuse_in_eu)
    session._clients.clear()
    result = scan(session, [CHECK], regions=["us-east-1", "eu-west-1"])
    assert {(f.region, f.status) for f in only(result, CHECK)} == {("us-east-1", Status.FAIL),
                                                                   ("eu-west-1", Status.ERROR)}


def test_log_group_kms_error_and_not_applicable(session):
    assert statuses(scan(session, [CHECK]), CHECK) == [Status.NOT_APPLICABLE]
    boto3.client("logs", region_name="us-east-1").create_log_group(logGroupName="app/web")
    deny(session, "logs.DescribeLogGroups")
    [f] = only(scan(session, [CHECK]), CHECK)
    assert f.status is Status.ERROR and f.gap.iam_action == "logs:DescribeLogGroups"
