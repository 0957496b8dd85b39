from __future__ import annotations

import json

import boto3
import pytest

from auditor.config import AuditConfig
from auditor.models import Status
from tests.collectors.test_organizations import as_member, build_org, respond
from tests.conftest import deny, only, scan, statuses

GUARDRAILS = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "DenyRoot", "Effect": "Deny", "Action": "*", "Resource": "*",
     "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}},
    {"Sid": "Protect", "Effect": "Deny", "Resource": "*", "Action": [
        "organizations:LeaveOrganization", "iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile",
        "s3:PutAccountPublicAccessBlock", "s3:PutBucketPublicAccessBlock", "cloudtrail:StopLogging",
        "cloudtrail:DeleteTrail", "cloudtrail:UpdateTrail", "config:Stop*", "config:Delete*", "guardduty:*",
        "securityhub:DisableSecurityHub", "ec2:DisableEbsEncryptionByDefault"],
     "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/BreakGlass"}}},
    {"Sid": "Regions", "Effect": "Deny", "NotAction": ["iam:*", "organizations:*", "sts:*", "support:*"],
     "Resource": "*", "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]}}},
    {"Sid": "Images", "Effect": "Deny", "Action": "ec2:RunInstances", "Resource": "arn:aws:ec2:*::image/*",
     "Condition": {"StringNotEquals": {"ec2:Owner": ["123456789012"]}}}]})
SCP_CHECKS = ["org.scps-attached", "org.scp-deny-root", "org.scp-deny-leave", "org.scp-deny-iam-users",
              "org.scp-protect-s3-public-access-block", "org.scp-protect-security-services",
              "org.scp-deny-unused-regions", "org.guardrail-encryption-and-images"]
ORG_CHECKS = [*SCP_CHECKS, "org.scps-on-ous", "org.tag-policy-attached", "org.ou-structure", "org.delegated-admins",
              "org.management-account-no-workloads"]


def _org():  # type: ignore[no-untyped-def]
    return boto3.client("organizations", region_name="us-east-1")


def _guardrails_on(ids: dict[str, str], target: str) -> str:
    org = _org()
    org.detach_policy(PolicyId=ids["scp"], TargetId=ids["root"])  # leave only the guardrail SCP under test
    pid = org.create_policy(Name="guardrails", Type="SERVICE_CONTROL_POLICY", Content=GUARDRAILS,
                            Description="")["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=pid, TargetId=ids[target])
    return pid


def test_scp_guardrails_pass_when_on_the_root(session):
    _guardrails_on(build_org(), "root")
    result = scan(session, SCP_CHECKS)
    for check_id in SCP_CHECKS:
        assert set(statuses(result, check_id)) == {Status.PASS}, check_id
    [regions] = only(result, "org.scp-deny-unused-regions")
    assert regions.evidence["allowed_regions"] == ["eu-west-1", "us-east-1"]
    assert len(only(result, "org.guardrail-encryption-and-images")) == 2  # each half reported


def test_scp_guardrails_fail_naming_the_uncovered_account(session):
    ids = build_org()
    _guardrails_on(ids, "prod")
    result = scan(session, SCP_CHECKS)
    for check_id in SCP_CHECKS:
        findings = only(result, check_id)
        assert {f.status for f in findings} == {Status.FAIL}, check_id
        assert all(ids["dev_account"] in f.message and ids["prod_account"] not in f.message for f in findings)
    [services] = only(result, "org.scp-protect-security-services")
    assert services.evidence["unprotected_services"] == ["cloudtrail", "config", "guardduty", "securityhub"]


def test_scp_guardrails_fail_when_scps_are_disabled(session):
    ids = build_org()
    _guardrails_on(ids, "root")
    _org().disable_policy_type(RootId=ids["root"], PolicyType="SERVICE_CONTROL_POLICY")
    [f] = only(scan(session, ["org.scp-deny-leave"]), "org.scp-deny-leave")
    assert f.status is Status.FAIL and "not enabled" in f.message


def test_partial_guardrail_names_what_is_missing(session):
    build_org()  # deny-leave on the root, nothing else
    result = scan(session, ["org.scp-deny-leave", "org.scp-deny-iam-users", "org.scps-attached"])
    assert statuses(result, "org.scp-deny-leave") == [Status.PASS]
    assert statuses(result, "org.scps-attached") == [Status.PASS]
    [iam] = only(result, "org.scp-deny-iam-users")
    assert iam.status is Status.FAIL and iam.evidence["accounts_missing"]


def test_scp_checks_error_when_a_policy_is_unreadable(session):
    ids = build_org()
    _guardrails_on(ids, "prod")
    deny(session, "organizations.DescribePolicy")
    result = scan(session, SCP_CHECKS[1:])
    for check_id in SCP_CHECKS[1:]:
        assert set(statuses(result, check_id)) == {Status.ERROR}, check_id


def test_scp_checks_error_when_the_tree_is_unreadable(session):
    build_org()
    deny(session, "organizations.ListOrganizationalUnitsForParent")
    result = scan(session, ORG_CHECKS[:-2])
    assert {f.status for f in result.findings} == {Status.ERROR}


def test_not_applicable_outside_an_organization(session):
    result = scan(session, [c for c in ORG_CHECKS if c != "org.scp-deny-unused-regions"])
    assert {f.status for f in result.findings} == {Status.NOT_APPLICABLE}
    assert all("not in an AWS Organization" in f.message for f in result.findings)


def test_not_applicable_from_a_member_account_with_the_reason(session):
    as_member(session)
    result = scan(session, ORG_CHECKS)
    assert {f.status for f in result.findings} == {Status.NOT_APPLICABLE}
    [leave] = only(result, "org.scp-deny-leave")
    assert "management account 999999999999" in leave.message


def test_no_member_accounts_is_not_applicable(session):
    _org().create_organization(FeatureSet="ALL")
    assert statuses(scan(session, ["org.scp-deny-leave"]), "org.scp-deny-leave") == [Status.NOT_APPLICABLE]


def test_account_in_organization(session):
    result = scan(session, ["org.account-in-organization"])
    assert statuses(result, "org.account-in-organization") == [Status.FAIL]
    _org().create_organization(FeatureSet="CONSOLIDATED_BILLING")
    [f] = only(scan(session, ["org.account-in-organization"]), "org.account-in-organization")
    assert f.status is Status.PASS and "warning" in f.evidence and f.evidence["feature_set"] == "CONSOLIDATED_BILLING"
    deny(session, "organizations.DescribeOrganization")
    assert statuses(scan(session, ["org.account-in-organization"]), "org.account-in-organization") == [Status.ERROR]


def test_account_in_organization_from_a_member(session):
    as_member(session)
    [f] = only(scan(session, ["org.account-in-organization"]), "org.account-in-organization")
    assert f.status is Status.PASS and f.evidence["management_account_id"] == "999999999999"


def test_scps_on_ous_warns_for_account_attachments(session):
    ids = build_org()
    direct = _guardrails_on(ids, "prod_account")
    result = scan(session, ["org.scps-on-ous"])
    by_policy = {f.resource.id: f for f in only(result, "org.scps-on-ous")}
    assert {f.status for f in by_policy.values()} == {Status.PASS}
    assert "warning" in by_policy[direct].evidence and "warning" not in by_policy[ids["scp"]].evidence
    deny(session, "organizations.ListTargetsForPolicy")
    errors = only(scan(session, ["org.scps-on-ous"]), "org.scps-on-ous")
    assert {f.status for f in errors} == {Status.ERROR} and {f.resource.id for f in errors} >= {direct}


def _tag_policy(ids: dict[str, str], keys: list[str], target: str = "root", enable: bool = True) -> None:
    org = _org()
    if enable:
        org.enable_policy_type(RootId=ids["root"], PolicyType="TAG_POLICY")
    content = json.dumps({"tags": {k: {"tag_key": {"@@assign": k}} for k in keys}})
    pid = org.create_policy(Name="tags", Type="TAG_POLICY", Content=content, Description="")["Policy"][
        "PolicySummary"]["Id"]
    org.attach_policy(PolicyId=pid, TargetId=ids[target])


@pytest.mark.parametrize("keys,target,enable,expected,warned", [
    (["org", "project", "stack", "stage", "role"], "root", True, Status.PASS, False),
    (["project"], "workloads", True, Status.PASS, True),
    (["project"], "prod_account", True, Status.FAIL, False),
    (["project"], "root", False, Status.FAIL, False),
])
def test_tag_policy_attached(session, keys, target, enable, expected, warned):
    _tag_policy(build_org(), keys, target, enable)
    [f] = only(scan(session, ["org.tag-policy-attached"]), "org.tag-policy-attached")
    assert f.status is expected and ("warning" in f.evidence) is warned


def test_tag_policy_error(session):
    _tag_policy(build_org(), ["project"])
    deny(session, "organizations.ListPolicies")
    assert statuses(scan(session, ["org.tag-policy-attached"]), "org.tag-policy-attached") == [Status.ERROR]


def test_ou_structure_reports_the_tree(session):
    ids = build_org()
    [f] = only(scan(session, ["org.ou-structure"]), "org.ou-structure")
    assert f.status is Status.PASS and "warning" not in f.evidence, f.message
    assert f.evidence["tree"]["Root/Workloads/Prod"] == [f"{ids['prod_account']} (prod-app)"]
    assert f.evidence["depth"] == 2
    [deep] = only(scan(session, ["org.ou-structure"], cfg=AuditConfig(workers=4, max_ou_depth=1)), "org.ou-structure")
    assert deep.status is Status.PASS and "depth 2 exceeds 1" in deep.evidence["warning"]


def test_ou_structure_warns_without_ous(session):
    _org().create_organization(FeatureSet="ALL")
    [f] = only(scan(session, ["org.ou-structure"]), "org.ou-structure")
    assert f.status is Status.PASS and "no OUs" in f.evidence["warning"]
    assert "production" in f.evidence["warning"]


DELEGATION_POLICY = {"ResourcePolicy": {"ResourcePolicySummary": {"Id": "rp-1", "Arn": "arn:rp"}, "Content": json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
                                             "Action": "organizations:DescribePolicy", "Resource": "*"}]})}}


def _delegate(ids: dict[str, str]) -> None:
    org = _org()
    for service in ("guardduty.amazonaws.com", "securityhub.amazonaws.com"):
        org.enable_aws_service_access(ServicePrincipal=service)
    org.register_delegated_administrator(AccountId=ids["prod_account"], ServicePrincipal="guardduty.amazonaws.com")


def test_delegated_admins_per_service_and_policy(session):
    ids = build_org()
    _delegate(ids)
    respond(session, "organizations.DescribeResourcePolicy", DELEGATION_POLICY)
    cfg = AuditConfig(workers=4, delegated_admin_services=["guardduty.amazonaws.com", "securityhub.amazonaws.com"])
    by_key = {f.subkey or f.resource.id: f for f in only(scan(session, ["org.delegated-admins"], cfg=cfg),
                                                           "org.delegated-admins")}
    assert by_key["guardduty.amazonaws.com"].status is Status.PASS
    assert by_key["securityhub.amazonaws.com"].status is Status.FAIL
    assert "no delegated administrator" in by_key["securityhub.amazonaws.com"].message
    policy = by_key["delegation-policy"]
    assert policy.status is Status.PASS and policy.evidence["principals"] == ["arn:aws:iam::222222222222:root"]


def test_delegated_admins_without_delegation_policy_fails(session):
    build_org()
    respond(session, "organizations.DescribeResourcePolicy", error="ResourcePolicyNotFoundException")
    findings = only(scan(session, ["org.delegated-admins"]), "org.delegated-admins")
    assert {f.status for f in findings} == {Status.FAIL} and len(findings) == 5


def test_delegated_admins_unreadable_policy_blinds_only_that_part(session):
    build_org()  # moto has no DescribeResourcePolicy: the read fails as Unsupported
    findings = only(scan(session, ["org.delegated-admins"]), "org.delegated-admins")
    [error] = [f for f in findings if f.status is Status.ERROR]
    assert error.resource.id == "delegation-policy" and error.gap.error_code == "Unsupported"
    assert sum(f.status is Status.FAIL for f in findings) == 4


def test_delegated_admins_error_when_unreadable(session):
    build_org()
    deny(session, "organizations.ListDelegatedAdministrators")
    assert set(statuses(scan(session, ["org.delegated-admins"]), "org.delegated-admins")) == {Status.ERROR}


NO_WORKLOADS = "org.management-account-no-workloads"


def test_management_account_without_workloads_passes(session):
    build_org()
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="acme-cloudtrail-logs")
    assert set(statuses(scan(session, [NO_WORKLOADS]), NO_WORKLOADS)) == {Status.PASS}


def test_management_account_workloads_fail_per_region(session):
    build_org()
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="acme-app-data")
    ec2 = boto3.client("ec2", region_name="eu-west-1")
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    result = scan(session, [NO_WORKLOADS], regions=["us-east-1", "eu-west-1"])
    by_region = {f.region: f for f in only(result, NO_WORKLOADS)}
    assert by_region["us-east-1"].status is Status.FAIL and "acme-app-data" in by_region["us-east-1"].message
    assert by_region["eu-west-1"].evidence["workloads"] == {"ec2_instances": [instance]}
    assert "Lambda functions" in by_region["eu-west-1"].evidence["not_inventoried"]
    deny(session, "ec2.DescribeInstances")
    result = scan(session, [NO_WORKLOADS], regions=["us-east-1", "eu-west-1"])
    assert {f.region: f.status for f in only(result, NO_WORKLOADS)} == {"us-east-1": Status.ERROR,
                                                                       "eu-west-1": Status.ERROR}


def test_management_account_check_not_applicable_elsewhere(session):
    assert statuses(scan(session, [NO_WORKLOADS]), NO_WORKLOADS) == [Status.NOT_APPLICABLE]
    as_member(session)
    [f] = only(scan(session, [NO_WORKLOADS]), NO_WORKLOADS)
    assert f.status is Status.NOT_APPLICABLE and "not the management account" in f.message


REGION_DENY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "Resource": "*",
     "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1"]}}}]})


def test_region_restriction_fallback_for_a_standalone_account(session):
    iam = boto3.client("iam")
    iam.create_user(UserName="alice")
    iam.create_group(GroupName="people")
    iam.add_user_to_group(GroupName="people", UserName="alice")
    iam.put_group_policy(GroupName="people", PolicyName="regions", PolicyDocument=REGION_DENY)
    arn = iam.create_policy(PolicyName="regions", PolicyDocument=REGION_DENY)["Policy"]["Arn"]
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=json.dumps({"Statement": []}))
    iam.attach_role_policy(RoleName="app", PolicyArn=arn)
    [f] = only(scan(session, ["org.scp-deny-unused-regions"]), "org.scp-deny-unused-regions")
    assert f.status is Status.PASS and f.evidence["restricted"] == {"role app": ["us-east-1"],
                                                                    "user alice": ["us-east-1"]}
    iam.create_user(UserName="bob")
    [f] = only(scan(session, ["org.scp-deny-unused-regions"]), "org.scp-deny-unused-regions")
    assert f.status is Status.FAIL and f.evidence["unrestricted"] == ["user bob"]
    deny(session, "iam.GetAccountAuthorizationDetails")
    assert statuses(scan(session, ["org.scp-deny-unused-regions"]), "org.scp-deny-unused-regions") == [Status.ERROR]
