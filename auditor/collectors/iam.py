"""IAM, account-wide: credential report, account summary, password policy, principals with their policies.

Datasets are split so that one denied action only blinds the checks that need it. Principals and
policies come from one paginated iam:GetAccountAuthorizationDetails instead of per-user calls.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, ClassVar

from auditor.collectors import NOT_FOUND, CollectContext, Section, collector
from auditor.credential_report import CredentialReportError, CredentialRow, parse_credential_report
from auditor.models import Frozen, Resource
from auditor.policy import parse_document

REPORT = "iam.credential_report"
SUMMARY = "iam.account_summary"
PASSWORD_POLICY = "iam.password_policy"
AUTHORIZATION = "iam.authorization"
MFA_DEVICES = "iam.mfa_devices"
POLICY_ENTITIES = "iam.policy_entities"

SUPPORT_POLICY = "AWSSupportAccess"
_REPORT_NOT_READY = ("ReportInProgress", "ReportNotPresent")
_REPORT_POLL_SECONDS = 2.0
_REPORT_DEADLINE_SECONDS = 60.0


class AttachedPolicy(Frozen):
    name: str
    arn: str


class InlinePolicy(Frozen):
    name: str
    document: dict[str, Any]


class IamPrincipal(Resource):
    name: str
    path: str = "/"
    attached_policies: list[AttachedPolicy] = []
    inline_policies: list[InlinePolicy] = []


class IamUser(IamPrincipal):
    resource_type: ClassVar[str] = "AWS::IAM::User"
    create_date: datetime | None = None
    groups: list[str] = []


class IamGroup(IamPrincipal):
    resource_type: ClassVar[str] = "AWS::IAM::Group"


class IamRole(IamPrincipal):
    resource_type: ClassVar[str] = "AWS::IAM::Role"
    create_date: datetime | None = None
    trust_policy: dict[str, Any] = {}


class ManagedPolicy(Resource):
    resource_type: ClassVar[str] = "AWS::IAM::ManagedPolicy"
    name: str
    aws_managed: bool
    default_version: str = ""
    document: dict[str, Any] | None = None  # default version; None when the service did not return it


class PasswordPolicy(Frozen):
    exists: bool  # False: the account has no password policy (NoSuchEntity), so AWS defaults apply
    minimum_length: int | None = None
    reuse_prevention: int | None = None
    max_age_days: int | None = None
    require_uppercase: bool = False
    require_lowercase: bool = False
    require_numbers: bool = False
    require_symbols: bool = False
    allow_users_to_change: bool = False
    hard_expiry: bool = False


class VirtualMfaDevice(Frozen):
    serial: str
    user_arn: str | None = None
    user_name: str | None = None
    enable_date: datetime | None = None


class PolicyEntities(Frozen):
    """Who holds one managed policy (iam:ListEntitiesForPolicy), by name."""

    policy_arn: str
    users: list[str] = []
    groups: list[str] = []
    roles: list[str] = []


class IamSection(Section):
    # None everywhere means "not read" (a gap explains why); an empty list means "read, and none".
    credential_report: list[CredentialRow] | None = None
    credential_report_generated: datetime | None = None
    account_summary: dict[str, int] | None = None
    password_policy: PasswordPolicy | None = None
    users: list[IamUser] | None = None
    groups: list[IamGroup] | None = None
    roles: list[IamRole] | None = None
    policies: list[ManagedPolicy] | None = None
    virtual_mfa_devices: list[VirtualMfaDevice] | None = None
    support_access: PolicyEntities | None = None

    def root_row(self) -> CredentialRow | None:
        return next((r for r in self.credential_report or [] if r.is_root), None)

    def user_rows(self) -> list[CredentialRow]:
        return [r for r in self.credential_report or [] if not r.is_root]


@collector("iam", section=IamSection, regional=False, datasets={
    REPORT: ("iam:GenerateCredentialReport", "iam:GetCredentialReport"),
    SUMMARY: ("iam:GetAccountSummary",),
    PASSWORD_POLICY: ("iam:GetAccountPasswordPolicy",),
    AUTHORIZATION: ("iam:GetAccountAuthorizationDetails",),
    MFA_DEVICES: ("iam:ListVirtualMFADevices",),
    POLICY_ENTITIES: ("iam:ListEntitiesForPolicy",),
})
def collect_iam(ctx: CollectContext) -> IamSection:
    iam = ctx.client()
    # Independent reads; the report may need polling, so run them side by side.
    parts = [lambda: _credential_report(ctx, iam), lambda: _summary(ctx, iam), lambda: _password_policy(ctx, iam),
             lambda: _authorization(ctx, iam), lambda: _mfa_devices(ctx, iam), lambda: _support_access(ctx, iam)]
    fields: dict[str, Any] = {}
    for result in ctx.map(lambda fn: fn(), parts):
        fields.update(result)
    return IamSection(**fields)


def _credential_report(ctx: CollectContext, iam: Any) -> dict[str, Any]:
    if ctx.call(REPORT, iam, "generate_credential_report") is None:
        return {}
    deadline = time.monotonic() + _REPORT_DEADLINE_SECONDS
    while True:
        last_try = time.monotonic() >= deadline
        # Until the deadline, "not ready yet" is expected; on the last try it becomes a gap.
        resp = ctx.call(REPORT, iam, "get_credential_report", absent=() if last_try else _REPORT_NOT_READY)
        if resp is None:
            return {}
        if resp is not NOT_FOUND:
            break
        time.sleep(_REPORT_POLL_SECONDS)
    try:
        rows = parse_credential_report(resp["Content"])
    except CredentialReportError as exc:
        ctx.gap_for(REPORT, exc)
        return {}
    return {"credential_report": rows, "credential_report_generated": _utc(resp.get("GeneratedTime"))}


def _summary(ctx: CollectContext, iam: Any) -> dict[str, Any]:
    resp = ctx.call(SUMMARY, iam, "get_account_summary")
    return {} if resp is None else {"account_summary": {k: int(v) for k, v in resp["SummaryMap"].items()}}


def _password_policy(ctx: CollectContext, iam: Any) -> dict[str, Any]:
    resp = ctx.call(PASSWORD_POLICY, iam, "get_account_password_policy", absent=("NoSuchEntity",))
    if resp is None:
        return {}
    if resp is NOT_FOUND:
        return {"password_policy": PasswordPolicy(exists=False)}
    p = resp["PasswordPolicy"]
    return {"password_policy": PasswordPolicy(
        exists=True, minimum_length=p.get("MinimumPasswordLength"), reuse_prevention=p.get("PasswordReusePrevention"),
        max_age_days=p.get("MaxPasswordAge"), require_uppercase=bool(p.get("RequireUppercaseCharacters")),
        require_lowercase=bool(p.get("RequireLowercaseCharacters")), require_numbers=bool(p.get("RequireNumbers")),
        require_symbols=bool(p.get("RequireSymbols")), allow_users_to_change=bool(p.get("AllowUsersToChangePassword")),
        hard_expiry=bool(p.get("HardExpiry")))}


def _attached(raw: dict[str, Any]) -> list[AttachedPolicy]:
    return sorted((AttachedPolicy(name=a["PolicyName"], arn=a["PolicyArn"])
                   for a in raw.get("AttachedManagedPolicies", [])), key=lambda a: a.arn)


def _inline(raw: dict[str, Any], key: str) -> list[InlinePolicy]:
    return sorted((InlinePolicy(name=p["PolicyName"], document=parse_document(p.get("PolicyDocument")))
                   for p in raw.get(key, [])), key=lambda p: p.name)


def _authorization(ctx: CollectContext, iam: Any) -> dict[str, Any]:
    got = ctx.paginate_many(AUTHORIZATION, iam, "get_account_authorization_details",
                            ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"))
    if got is None:
        return {}
    common = {"account_id": ctx.account_id}
    users = [IamUser(arn=u["Arn"], id=u["UserName"], name=u["UserName"], path=u.get("Path", "/"),
                     create_date=_utc(u.get("CreateDate")), groups=sorted(u.get("GroupList", [])),
                     attached_policies=_attached(u), inline_policies=_inline(u, "UserPolicyList"), **common)
             for u in got["UserDetailList"]]
    groups = [IamGroup(arn=g["Arn"], id=g["GroupName"], name=g["GroupName"], path=g.get("Path", "/"),
                       attached_policies=_attached(g), inline_policies=_inline(g, "GroupPolicyList"), **common)
              for g in got["GroupDetailList"]]
    roles = [IamRole(arn=r["Arn"], id=r["RoleName"], name=r["RoleName"], path=r.get("Path", "/"),
                     create_date=_utc(r.get("CreateDate")),
                     trust_policy=parse_document(r.get("AssumeRolePolicyDocument")),
                     attached_policies=_attached(r), inline_policies=_inline(r, "RolePolicyList"), **common)
             for r in got["RoleDetailList"]]
    in_use = {a.arn: a.name for p in (*users, *groups, *roles) for a in p.attached_policies}
    policies: dict[str, ManagedPolicy] = {}
    for raw in got["Policies"]:
        arn = raw["Arn"]
        aws_managed = _is_aws_managed(arn)
        if aws_managed and arn not in in_use:
            continue  # ~1,500 unattached AWS-managed policies say nothing about this account
        default = next((v for v in raw.get("PolicyVersionList", []) if v.get("IsDefaultVersion")), None)
        policies[arn] = ManagedPolicy(
            arn=arn, id=arn.rsplit("/", 1)[-1], name=raw.get("PolicyName") or arn.rsplit("/", 1)[-1],
            aws_managed=aws_managed, default_version=raw.get("DefaultVersionId", ""),
            document=parse_document(default["Document"]) if default else None, **common)
    for arn, name in in_use.items():  # attached but not returned: keep it visible, document unknown
        policies.setdefault(arn, ManagedPolicy(arn=arn, id=name, name=name, aws_managed=_is_aws_managed(arn),
                                               **common))
    return {"users": sorted(users, key=lambda u: u.name), "groups": sorted(groups, key=lambda g: g.name),
            "roles": sorted(roles, key=lambda r: r.name), "policies": sorted(policies.values(), key=lambda p: p.arn)}


def _mfa_devices(ctx: CollectContext, iam: Any) -> dict[str, Any]:
    listed = ctx.paginate(MFA_DEVICES, iam, "list_virtual_mfa_devices", "VirtualMFADevices",
                          AssignmentStatus="Assigned")
    if listed is None:
        return {}
    devices = [VirtualMfaDevice(serial=d["SerialNumber"], user_arn=(d.get("User") or {}).get("Arn"),
                                user_name=(d.get("User") or {}).get("UserName"), enable_date=_utc(d.get("EnableDate")))
               for d in listed]
    return {"virtual_mfa_devices": sorted(devices, key=lambda d: d.serial)}


def _support_access(ctx: CollectContext, iam: Any) -> dict[str, Any]:
    arn = f"arn:{ctx.partition}:iam::aws:policy/{SUPPORT_POLICY}"
    # NoSuchEntity: the policy does not exist here (only in emulators), so nobody can hold it.
    got = ctx.paginate_many(POLICY_ENTITIES, iam, "list_entities_for_policy",
                            ("PolicyUsers", "PolicyGroups", "PolicyRoles"), absent=("NoSuchEntity",), PolicyArn=arn)
    if got is None:
        return {}
    return {"support_access": PolicyEntities(
        policy_arn=arn, users=sorted(u["UserName"] for u in got["PolicyUsers"]),
        groups=sorted(g["GroupName"] for g in got["PolicyGroups"]),
        roles=sorted(r["RoleName"] for r in got["PolicyRoles"]))}


def _is_aws_managed(arn: str) -> bool:
    return arn.split(":")[4:5] == ["aws"]


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(timezone.utc) if isinstance(value, datetime) else None

