"""IAM policies: no '*:*' administrator grants outside accepted admin roles; a support role exists."""
from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from typing import Any

from auditor.collectors.iam import AUTHORIZATION, POLICY_ENTITIES, IamPrincipal, IamRole, ManagedPolicy
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.models import Finding, Status
from auditor.policy import grants_full_admin, statements
from auditor.registry import check


def _full_admin(document: dict[str, Any]) -> bool:
    return any(grants_full_admin(s) for s in statements(document))


def _accepted(principal: IamPrincipal, cfg: AuditConfig) -> bool:
    """Roles named in config admin_roles (by name or ARN, globs allowed) may hold admin rights."""
    return isinstance(principal, IamRole) and any(
        fnmatch.fnmatchcase(principal.name, p) or fnmatch.fnmatchcase(principal.arn, p) for p in cfg.admin_roles)


def _label(p: IamPrincipal) -> str:
    return f"{p.resource_type.rsplit('::', 1)[-1].lower()} {p.name}"


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
    for policy in inv.iam.policies or []:
        holders = [p for p in principals if any(a.arn == policy.arn for a in p.attached_policies)]
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
