"""IAM policies: no '*:*' administrator grants outside accepted admin roles; a support role exists; no
whole-service wildcards; only admins may rewrite IAM policies or blind CloudTrail; no CloudShell full access."""
from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from functools import cache
from typing import Any

from auditor.collectors.iam import (
    AUTHORIZATION,
    POLICY_ENTITIES,
    IamGroup,
    IamPrincipal,
    IamRole,
    IamUser,
    ManagedPolicy,
)
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.models import Finding, Status
from auditor.policy import (
    Statement,
    denied_outright,
    expand,
    grants_full_admin,
    labelled,
    service_wildcards,
    split_action,
    statements,
)
from auditor.policy_identity import effective_policies
from auditor.registry import check

# Changing who may do what, or blinding the audit trail (iam.admin-only-iam-cloudtrail-write).
ADMIN_WRITE = ("iam:Put*Policy", "iam:Attach*Policy", "iam:CreatePolicy*", "iam:DeletePolicy*",
               "iam:UpdateAssumeRolePolicy", "cloudtrail:StopLogging", "cloudtrail:DeleteTrail",
               "cloudtrail:UpdateTrail", "cloudtrail:PutEventSelectors")
CLOUDSHELL_POLICY = "AWSCloudShellFullAccess"


def _full_admin(document: dict[str, Any]) -> bool:
    return any(grants_full_admin(s) for s in statements(document))


def _accepted(principal: IamPrincipal, cfg: AuditConfig) -> bool:
    """Roles named in config admin_roles (by name or ARN, globs allowed) may hold admin rights."""
    return isinstance(principal, IamRole) and any(
        fnmatch.fnmatchcase(principal.name, p) or fnmatch.fnmatchcase(principal.arn, p) for p in cfg.admin_roles)


def _label(p: IamPrincipal) -> str:
    return f"{p.resource_type.rsplit('::', 1)[-1].lower()} {p.name}"


def _holders(principals: list[IamPrincipal]) -> dict[str, list[IamPrincipal]]:
    """Managed policy ARN -> the principals it is attached to, in `principals` order (one pass, not one per policy:
    484 policies x 1,300 principals took 0.4 s per check)."""
    holding: dict[str, dict[str, IamPrincipal]] = {}
    for p in principals:
        for attached in p.attached_policies:
            holding.setdefault(attached.arn, {}).setdefault(p.arn, p)
    return {arn: list(by_principal.values()) for arn, by_principal in holding.items()}


def _principals(inv: Inventory) -> list[IamPrincipal]:
    return [*(inv.iam.users or []), *(inv.iam.groups or []), *(inv.iam.roles or [])]


def _managed(policy: ManagedPolicy, holders: list[IamPrincipal], cfg: AuditConfig) -> Finding:
    kind = "AWS-managed" if policy.aws_managed else "customer-managed"
    names = [_label(h) for h in holders]
    evidence: dict[str, Any] = {"policy_type": kind, "attached_to": names, "default_version": policy.default_version}
    if policy.document is None:
        return Finding.with_status(Status.ERROR, policy, f"{kind} policy {policy.name} is attached but its document "
                                   "was not returned: cannot tell whether it grants '*:*'", evidence=evidence)
    admin = _full_admin(policy.document)
    evidence["grants_full_admin"] = admin
    if not holders:  # only reached for admin policies: informational, nothing holds it
        return Finding.with_status(Status.NOT_APPLICABLE, policy, f"{kind} policy {policy.name} grants '*:*' but is "
                                   "not attached to anything (informational: delete it if unused)", evidence=evidence)
    if not admin:
        return Finding.passed(policy, f"{kind} policy {policy.name} does not grant '*:*'", evidence=evidence)
    offenders = [_label(h) for h in holders if not _accepted(h, cfg)]
    accepted = [_label(h) for h in holders if _accepted(h, cfg)]
    evidence.update(offenders=offenders, accepted=accepted)
    if offenders:
        return Finding.failed(policy, f"{kind} policy {policy.name} grants '*:*' and is attached to "
                              f"{', '.join(offenders)}", evidence=evidence)
    return Finding.passed(policy, f"{kind} policy {policy.name} grants '*:*' only to accepted admin roles "
                          f"({', '.join(accepted)})", evidence=evidence)


@check("iam.policy-no-full-admin", needs=(AUTHORIZATION,))
def policy_no_full_admin(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Full '*:*' rights make every credential that holds them an account-takeover credential."""
    principals = _principals(inv)
    holding = _holders(principals)
    for policy in inv.iam.policies or []:
        holders = holding.get(policy.arn, [])
        if holders or (policy.document is not None and _full_admin(policy.document)):
            yield _managed(policy, holders, cfg)
    for principal in principals:
        for inline in principal.inline_policies:
            sub = f"inline/{inline.name}"
            admin = _full_admin(inline.document)
            evidence = {"policy_type": "inline", "policy_name": inline.name, "grants_full_admin": admin}
            where = f"inline policy {inline.name} of {_label(principal)}"
            if not admin:
                yield Finding.passed(principal, f"{where} does not grant '*:*'", evidence=evidence, subkey=sub)
            elif _accepted(principal, cfg):
                yield Finding.passed(principal, f"{where} grants '*:*' (accepted admin role)",
                                     evidence={**evidence, "accepted": True}, subkey=sub)
            else:
                yield Finding.failed(principal, f"{where} grants '*:*'", evidence=evidence, subkey=sub)


@check("iam.support-role", needs=(POLICY_ENTITIES,))
def support_role(inv: Inventory) -> Iterator[Finding]:
    """During an incident someone must be able to open AWS Support cases without using root."""
    held = inv.iam.support_access
    if held is None:
        return
    evidence = {"policy_arn": held.policy_arn, "roles": held.roles, "users": held.users, "groups": held.groups}
    if held.roles:
        yield Finding.passed(inv.account(), f"AWSSupportAccess is attached to role {', '.join(held.roles)}",
                             evidence=evidence)
    else:
        others = [*(f"user {u}" for u in held.users), *(f"group {g}" for g in held.groups)]
        extra = f" (only to {', '.join(others)}; CIS expects a role)" if others else ""
        yield Finding.failed(inv.account(), f"no role has AWSSupportAccess{extra}: create a support role",
                             evidence=evidence)


def group_members(inv: Inventory) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for user in inv.iam.users or []:
        for group in user.groups:
            out.setdefault(group, []).append(user.name)
    return out


def _kind(policy: ManagedPolicy) -> str:
    return "AWS-managed" if policy.aws_managed else "customer-managed"


def _wildcards(resource: Any, where: str, document: dict[str, Any], cfg: AuditConfig, evidence: dict[str, Any],
               subkey: str) -> Iterator[Finding]:
    bad = [(label, st, service_wildcards(st, cfg.sensitive_services)) for label, st in labelled(document)]
    bad = [(label, st, found) for label, st, found in bad if found]
    for label, st, found in bad:
        services = sorted({"*" if f.startswith("NotAction") else split_action(f)[0] for f in found})
        what = found[0].replace("NotAction ", "every action except ") if st.not_actions else ", ".join(found)
        ev = {**evidence, "statement": label, "actions": found, "services": services,
              "resources": list(st.resources) or [f"NotResource {r}" for r in st.not_resources],
              "conditions": sorted(f"{op}:{k}" for op, kv in st.conditions.items() for k in kv)}
        yield Finding.failed(resource, f"{where} statement {label} allows {what} on all resources",
                             evidence=ev, subkey=f"{subkey}/{label}" if subkey else label)
    if not bad:
        admin = " ('*:*' is judged by iam.policy-no-full-admin)" if _full_admin(document) else ""
        yield Finding.passed(resource, f"{where} grants no whole-service wildcard on all resources{admin}",
                             evidence={**evidence, "sensitive_services": cfg.sensitive_services}, subkey=subkey)


@check("iam.policy-no-service-wildcard", needs=(AUTHORIZATION,))
def policy_no_service_wildcard(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """'s3:*' on '*' hands every present and future action of a service to whoever holds the policy."""
    principals, members = _principals(inv), group_members(inv)
    holding = _holders(principals)
    for policy in inv.iam.policies or []:
        holders = holding.get(policy.arn, [])
        if policy.aws_managed:  # AWS's job-function policies are judged only where they reach people
            holders = [h for h in holders
                       if isinstance(h, IamUser) or (isinstance(h, IamGroup) and members.get(h.name))]
            if not holders:
                continue
        evidence = {"policy_type": _kind(policy), "attached_to": [_label(h) for h in holders],
                    "default_version": policy.default_version}
        where = f"{_kind(policy)} policy {policy.name}" + ("" if holders else " (attached to nothing)")
        if policy.document is None:
            yield Finding.with_status(Status.ERROR, policy, f"{where}: its document was not returned",
                                      evidence=evidence)
            continue
        yield from _wildcards(policy, where, policy.document, cfg, evidence, "")
    for principal in principals:
        for inline in principal.inline_policies:
            yield from _wildcards(principal, f"inline policy {inline.name} of {_label(principal)}", inline.document,
                                  cfg, {"policy_type": "inline", "policy_name": inline.name}, f"inline/{inline.name}")


def named(principal: IamPrincipal, patterns: list[str]) -> bool:
    """Config lists name principals by name or ARN, globs allowed."""
    return any(fnmatch.fnmatchcase(principal.name, p) or fnmatch.fnmatchcase(principal.arn, p) for p in patterns)


def service_linked(role: IamPrincipal) -> bool:
    return isinstance(role, IamRole) and role.path.startswith("/aws-service-role/")


@cache
def admin_write_actions() -> tuple[str, ...]:
    return tuple(sorted({a for p in ADMIN_WRITE for a in (expand(p) or {p})}))


def granted(allows: list[tuple[Statement, str]], denies: list[Statement],
            actions: tuple[str, ...]) -> dict[str, list[str]]:
    """action -> sources of the Allows that grant it, for the actions no unconditional Deny takes away."""
    out: dict[str, list[str]] = {}
    for action in actions:
        if any(denied_outright(d, action) for d in denies):
            continue
        sources = sorted({src for st, src in allows if st.matches_action(action)})
        if sources:
            out[action] = sources
    return out


@check("iam.admin-only-iam-cloudtrail-write", needs=(AUTHORIZATION,))
def admin_only_iam_cloudtrail_write(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Whoever can attach a policy can make themselves admin; whoever can stop CloudTrail can hide it."""
    groups, policies = inv.iam.groups or [], inv.iam.policies or []
    by_name = {g.name: g for g in groups}
    for principal in _principals(inv):
        if service_linked(principal):
            continue  # AWS owns these roles and their policies
        pol = effective_policies(principal, groups, policies)
        if pol.unreadable:
            yield Finding.with_status(Status.ERROR, principal, f"{_label(principal)}: documents of "
                                      f"{', '.join(pol.unreadable)} were not returned: cannot judge its permissions",
                                      evidence={"unreadable": list(pol.unreadable)})
            continue
        got = granted([(s.statement, s.source) for s in pol.allows()], [s.statement for s in pol.denies()],
                      admin_write_actions())
        accepted = named(principal, cfg.admin_principals) or _accepted(principal, cfg) or (
            isinstance(principal, IamUser)  # a member of an admin group is an admin
            and any(g in by_name and named(by_name[g], cfg.admin_principals) for g in principal.groups))
        evidence = {"actions": got, "admin_principal": accepted}
        if not got:
            yield Finding.passed(principal, f"{_label(principal)} cannot change IAM policies or stop/alter CloudTrail",
                                 evidence=evidence)
        elif accepted:
            yield Finding.passed(principal, f"{_label(principal)} may change IAM policies or CloudTrail "
                                 "(configured admin principal)", evidence=evidence)
        else:
            sources = sorted({src for srcs in got.values() for src in srcs})
            yield Finding.failed(principal, f"{_label(principal)} is not an admin principal but may "
                                 f"{', '.join(sorted(got))} (via {'; '.join(sources)})", evidence=evidence)


@check("iam.cloudshell-full-access-restricted", needs=(AUTHORIZATION,))
def cloudshell_full_access_restricted(inv: Inventory) -> Iterator[Finding]:
    """CloudShell full access gives a shell with the holder's credentials and file transfer in and out."""
    if inv.iam.users is None or inv.iam.groups is None or inv.iam.roles is None:
        return
    arn = f"arn:{inv.partition}:iam::aws:policy/{CLOUDSHELL_POLICY}"
    holders = [p for p in _principals(inv) if any(a.arn == arn for a in p.attached_policies)]
    for holder in holders:
        yield Finding.failed(holder, f"{_label(holder)} has {CLOUDSHELL_POLICY} attached: restrict CloudShell "
                             "(file upload/download, a shell with its permissions)", evidence={"policy_arn": arn})
    if not holders:
        yield Finding.passed(inv.setting("iam", "cloudshell-full-access"), f"no user, group or role has "
                             f"{CLOUDSHELL_POLICY} attached", evidence={"policy_arn": arn})
