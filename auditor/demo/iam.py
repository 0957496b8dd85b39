"""Demo IAM: a first-month startup's identities, some done right and some the way they usually start."""
from __future__ import annotations

import json

import boto3
from botocore.exceptions import ClientError

from auditor.demo import DemoContext, demo_step

_ADMIN_DOC = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
_TRUST_ACCOUNT = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "sts:AssumeRole"}]})
_S3_READ = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}]})


def _attach_managed(iam, role: str, name: str) -> bool:  # type: ignore[no-untyped-def]
    """AWS-managed policies exist in moto only when it loads them; a plain mock_aws() does not."""
    try:
        iam.attach_role_policy(RoleName=role, PolicyArn=f"arn:aws:iam::aws:policy/{name}")
        return True
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchEntity":
            raise
        return False


@demo_step("iam")
def iam_identities(ctx: DemoContext) -> None:
    iam = ctx.client("iam")
    iam.update_account_password_policy(MinimumPasswordLength=8, RequireNumbers=True, AllowUsersToChangePassword=True)

    admin_policy = iam.create_policy(PolicyName="EverythingAllowed", PolicyDocument=_ADMIN_DOC)["Policy"]["Arn"]
    iam.create_group(GroupName="admins")
    iam.attach_group_policy(GroupName="admins", PolicyArn=admin_policy)

    iam.create_user(UserName="alice")
    iam.create_login_profile(UserName="alice", Password="Demo-only-Passw0rd!")
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(UserName="alice", SerialNumber=serial, AuthenticationCode1="123456",
                          AuthenticationCode2="654321")
    iam.add_user_to_group(GroupName="admins", UserName="alice")

    iam.create_user(UserName="bob")
    iam.create_login_profile(UserName="bob", Password="Demo-only-Passw0rd!")
    iam.put_user_policy(UserName="bob", PolicyName="s3-read-quick-fix", PolicyDocument=_S3_READ)

    iam.create_user(UserName="ci-deploy")
    iam.create_access_key(UserName="ci-deploy")  # the secret is dropped on purpose: nothing uses it

    iam.create_role(RoleName="OrganizationAccountAccessRole", AssumeRolePolicyDocument=_TRUST_ACCOUNT)
    if not _attach_managed(iam, "OrganizationAccountAccessRole", "AdministratorAccess"):
        iam.put_role_policy(RoleName="OrganizationAccountAccessRole", PolicyName="AdministratorAccess",
                            PolicyDocument=_ADMIN_DOC)

    iam.create_role(RoleName="support", AssumeRolePolicyDocument=_TRUST_ACCOUNT)
    support = "support role holds AWSSupportAccess" if _attach_managed(iam, "support", "AWSSupportAccess") \
        else "no AWSSupportAccess in this emulator, so no support role"
    ctx.notes.append("iam: weak password policy (8 chars); alice (admins group, MFA) is fine; bob has a console "
                     "password without MFA and an inline policy; ci-deploy has an access key; group admins holds "
                     f"customer policy EverythingAllowed ('*:*'); OrganizationAccountAccessRole is admin; {support}")


_DEMO_CERT = "-----BEGIN CERTIFICATE-----\nMIIBdemo\n-----END CERTIFICATE-----"
_ROLE_ONLY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Resource": "arn:aws:iam::*:role/*"},
    {"Effect": "Allow", "Action": ["iam:GetAccountPasswordPolicy", "iam:ListVirtualMFADevices"], "Resource": "*"},
    {"Effect": "Allow", "Action": ["iam:ChangePassword", "iam:GetUser", "iam:*AccessKey*",
                                   "iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:ListMFADevices"],
     "Resource": ["arn:aws:iam::*:user/${aws:username}", "arn:aws:iam::*:mfa/${aws:username}"]}]})
_FORCE_MFA = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "DenyAllExceptListedIfNoMFA", "Effect": "Deny", "Resource": "*",
     "NotAction": ["iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:GetUser", "iam:ListMFADevices",
                   "iam:ListVirtualMFADevices", "iam:ResyncMFADevice", "sts:GetSessionToken"],
     "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}]})


def _use_key(key: dict[str, str], service: str) -> None:
    """Sign one harmless read with the key, so the emulator records its last use (date and service)."""
    signed = boto3.client(service, region_name="us-east-1", aws_access_key_id=key["AccessKeyId"],
                          aws_secret_access_key=key["SecretAccessKey"], aws_session_token=None)
    if service == "s3":
        signed.list_buckets()
    else:
        signed.get_caller_identity()


@demo_step("iam-identity")
def iam_identity(ctx: DemoContext) -> None:
    iam = ctx.client("iam")
    iam.create_group(GroupName="humans")  # the target shape: assume roles only, MFA forced for the CLI
    iam.put_group_policy(GroupName="humans", PolicyName="assume-roles-only", PolicyDocument=_ROLE_ONLY)
    iam.put_group_policy(GroupName="humans", PolicyName="force-mfa", PolicyDocument=_FORCE_MFA)
    iam.create_user(UserName="carol")
    iam.add_user_to_group(GroupName="humans", UserName="carol")
    iam.create_login_profile(UserName="carol", Password="Demo-only-Passw0rd!")
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="carol")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(UserName="carol", SerialNumber=serial, AuthenticationCode1="123456",
                          AuthenticationCode2="654321")
    _use_key(iam.create_access_key(UserName="carol")["AccessKey"], "sts")

    iam.create_access_key(UserName="bob")  # created "just in case" at setup, never used
    iam.create_user(UserName="legacy-etl", Tags=[{"Key": "team", "Value": "data"}])
    iam.put_user_policy(UserName="legacy-etl", PolicyName="s3-read", PolicyDocument=_S3_READ)
    iam.create_access_key(UserName="legacy-etl")
    _use_key(iam.create_access_key(UserName="legacy-etl")["AccessKey"], "s3")
    iam.create_user(UserName="backup-agent", Tags=[{"Key": "identity-type", "Value": "service"}])

    iam.upload_server_certificate(ServerCertificateName="www-2019", CertificateBody=_DEMO_CERT,
                                  PrivateKey="demo-not-a-key")
    sso = ctx.client("sso-admin")
    instance = sso.list_instances()["Instances"][0]["InstanceArn"]
    sso.create_permission_set(InstanceArn=instance, Name="ReadOnly", SessionDuration="PT4H")
    ctx.notes.append("iam-identity: carol (group humans: assume roles only, force-MFA deny, MFA) uses her key for "
                     "sts; bob got an access key at setup he never used; legacy-etl has two active keys, one used "
                     "against s3; backup-agent is tagged identity-type=service; an expired server certificate; "
                     "Identity Center has a ReadOnly permission set while alice, bob and carol keep console passwords")

