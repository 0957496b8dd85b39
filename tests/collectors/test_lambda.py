from __future__ import annotations

import io
import zipfile

import boto3
import pytest

import auditor.collectors.lambda_  # noqa: F401 - registers the collector
from auditor.collectors import COLLECTORS, CollectContext
from auditor.collectors.lambda_ import TAGS, LambdaSection
from auditor.guard import is_read
from auditor.secrets import SECRET_ASSIGNMENT
from tests.conftest import ACCOUNT, deny

REGION = "us-east-1"
PASSWORD = "Qv7-hunter2-Lx9"


def _collect(session, region: str = REGION) -> tuple[LambdaSection, CollectContext]:
    spec = COLLECTORS.get("lambda")
    ctx = CollectContext(session, spec, region, ACCOUNT, "aws")
    return spec.fn(ctx), ctx


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return event\n")
    return buf.getvalue()


def make_function(name: str, env: dict[str, str] | None = None, tags: dict[str, str] | None = None,
                  subnets: list[str] | None = None, region: str = REGION, role: str = "fn-role") -> str:
    iam = boto3.client("iam", region_name="us-east-1")
    try:
        arn = iam.get_role(RoleName=role)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    kw: dict = {"Environment": {"Variables": env}} if env is not None else {}
    if subnets:
        kw["VpcConfig"] = {"SubnetIds": subnets, "SecurityGroupIds": []}
    return boto3.client("lambda", region_name=region).create_function(
        FunctionName=name, Runtime="python3.12", Role=arn, Handler="app.handler", Code={"ZipFile": _zip()},
        Tags=tags or {}, **kw)["FunctionArn"]


@pytest.fixture
def lam(aws):
    return boto3.client("lambda", region_name=REGION)


def test_declared_actions_are_reads():
    spec = COLLECTORS.get("lambda")
    assert spec.regional and spec.service == "lambda"
    for actions in spec.datasets.values():
        for action in actions:
            service, op = action.split(":")
            assert is_read(service, op), action


def test_functions_keep_role_vpc_tags_and_variable_names_but_no_values(session, lam):
    subnet = boto3.client("ec2", region_name=REGION).describe_subnets()["Subnets"][0]["SubnetId"]
    arn = make_function("orders", env={"DB_PASSWORD": PASSWORD, "STAGE": "prod"}, tags={"project": "shop"},
                        subnets=[subnet])
    section, ctx = _collect(session)
    [fn] = section.functions
    assert (fn.arn, fn.name, fn.role) == (arn, "orders", f"arn:aws:iam::{ACCOUNT}:role/fn-role")
    assert fn.in_vpc and fn.subnet_ids == [subnet]
    assert fn.tags == {"project": "shop"}
    assert fn.env_variable_names == ["DB_PASSWORD", "STAGE"]
    assert [(h.location, h.kind) for h in fn.env_secrets] == [("variable DB_PASSWORD", SECRET_ASSIGNMENT)]
    assert PASSWORD not in section.model_dump_json() and "prod" not in section.model_dump_json()
    assert ctx.gaps == []


def test_unreadable_tags_are_unknown_per_function(session, lam):
    arn = make_function("plain")
    deny(session, "lambda.ListTags")
    section, ctx = _collect(session)
    [fn] = section.functions
    assert fn.tags is None and not fn.in_vpc
    [gap] = ctx.gaps
    assert (gap.dataset, gap.resource_id, gap.iam_action) == (TAGS, arn, "lambda:ListTags")


def test_unlistable_functions_are_a_gap(session, lam):
    make_function("plain")
    deny(session, "lambda.ListFunctions")
    section, ctx = _collect(session)
    assert section.functions == [] and [g.iam_action for g in ctx.gaps] == ["lambda:ListFunctions"]
