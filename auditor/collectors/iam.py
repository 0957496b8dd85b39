"""IAM, account-wide: credential report, account summary, password policy, principals with their policies,
server certificates, identity providers and the Organizations-wide root access features.

Datasets are split so that one denied action only blinds the checks that need it. Principals and
policies come from one paginated iam:GetAccountAuthorizationDetails instead of per-user calls.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

from auditor.collectors import NOT_FOUND, CollectContext, collector
from auditor.collectors.iam_models import (  # noqa: F401 - re-exported for checks
    AccessKeyUsage,
    AttachedPolicy,
    IamGroup,
    IamPrincipal,
    IamRole,
    IamSection,
    IamUser,
    IdentityProvider,
    InlinePolicy,
    ManagedPolicy,
    OrganizationsFeatures,
    PasswordPolicy,
    PolicyEntities,
    ServerCertificate,
    VirtualMfaDevice,
)
from auditor.credential_report import CredentialReportError, CredentialRow, parse_credential_report
from auditor.policy import parse_document

REPORT = "iam.credential_report"
SUMMARY = "iam.account_summary"
PASSWORD_POLICY = "iam.password_policy"
AUTHORIZATION = "iam.authorization"
MFA_DEVICES = "iam.mfa_devices"
POLICY_ENTITIES = "iam.policy_entities"
SERVER_CERTIFICATES = "iam.server_certificates"
IDENTITY_PROVIDERS = "iam.identity_providers"
ORG_FEATURES = "iam.organizations_features"
KEY_USAGE = "iam.access_key_usage"

SUPPORT_POLICY = "AWSSupportAccess"
_REPORT_NOT_READY = ("ReportInProgress", "ReportNotPresent")
_REPORT_POLL_SECONDS = 2.0
_REPORT_DEADLINE_SECONDS = 60.0
# ListOrganizationsFeatures answers these to accounts that may not ask or to orgs without the feature: data.
ORG_FEATURE_REFUSALS = ("AccountNotManagementOrDelegatedAdministratorException", "OrganizationNotFoundException",
                        "OrganizationNotInAllFeaturesModeException", "ServiceAccessNotEnabledException",
                        "AccessDenied", "AccessDeniedException")



@collector("iam", section=IamSection, regional=False, datasets={
    REPORT: ("iam:GenerateCredentialReport", "iam:GetCredentialReport"),
    SUMMARY: ("iam:GetAccountSummary",),
    PASSWORD_POLICY: ("iam:GetAccountPasswordPolicy",),
    AUTHORIZATION: ("iam:GetAccountAuthorizationDetails",),
    MFA_DEVICES: ("iam:ListVirtualMFADevices",),
    POLICY_ENTITIES: ("iam:ListEntitiesForPolicy",),
    SERVER_CERTIFICATES: ("iam:ListServerCertificates",),
    IDENTITY_PROVIDERS: ("iam:ListSAMLProviders", "iam:ListOpenIDConnectProviders"),
    ORG_FEATURES: ("iam:ListOrganizationsFeatures",),
    KEY_USAGE: ("iam:ListAccessKeys", "iam:GetAccessKeyLastUsed"),
})
def collect_iam(ctx: CollectContext) -> IamSection:
    iam = ctx.client()
    # Independent reads; the report may need polling, so run them side by side.
    parts = [lambda: _credential_report(ctx, iam), lambda: _summary(ctx, iam), lambda: _password_policy(ctx, iam),
             lambda: _authorization(ctx, iam), lambda: _mfa_devices(ctx, iam), lambda: _support_access(ctx, iam),
             lambda: _server_certificates(ctx, iam), lambda: _identity_providers(ctx, iam),
             lambda: _organizations_features(ctx, iam)]
    fields: dict[str, Any] = {}
    for result in ctx.map(lambda fn: fn(), parts):
        fields.update(result)
    fields.update(_key_usage(ctx, iam, fields.get("credential_report")))
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


def _key_usage(ctx: CollectContext, iam: Any, rows: list[CredentialRow] | None) -> dict[str, Any]:
    """Per-key calls only for users whose report row names no service for a used key (emulators, old keys)."""
    if rows is None:
        return {}
    lacking = [r for r in rows if not r.is_root and (
        (r.access_key_1_active and r.access_key_1_last_used_date and not r.access_key_1_last_used_service)
        or (r.access_key_2_active and r.access_key_2_last_used_date and not r.access_key_2_last_used_service))]

    def per_user(row: CredentialRow) -> list[AccessKeyUsage]:
        keys = ctx.paginate(KEY_USAGE, iam, "list_access_keys", "AccessKeyMetadata", resource_id=row.arn,
                            UserName=row.user) or []  # None: a gap names this user
        out = []
        for key in (k for k in keys if k.get("Status") == "Active"):
            resp = ctx.call(KEY_USAGE, iam, "get_access_key_last_used", resource_id=row.arn,
                            AccessKeyId=key["AccessKeyId"])
            if resp is not None:
                last = resp.get("AccessKeyLastUsed") or {}
                out.append(AccessKeyUsage(
                    user=row.user, key_id=key["AccessKeyId"], created=_utc(key.get("CreateDate")),
                    last_used=_utc(last.get("LastUsedDate")), service=_known(last.get("ServiceName")),
                    region=_known(last.get("Region"))))
        return out

    found = [u for got in ctx.map(per_user, lacking) for u in got]
    return {"access_key_usage": sorted(found, key=lambda u: (u.user, u.key_id))}


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
                     tags={t["Key"]: t.get("Value", "") for t in u.get("Tags", [])},
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


def _server_certificates(ctx: CollectContext, iam: Any) -> dict[str, Any]:
    listed = ctx.paginate(SERVER_CERTIFICATES, iam, "list_server_certificates", "ServerCertificateMetadataList")
    if listed is None:
        return {}
    return {"server_certificates": sorted((ServerCertificate(
        arn=c["Arn"], id=c["ServerCertificateName"], name=c["ServerCertificateName"], path=c.get("Path", "/"),
        upload_date=_utc(c.get("UploadDate")), expiration=_utc(c.get("Expiration")), account_id=ctx.account_id)
        for c in listed), key=lambda c: c.arn)}


def _identity_providers(ctx: CollectContext, iam: Any) -> dict[str, Any]:
    saml = ctx.call(IDENTITY_PROVIDERS, iam, "list_saml_providers")
    oidc = ctx.call(IDENTITY_PROVIDERS, iam, "list_open_id_connect_providers")
    out: dict[str, Any] = {}
    if saml is not None:
        out["saml_providers"] = sorted((IdentityProvider(
            arn=p["Arn"], kind="saml", name=p["Arn"].split(":saml-provider/", 1)[-1],
            valid_until=_utc(p.get("ValidUntil"))) for p in saml.get("SAMLProviderList", [])), key=lambda p: p.arn)
    if oidc is not None:
        out["oidc_providers"] = sorted((IdentityProvider(arn=p["Arn"], kind="oidc",
                                                         name=p["Arn"].split(":oidc-provider/", 1)[-1])
                                        for p in oidc.get("OpenIDConnectProviderList", [])), key=lambda p: p.arn)
    return out


def _organizations_features(ctx: CollectContext, iam: Any) -> dict[str, Any]:
    codes: list[str] = []  # which refusal it was: ctx.call only says "declared absent"

    def features(**params: Any) -> Any:
        try:
            return iam.list_organizations_features(**params)
        except Exception as exc:
            codes.append(str(getattr(exc, "response", {}).get("Error", {}).get("Code", "")))
            raise
    spy = SimpleNamespace(meta=iam.meta, list_organizations_features=features)
    resp = ctx.call(ORG_FEATURES, spy, "list_organizations_features", absent=ORG_FEATURE_REFUSALS)
    if resp is None:
        return {}
    if resp is NOT_FOUND:
        return {"organizations_features": OrganizationsFeatures(refused=codes[-1])}
    return {"organizations_features": OrganizationsFeatures(
        enabled_features=sorted(resp.get("EnabledFeatures", [])), organization_id=resp.get("OrganizationId", ""))}


def _is_aws_managed(arn: str) -> bool:
    return arn.split(":")[4:5] == ["aws"]


def _known(value: str | None) -> str | None:
    return None if value in (None, "", "N/A") else value


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(timezone.utc) if isinstance(value, datetime) else None

