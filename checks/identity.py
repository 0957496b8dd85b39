"""How people reach the account: federation, few console users, and IAM users that can only assume roles
(with MFA enforced for their access keys)."""
from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from typing import Any

from auditor.collectors.iam import AUTHORIZATION, IDENTITY_PROVIDERS, REPORT, IamUser
from auditor.collectors.sso import INSTANCES, PERMISSION_SETS
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.models import Finding, Status
from auditor.policy_identity import (
    EffectivePolicies,
    actions_outside,
    denies_without_mfa,
    effective_policies,
    requires_mfa,
    role_or_self_service,
)
from auditor.registry import check
from checks.iam_users import service_identity

FEDERATION_NEEDS = (INSTANCES, PERMISSION_SETS, IDENTITY_PROVIDERS)


def federation(inv: Inventory, cfg: AuditConfig) -> tuple[bool, dict[str, Any]] | None:
    """(configured, evidence), or None when the identity providers could not be read (a gap explains it)."""
    saml, oidc = inv.iam.saml_providers, inv.iam.oidc_providers
    if saml is None or oidc is None:
        return None
    active = [i for i in inv.sso.instances if i.status == "ACTIVE"]
    sets = {i.arn: [p.name or p.id for p in inv.sso.permission_sets if p.instance_arn == i.arn] for i in active}
    evidence: dict[str, Any] = {
        "identity_center": [{"instance": i.arn, "region": i.region, "permission_sets": sorted(sets[i.arn])}
                            for i in active],
        "saml_providers": [p.name for p in saml], "oidc_providers": [p.name for p in oidc],
        "oidc_counts_as_human": cfg.federation_counts_oidc, "regions_searched": inv.regions}
    configured = any(sets.values()) or bool(saml) or (cfg.federation_counts_oidc and bool(oidc))
    return configured, evidence


# A SAML provider proves federation even when Identity Center is unreadable, so SSO data is optional here.
@check("identity.federation-configured", needs=(IDENTITY_PROVIDERS,), optional=(INSTANCES, PERMISSION_SETS))
def federation_configured(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """People should sign in through one identity provider, not as IAM users with their own passwords."""
    got = federation(inv, cfg)
    if got is None:
        return
    configured, evidence = got
    ways = [f"IAM Identity Center ({', '.join(e['permission_sets'])} in {e['region']})"
            for e in evidence["identity_center"] if e["permission_sets"]]
    ways += [f"SAML provider {name}" for name in evidence["saml_providers"]]
    if cfg.federation_counts_oidc:
        ways += [f"OIDC provider {name}" for name in evidence["oidc_providers"]]
    if configured:
        yield Finding.passed(inv.account(), f"human access is federated: {'; '.join(ways)}", evidence=evidence)
        return
    sso_gaps = inv.gaps_for(INSTANCES, PERMISSION_SETS)
    if sso_gaps:  # no proof found, but Identity Center might hold it
        yield Finding.unreadable(sso_gaps[0], inv.account(), evidence=evidence,
                                 message=f"no SAML provider, and Identity Center could not be read: "
                                 f"{sso_gaps[0].describe()}")
        return
    note = ""
    if evidence["oidc_providers"]:
        note = (f" (OIDC provider(s) {', '.join(evidence['oidc_providers'])} not counted: usually CI; set "
                "federation_counts_oidc if they sign in people)")
    elif evidence["identity_center"]:
        note = " (an Identity Center instance exists but has no permission set)"
    yield Finding.failed(inv.account(), "no IAM Identity Center permission set and no SAML provider in the scanned "
                         f"regions{note}: federate human access", evidence=evidence)


@check("iam.console-users-limited", needs=(REPORT, *FEDERATION_NEEDS))
def console_users_limited(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Every console password is a phishable credential; with federation only break-glass users need one."""
    got = federation(inv, cfg)
    if inv.iam.credential_report is None or got is None:
        return
    federated, fed_evidence = got
    console = sorted(r.user for r in inv.iam.user_rows() if r.password_enabled)
    extra = [u for u in console if not any(fnmatch.fnmatchcase(u, p) for p in cfg.break_glass_users)] \
        if federated else []
    evidence = {"console_users": console, "max_console_users": cfg.max_console_users, "federated": federated,
                "break_glass_users": cfg.break_glass_users, "not_break_glass": extra,
                "saml_providers": fed_evidence["saml_providers"]}
    ref = inv.setting("iam", "console-users")
    problems = []
    if len(console) > cfg.max_console_users:
        problems.append(f"{len(console)} IAM users have console passwords (limit {cfg.max_console_users})")
    if extra:
        problems.append(f"access is federated, yet {', '.join(extra)} keep console passwords without being "
                        "break-glass users")
    if problems:
        yield Finding.failed(ref, "; ".join(problems), evidence=evidence)
    else:
        yield Finding.passed(ref, f"{len(console)} IAM user(s) with a console password"
                             + (" (all break-glass)" if federated and console else ""), evidence=evidence)


def _policies(inv: Inventory, user: IamUser) -> EffectivePolicies:
    return effective_policies(user, inv.iam.groups or [], inv.iam.policies or [])


def _unreadable(user: IamUser, pol: EffectivePolicies) -> Finding:
    return Finding.with_status(Status.ERROR, user, f"user {user.name}: documents of {', '.join(pol.unreadable)} "
                               "were not returned: cannot judge its permissions",
                               evidence={"unreadable": list(pol.unreadable)})


@check("iam.user-only-sts", needs=(AUTHORIZATION,))
def user_only_sts(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """IAM users that can only assume roles keep permissions on roles, where sessions are short and logged."""
    for user in inv.iam.users or []:
        if service_identity(user, cfg):
            yield Finding.with_status(Status.NOT_APPLICABLE, user, f"user {user.name} is tagged as a workload "
                                      f"identity ({cfg.exempt_user_tag}): exempt", evidence={"tags": user.tags})
            continue
        pol = _policies(inv, user)
        if pol.unreadable:
            yield _unreadable(user, pol)
            continue
        beyond: dict[str, list[str]] = {}
        for s in pol.allows():
            outside = actions_outside(s.statement, role_or_self_service)
            if outside:
                beyond.setdefault(s.source, []).extend(outside)
        evidence = {"beyond_role_assumption": beyond, "groups": user.groups}
        if beyond:
            listed = "; ".join(f"{src}: {', '.join(acts)}" for src, acts in sorted(beyond.items()))
            yield Finding.failed(user, f"user {user.name} is allowed more than assuming roles ({listed})",
                                 evidence=evidence)
        else:
            what = "can only assume roles and manage its own credentials" if pol.allows() else "has no Allow statement"
            yield Finding.passed(user, f"user {user.name} {what}", evidence=evidence)


@check("iam.mfa-enforced-for-cli", needs=(REPORT, AUTHORIZATION))
def mfa_enforced_for_cli(inv: Inventory) -> Iterator[Finding]:
    """A leaked access key must be useless without the owner's MFA device."""
    users = {u.name: u for u in inv.iam.users or []}
    for row in inv.iam.user_rows():
        user = users.get(row.user)
        if not row.active_keys() or user is None:
            continue  # no keys, or deleted since the report was generated
        pol = _policies(inv, user)
        if pol.unreadable:
            yield _unreadable(user, pol)
            continue
        guards = [s.source for s in pol.denies() if denies_without_mfa(s.statement)]
        open_allows = sorted({s.source for s in pol.allows() if not requires_mfa(s.statement)})
        evidence = {"deny_without_mfa": guards, "allows_without_mfa": open_allows,
                    "active_keys": [slot for slot, _, _ in row.active_keys()]}
        if guards:
            yield Finding.passed(user, f"user {user.name}: {guards[0]} denies every request without MFA",
                                 evidence=evidence)
        elif not open_allows:
            what = "every Allow requires MFA" if pol.allows() else "no Allow statement at all"
            yield Finding.passed(user, f"user {user.name}: {what}", evidence=evidence)
        else:
            yield Finding.failed(user, f"user {user.name} has access keys usable without MFA (allowed by "
                                 f"{', '.join(open_allows)}): attach a Deny-without-MFA policy", evidence=evidence)
