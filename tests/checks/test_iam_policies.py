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


# iam.policy-no-service-wildcard
WILD = "iam.policy-no-service-wildcard"
S3_ALL = doc({"Sid": "S3", "Effect": "Allow", "Action": ["s3:*", "kms:Decrypt"], "Resource": "*"})


def test_service_wildcard_customer_and_inline(session):
    iam = boto3.client("iam")
    wide = iam.create_policy(PolicyName="S3Everything", PolicyDocument=S3_ALL)["Policy"]["Arn"]
    iam.create_policy(PolicyName="Scoped", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::logs/*"}))
    iam.create_user(UserName="dev")
    iam.attach_user_policy(UserName="dev", PolicyArn=wide)
    iam.put_user_policy(UserName="dev", PolicyName="iam-writes", PolicyDocument=doc(
        {"Effect": "Allow", "Action": ["iam:Put*", "ec2:Describe*"], "Resource": "*"},
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}))
    iam.put_user_policy(UserName="dev", PolicyName="reads", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}))
    iam.put_user_policy(UserName="dev", PolicyName="god", PolicyDocument=ADMIN)
    found = {(f.resource.id, f.subkey): f for f in only(scan(session, [WILD]), WILD)}
    assert {k: f.status for k, f in found.items()} == {
        ("S3Everything", "S3"): Status.FAIL, ("Scoped", ""): Status.PASS,
        ("dev", "inline/iam-writes/#0"): Status.FAIL, ("dev", "inline/iam-writes/#1"): Status.FAIL,
        ("dev", "inline/reads"): Status.PASS, ("dev", "inline/god"): Status.PASS}
    assert found[("dev", "inline/god")].message.endswith("('*:*' is judged by iam.policy-no-full-admin)")
    s3 = found[("S3Everything", "S3")]
    assert s3.message == "customer-managed policy S3Everything statement S3 allows s3:* on all resources"
    assert s3.evidence["services"] == ["s3"] and s3.evidence["attached_to"] == ["user dev"]
    assert found[("dev", "inline/iam-writes/#0")].evidence["actions"] == ["iam:Put*"]
    assert "every action except iam:*" in found[("dev", "inline/iam-writes/#1")].message
    assert "(attached to nothing)" in found[("Scoped", "")].message
    cfg = AuditConfig(workers=4, sensitive_services=[])  # verb wildcards are fine outside sensitive services
    relaxed = {f.subkey: f.status for f in only(scan(session, [WILD], cfg=cfg), WILD, resource=found[
        ("dev", "inline/reads")].resource)}
    assert relaxed == {"inline/iam-writes/#1": Status.FAIL, "inline/reads": Status.PASS, "inline/god": Status.PASS}


def test_service_wildcard_error_and_not_applicable(session):
    assert statuses(scan(session, [WILD]), WILD) == [Status.NOT_APPLICABLE]
    boto3.client("iam").create_policy(PolicyName="S3Everything", PolicyDocument=S3_ALL)
    deny(session, "iam.GetAccountAuthorizationDetails")
    assert statuses(scan(session, [WILD]), WILD) == [Status.ERROR]


def test_service_wildcard_aws_managed_only_where_people_hold_it(managed_session):
    iam = boto3.client("iam")
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=TRUST)
    iam.attach_role_policy(RoleName="app", PolicyArn="arn:aws:iam::aws:policy/AmazonS3FullAccess")
    assert statuses(scan(managed_session, [WILD]), WILD) == [Status.NOT_APPLICABLE]  # a role: not reported
    iam.create_group(GroupName="devs")
    iam.attach_group_policy(GroupName="devs", PolicyArn="arn:aws:iam::aws:policy/AmazonS3FullAccess")
    assert statuses(scan(managed_session, [WILD]), WILD) == [Status.NOT_APPLICABLE]  # a group nobody is in
    iam.create_user(UserName="dev")
    iam.add_user_to_group(GroupName="devs", UserName="dev")
    [f] = only(scan(managed_session, [WILD]), WILD)
    assert f.status is Status.FAIL and f.evidence["actions"] == ["s3:*", "s3-object-lambda:*"]
    assert f.evidence["attached_to"] == ["group devs"] and f.message.startswith("AWS-managed policy AmazonS3")


# iam.admin-only-iam-cloudtrail-write
WRITE = "iam.admin-only-iam-cloudtrail-write"


def test_admin_only_iam_cloudtrail_write(session):
    iam = boto3.client("iam")
    admin = iam.create_policy(PolicyName="Everything", PolicyDocument=ADMIN)["Policy"]["Arn"]
    iam.create_group(GroupName="admins")
    iam.attach_group_policy(GroupName="admins", PolicyArn=admin)
    iam.create_user(UserName="alice")
    iam.add_user_to_group(GroupName="admins", UserName="alice")
    iam.create_user(UserName="dev")
    iam.put_user_policy(UserName="dev", PolicyName="self-grant", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "iam:Put*", "Resource": "arn:aws:iam::*:user/${aws:username}"}))
    iam.create_user(UserName="fenced")  # iam:* but an unconditional Deny takes it back
    iam.put_user_policy(UserName="fenced", PolicyName="p", PolicyDocument=doc(
        {"Effect": "Allow", "Action": ["iam:*", "s3:*"], "Resource": "*"},
        {"Effect": "Deny", "Action": ["iam:*", "cloudtrail:*"], "Resource": "*"}))
    iam.create_role(RoleName="ops", AssumeRolePolicyDocument=TRUST)
    iam.put_role_policy(RoleName="ops", PolicyName="trail", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "cloudtrail:*", "Resource": "*"}))
    iam.create_role(RoleName="reader", AssumeRolePolicyDocument=TRUST)
    iam.put_role_policy(RoleName="reader", PolicyName="r", PolicyDocument=doc(
        {"Effect": "Allow", "NotAction": ["iam:*", "cloudtrail:*"], "Resource": "*"}))
    specs = select_checks([WRITE])
    inv = collect(session, specs, ["us-east-1"], AuditConfig(workers=4))
    found = {f.resource.id: f for f in only(build_result(inv, specs, AuditConfig(), inv.collected_at), WRITE)}
    assert {k: f.status for k, f in found.items()} == {
        "admins": Status.FAIL, "alice": Status.FAIL, "dev": Status.FAIL, "fenced": Status.PASS,
        "ops": Status.FAIL, "reader": Status.PASS}
    assert found["dev"].evidence["actions"] == {a: ["inline policy self-grant"] for a in
                                                ("iam:PutGroupPolicy", "iam:PutRolePolicy", "iam:PutUserPolicy")}
    assert "cloudtrail:StopLogging" in found["ops"].message and found["ops"].resource.type == "AWS::IAM::Role"
    assert "via group admins: managed policy Everything" in found["alice"].message
    cfg = AuditConfig(admin_principals=["admins"], admin_roles=["op*"])
    found = {f.resource.id: f for f in only(build_result(inv, specs, cfg, inv.collected_at), WRITE)}
    assert {k for k, f in found.items() if f.status is Status.FAIL} == {"dev"}  # alice is in the admin group
    assert found["alice"].evidence["admin_principal"] is True


def test_admin_only_error_when_denied_or_document_missing(session):
    boto3.client("iam").create_user(UserName="u")
    deny(session, "iam.GetAccountAuthorizationDetails")
    assert statuses(scan(session, [WRITE]), WRITE) == [Status.ERROR]
    policy = ManagedPolicy(arn="arn:aws:iam::aws:policy/Mystery", id="Mystery", name="Mystery", aws_managed=True)
    role = IamRole(arn=f"arn:aws:iam::{ACCOUNT}:role/r", id="r", name="r",
                   attached_policies=[AttachedPolicy(name="Mystery", arn=policy.arn)])
    linked = IamRole(arn=f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/x", id="x", name="x",
                     path="/aws-service-role/", attached_policies=role.attached_policies)
    [f] = run(hand_inventory(users=[], groups=[], roles=[role, linked], policies=[policy]), WRITE)
    assert f.status is Status.ERROR and f.resource.id == "r" and "managed policy Mystery" in f.message


# iam.cloudshell-full-access-restricted
SHELL = "iam.cloudshell-full-access-restricted"


def test_cloudshell_full_access(managed_session):
    [f] = only(scan(managed_session, [SHELL]), SHELL)
    assert f.status is Status.PASS and f.resource.id == "cloudshell-full-access"
    iam = boto3.client("iam")
    iam.create_user(UserName="dev")
    iam.attach_user_policy(UserName="dev", PolicyArn="arn:aws:iam::aws:policy/AWSCloudShellFullAccess")
    iam.create_role(RoleName="ops", AssumeRolePolicyDocument=TRUST)
    iam.attach_role_policy(RoleName="ops", PolicyArn="arn:aws:iam::aws:policy/AWSCloudShellFullAccess")
    found = {f.resource.id: f for f in only(scan(managed_session, [SHELL]), SHELL)}
    assert {k: f.status for k, f in found.items()} == {"dev": Status.FAIL, "ops": Status.FAIL}
    assert found["ops"].message.startswith("role ops has AWSCloudShellFullAccess attached")
    deny(managed_session, "iam.GetAccountAuthorizationDetails")
    assert statuses(scan(managed_session, [SHELL]), SHELL) == [Status.ERROR]
