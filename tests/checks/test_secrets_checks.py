"""Secrets in user data, Lambda and ECS environments, and plain SSM parameters; and the rule that a secret
value never reaches the inventory or any report format."""
from __future__ import annotations

import base64
import gzip

import boto3
import pytest

from auditor.config import AuditConfig
from auditor.models import Status
from auditor.runner import collect, select_checks
from reports.html import HtmlRenderer
from reports.json_report import JsonRenderer
from reports.sarif import SarifRenderer
from tests.collectors.test_lambda import make_function
from tests.conftest import deny, only, recorded, scan

AMI = "ami-12c6146b"
REGION = "us-east-1"
USER_DATA = "ec2.user-data-no-secrets"
LAMBDA = "lambda.env-no-secrets"
ECS = "ecs.taskdef-no-secrets"
SSM = "ssm.secret-parameters-securestring"

# Distinctive planted values (built at runtime so this file does not look like it holds credentials).
UD_PASSWORD = "UDpw-Xq71-" + "Zeta-Lumen"
UD_SECRET_KEY = "k9Lq2Vx8Pm4Rt8Zw" + "Yb3Nc6HdJf1Gs5TaUe0Io/Kq"
UD_GITHUB = "ghp_" + "Zy9Xw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa"
LT_PASSWORD = "LTpw-Mb40-" + "Ursa-Cobalt"
FN_TOKEN = "LMtok-Vr93-" + "Orion-Pulse"
FN_STRIPE = "sk_live_" + "9QzWvX8TuY7SrR6pQo5N"
ECS_PASSWORD = "ECSpw-Kd52-" + "Nova-Quill"
SECRETS = (UD_PASSWORD, UD_SECRET_KEY, UD_GITHUB, LT_PASSWORD, FN_TOKEN, FN_STRIPE, ECS_PASSWORD)
SCRIPT = (f"#!/bin/bash\nexport DB_PASSWORD={UD_PASSWORD}\nexport AWS_SECRET_ACCESS_KEY={UD_SECRET_KEY}\n"
          f"git clone https://{UD_GITHUB}@github.com/acme/app.git\n")


@pytest.fixture
def ec2(aws):
    return boto3.client("ec2", region_name=REGION)


def _instance(ec2, user_data: str | bytes | None = None) -> str:
    kw = {"UserData": user_data} if user_data is not None else {}
    return ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, **kw)["Instances"][0]["InstanceId"]


def _task(family: str, env: dict[str, str], secrets: dict[str, str] | None = None) -> str:
    return boto3.client("ecs", region_name=REGION).register_task_definition(
        family=family, taskRoleArn="arn:aws:iam::123456789012:role/task", containerDefinitions=[{
            "name": "app", "image": "nginx", "memory": 128,
            "environment": [{"name": k, "value": v} for k, v in env.items()],
            "secrets": [{"name": k, "valueFrom": v} for k, v in (secrets or {}).items()]}],
    )["taskDefinition"]["taskDefinitionArn"]


def _by_id(result, check_id: str) -> dict[str, Status]:
    return {f.resource.id + (f"#{f.subkey}" if f.subkey else ""): f.status for f in only(result, check_id)}


# ec2.user-data-no-secrets

def test_user_data_pass_fail_for_instances_and_templates(session, ec2):
    leaky = _instance(ec2, gzip.compress(SCRIPT.encode()))
    clean = _instance(ec2, "#!/bin/bash\nyum install -y nginx\n")
    bare = _instance(ec2)
    tpl = ec2.create_launch_template(LaunchTemplateName="web", LaunchTemplateData={
        "ImageId": AMI, "UserData": base64.b64encode(f"PASSWORD='{LT_PASSWORD}'".encode()).decode()}
    )["LaunchTemplate"]["LaunchTemplateId"]
    result = scan(session, [USER_DATA])
    assert _by_id(result, USER_DATA) == {leaky: Status.FAIL, clean: Status.PASS, bare: Status.PASS,
                                         f"{tpl}#version/1": Status.FAIL}
    [fail] = only(result, USER_DATA, status=Status.FAIL, resource=next(
        f.resource for f in result.findings if f.resource.id == leaky))
    assert [s["location"] for s in fail.evidence["secrets"]] == [
        "line 2 (DB_PASSWORD)", "line 3 (AWS_SECRET_ACCESS_KEY)", "line 4"]
    assert fail.evidence["kinds"] == ["AWS secret access key", "GitHub token", "secret-named value with a literal"]


def test_user_data_unreadable_is_error_for_that_instance(session, ec2):
    iid = _instance(ec2, SCRIPT)
    deny(session, "ec2.DescribeInstanceAttribute")
    [f] = only(scan(session, [USER_DATA]), USER_DATA)
    assert (f.status, f.resource.id, f.resource.type) == (Status.ERROR, iid, "AWS::EC2::Instance")
    deny(session, "ec2.DescribeLaunchTemplateVersions")
    assert {f.status for f in only(scan(session, [USER_DATA]), USER_DATA)} == {Status.ERROR}


# lambda.env-no-secrets

def test_lambda_env_pass_fail_error(session):
    make_function("leaky", env={"API_TOKEN": FN_TOKEN, "PAYMENTS": FN_STRIPE, "STAGE": "prod"})
    make_function("clean", env={"DB_PASSWORD_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db"})
    make_function("bare")
    result = scan(session, [LAMBDA])
    assert _by_id(result, LAMBDA) == {"leaky": Status.FAIL, "clean": Status.PASS, "bare": Status.PASS}
    [fail] = only(result, LAMBDA, status=Status.FAIL)
    assert "variable API_TOKEN" in fail.message and fail.evidence["kinds"] == [
        "Stripe key", "secret-named value with a literal"]
    deny(session, "lambda.ListFunctions")
    [f] = only(scan(session, [LAMBDA]), LAMBDA)
    assert f.status is Status.ERROR and f.gap.iam_action == "lambda:ListFunctions"


# ecs.taskdef-no-secrets

def test_ecs_latest_revision_pass_fail_error(session, aws):
    _task("web", {"DB_PASSWORD": ECS_PASSWORD})
    _task("web", {"STAGE": "prod"}, secrets={"DB_PASSWORD": "arn:aws:ssm:us-east-1:123456789012:parameter/db"})
    _task("worker", {"DB_PASSWORD": ECS_PASSWORD})
    result = scan(session, [ECS])
    assert _by_id(result, ECS) == {"web:2": Status.PASS, "worker:1": Status.FAIL}
    web = next(f for f in result.findings if f.resource.id == "web:2")
    assert web.evidence["injected_secrets"] == ["DB_PASSWORD"] and web.evidence["active_revisions"] == 2
    worker = next(f for f in result.findings if f.resource.id == "worker:1")
    assert "container app: variable DB_PASSWORD" in worker.message
    deny(session, "ecs.DescribeTaskDefinition")
    assert set(_by_id(scan(session, [ECS]), ECS).values()) == {Status.ERROR}
    deny(session, "ecs.ListTaskDefinitions")
    assert set(_by_id(scan(session, [ECS]), ECS).values()) == {Status.ERROR}


def test_no_task_definitions_is_not_applicable(session, aws):
    assert [f.status for f in scan(session, [ECS]).findings] == [Status.NOT_APPLICABLE]


# ssm.secret-parameters-securestring

def test_ssm_parameters_pass_fail_error_and_not_applicable(session, aws):
    assert [f.status for f in scan(session, [SSM]).findings] == [Status.NOT_APPLICABLE]
    ssm = boto3.client("ssm", region_name=REGION)
    ssm.put_parameter(Name="/app/db-password", Value="x", Type="SecureString")
    ssm.put_parameter(Name="/app/api_key", Value="x", Type="String")
    ssm.put_parameter(Name="/app/oauth-tokens", Value="a,b", Type="StringList")
    ssm.put_parameter(Name="/app/keyboard-layout", Value="us", Type="String")
    ssm.put_parameter(Name="/app/log-level", Value="info", Type="String")
    result = scan(session, [SSM])
    assert _by_id(result, SSM) == {"/app/db-password": Status.PASS, "/app/api_key": Status.FAIL,
                                   "/app/oauth-tokens": Status.FAIL}
    cfg = AuditConfig(workers=4, secret_parameter_pattern="level")
    assert _by_id(scan(session, [SSM], cfg=cfg), SSM) == {"/app/log-level": Status.FAIL}
    deny(session, "ssm.DescribeParameters")
    [f] = only(scan(session, [SSM]), SSM)
    assert f.status is Status.ERROR and f.gap.iam_action == "ssm:DescribeParameters"


# the hard rule: location and kind, never the value, anywhere

def test_secret_values_appear_in_no_report_format_and_not_in_the_inventory(session, ec2):
    _instance(ec2, SCRIPT)
    _instance(ec2, gzip.compress(SCRIPT.encode()))
    ec2.create_launch_template(LaunchTemplateName="web", LaunchTemplateData={
        "ImageId": AMI, "UserData": base64.b64encode(f"PASSWORD='{LT_PASSWORD}'".encode()).decode()})
    make_function("leaky", env={"API_TOKEN": FN_TOKEN, "PAYMENTS": FN_STRIPE})
    _task("worker", {"DB_PASSWORD": ECS_PASSWORD})
    recorded(session, "ec2.GetAllowedImagesSettings", {"State": "disabled"})  # moto lacks it; a gap voids SARIF
    checks = [USER_DATA, LAMBDA, ECS]
    result = scan(session, checks)
    assert result.summary.complete  # so SARIF really carries the findings
    assert {f.check_id for f in result.findings if f.status is Status.FAIL} == set(checks)
    inv = collect(session, select_checks(checks), [REGION], AuditConfig(workers=4))
    outputs = {"json": JsonRenderer().render(result), "sarif": SarifRenderer().render(result),
               "html": HtmlRenderer().render(result), "inventory": inv.model_dump_json()}
    assert all(c in outputs["sarif"] for c in ("ecs.taskdef-no-secrets", "lambda.env-no-secrets"))
    forbidden = {s for value in SECRETS for s in (value, value[:10], base64.b64encode(value.encode()).decode())}
    forbidden |= {base64.b64encode(SCRIPT.encode()).decode(), base64.b64encode(gzip.compress(SCRIPT.encode())).decode()}
    for name, text in outputs.items():
        leaked = sorted(s for s in forbidden if s in text)
        assert not leaked, f"{name} leaks {len(leaked)} secret string(s)"
