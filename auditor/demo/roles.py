"""Demo IAM roles and workload identities: a well-built admin role beside the shortcuts a young team takes.

Adds to the iam steps: a data-pipeline policy with whole-service wildcards, a role trusted by an unknown
vendor account without ExternalId, CloudShell full access for bob, an app server with an instance profile
shared across two stacks, ECS task definitions with and without a task role, and Lambda functions sharing
one execution role across projects. Access Analyzer is not emulated, so its checks show "could not read".
"""
from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from auditor.demo import DemoContext, demo_step

AMI = "ami-12c6146b"  # one of moto's stock Amazon AMIs
VENDOR = "999988887777"  # an account that is neither in the organization nor in trusted_accounts


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _trust(principal: dict[str, str], condition: dict[str, Any] | None = None) -> str:
    extra = {"Condition": condition} if condition else {}
    return _doc({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole", **extra})


def _cloudshell_policy(account: str) -> bool:
    """A plain mock_aws() holds no AWS-managed policies (loading them all takes a second); every real account
    has this one, with this document."""
    try:
        from moto.iam.models import AWSManagedPolicy, iam_backends
    except ImportError:  # pragma: no cover - another emulator
        return False
    policy = AWSManagedPolicy.from_data("AWSCloudShellFullAccess", account, "us-east-1", {
        "DefaultVersionId": "v1", "Path": "/", "CreateDate": "2020-12-15T17:15:33+00:00",
        "UpdateDate": "2020-12-15T17:15:33+00:00", "Document": {
            "Version": "2012-10-17", "Statement": [{"Action": ["cloudshell:*"], "Effect": "Allow", "Resource": "*"}]}})
    iam_backends[account]["global"].managed_policies.setdefault(policy.arn, policy)
    return True


@demo_step("roles")
def roles(ctx: DemoContext) -> None:
    iam = ctx.client("iam")
    account = ctx.client("sts").get_caller_identity()["Account"]
    root = f"arn:aws:iam::{account}:root"
    iam.create_role(RoleName="admin", MaxSessionDuration=43200, AssumeRolePolicyDocument=_trust(
        {"AWS": root}, {"Bool": {"aws:MultiFactorAuthPresent": "true"}}))  # MFA, but 12 h sessions
    iam.put_role_policy(RoleName="admin", PolicyName="admin", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": "*", "Resource": "*"}))
    iam.create_role(RoleName="vendor-monitoring", AssumeRolePolicyDocument=_trust({"AWS": VENDOR}))
    pipeline = iam.create_policy(PolicyName="DataPipelineAccess", PolicyDocument=_doc(
        {"Sid": "Everything", "Effect": "Allow", "Action": ["s3:*", "kms:*"], "Resource": "*"}))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="vendor-monitoring", PolicyArn=pipeline)
    shell = _cloudshell_policy(account)
    if shell:
        iam.attach_user_policy(UserName="bob", PolicyArn="arn:aws:iam::aws:policy/AWSCloudShellFullAccess")
    _workloads(ctx, iam, account)
    ctx.notes.append("roles: role admin requires MFA but allows 12 h sessions; vendor-monitoring trusts unknown "
                     f"account {VENDOR} without ExternalId or MFA and holds DataPipelineAccess (s3:*, kms:*)"
                     + ("; bob has AWSCloudShellFullAccess" if shell else "")
                     + "; instance profile app-server serves stacks shop and blog; ECS queue-worker has no task role; "
                     "Lambda role shared-lambda serves projects billing and search")


def _workloads(ctx: DemoContext, iam: Any, account: str) -> None:
    for name, service in (("app-server", "ec2"), ("shared-lambda", "lambda"), ("billing-cron", "lambda"),
                          ("api-service-task", "ecs-tasks")):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust({"Service": f"{service}.amazonaws.com"}))
    iam.create_instance_profile(InstanceProfileName="app-server")
    iam.add_role_to_instance_profile(InstanceProfileName="app-server", RoleName="app-server")
    ec2 = ctx.client("ec2", "us-east-1")
    vpc = next(v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if v.get("IsDefault"))
    group = ec2.create_security_group(GroupName="app-servers", Description="app servers (no ingress)",
                                      VpcId=vpc)["GroupId"]
    for stack in ("shop", "blog"):
        ec2.run_instances(
            ImageId=AMI, MinCount=1, MaxCount=1, InstanceType="t3.micro", IamInstanceProfile={"Name": "app-server"},
            NetworkInterfaces=[{"DeviceIndex": 0, "Groups": [group], "AssociatePublicIpAddress": False}],
            MetadataOptions={"HttpTokens": "required", "HttpEndpoint": "enabled"},
            BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8, "Encrypted": True}}],
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": f"{stack}-app"},
                                                                      {"Key": "stack", "Value": stack}]}])
    ecs = ctx.client("ecs", "us-east-1")
    container = [{"name": "app", "image": "public.ecr.aws/nginx/nginx:latest", "memory": 256}]
    ecs.register_task_definition(family="api-service", taskRoleArn=f"arn:aws:iam::{account}:role/api-service-task",
                                 containerDefinitions=container)
    ecs.register_task_definition(family="queue-worker", containerDefinitions=container)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return event\n")
    lam = ctx.client("lambda", "us-east-1")
    for name, role, project in (("billing-api", "shared-lambda", "billing"), ("search-api", "shared-lambda", "search"),
                                ("billing-cron", "billing-cron", "billing")):
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=f"arn:aws:iam::{account}:role/{role}",
                            Handler="index.handler", Code={"ZipFile": buf.getvalue()}, Tags={"project": project})
