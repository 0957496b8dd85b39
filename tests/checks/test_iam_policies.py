from __future__ import annotations

import json

import boto3
import pytest

from auditor.collectors.iam import AttachedPolicy, IamRole, ManagedPolicy
from auditor.config import AuditConfig
from auditor.models import Status
from auditor.runner import build_result, collect, select_checks
from auditor.session import AuditSession
from tests.checks.test_iam_root import hand_inventory, run
from tests.conftest import ACCOUNT, deny, only, scan, statuses

FULL = "iam.policy-no-full-admin"
SUPPORT = "iam.support-role"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]})


def doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ADMIN = doc({"Effect": "Allow", "Action": "*", "Resource": "*"})
ADMIN_IN_LIST = doc({"Effect": "Allow", "Action": ["s3:GetObject", "*"], "Resource": ["*"]})
NOT_ACTION = doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
SCOPED = doc({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::bucket/*"})


def _findings(result) -> dict[tuple[str, str], object]:
    return {(f.resource.id, f.subkey): f for f in only(result, FULL)}


def test_customer_and_inline_policies(session):
    iam = boto3.client("iam")
    admin = iam.create_policy(PolicyName="Everything", PolicyDocument=ADMIN_IN_LIST)["Policy"]["Arn"]
    scoped = iam.create_policy(PolicyName="BucketOnly", PolicyDocument=SCOPED)["Policy"]["Arn"]
    iam.create_policy(PolicyName="Leftover", PolicyDocument=ADMIN)
    iam.create_group(GroupName="admins")
    iam.attach_group_policy(GroupName="admins", PolicyArn=admin)
    iam.create_user(UserName="bootstrap")
    iam.attach_user_policy(UserName="bootstrap", PolicyArn=scoped)
    iam.put_user_policy(UserName="bootstrap", PolicyName="god-mode", PolicyDocument=ADMIN)
    iam.put_user_policy(UserName="bootstrap", PolicyName="almost", PolicyDocument=NOT_ACTION)
    found = _findings(scan(session, [FULL]))
    assert {k: f.status for k, f in found.items()} == {
        ("Everything", ""): Status.FAIL, ("BucketOnly", ""): Status.PASS,
        ("Leftover", ""): Status.NOT_APPLICABLE,  # unattached: informational, never FAIL
        ("bootstrap", "inline/god-mode"): Status.FAIL, ("bootstrap", "inline/almost"): Status.PASS}
    assert found[("Everything", "")].message == \
        "customer-managed policy Everything grants '*:*' and is attached to group admins"
    assert found[("Everything", "")].resource.type == "AWS::IAM::ManagedPolicy"
    assert found[("bootstrap", "inline/god-mode")].resource.type == "AWS::IAM::User"


def test_admin_roles_are_accepted(session):
    iam = boto3.client("iam")
    admin = iam.create_policy(PolicyName="Everything", PolicyDocument=ADMIN)["Policy"]["Arn"]
    iam.create_role(RoleName="OrganizationAccountAccessRole", AssumeRolePolicyDocument=TRUST)
    iam.attach_role_policy(RoleName="OrganizationAccountAccessRole", PolicyArn=admin)
    iam.put_role_policy(RoleName="OrganizationAccountAccessRole", PolicyName="inline-admin", PolicyDocument=ADMIN)
    assert set(statuses(scan(session, [FULL]), FULL)) == {Status.FAIL}
    cfg = AuditConfig(workers=4, admin_roles=["OrganizationAccount*"])
    found = _findings(scan(session, [FULL], cfg=cfg))
    assert {f.status for f in found.values()} == {Status.PASS}
    assert "accepted" in found[("Everything", "")].message
    assert found[("Everything", "")].evidence["accepted"] == ["role OrganizationAccountAccessRole"]
    assert found[("OrganizationAccountAccessRole", "inline/inline-admin")].evidence["accepted"] is True


def test_accepted_role_does_not_cover_a_user_on_the_same_policy(session):
    iam = boto3.client("iam")
    admin = iam.create_policy(PolicyName="Everything", PolicyDocument=ADMIN)["Policy"]["Arn"]
    iam.create_role(RoleName="admin", AssumeRolePolicyDocument=TRUST)
    iam.attach_role_policy(RoleName="admin", PolicyArn=admin)
    iam.create_user(UserName="bootstrap")
    iam.attach_user_policy(UserName="bootstrap", PolicyArn=admin)
    [f] = only(scan(session, [FULL], cfg=AuditConfig(workers=4, admin_roles=["admin"])), FULL)
    assert f.status is Status.FAIL and f.evidence["offenders"] == ["user bootstrap"]


def test_error_when_authorization_denied(session):
    boto3.client("iam").create_user(UserName="u")
    deny(session, "iam.GetAccountAuthorizationDetails")
    [f] = only(scan(session, [FULL]), FULL)
    assert f.status is Status.ERROR and f.gap.iam_action == "iam:GetAccountAuthorizationDetails"


def test_error_when_an_attached_policy_document_is_missing():
    policy = ManagedPolicy(arn="arn:aws:iam::aws:policy/Mystery", id="Mystery", name="Mystery", aws_managed=True)
    role = IamRole(arn=f"arn:aws:iam::{ACCOUNT}:role/r", id="r", name="r",
                   attached_policies=[AttachedPolicy(name="Mystery", arn=policy.arn)])
    inv = hand_inventory(users=[], groups=[], roles=[role], policies=[policy])
    [f] = run(inv, FULL)
    assert f.status is Status.ERROR and "not returned" in f.message


def test_not_applicable_without_policies(session):
    assert statuses(scan(session, [FULL]), FULL) == [Status.NOT_APPLICABLE]


# AWS-managed policies need moto's managed-policy catalogue; collect once, evaluate with several configs.
@pytest.fixture
def managed_session(aws_managed_policies) -> AuditSession:
    return AuditSession(region="us-east-1", workers=4, max_attempts=2)


def test_aws_managed_admin_and_support_role(managed_session):
    iam = boto3.client("iam")
    iam.create_role(RoleName="break-glass", AssumeRolePolicyDocument=TRUST)
    iam.attach_role_policy(RoleName="break-glass", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    iam.create_user(UserName="helpdesk")
    iam.attach_user_policy(UserName="helpdesk", PolicyArn="arn:aws:iam::aws:policy/AWSSupportAccess")
    specs = select_checks([FULL, SUPPORT])
    inv = collect(managed_session, specs, ["us-east-1"], AuditConfig(workers=4))

    result = build_result(inv, specs, AuditConfig(), inv.collected_at, include_manual=False)
    found = _findings(result)
    assert found[("AdministratorAccess", "")].status is Status.FAIL
    assert found[("AdministratorAccess", "")].message.startswith("AWS-managed policy AdministratorAccess")
    assert found[("AWSSupportAccess", "")].status is Status.PASS
    [support] = only(result, SUPPORT)
    assert support.status is Status.FAIL and "user helpdesk" in support.message

    accepted = build_result(inv, specs, AuditConfig(admin_roles=["break-glass"]), inv.collected_at,
                            include_manual=False)
    assert _findings(accepted)[("AdministratorAccess", "")].status is Status.PASS

    iam.attach_role_policy(RoleName="break-glass", PolicyArn="arn:aws:iam::aws:policy/AWSSupportAccess")
    [support] = only(scan(managed_session, [SUPPORT]), SUPPORT)
    assert support.status is Status.PASS and support.evidence["roles"] == ["break-glass"]


def test_support_role_fail_without_holders_and_error_when_denied(session):
    [f] = only(scan(session, [SUPPORT]), SUPPORT)
    assert f.status is Status.FAIL and f.evidence["roles"] == []
    deny(session, "iam.ListEntitiesForPolicy")
    [f] = only(scan(session, [SUPPORT]), SUPPORT)
    assert f.status is Status.ERROR and f.gap.iam_action == "iam:ListEntitiesForPolicy"
