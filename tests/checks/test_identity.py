from __future__ import annotations

import json

import boto3
import pytest

from auditor.collectors.iam import AttachedPolicy, IamSection, IamUser
from auditor.models import Status
from auditor.policy import statements
from auditor.policy_identity import (
    actions_outside,
    denies_without_mfa,
    effective_policies,
    expand_action,
    requires_mfa,
    role_or_self_service,
    self_scoped,
)
from tests.checks.test_iam_root import hand_inventory, run
from tests.conftest import ACCOUNT, deny, future, only, scan, statuses

FED, CONSOLE, ONLY_STS, CLI = ("identity.federation-configured", "iam.console-users-limited", "iam.user-only-sts",
                               "iam.mfa-enforced-for-cli")
SELF = ["arn:aws:iam::*:user/${aws:username}", "arn:aws:iam::*:mfa/${aws:username}"]


def doc(*stmts: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(stmts)})


def allow(action, resource="*", **cond) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **({"Condition": cond} if cond else {})}


ROLE_ONLY = doc(allow(["sts:AssumeRole", "sts:TagSession"], "arn:aws:iam::*:role/*"),
                allow(["iam:GetAccountPasswordPolicy", "iam:ListVirtualMFADevices"]),
                allow(["iam:ChangePassword", "iam:GetUser", "iam:*AccessKey*", "iam:CreateVirtualMFADevice",
                       "iam:EnableMFADevice", "iam:ListMFADevices"], SELF))
FORCE_MFA = {"Sid": "DenyAllExceptListedIfNoMFA", "Effect": "Deny", "Resource": "*",
             "NotAction": ["iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:GetUser", "iam:ListMFADevices",
                           "iam:ListVirtualMFADevices", "iam:ResyncMFADevice", "sts:GetSessionToken"],
             "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}


def user(name: str, *, inline: str | None = None, group: str | None = None, keys: int = 0,
         console: bool = False, tags: dict | None = None) -> None:
    iam = boto3.client("iam")
    iam.create_user(UserName=name, Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()])
    if inline:
        iam.put_user_policy(UserName=name, PolicyName=f"{name}-inline", PolicyDocument=inline)
    if group:
        iam.add_user_to_group(GroupName=group, UserName=name)
    for _ in range(keys):
        iam.create_access_key(UserName=name)
    if console:
        iam.create_login_profile(UserName=name, Password="Not-a-real-Passw0rd!")


def group(name: str, *docs: str) -> None:
    iam = boto3.client("iam")
    iam.create_group(GroupName=name)
    for i, d in enumerate(docs):
        iam.put_group_policy(GroupName=name, PolicyName=f"{name}-{i}", PolicyDocument=d)


def permission_set(name: str = "AdministratorAccess", region: str = "us-east-1") -> None:
    sso = boto3.client("sso-admin", region_name=region)
    instance = sso.list_instances()["Instances"][0]["InstanceArn"]
    sso.create_permission_set(InstanceArn=instance, Name=name, SessionDuration="PT8H")


def by_resource(result, check_id: str) -> dict:
    return {f.resource.id: f for f in only(result, check_id)}


# policy_identity: the pieces the checks build on
def test_wildcards_expand_against_the_service_model():
    assert expand_action("iam:*AccessKey*") == {"iam:createaccesskey", "iam:deleteaccesskey", "iam:listaccesskeys",
                                                "iam:updateaccesskey", "iam:getaccesskeylastused"}
    assert "iam:tagmfadevice" in expand_action("iam:*MFADevice")  # why a suffix wildcard is not self-service
    assert expand_action("sts:Tag*") == {"sts:tagsession"}  # permission-only actions are known too
    assert expand_action("s3:Get*") is None and expand_action("*") is None and expand_action("i*:Get*") is None
    assert expand_action("S3:GetObject") == {"s3:getobject"}


def test_outside_actions_and_self_scope():
    [scoped, loose, notaction] = statements(doc(allow("iam:ChangePassword", SELF), allow("iam:ChangePassword"),
                                                {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}))
    assert self_scoped(scoped) and not self_scoped(loose)
    assert actions_outside(scoped, role_or_self_service) == []
    assert actions_outside(loose, role_or_self_service) == ["iam:ChangePassword"]
    assert actions_outside(notaction, role_or_self_service) == ["NotAction iam:*"]
    [other_user] = statements(doc(allow("iam:CreateAccessKey", "arn:aws:iam::*:user/bob")))
    assert actions_outside(other_user, role_or_self_service) == ["iam:CreateAccessKey"]


@pytest.mark.parametrize(("stmt", "guard"), [
    (FORCE_MFA, True),
    ({**FORCE_MFA, "NotAction": None, "Action": "*", "Condition": {"Null": {"aws:MultiFactorAuthPresent": "true"}}},
     True),
    ({**FORCE_MFA, "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}, False),  # absent for keys
    ({**FORCE_MFA, "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"},
                                 "IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}, False),  # narrowed
    ({**FORCE_MFA, "NotAction": ["iam:*"]}, False),  # exempts all of IAM
    ({**FORCE_MFA, "Resource": "arn:aws:s3:::*"}, False),
    ({**FORCE_MFA, "Effect": "Allow"}, False),
])
def test_deny_without_mfa_shapes(stmt, guard):
    [parsed] = statements(doc({k: v for k, v in stmt.items() if v is not None}))
    assert denies_without_mfa(parsed) is guard


def test_allow_requires_mfa_shapes():
    shapes = statements(doc(allow("*", Bool={"aws:MultiFactorAuthPresent": "true"}),
                            allow("*", NumericLessThan={"aws:MultiFactorAuthAge": "3600"}),
                            allow("*", BoolIfExists={"aws:MultiFactorAuthPresent": "true"}), allow("*")))
    assert [requires_mfa(s) for s in shapes] == [True, True, False, False]


def test_effective_policies_follow_groups_and_flag_missing_documents():
    sec = IamSection(users=[], groups=[], policies=[])
    alice = IamUser(arn="arn:aws:iam::1:user/alice", id="alice", name="alice", groups=["gone"],
                    attached_policies=[AttachedPolicy(name="P", arn="arn:aws:iam::1:policy/P")])
    pol = effective_policies(alice, sec.groups, sec.policies)
    assert pol.statements == () and pol.unreadable == ("managed policy P", "group gone")


# identity.federation-configured
def test_federation_fail_by_default_pass_with_a_permission_set(session):
    [f] = only(scan(session, [FED]), FED)  # moto: an Identity Center instance always exists, without sets
    assert f.status is Status.FAIL and "has no permission set" in f.message
    permission_set("Admin")
    [f] = only(scan(session, [FED]), FED)
    assert f.status is Status.PASS and "IAM Identity Center (Admin in us-east-1)" in f.message
    assert f.evidence["identity_center"][0]["permission_sets"] == ["Admin"]


def test_federation_found_in_another_scanned_region(session):
    permission_set("Admin", region="eu-west-1")
    assert statuses(scan(session, [FED]), FED) == [Status.FAIL]
    [f] = only(scan(session, [FED], regions=["us-east-1", "eu-west-1"]), FED)
    assert f.status is Status.PASS and f.region == "global"


def test_federation_saml_counts_oidc_only_when_told(session):
    iam = boto3.client("iam")
    iam.create_open_id_connect_provider(Url="https://token.actions.githubusercontent.com", ThumbprintList=["a" * 40],
                                        ClientIDList=["sts.amazonaws.com"])
    [f] = only(scan(session, [FED]), FED)
    assert f.status is Status.FAIL and "token.actions.githubusercontent.com not counted" in f.message
    cfg = future(0).with_overrides(federation_counts_oidc=True)
    assert statuses(scan(session, [FED], cfg=cfg), FED) == [Status.PASS]
    iam.create_saml_provider(Name="okta", SAMLMetadataDocument="x" * 1000)
    [f] = only(scan(session, [FED]), FED)
    assert f.status is Status.PASS and "SAML provider okta" in f.message


@pytest.mark.parametrize("op", ["sso-admin.ListInstances", "sso-admin.ListPermissionSets", "iam.ListSAMLProviders"])
def test_federation_error_when_a_source_is_unreadable(session, op):
    deny(session, op)  # no SAML provider, and Identity Center (which might hold the proof) is unreadable
    assert set(statuses(scan(session, [FED]), FED)) == {Status.ERROR}
    # a SAML provider settles it, readable Identity Center or not (but not when the providers are unreadable)
    boto3.client("iam").create_saml_provider(Name="okta", SAMLMetadataDocument="x" * 1000)
    expected = Status.ERROR if op.startswith("iam.") else Status.PASS
    assert set(statuses(scan(session, [FED]), FED)) == {expected}


# iam.console-users-limited
def test_console_users_count(session):
    for name in ("a", "b", "c"):
        user(name, console=True)
    user("api", keys=1)
    [f] = only(scan(session, [CONSOLE]), CONSOLE)
    assert f.status is Status.PASS and f.evidence["console_users"] == ["a", "b", "c"]
    user("d", console=True)
    [f] = only(scan(session, [CONSOLE]), CONSOLE)
    assert f.status is Status.FAIL and "4 IAM users have console passwords (limit 3)" in f.message
    assert statuses(scan(session, [CONSOLE], cfg=future(0).with_overrides(max_console_users=4)), CONSOLE) == \
        [Status.PASS]


def test_console_users_with_federation_only_break_glass(session):
    permission_set()
    user("alice", console=True)
    user("bg-1", console=True)
    [f] = only(scan(session, [CONSOLE]), CONSOLE)
    assert f.status is Status.FAIL and "alice, bg-1 keep console passwords" in f.message
    cfg = future(0).with_overrides(break_glass_users=["alice", "bg-*"])
    [f] = only(scan(session, [CONSOLE], cfg=cfg), CONSOLE)
    assert f.status is Status.PASS and "(all break-glass)" in f.message


@pytest.mark.parametrize("op", ["iam.GetCredentialReport", "sso-admin.ListInstances"])
def test_console_users_error_when_denied(session, op):
    user("a", console=True)
    deny(session, op)
    assert statuses(scan(session, [CONSOLE]), CONSOLE) == [Status.ERROR]


# iam.user-only-sts
def test_only_sts_pass_and_fail_with_the_offending_actions(session):
    group("humans", ROLE_ONLY)
    user("alice", group="humans")
    user("reader", group="humans", inline=doc(allow("s3:Get*")))
    user("escalate", inline=doc(allow("iam:*", SELF)))
    user("broad-sts", inline=doc(allow("sts:*")))
    user("others", inline=doc(allow("iam:ChangePassword")))
    user("notaction", inline=doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}))
    user("mfa-tags", inline=doc(allow("iam:*MFADevice", SELF)))
    found = by_resource(scan(session, [ONLY_STS]), ONLY_STS)
    assert {k: f.status for k, f in found.items()} == {
        "alice": Status.PASS, "reader": Status.FAIL, "escalate": Status.FAIL, "broad-sts": Status.FAIL,
        "others": Status.FAIL, "notaction": Status.FAIL, "mfa-tags": Status.FAIL}
    assert found["reader"].message == "user reader is allowed more than assuming roles (inline policy " \
        "reader-inline: s3:Get*)"
    assert found["reader"].evidence["beyond_role_assumption"] == {"inline policy reader-inline": ["s3:Get*"]}
    assert found["notaction"].evidence["beyond_role_assumption"] == {"inline policy notaction-inline":
                                                                     ["NotAction iam:*"]}


def test_only_sts_exempts_tagged_workloads_and_errors_when_denied(session):
    user("deployer", inline=doc(allow("s3:*")), tags={"identity-type": "service"})
    [f] = only(scan(session, [ONLY_STS]), ONLY_STS)
    assert f.status is Status.NOT_APPLICABLE and "exempt" in f.message
    deny(session, "iam.GetAccountAuthorizationDetails")
    assert statuses(scan(session, [ONLY_STS]), ONLY_STS) == [Status.ERROR]


def test_only_sts_error_when_a_policy_document_is_missing():
    alice = IamUser(arn=f"arn:aws:iam::{ACCOUNT}:user/alice", id="alice", name="alice",
                    attached_policies=[AttachedPolicy(name="Ghost", arn=f"arn:aws:iam::{ACCOUNT}:policy/Ghost")])
    [f] = run(hand_inventory(users=[alice], groups=[], policies=[]), ONLY_STS)
    assert f.status is Status.ERROR and "managed policy Ghost" in f.message


def test_only_sts_reads_attached_managed_policies(session):
    iam = boto3.client("iam")
    # the document of AWS-managed IAMUserChangePassword, as a customer policy (loading AWS's set takes seconds)
    arn = iam.create_policy(PolicyName="ChangeOwnPassword", PolicyDocument=doc(
        allow("iam:ChangePassword", "arn:aws:iam::*:user/${aws:username}"),
        allow("iam:GetAccountPasswordPolicy")))["Policy"]["Arn"]
    user("alice")
    iam.attach_user_policy(UserName="alice", PolicyArn=arn)
    group("wide", doc(allow("ec2:Describe*")))
    user("bob", group="wide")
    iam.attach_group_policy(GroupName="wide", PolicyArn=arn)
    found = by_resource(scan(session, [ONLY_STS]), ONLY_STS)
    assert {k: f.status for k, f in found.items()} == {"alice": Status.PASS, "bob": Status.FAIL}
    assert found["bob"].evidence["beyond_role_assumption"] == {"group wide: inline policy wide-0": ["ec2:Describe*"]}


# iam.mfa-enforced-for-cli
def test_cli_mfa_guard_shapes(session):
    admin = doc(allow("*"))
    group("forced", admin, doc(FORCE_MFA))
    group("decorative", admin, doc({**FORCE_MFA, "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}))
    user("forced", group="forced", keys=1)
    user("decorative", group="decorative", keys=1)
    user("mfa-allows", keys=1, inline=doc(allow("*", Bool={"aws:MultiFactorAuthPresent": "true"})))
    user("open", keys=1, inline=doc(allow("s3:*")))
    user("nothing", keys=1)
    user("console-only", group="decorative", console=True)  # no keys: not in scope
    found = by_resource(scan(session, [CLI]), CLI)
    assert {k: f.status for k, f in found.items()} == {
        "forced": Status.PASS, "decorative": Status.FAIL, "mfa-allows": Status.PASS, "open": Status.FAIL,
        "nothing": Status.PASS}
    assert found["forced"].message == "user forced: group forced: inline policy forced-1 denies every request " \
        "without MFA"
    assert found["decorative"].evidence["allows_without_mfa"] == ["group decorative: inline policy decorative-0"]
    assert "no Allow statement" in found["nothing"].message


def test_cli_mfa_not_applicable_without_keys_error_when_denied(session):
    user("console-only", console=True)
    assert statuses(scan(session, [CLI]), CLI) == [Status.NOT_APPLICABLE]
    user("ci", keys=1)
    deny(session, "iam.GetAccountAuthorizationDetails")
    assert statuses(scan(session, [CLI]), CLI) == [Status.ERROR]
