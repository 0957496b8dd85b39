"""Compute runs with roles (instance profiles, ECS task roles), and each application has its own role."""
from __future__ import annotations

import io
import json
import zipfile

import boto3
import pytest

from auditor.config import AuditConfig
from auditor.models import Status
from tests.conftest import ACCOUNT, deny, only, scan, statuses

COMPUTE = "iam.compute-uses-roles"
WORKLOAD = "iam.workload-role-per-service"
LAMBDA_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


@pytest.fixture(scope="module")
def code() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buf.getvalue()


AMI = "ami-12c6146b"  # one of moto's built-in images; listing them all is slow


def _instance(profile: str | None = None, **tags: str) -> str:
    extra = {"IamInstanceProfile": {"Name": profile}} if profile else {}
    if tags:
        extra["TagSpecifications"] = [{"ResourceType": "instance",
                                       "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
    ec2 = boto3.client("ec2", region_name="us-east-1")
    return ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, **extra)["Instances"][0]["InstanceId"]


def _profile(name: str) -> None:
    iam = boto3.client("iam")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=LAMBDA_TRUST)
    iam.create_instance_profile(InstanceProfileName=name)
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)


def _task_definition(family: str, task_role: bool) -> None:
    extra = {"taskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/{family}"} if task_role else {}
    boto3.client("ecs", region_name="us-east-1").register_task_definition(
        family=family, containerDefinitions=[{"name": "app", "image": "nginx", "memory": 128}], **extra)


# iam.compute-uses-roles
def test_compute_uses_roles(session):
    _profile("web")
    with_role = _instance("web")
    without = _instance()
    _task_definition("api", task_role=True)
    _task_definition("worker", task_role=False)
    found = {f.resource.id: f for f in only(scan(session, [COMPUTE]), COMPUTE)}
    assert {k: f.status for k, f in found.items()} == {
        with_role: Status.PASS, without: Status.FAIL, "api:1": Status.PASS, "worker:1": Status.PASS}
    assert found[without].message == f"instance {without} (running) has no IAM instance profile: give it a role " \
        "instead of stored access keys"
    assert "no taskRoleArn" in found["worker:1"].evidence["warning"] and "warning" not in found["api:1"].evidence


def test_compute_uses_roles_error_and_not_applicable(session):
    assert statuses(scan(session, [COMPUTE]), COMPUTE) == [Status.NOT_APPLICABLE]
    _instance()
    deny(session, "ec2.DescribeInstances")
    assert statuses(scan(session, [COMPUTE]), COMPUTE) == [Status.ERROR]


def test_compute_uses_roles_error_when_task_definitions_unreadable(session):
    _task_definition("api", task_role=True)
    deny(session, "ecs.DescribeTaskDefinition")
    [f] = only(scan(session, [COMPUTE]), COMPUTE)
    assert f.status is Status.ERROR and f.gap.iam_action == "ecs:DescribeTaskDefinition"


# iam.workload-role-per-service
def _function(name: str, role: str, code: bytes, **tags: str) -> None:
    boto3.client("lambda", region_name="us-east-1").create_function(
        FunctionName=name, Runtime="python3.12", Role=f"arn:aws:iam::{ACCOUNT}:role/{role}", Handler="index.handler",
        Code={"ZipFile": code}, Tags=tags)


def test_workload_role_per_service(session, code):
    iam = boto3.client("iam")
    for name in ("shared", "own"):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=LAMBDA_TRUST)
    _function("billing-api", "shared", code, project="billing")
    _function("search-api", "shared", code, Project="search")  # tag keys compare case-insensitively
    _function("billing-cron", "own", code, project="billing")
    _profile("fleet")
    a, b = _instance("fleet", stack="shop"), _instance("fleet", stack="shop")
    found = {f.resource.id: f for f in only(scan(session, [WORKLOAD]), WORKLOAD)}
    assert {k: f.status for k, f in found.items()} == {"shared": Status.PASS, "own": Status.PASS,
                                                       "fleet": Status.PASS}  # WARN is PASS with a warning
    assert found["shared"].evidence["differing"] == {"project": {"billing": ["function billing-api"],
                                                                 "search": ["function search-api"]}}
    assert "warning: shared across applications (project: billing, search)" in found["shared"].message
    assert "warning" not in found["own"].evidence and "warning" not in found["fleet"].evidence
    assert found["fleet"].resource.type == "AWS::IAM::InstanceProfile"
    assert found["fleet"].evidence["used_by"] == sorted([f"instance {a}", f"instance {b}"])
    _instance("fleet", stack="blog")
    [fleet] = only(scan(session, [WORKLOAD], cfg=AuditConfig(workers=4, workload_tag_keys=["stack"])), WORKLOAD,
                   resource=found["fleet"].resource)
    assert fleet.evidence["warning"].startswith("shared across applications (stack: blog, shop)")


def test_workload_role_per_service_errors(session, code):
    boto3.client("iam").create_role(RoleName="shared", AssumeRolePolicyDocument=LAMBDA_TRUST)
    _function("a", "shared", code, project="a")
    _function("b", "shared", code, project="b")
    deny(session, "lambda.ListTags")
    [f] = only(scan(session, [WORKLOAD]), WORKLOAD)
    assert f.status is Status.ERROR and "tags of a, b could not be read" in f.message
    deny(session, "lambda.ListFunctions")
    assert statuses(scan(session, [WORKLOAD]), WORKLOAD) == [Status.ERROR]


def test_workload_role_per_service_not_applicable(session):
    assert statuses(scan(session, [WORKLOAD]), WORKLOAD) == [Status.NOT_APPLICABLE]
