"""IAM roles: who their trust policies admit (other accounts, MFA), how long their sessions last, and whether
IAM groups hand out roles rather than permissions. Trust policies are read with auditor.policy only."""
from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

from auditor.collectors.iam import AUTHORIZATION, IamRole
from auditor.collectors.iam_roles import ROLE_SESSIONS
from auditor.collectors.organizations import ORG, TREE
from auditor.collectors.sso import INSTANCES, PERMISSION_SETS
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.models import Finding, Status
from auditor.policy import (
    Statement,
    denies_without_mfa,
    grants_full_admin,
    known_actions,
    labelled,
    mfa_requirement,
    on_all_resources,
    principal_account,
    restricting_conditions,
)
from auditor.policy_identity import actions_outside, effective_policies, role_or_self_service
from auditor.registry import check
from checks.iam_policies import group_members, named

ASSUME = "sts:AssumeRole"
ORG_KEYS = ("aws:PrincipalOrgID", "aws:PrincipalOrgPaths", "aws:PrincipalAccount", "aws:PrincipalArn")
EXTERNAL_ID = "sts:ExternalId"
_NAMING_KEYS = ("aws:principalaccount", "aws:principalarn")  # conditions whose values name accounts
_IAM_READS = ("Get", "List", "Generate", "Simulate")


def aws_trusts(trust: dict[str, Any]) -> list[tuple[str, Statement]]:
    """Allow statements letting an AWS principal (account, user, role, '*') call sts:AssumeRole."""
    return [(label, s) for label, s in labelled(trust) if s.allows and s.matches_action(ASSUME) and s.aws_principals()]


@cache
def iam_writes() -> tuple[str, ...]:
    return tuple(sorted(a for a in known_actions("iam") or () if not a.split(":", 1)[1].startswith(_IAM_READS)
                        and a != "iam:PassRole"))


def privileged(inv: Inventory, role: IamRole, cfg: AuditConfig) -> list[str] | None:
    """Why a role is privileged (empty: it is not), or None when its policies could not all be read."""
    why = ["listed in config privileged_roles"] if named(role, cfg.privileged_roles) else []
    pol = effective_policies(role, [], inv.iam.policies or [])
    allows = [s.statement for s in pol.allows()]
    if any(grants_full_admin(s) or "*" in s.actions or (s.not_actions and on_all_resources(s)) for s in allows):
        return [*why, "administrator ('*' actions)"]
    writes = sorted({a for s in allows for a in iam_writes() if s.matches_action(a)})
    if writes:
        why.append(f"IAM write ({', '.join(writes[:3])}{', ...' if len(writes) > 3 else ''})")
    return None if pol.unreadable and not why else why


@check("iam.role-trust-requires-mfa", needs=(AUTHORIZATION,))
def role_trust_requires_mfa(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """A privileged or cross-account role assumable without MFA turns one leaked access key into that role."""
    for role in inv.iam.roles or []:
        trusts = aws_trusts(role.trust_policy)
        # sts:ExternalId marks a third party's machine access, which cannot carry MFA: not a human role.
        human = [(label, s) for label, s in trusts if not restricting_conditions(s, (EXTERNAL_ID,))]
        if not human:
            continue
        # None: a deleted principal's unique id, which nobody can use
        accounts = sorted({a for _, s in human for a in map(principal_account, s.aws_principals()) if a})
        cross = [a for a in accounts if a != inv.account_id]
        why = privileged(inv, role, cfg)
        if why is None and not cross:
            yield Finding.with_status(Status.ERROR, role, f"role {role.name}: its permission policies were not all "
                                      "returned: cannot tell whether it is privileged")
            continue
        reasons = [*(why or []), *([f"trusted from {', '.join(cross)}"] if cross else [])]
        if not reasons:
            continue
        guard = [label for label, s in labelled(role.trust_policy)
                 if denies_without_mfa(s, ASSUME) and (s.principal_star or "*" in s.aws_principals())]
        how = {label: mfa_requirement(s) for label, s in human}
        missing = sorted(label for label, kind in how.items() if kind is None)
        lenient = sorted(label for label, kind in how.items() if kind == "BoolIfExists")
        evidence: dict[str, Any] = {"in_scope_because": reasons, "statements": how, "deny_without_mfa": guard,
                                    "trusted_accounts": accounts}
        if missing and not guard:
            yield Finding.failed(role, f"role {role.name} ({'; '.join(reasons)}) can be assumed without MFA "
                                 f"(trust statement {', '.join(missing)})", evidence=evidence)
            continue
        message = f"role {role.name} ({'; '.join(reasons)}) requires MFA to be assumed"
        if lenient and not guard:
            evidence["warning"] = (f"statement {', '.join(lenient)} uses BoolIfExists, which admits callers using "
                                   "long-term access keys without MFA; use Bool")
            message += f"; warning: {evidence['warning']}"
        yield Finding.passed(role, message, evidence=evidence)


def _org_accounts(inv: Inventory) -> tuple[set[str] | None, str]:
    """Accounts of this organization (None: the listing failed), and a note on where the answer came from."""
    org = inv.organizations
    if inv.gaps_for(ORG):
        return None, "the organization could not be read"
    if not org.in_organization or org.organization is None:
        return set(), "not in an organization"
    if inv.gaps_for(TREE):
        return None, "organization accounts could not be read"
    mgmt = {org.organization.management_account_id}
    if TREE in org.denied:
        return mgmt, "organization accounts are not readable from a member account: list them in trusted_accounts"
    return mgmt | {a.id for a in org.accounts}, f"{len(org.accounts)} organization accounts"


# Organization data only settles roles that trust other accounts, so its gaps do not blind the rest.
@check("iam.role-cross-account-trust", needs=(AUTHORIZATION,), optional=(ORG, TREE))
def role_cross_account_trust(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """A trust policy naming '*' or a stranger's account hands the role to whoever controls that account."""
    org_ids, org_note = _org_accounts(inv)
    for role in inv.iam.roles or []:
        problems: list[str] = []
        warnings: list[str] = []
        unresolved: list[str] = []
        for label, s in labelled(role.trust_policy):
            if not s.allows or not s.aws_principals():
                continue
            restricted = restricting_conditions(s, (*ORG_KEYS, EXTERNAL_ID))
            external = restricting_conditions(s, (EXTERNAL_ID,))
            accounts = [principal_account(p) for p in s.aws_principals()]
            if "*" in accounts and restricted:  # '*' narrowed to named accounts: judge those accounts
                accounts += [principal_account(v) for op, kv in s.conditions.items() for k, vals in kv.items()
                             if f"{op}:{k}" in restricted and k.lower() in _NAMING_KEYS for v in vals]
            for acct in sorted(set(accounts), key=str):
                if acct == "*":
                    if not restricted:
                        problems.append(f"statement {label} trusts any AWS account without aws:PrincipalOrgID, "
                                        "aws:PrincipalAccount or sts:ExternalId")
                elif acct is None or acct == inv.account_id or (org_ids is not None and acct in org_ids):
                    continue  # None: a deleted principal's unique id, which no one can use
                elif acct in cfg.trusted_accounts:
                    if not external:
                        warnings.append(f"statement {label} trusts third-party account {acct} without sts:ExternalId")
                elif org_ids is None:
                    unresolved.append(acct)
                else:
                    problems.append(f"statement {label} trusts unknown account {acct}")
        evidence = {"problems": problems, "warnings": warnings, "organization": org_note,
                    "trusted_accounts": cfg.trusted_accounts}
        if problems:
            yield Finding.failed(role, f"role {role.name}: {'; '.join(problems)}", evidence=evidence)
        elif unresolved:
            yield Finding.unreadable(inv.gaps_for(ORG, TREE)[0], role, evidence=evidence,
                                     message=f"role {role.name} trusts {', '.join(unresolved)}, and the "
                                     "organization's accounts could not be read")
        else:
            message = f"role {role.name} trusts only this account, its organization, services or trusted accounts"
            if warnings:
                evidence["warning"] = "; ".join(warnings)
                message += f"; warning: {evidence['warning']}"
            yield Finding.passed(role, message, evidence=evidence)


def human_assumable(trust: dict[str, Any]) -> list[str]:
    """Who outside AWS services may assume a role: AWS principals, and SAML-federated users."""
    found = {p for _, s in aws_trusts(trust) for p in s.aws_principals()}
    found |= {p for _, s in labelled(trust) if s.allows and s.matches_action("sts:AssumeRoleWithSAML")
              for p in s.principals.get("Federated", ()) if ":saml-provider/" in p}
    return sorted(found)


# Identity Center is read per region; its gaps make only that region's permission sets unknown.
@check("iam.role-max-session-duration", needs=(ROLE_SESSIONS,), optional=(INSTANCES, PERMISSION_SETS))
def role_max_session_duration(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """A stolen session lasts as long as the role allows; people rarely need more than a working day."""
    limit = cfg.max_session_seconds
    for role in inv.iam_roles.roles or []:
        who = human_assumable(role.trust_policy)
        if not who:
            continue  # only services assume it
        evidence = {"max_session_seconds": role.max_session_seconds, "limit_seconds": limit, "assumable_by": who}
        if role.max_session_seconds is None:
            yield Finding.with_status(Status.ERROR, role, f"role {role.name}: no MaxSessionDuration returned",
                                      evidence=evidence)
        else:
            hours = role.max_session_seconds / 3600
            yield Finding.of(role, passed=role.max_session_seconds <= limit, evidence=evidence,
                             message=f"role {role.name} allows {hours:g} h sessions (limit {limit / 3600:g} h)")
    for gap in inv.gaps_for(INSTANCES, PERMISSION_SETS):
        where = inv.setting("sso", "permission-sets", gap.region)
        yield Finding.unreadable(gap, where, f"Identity Center permission sets in {gap.region} could not be read: "
                                 f"{gap.describe()}")
    for ps in inv.sso.permission_sets:
        if not ps.described:
            continue  # its gap is reported above
        evidence = {"session_duration": ps.session_duration, "limit_seconds": limit, "instance": ps.instance_arn}
        if ps.session_seconds is None:
            yield Finding.with_status(Status.ERROR, ps, f"permission set {ps.name}: session duration "
                                      f"{ps.session_duration!r} is not understood", evidence=evidence)
        else:
            yield Finding.of(ps, passed=ps.session_seconds <= limit, evidence=evidence,
                             message=f"permission set {ps.name} allows {ps.session_seconds / 3600:g} h sessions "
                             f"(limit {limit / 3600:g} h)")


def admits_account_users(role: IamRole, account_id: str) -> bool:
    """The trust admits this account's IAM users: the account itself, one of its users, or anyone ('*')."""
    for _, s in aws_trusts(role.trust_policy):
        for p in s.aws_principals():
            acct = principal_account(p)
            if acct == "*" or (acct == account_id and (":user/" in p or p.endswith(":root") or p == account_id)):
                return True
    return False


@check("iam.group-assume-role-mapping", needs=(AUTHORIZATION,))
def group_assume_role_mapping(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Groups that hand out roles keep permissions on roles, where sessions are short, logged and MFA-gated.

    A group that also grants service permissions directly fails even when it can assume a role: the members
    then use those permissions without the role."""
    members = group_members(inv)
    roles = [r for r in inv.iam.roles or [] if admits_account_users(r, inv.account_id)]
    policies, groups = inv.iam.policies or [], inv.iam.groups or []
    users = {u.name: u for u in inv.iam.users or []}
    for group in groups:
        if not members.get(group.name):
            continue
        pol = effective_policies(group, [], policies)
        if pol.unreadable:
            yield Finding.with_status(Status.ERROR, group, f"group {group.name}: documents of "
                                      f"{', '.join(pol.unreadable)} were not returned", evidence={})
            continue
        allows = [s.statement for s in pol.allows()]
        targets = sorted(r.name for r in roles if any(s.matches_action(ASSUME) and s.matches_resource(r.arn)
                                                       for s in allows))
        direct = sorted({a for s in allows for a in actions_outside(s, role_or_self_service)})
        evidence: dict[str, Any] = {"members": members[group.name], "assumable_roles": targets,
                                    "direct_permissions": direct}
        if targets and not direct:
            yield Finding.passed(group, f"group {group.name} maps to role {', '.join(targets)}", evidence=evidence)
            continue
        also = sorted(m for m in members[group.name] if m in users and any(
            actions_outside(s.statement, role_or_self_service)
            for s in effective_policies(users[m], groups, policies).allows()))
        what = f"grants {', '.join(direct)} directly" if direct else "grants no sts:AssumeRole on an existing role"
        message = f"group {group.name} {what} instead of mapping to an assumable role"
        if also:
            evidence["informational"] = f"iam.user-only-sts already fails for {', '.join(also)}"
            message += f" ({evidence['informational']})"
        yield Finding.failed(group, message, evidence=evidence)
