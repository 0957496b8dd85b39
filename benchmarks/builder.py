"""Builds a planned account (generate.plan) through plain boto3: the owner's writes, not the auditor's."""
from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config

Item = dict[str, Any]
OTHER_ACCOUNT = "210987654321"
AMI = "ami-12c6146b"  # one of moto's built-in images, valid in every region


def _doc(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


POLICY_DOCS = {
    "narrow": _doc([{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::bench-data/*"}]),
    "service": _doc([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]),
    "admin": _doc([{"Effect": "Allow", "Action": "*", "Resource": "*"}]),
    "sts": _doc([{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]),
}


def _trust(kind: str) -> str:
    if kind in ("ec2", "lambda"):
        principal = {"Service": f"{kind}.amazonaws.com"}
        return _doc([{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}])
    stmt: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"},
                            "Action": "sts:AssumeRole"}
    if kind == "cross-mfa":
        stmt["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    return _doc([stmt])


class Builder:

    def __init__(self, endpoint: str, workers: int = 4) -> None:
        self.endpoint = endpoint
        self.workers = workers
        self.boto = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                  region_name="us-east-1")
        self.cfg = Config(retries={"max_attempts": 2, "mode": "standard"}, max_pool_connections=workers * 2)
        self._clients: dict[tuple[str, str], Any] = {}
        self.account = "123456789012"

    def c(self, service: str, region: str = "us-east-1") -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self.boto.client(service, region_name=region, endpoint_url=self.endpoint,
                                                  config=self.cfg)
        return self._clients[key]

    def run(self, fn: Callable[[Item], None], items: list[Item]) -> None:
        with ThreadPoolExecutor(self.workers) as pool:
            list(pool.map(fn, items))  # list() re-raises the first failure

    def build(self, p: dict[str, list[Item]]) -> None:
        iam = self.c("iam")
        iam.update_account_password_policy(MinimumPasswordLength=12, RequireSymbols=True, RequireNumbers=True)
        self.run(self.policy, p["policy"])
        self.policy_arns = [f"arn:aws:iam::{self.account}:policy/{x['name']}" for x in p["policy"]]
        self.run(self.group, p["group"])
        self.groups = [g["name"] for g in p["group"]]
        self.run(self.role, p["role"])
        self.run(self.bucket, p["bucket"])
        for kind in ("user", "security_group", "instance", "volume", "kms_key", "function", "queue", "topic",
                     "log_group", "secret", "table", "trail", "region_setting"):
            self.run(getattr(self, kind), p[kind])

    def policy(self, x: Item) -> None:
        self.c("iam").create_policy(PolicyName=x["name"], PolicyDocument=POLICY_DOCS[x["kind"]])

    def group(self, x: Item) -> None:
        iam = self.c("iam")
        iam.create_group(GroupName=x["name"])
        for i in x["policies"]:
            iam.attach_group_policy(GroupName=x["name"], PolicyArn=self.policy_arns[i])

    def role(self, x: Item) -> None:
        iam = self.c("iam")
        iam.create_role(RoleName=x["name"], AssumeRolePolicyDocument=_trust(x["trust"]))
        for i in x["policies"]:
            iam.attach_role_policy(RoleName=x["name"], PolicyArn=self.policy_arns[i])

    def user(self, x: Item) -> None:
        iam, name = self.c("iam"), x["name"]
        tags = [{"Key": "identity-type", "Value": "service"}] if x["service_tag"] else []
        iam.create_user(UserName=name, Tags=tags)
        if x["console"]:
            iam.create_login_profile(UserName=name, Password="Bench-Passw0rd!-not-real")
        if x["mfa"]:
            serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]["SerialNumber"]
            iam.enable_mfa_device(UserName=name, SerialNumber=serial, AuthenticationCode1="123456",
                                  AuthenticationCode2="654321")
        for _ in range(x["keys"]):
            iam.create_access_key(UserName=name)
        for g in x["groups"]:
            iam.add_user_to_group(GroupName=self.groups[g], UserName=name)
        for i in x["attached"]:
            iam.attach_user_policy(UserName=name, PolicyArn=self.policy_arns[i])
        if x["inline"]:
            iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=POLICY_DOCS["narrow"])

    def bucket(self, x: Item) -> None:
        s3, name, region = self.c("s3", x["region"]), x["name"], x["region"]
        extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=name, **extra)
        if x["versioning"]:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        if x["kms"]:
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [
                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]})
        if x["block_public"]:
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
                "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True})
        statements = []
        if x["tls_policy"]:
            statements.append({"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                               "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
                               "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
        if x["public_read"] and not x["block_public"]:
            statements.append({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                               "Resource": f"arn:aws:s3:::{name}/*"})
        if statements:
            s3.put_bucket_policy(Bucket=name, Policy=_doc(statements))

    def security_group(self, x: Item) -> None:
        ec2 = self.c("ec2", x["region"])
        gid = ec2.create_security_group(GroupName=x["name"], Description="bench")["GroupId"]
        perms = []
        for r in x["rules"]:
            perm: dict[str, Any] = {"IpProtocol": "tcp", "FromPort": r["port"], "ToPort": r["port"]}
            if r["ipv6"]:
                perm["Ipv6Ranges"] = [{"CidrIpv6": "::/0"}]
            else:
                perm["IpRanges"] = [{"CidrIp": r["cidr"]}]
            perms.append(perm)
        ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=perms)

    def instance(self, x: Item) -> None:
        self.c("ec2", x["region"]).run_instances(
            ImageId=AMI, MinCount=1, MaxCount=1, InstanceType="t3.micro",
            MetadataOptions={"HttpTokens": "required" if x["imdsv2"] else "optional"},
            NetworkInterfaces=[{"DeviceIndex": 0, "AssociatePublicIpAddress": x["public_ip"]}],
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": x["name"]}]}])

    def volume(self, x: Item) -> None:
        ec2 = self.c("ec2", x["region"])
        vid = ec2.create_volume(AvailabilityZone=f"{x['region']}a", Size=8, Encrypted=x["encrypted"])["VolumeId"]
        for n in range(x["snapshots"]):
            sid = ec2.create_snapshot(VolumeId=vid, Description=f"{x['name']}-{n}")["SnapshotId"]
            if x["public_snapshot"] and n == 0:
                ec2.modify_snapshot_attribute(SnapshotId=sid, Attribute="createVolumePermission",
                                              OperationType="add", GroupNames=["all"])

    def kms_key(self, x: Item) -> None:
        kms = self.c("kms", x["region"])
        key = kms.create_key(Description=x["name"])["KeyMetadata"]["KeyId"]
        if x["rotation"]:
            kms.enable_key_rotation(KeyId=key)
        if x["alias"]:
            kms.create_alias(AliasName=f"alias/{x['name']}", TargetKeyId=key)

    def function(self, x: Item) -> None:
        env = {"LOG_LEVEL": "info"}
        if x["secret_env"]:
            env["DB_PASSWORD"] = "bench-fake-value"  # planted finding; not a real secret
        self.c("lambda", x["region"]).create_function(
            FunctionName=x["name"], Runtime="python3.12", Handler="app.handler", Code={"ZipFile": _ZIP},
            Role=f"arn:aws:iam::{self.account}:role/lambda-exec", Environment={"Variables": env})

    def queue(self, x: Item) -> None:
        attrs = {"KmsMasterKeyId": "alias/aws/sqs"} if x["encrypted"] else {}
        self.c("sqs", x["region"]).create_queue(QueueName=x["name"], Attributes=attrs)

    def topic(self, x: Item) -> None:
        attrs = {"KmsMasterKeyId": "alias/aws/sns"} if x["encrypted"] else {}
        self.c("sns", x["region"]).create_topic(Name=x["name"], Attributes=attrs)

    def log_group(self, x: Item) -> None:
        extra = {"kmsKeyId": f"arn:aws:kms:{x['region']}:{self.account}:alias/aws/logs"} if x["encrypted"] else {}
        self.c("logs", x["region"]).create_log_group(logGroupName=f"/bench/{x['name']}", **extra)

    def secret(self, x: Item) -> None:
        self.c("secretsmanager", x["region"]).create_secret(Name=x["name"], SecretString="bench-fake-value")

    def table(self, x: Item) -> None:
        self.c("dynamodb", x["region"]).create_table(
            TableName=x["name"], BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])

    def trail(self, x: Item) -> None:
        ct = self.c("cloudtrail", x["region"])
        ct.create_trail(Name=x["name"], S3BucketName=x["bucket"], IsMultiRegionTrail=x["multi_region"],
                        EnableLogFileValidation=x["validation"])
        ct.start_logging(Name=x["name"])

    def region_setting(self, x: Item) -> None:
        region = x["region"]
        if x["ebs_default_encryption"]:
            self.c("ec2", region).enable_ebs_encryption_by_default()
        if x["guardduty"]:
            self.c("guardduty", region).create_detector(Enable=True)
        if x["securityhub"]:
            self.c("securityhub", region).enable_security_hub()


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return None\n")
    return buf.getvalue()


_ZIP = _zip()
