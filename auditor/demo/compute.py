"""Demo compute and secrets: snapshots, a golden AMI beside stock ones, secrets left in user data, Lambda and
ECS environments next to ones that use references, and SSM parameters of both kinds.

The planted "secrets" are made-up demo strings; the report names where they are and what kind, never them.
moto does not emulate ssm:DescribeInstanceInformation, so ec2.ssm-managed-no-ssh shows "could not read".
"""
from __future__ import annotations

import base64
import io
import json
import zipfile

from auditor.demo import DemoContext, demo_step

AMI = "ami-12c6146b"  # one of moto's stock Amazon AMIs
# Assembled at runtime: demo values only, shaped like real credentials so the detectors fire.
_FAKE_KEY_ID = "AKIA" + "DEMO" + "2QX7LM4RTY"
_LEAKY_SCRIPT = ("#!/bin/bash\n"
                 f"export AWS_ACCESS_KEY_ID={_FAKE_KEY_ID}\n"
                 "export DB_PASSWORD='demo-" + "Pl41ntext-pw'\n"
                 "/opt/runner/register --token=demo-" + "runner-token-77\n")
_CLEAN_SCRIPT = ("#!/bin/bash\n"
                 "DB_PASSWORD=$(aws secretsmanager get-secret-value --secret-id acme/db --query SecretString "
                 "--output text)\nsystemctl start app\n")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@demo_step("compute")
def compute(ctx: DemoContext) -> None:
    account = ctx.client("sts").get_caller_identity()["Account"]
    _snapshots(ctx)
    golden, runner = _instances(ctx)
    _functions(ctx, account)
    _task_definitions(ctx, account)
    ssm = ctx.client("ssm", "us-east-1")
    ssm.put_parameter(Name="/acme/prod/db-password", Value="demo", Type="SecureString")
    ssm.put_parameter(Name="/acme/prod/stripe-api-key", Value="demo", Type="String")
    ssm.put_parameter(Name="/acme/prod/log-level", Value="info", Type="String")
    ctx.notes.append(f"compute: snapshots encrypted+private (us-east-1) and unencrypted+public (eu-west-1); golden "
                     f"AMI {golden} runs instance 'billing-worker'; instance {runner} 'ci-runner' has an access key "
                     "id, a password and a token in its user data, launch template app-lt reads its secret at boot; "
                     "Lambda orders-sync keeps DB_PASSWORD and a Stripe key in its environment, orders-api runs "
                     "in a VPC; ECS reports has a password in its environment, payments injects it via secrets; "
                     "SSM parameter /acme/prod/stripe-api-key is a plain String")


def _snapshots(ctx: DemoContext) -> None:
    east = ctx.client("ec2", "us-east-1")
    vol = east.create_volume(AvailabilityZone="us-east-1a", Size=8, Encrypted=True)["VolumeId"]
    east.create_snapshot(VolumeId=vol, Description="nightly app-data backup")
    west = ctx.client("ec2", "eu-west-1")
    vol = west.create_volume(AvailabilityZone="eu-west-1a", Size=8)["VolumeId"]
    snap = west.create_snapshot(VolumeId=vol, Description="shared with a contractor")["SnapshotId"]
    west.modify_snapshot_attribute(SnapshotId=snap, Attribute="createVolumePermission", OperationType="add",
                                   GroupNames=["all"])


def _instances(ctx: DemoContext) -> tuple[str, str]:
    ec2 = ctx.client("ec2", "us-east-1")

    def run(image: str, name: str, user_data: str | None = None) -> str:
        extra = {"UserData": user_data} if user_data else {}
        return str(ec2.run_instances(
            ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro",
            MetadataOptions={"HttpTokens": "required", "HttpEndpoint": "enabled"},
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}], **extra,
        )["Instances"][0]["InstanceId"])

    builder = run(AMI, "image-builder")
    golden = ec2.create_image(InstanceId=builder, Name="acme-golden-2026-01")["ImageId"]
    ec2.terminate_instances(InstanceIds=[builder])
    run(golden, "billing-worker", _CLEAN_SCRIPT)
    runner = run(AMI, "ci-runner", _LEAKY_SCRIPT)
    ec2.create_launch_template(LaunchTemplateName="app-lt", LaunchTemplateData={
        "ImageId": golden, "UserData": _b64(_CLEAN_SCRIPT)})
    return golden, runner


def _functions(ctx: DemoContext, account: str) -> None:
    iam = ctx.client("iam")
    iam.create_role(RoleName="orders-fn", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]}))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return event\n")
    subnet = ctx.client("ec2", "us-east-1").describe_subnets()["Subnets"][0]["SubnetId"]
    lam = ctx.client("lambda", "us-east-1")
    common = {"Runtime": "python3.12", "Role": f"arn:aws:iam::{account}:role/orders-fn", "Handler": "index.handler",
              "Code": {"ZipFile": buf.getvalue()}, "Tags": {"project": "orders"}}
    lam.create_function(FunctionName="orders-sync", **common, Environment={"Variables": {
        "DB_PASSWORD": "demo-" + "orders-pw-9", "PAYMENTS_KEY": "sk_live_" + "DEMOdemoDEMOdemo42", "STAGE": "prod"}})
    lam.create_function(FunctionName="orders-api", **common, VpcConfig={"SubnetIds": [subnet],
                                                                        "SecurityGroupIds": []},
                        Environment={"Variables": {
                            "DB_PASSWORD_ARN": f"arn:aws:secretsmanager:us-east-1:{account}:secret:acme/db"}})


def _task_definitions(ctx: DemoContext, account: str) -> None:
    ecs = ctx.client("ecs", "us-east-1")
    role = f"arn:aws:iam::{account}:role/api-task"
    ecs.register_task_definition(family="reports", taskRoleArn=role, containerDefinitions=[{
        "name": "reports", "image": "public.ecr.aws/nginx/nginx:latest", "memory": 256,
        "environment": [{"name": "DB_PASSWORD", "value": "demo-" + "reports-pw-3"}]}])
    ecs.register_task_definition(family="payments", taskRoleArn=role, containerDefinitions=[{
        "name": "payments", "image": "public.ecr.aws/nginx/nginx:latest", "memory": 256,
        "secrets": [{"name": "DB_PASSWORD",
                     "valueFrom": f"arn:aws:secretsmanager:us-east-1:{account}:secret:acme/db"}]}])
