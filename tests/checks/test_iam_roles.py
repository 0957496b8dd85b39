"""Role trust (MFA, other accounts), session lengths, and groups that map to roles."""
from __future__ import annotations

import json

import boto3

from auditor.collectors import COLLECTORS
from auditor.collectors.iam import AttachedPolicy, IamRole, IamSection, ManagedPolicy
from auditor.collectors.organizations import TREE, Organization, OrganizationsSection
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.models import Identity, Status
from auditor.runner import build_result, collect, select_checks
from tests.checks.test_iam_root import NOW, run
from tests.conftest import ACCOUNT, deny, only, scan, statuses

MFA = "iam.role-trust-requires-mfa"
CROSS = "iam.role-cross-account-trust"
SESSION = "iam.role-max-session-duration"
GROUPS = "iam.group-assume-role-mapping"
OTHER = "111111111111"
VENDOR = "222222222222"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
ADMIN = {"Effect": "Allow", "Action": "*", "Resource": "*"}
READ = {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}


def doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def trust(principal, condition: dict | None = None, action: str = "sts:AssumeRole") -> dict:
    extra = {"Condition": condition} if condition else {}
    return {"Effect": "Allow", "Principal": principal, "Action": action, **extra}


def role(name: str, *trusts: dict, policy: dict | None = None, **kw) -> None:
    iam = boto3.client("iam")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=doc(*trusts), **kw)
    if policy:
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=doc(policy))


def by_role(result, check_id: str) -> dict[str, object]:
    return {f.resource.id: f for f in only(result, check_id)}


# iam.role-trust-requires-mfa
def test_trust_requires_mfa(session):
    role("admin", trust({"AWS": ROOT}), policy=ADMIN)
    role("admin-mfa", trust({"AWS": ROOT}, {"Bool": {"aws:MultiFactorAuthPresent": "true"}}), policy=ADMIN)
    role("admin-age", trust({"AWS": ACCOUNT}, {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}), policy=ADMIN)
    role("guarded", trust({"AWS": ROOT}), {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
                                           "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}},
         policy=ADMIN)
    role("cross-reader", trust({"AWS": f"arn:aws:iam::{OTHER}:root"}), policy=READ)
    role("lenient", trust({"AWS": OTHER}, {"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}), policy=READ)
    role("iam-writer", trust({"AWS": ROOT}), policy={"Effect": "Allow", "Action": "iam:CreateUser", "Resource": "*"})
    role("app", trust({"AWS": ROOT}), policy=READ)  # same account, not privileged: out of scope
    role("ec2", trust({"Service": "ec2.amazonaws.com"}), policy=ADMIN)  # services cannot do MFA
    role("vendor", trust({"AWS": VENDOR}, {"StringEquals": {"sts:ExternalId": "v-1"}}), policy=ADMIN)
    specs = select_checks([MFA])
    inv = collect(session, specs, ["us-east-1"], AuditConfig(workers=4))
    found = by_role(build_result(inv, specs, AuditConfig(), inv.collected_at), MFA)
    assert {k: f.status for k, f in found.items()} == {
        "admin": Status.FAIL, "admin-mfa": Status.PASS, "admin-age": Status.PASS, "guarded": Status.PASS,
        "cross-reader": Status.FAIL, "lenient": Status.PASS, "iam-writer": Status.FAIL}
    assert found["admin"].message == ("role admin (administrator ('*' actions)) can be assumed without MFA "
                                      "(trust statement #0)")
    assert found["cross-reader"].evidence["in_scope_because"] == [f"trusted from {OTHER}"]
    assert "BoolIfExists" in found["lenient"].evidence["warning"] and "warning:" in found["lenient"].message
    assert found["iam-writer"].evidence["in_scope_because"] == ["IAM write (iam:CreateUser)"]
    assert found["guarded"].evidence["deny_without_mfa"] == ["#1"]
    found = by_role(build_result(inv, specs, AuditConfig(privileged_roles=["ap*"]), inv.collected_at), MFA)
    assert found["app"].status is Status.FAIL
    assert found["app"].evidence["in_scope_because"] == ["listed in config privileged_roles"]


def test_trust_requires_mfa_error_and_not_applicable(session):
    assert statuses(scan(session, [MFA]), MFA) == [Status.NOT_APPLICABLE]
    role("admin", trust({"AWS": ROOT}), policy=ADMIN)
    deny(session, "iam.GetAccountAuthorizationDetails")
    assert statuses(scan(session, [MFA]), MFA) == [Status.ERROR]


def _hand(roles: list[IamRole], policies: list[ManagedPolicy] | None = None,
          org: OrganizationsSection | None = None) -> Inventory:
    sections = {"iam": IamSection(users=[], groups=[], roles=roles, policies=policies or []),
                "organizations": org or OrganizationsSection(in_organization=False)}
    datasets = sorted({*COLLECTORS.get("iam").datasets, *COLLECTORS.get("organizations").datasets})
    return Inventory(identity=Identity(account_id=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:user/auditor"),
                     regions=["us-east-1"], collected_at=NOW, datasets=datasets, sections=sections)


def _role(name: str, *trusts: dict, **kw) -> IamRole:
    return IamRole(arn=f"arn:aws:iam::{ACCOUNT}:role/{name}", id=name, name=name,
                   trust_policy=json.loads(doc(*trusts)), **kw)


def test_trust_requires_mfa_error_when_a_policy_document_is_missing():
    policy = ManagedPolicy(arn="arn:aws:iam::aws:policy/Mystery", id="Mystery", name="Mystery", aws_managed=True)
    held = [AttachedPolicy(name="Mystery", arn=policy.arn)]
    inv = _hand([_role("same", trust({"AWS": ROOT}), attached_policies=held),
                 _role("cross", trust({"AWS": OTHER}), attached_policies=held)], [policy])
    found = {f.resource.id: f.status for f in run(inv, MFA)}
    assert found == {"same": Status.ERROR, "cross": Status.FAIL}  # cross-account is in scope either way


# iam.role-cross-account-trust
def test_cross_account_trust(session):
    role("own", trust({"AWS": ROOT}))
    role("service", trust({"Service": "lambda.amazonaws.com"}))
    role("anyone", trust("*"))
    role("any-root", trust({"AWS": "arn:aws:iam::*:root"}))
    role("org-only", trust({"AWS": "*"}, {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}))
    role("fake-guard", trust({"AWS": "*"}, {"StringLikeIfExists": {"aws:PrincipalOrgID": "o-abc123"}}))
    role("named-stranger", trust({"AWS": "*"}, {"StringEquals": {"aws:PrincipalAccount": OTHER}}))
    role("named-self", trust({"AWS": "*"}, {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/ci-*"}}))
    role("stranger", trust({"AWS": f"arn:aws:iam::{OTHER}:role/deployer"}))
    role("vendor", trust({"AWS": VENDOR}, {"StringEquals": {"sts:ExternalId": "v-1"}}))
    role("vendor-open", trust({"AWS": VENDOR}))
    specs = select_checks([CROSS])
    inv = collect(session, specs, ["us-east-1"], AuditConfig(workers=4))
    found = by_role(build_result(inv, specs, AuditConfig(), inv.collected_at), CROSS)
    assert {k: f.status for k, f in found.items()} == {
        "own": Status.PASS, "service": Status.PASS, "anyone": Status.FAIL, "any-root": Status.FAIL,
        "org-only": Status.PASS, "fake-guard": Status.FAIL, "stranger": Status.FAIL, "vendor": Status.FAIL,
        "vendor-open": Status.FAIL, "named-stranger": Status.FAIL, "named-self": Status.PASS}
    assert found["stranger"].message == f"role stranger: statement #0 trusts unknown account {OTHER}"
    assert "without aws:PrincipalOrgID" in found["anyone"].message
    found = by_role(build_result(inv, specs, AuditConfig(trusted_accounts=[VENDOR]), inv.collected_at), CROSS)
    assert found["vendor"].status is Status.PASS and "warning" not in found["vendor"].evidence
    assert found["vendor-open"].status is Status.PASS
    assert "without sts:ExternalId" in found["vendor-open"].evidence["warning"]


def test_cross_account_trust_knows_organization_members(session):
    org = boto3.client("organizations", region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    member = org.create_account(AccountName="prod", Email="prod@example.com")["CreateAccountStatus"]["AccountId"]
    role("from-prod", trust({"AWS": f"arn:aws:iam::{member}:root"}))
    role("stranger", trust({"AWS": OTHER}))
    found = by_role(scan(session, [CROSS]), CROSS)
    assert {k: f.status for k, f in found.items()} == {"from-prod": Status.PASS, "stranger": Status.FAIL}
    deny(session, "organizations.ListRoots")  # the account list is unknown: only the unknown account is ERROR
    found = by_role(scan(session, [CROSS]), CROSS)
    assert {k: f.status for k, f in found.items()} == {"from-prod": Status.ERROR, "stranger": Status.ERROR}
    assert found["stranger"].gap.iam_action == "organizations:ListRoots"


def test_cross_account_trust_from_a_member_account():
    org = OrganizationsSection(in_organization=True, denied={TREE: "AccessDeniedException"},
                               organization=Organization(arn="arn:aws:organizations::999999999999:organization/o-1",
                                                         id="o-1", management_account_id="999999999999"))
    inv = _hand([_role("mgmt", trust({"AWS": "999999999999"})), _role("peer", trust({"AWS": OTHER}))], org=org)
    found = {f.resource.id: f for f in run(inv, CROSS)}
    assert found["mgmt"].status is Status.PASS and found["peer"].status is Status.FAIL
    assert "not readable from a member account" in found["peer"].evidence["organization"]
    assert run(inv, CROSS, trusted_accounts=[OTHER])[1].status is Status.PASS


def test_cross_account_trust_error(session):
    role("own", trust({"AWS": ROOT}))
    role("partner", trust({"AWS": "arn:aws:iam::999988887777:root"}))
    deny(session, "organizations.DescribeOrganization")
    # only the role trusting another account depends on the organization's member list
    by_role = {f.resource.id: f.status for f in only(scan(session, [CROSS]), CROSS)}
    assert by_role == {"own": Status.PASS, "partner": Status.ERROR}


# iam.role-max-session-duration
def _permission_set(name: str, duration: str) -> None:
    sso = boto3.client("sso-admin", region_name="us-east-1")
    instance = sso.list_instances()["Instances"][0]["InstanceArn"]
    sso.create_permission_set(InstanceArn=instance, Name=name, SessionDuration=duration)


def test_max_session_duration(session):
    role("long", trust({"AWS": ROOT}), MaxSessionDuration=43200)
    role("short", trust({"AWS": ROOT}))
    role("saml", trust({"Federated": f"arn:aws:iam::{ACCOUNT}:saml-provider/okta"}, action="sts:AssumeRoleWithSAML"),
         MaxSessionDuration=36000)
    role("batch", trust({"Service": "batch.amazonaws.com"}), MaxSessionDuration=43200)  # no person assumes it
    _permission_set("Admin", "PT12H")
    _permission_set("ReadOnly", "PT4H")
    specs = select_checks([SESSION])
    inv = collect(session, specs, ["us-east-1"], AuditConfig(workers=4))
    found = by_role(build_result(inv, specs, AuditConfig(), inv.collected_at), SESSION)
    statuses_by_name = {k if f.resource.type == "AWS::IAM::Role" else f.message.split()[2]: f.status
                        for k, f in found.items()}
    assert statuses_by_name == {"long": Status.FAIL, "short": Status.PASS, "saml": Status.FAIL,
                                "Admin": Status.FAIL, "ReadOnly": Status.PASS}
    assert found["long"].message == "role long allows 12 h sessions (limit 8 h)"
    relaxed = build_result(inv, specs, AuditConfig(max_session_seconds=43200), inv.collected_at)
    assert set(statuses(relaxed, SESSION)) == {Status.PASS}


def test_max_session_duration_error(session):
    role("long", trust({"AWS": ROOT}), MaxSessionDuration=43200)
    deny(session, "iam.ListRoles")
    assert statuses(scan(session, [SESSION]), SESSION) == [Status.ERROR]


# iam.group-assume-role-mapping
def test_group_assume_role_mapping(session):
    iam = boto3.client("iam")
    role("admin", trust({"AWS": ROOT}))
    role("lambda", trust({"Service": "lambda.amazonaws.com"}))
    groups = {
        "humans": {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{ACCOUNT}:role/adm*"},
        "devs": {"Effect": "Allow", "Action": ["s3:*", "ec2:Describe*"], "Resource": "*"},
        "services": {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{ACCOUNT}:role/lambda"},
        "empty": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        "admins": {"Effect": "Allow", "Action": "*", "Resource": "*"},  # can assume admin, but needs not to
    }
    for name, statement in groups.items():
        iam.create_group(GroupName=name)
        iam.put_group_policy(GroupName=name, PolicyName="p", PolicyDocument=doc(statement))
        if name != "empty":
            iam.create_user(UserName=f"u-{name}")
            iam.add_user_to_group(GroupName=name, UserName=f"u-{name}")
    found = by_role(scan(session, [GROUPS]), GROUPS)
    assert {k: f.status for k, f in found.items()} == {
        "humans": Status.PASS, "devs": Status.FAIL, "services": Status.FAIL, "admins": Status.FAIL}
    assert found["admins"].evidence["assumable_roles"] == ["admin"] and found["admins"].evidence[
        "direct_permissions"] == ["*"]
    assert found["humans"].message == "group humans maps to role admin"
    assert found["devs"].message == ("group devs grants ec2:Describe*, s3:* directly instead of mapping to an "
                                     "assumable role (iam.user-only-sts already fails for u-devs)")
    assert "grants no sts:AssumeRole on an existing role" in found["services"].message
    deny(session, "iam.GetAccountAuthorizationDetails")
    assert statuses(scan(session, [GROUPS]), GROUPS) == [Status.ERROR]
