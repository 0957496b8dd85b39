from __future__ import annotations

import json

import pytest

from auditor import scp
from auditor.collectors.organizations import (
    SCP,
    OrgAccount,
    Organization,
    OrganizationsSection,
    OrgPolicy,
    OrgRoot,
    OrgUnit,
    PolicyTarget,
)
from auditor.policy import statements

MGMT = "111111111111"


def _stmt(**raw):  # type: ignore[no-untyped-def]
    [s] = statements({"Statement": [{"Resource": "*", **raw}]})
    return s


def _policy(name: str, targets: list[str], *stmts: dict, content: bool = True) -> OrgPolicy:
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Resource": "*", **s} for s in stmts]})
    return OrgPolicy(arn=f"arn:aws:organizations::{MGMT}:policy/o-x/service_control_policy/{name}", id=name,
                     name=name, type=SCP, content=doc if content else None,
                     targets=[PolicyTarget(target_id=t, type="ROOT" if t.startswith("r-") else
                                           "ORGANIZATIONAL_UNIT" if t.startswith("ou-") else "ACCOUNT")
                              for t in targets])


def _org(*policies: OrgPolicy, scp_enabled: bool = True) -> OrganizationsSection:
    def acct(aid: str, name: str, parent: str, status: str = "ACTIVE") -> OrgAccount:
        return OrgAccount(arn=f"arn:aws:organizations::{MGMT}:account/o-x/{aid}", id=aid, name=name,
                          parent_id=parent, status=status)
    return OrganizationsSection(
        in_organization=True, caller_is_management=True,
        organization=Organization(arn=f"arn:aws:organizations::{MGMT}:organization/o-x", id="o-x",
                                  management_account_id=MGMT, feature_set="ALL"),
        roots=[OrgRoot(arn="arn:root", id="r-root", enabled_policy_types=[SCP] if scp_enabled else [])],
        units=[OrgUnit(arn="arn:ou1", id="ou-work", name="Workloads", parent_id="r-root", depth=1),
               OrgUnit(arn="arn:ou2", id="ou-prod", name="Prod", parent_id="ou-work", depth=2),
               OrgUnit(arn="arn:ou3", id="ou-dev", name="Dev", parent_id="ou-work", depth=2)],
        accounts=[acct(MGMT, "management", "r-root"), acct("222222222222", "prod", "ou-prod"),
                  acct("333333333333", "dev", "ou-dev"), acct("444444444444", "gone", "ou-dev", "SUSPENDED")],
        policies=list(policies))


LEAVE = {"Effect": "Deny", "Action": "organizations:LeaveOrganization"}


@pytest.mark.parametrize("raw,action,expected", [
    ({"Effect": "Deny", "Action": "organizations:*"}, "organizations:LeaveOrganization", True),
    ({"Effect": "Deny", "Action": "*"}, "organizations:LeaveOrganization", True),
    ({"Effect": "Deny", "Action": "Organizations:Leave*"}, "organizations:LeaveOrganization", True),
    ({"Effect": "Deny", "NotAction": ["iam:*"]}, "organizations:LeaveOrganization", True),
    ({"Effect": "Deny", "NotAction": ["organizations:*"]}, "organizations:LeaveOrganization", False),
    ({"Effect": "Allow", "Action": "organizations:*"}, "organizations:LeaveOrganization", False),
    ({"Effect": "Deny", "Action": "iam:CreateUser", "Condition": {
        "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/BreakGlass"}}}, "iam:CreateUser", True),
    ({"Effect": "Deny", "Action": "iam:CreateUser", "Condition": {
        "StringEquals": {"aws:RequestedRegion": "us-east-1"}}}, "iam:CreateUser", False),
    ({"Effect": "Deny", "Action": "iam:CreateUser", "Condition": {
        "Bool": {"aws:MultiFactorAuthPresent": "false"}}}, "iam:CreateUser", False),
])
def test_denies(raw, action, expected):
    assert scp.denies(_stmt(**raw), action) is expected


def test_denies_needs_every_resource():
    [s] = statements({"Statement": [{"Effect": "Deny", "Action": "iam:CreateUser",
                                     "Resource": "arn:aws:iam::*:user/x"}]})
    assert not scp.denies(s, "iam:CreateUser")


def test_denies_principal_root_per_account():
    root = {"Effect": "Deny", "Action": "*", "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}}
    assert scp.denies_principal(_stmt(**root), "arn:aws:iam::222222222222:root")
    only_one = {**root, "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::333333333333:root"}}}
    assert not scp.denies_principal(_stmt(**only_one), "arn:aws:iam::222222222222:root")
    narrow = {**root, "Action": "s3:*"}
    assert not scp.denies_principal(_stmt(**narrow), "arn:aws:iam::222222222222:root")


def test_allowed_regions():
    region = {"Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "Condition": {
        "StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]},
        "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/Admin"}}}
    assert scp.allowed_regions(_stmt(**region)) == ["eu-west-1", "us-east-1"]
    assert scp.allowed_regions(_stmt(Effect="Deny", Action="ec2:*", Condition={
        "StringNotEquals": {"aws:RequestedRegion": "us-east-1"}})) is None  # not broad
    assert scp.allowed_regions(_stmt(Effect="Deny", Action="*")) is None


def test_denies_when_condition_key():
    enc = _stmt(Effect="Deny", Action="ec2:CreateVolume", Condition={"Bool": {"ec2:Encrypted": "false"}})
    assert scp.denies_when(enc, ("ec2:CreateVolume",), ("ec2:Encrypted",))
    assert not scp.denies_when(enc, ("ec2:RunInstances",), ("ec2:Encrypted",))


def test_effective_set_follows_the_parent_chain():
    on_dev = _policy("dev-only", ["ou-dev"], LEAVE)
    on_work = _policy("workloads", ["ou-work"], LEAVE)
    org = _org(on_dev, on_work)
    prod, dev = org.accounts[1], org.accounts[2]
    assert scp.ancestry(org, dev) == ["333333333333", "ou-dev", "ou-work", "r-root"]
    assert [p.name for p in scp.in_effect(org, prod)] == ["workloads"]
    assert [p.name for p in scp.in_effect(org, dev)] == ["dev-only", "workloads"]


def test_evaluate_lists_members_without_the_guardrail():
    org = _org(_policy("dev-only", ["ou-dev"], LEAVE))
    result = scp.evaluate(org, scp.action_guardrails(["organizations:LeaveOrganization"]))
    # management account and suspended accounts are not judged
    assert result.unmet == {"222222222222 (prod)": ["organizations:LeaveOrganization"]}
    assert result.satisfied_by == {"organizations:LeaveOrganization": ["dev-only"]}
    assert scp.evaluate(_org(_policy("all", ["r-root"], LEAVE)),
                        scp.action_guardrails(["organizations:LeaveOrganization"])).unmet == {}


def test_attached_directly_to_an_account_counts():
    org = _org(_policy("direct", ["222222222222", "333333333333"], LEAVE))
    assert scp.evaluate(org, scp.action_guardrails(["organizations:LeaveOrganization"])).unmet == {}


def test_unreadable_and_malformed_policies():
    unreadable = _policy("secret", ["r-root"], LEAVE, content=False)
    org = _org(unreadable)
    assert scp.unreadable(org) == [unreadable]
    assert scp.policy_statements("not json") == ()
    assert scp.evaluate(org, scp.action_guardrails(["organizations:LeaveOrganization"])).unmet


def test_scps_enabled_and_members():
    assert scp.scps_enabled(_org()) and not scp.scps_enabled(_org(scp_enabled=False))
    assert [a.id for a in scp.member_accounts(_org())] == ["222222222222", "333333333333"]


def test_tag_policy_keys():
    content = json.dumps({"tags": {"costcenter": {"tag_key": {"@@assign": "CostCenter"}}, "Project": {}}})
    assert scp.tag_policy_keys(content) == {"costcenter", "project"}
    assert scp.tag_policy_keys("{") == set()
