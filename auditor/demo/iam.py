"""Demo IAM: a first-month startup's identities, some done right and some the way they usually start."""
from __future__ import annotations

import json

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
