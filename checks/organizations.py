"""AWS Organizations: membership, the OU tree, SCP guardrails, tag policies and delegated administration.

Everything but membership needs the management account or a delegated administrator: from a member account
that is refused, or outside any organization, these checks are NOT_APPLICABLE with the reason, never FAIL.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from auditor import scp
from auditor.collectors.organizations import DELEGATION, ORG, POLICIES, SCP, TAG_POLICY, TREE
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.models import Finding, Status
from auditor.policy import Statement
from auditor.registry import check

_SCP_NEEDS = (ORG, TREE, POLICIES)
SECURITY_ACTIONS = {
    "cloudtrail": ("cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "cloudtrail:UpdateTrail"),
    "config": ("config:StopConfigurationRecorder", "config:DeleteConfigurationRecorder",
               "config:DeleteDeliveryChannel"),
    "guardduty": ("guardduty:DeleteDetector", "guardduty:DisassociateFromAdministratorAccount",
                  "guardduty:UpdateDetector"),
    "securityhub": ("securityhub:DisableSecurityHub",),
}


@check("org.account-in-organization", needs=(ORG,))
def account_in_organization(inv: Inventory) -> Iterator[Finding]:
    """Organizations brings SCPs, central logging and account separation; a lone account has none of it."""
    org = inv.organizations
    if org.in_organization is None:
        return
    if not org.in_organization or org.organization is None:
        yield Finding.failed(inv.account(), f"account {inv.account_id} is not part of an AWS Organization")
        return
    o = org.organization
    ev: dict[str, Any] = {"organization_id": o.id, "management_account_id": o.management_account_id,
                          "feature_set": o.feature_set, "caller_is_management": org.caller_is_management}
    msg = f"account {inv.account_id} belongs to {o.id} (management account {o.management_account_id})"
    if o.feature_set != "ALL":
        ev["warning"] = f"feature set is {o.feature_set or 'unknown'}, not ALL: SCPs and tag policies are unavailable"
        msg += f"; warning: {ev['warning']}"
    yield Finding.passed(inv.account(), msg, evidence=ev)


@check("org.scps-attached", needs=_SCP_NEEDS)
def scps_attached(inv: Inventory) -> Iterator[Finding]:
    """Only FullAWSAccess in effect means no guardrail at all for that account."""
    custom = {p.name: [t.target_id for t in p.targets or []] for p in inv.organizations.policies
              if p.type == "RESOURCE_CONTROL_POLICY" and not p.aws_managed}
    yield from scp.guardrail(inv, {"custom SCP": lambda p, _a: not p.aws_managed},
                             "other than FullAWSAccess is in effect", evidence={"resource_control_policies": custom})


@check("org.scps-on-ous", needs=_SCP_NEEDS)
def scps_on_ous(inv: Inventory) -> Iterator[Finding]:
    """SCPs attached account by account drift; attach them to OUs or the root."""
    early = scp.blocked(inv, POLICIES)
    if early is not None:
        yield from early
        return
    for p in inv.organizations.policies:
        if p.type != SCP or p.aws_managed or p.targets is None:
            continue  # unreadable targets: the gap names this policy
        direct = [t.name or t.target_id for t in p.targets if t.type == "ACCOUNT"]
        ev: dict[str, Any] = {"targets": [f"{t.type}:{t.name or t.target_id}" for t in p.targets]}
        if direct:
            ev["warning"] = f"attached directly to account(s) {', '.join(direct)}"
            yield Finding.passed(p, f"SCP {p.name}: warning: {ev['warning']}; attach it to an OU instead", evidence=ev)
        else:
            yield Finding.passed(p, f"SCP {p.name} is attached only to the root or OUs" if p.targets
                                 else f"SCP {p.name} is not attached to anything", evidence=ev)


@check("org.scp-deny-root", needs=_SCP_NEEDS)
def scp_deny_root(inv: Inventory) -> Iterator[Finding]:
    """Member accounts' root users should be unusable; an SCP denying aws:PrincipalArn root does that."""
    part = inv.partition
    root = scp.statement_test(lambda s, a: scp.denies_principal(s, f"arn:{part}:iam::{a.id}:root"))
    yield from scp.guardrail(inv, {"deny root": root}, "denies actions to the root user")


@check("org.scp-deny-leave", needs=_SCP_NEEDS)
def scp_deny_leave(inv: Inventory) -> Iterator[Finding]:
    """An account that leaves the organization leaves every guardrail with it."""
    yield from scp.guardrail(inv, scp.action_guardrails(["organizations:LeaveOrganization"]),
                             "denies organizations:LeaveOrganization")


@check("org.scp-deny-iam-users", needs=_SCP_NEEDS)
def scp_deny_iam_users(inv: Inventory) -> Iterator[Finding]:
    """Long-lived IAM users and keys should not appear in member accounts (federate humans instead)."""
    login = scp.evaluate(inv.organizations, scp.action_guardrails(["iam:CreateLoginProfile"])).unmet
    ev = {"warning": f"iam:CreateLoginProfile is not denied for {', '.join(login)}"} if login else {}
    yield from scp.guardrail(inv, scp.action_guardrails(["iam:CreateUser", "iam:CreateAccessKey"]),
                             "denies iam:CreateUser and iam:CreateAccessKey", evidence=ev)


def _bucket_level(s: Statement, _a: object) -> bool:
    return scp.denies(s, "s3:PutBucketPublicAccessBlock") or (
        s.effect == "Deny" and any(s.matches_action(a) for a in ("s3:PutBucketPolicy", "s3:PutBucketAcl",
                                                                  "s3:PutObjectAcl")))


@check("org.scp-protect-s3-public-access-block", needs=_SCP_NEEDS)
def scp_protect_s3_pab(inv: Inventory) -> Iterator[Finding]:
    """Block Public Access only protects if accounts cannot switch it off."""
    rails = {**scp.action_guardrails(["s3:PutAccountPublicAccessBlock"]),
             "s3:PutBucketPublicAccessBlock (or public bucket policy/ACL)": scp.statement_test(_bucket_level)}
    yield from scp.guardrail(inv, rails, "stops loosening S3 Block Public Access")


@check("org.scp-protect-security-services", needs=_SCP_NEEDS)
def scp_protect_security_services(inv: Inventory) -> Iterator[Finding]:
    """An intruder's first move is switching off CloudTrail, Config, GuardDuty or Security Hub."""
    actions = [a for acts in SECURITY_ACTIONS.values() for a in acts]
    missing = scp.evaluate(inv.organizations, scp.action_guardrails(actions)).unmet
    unprotected = sorted({svc for acts in missing.values() for svc, sa in SECURITY_ACTIONS.items()
                          if set(acts) & set(sa)})
    yield from scp.guardrail(inv, scp.action_guardrails(actions), "protects CloudTrail, Config, GuardDuty and "
                             "Security Hub", evidence={"unprotected_services": unprotected})


@check("org.scp-deny-unused-regions", needs=(*_SCP_NEEDS, "iam.authorization"))
def scp_deny_unused_regions(inv: Inventory) -> Iterator[Finding]:
    """Resources in a region nobody watches are where attackers mine; deny the regions you do not use."""
    org = inv.organizations
    if org.in_organization is False:
        yield scp.iam_region_fallback(inv)
        return
    restriction = {"region restriction": scp.statement_test(lambda s, _a: scp.allowed_regions(s) is not None)}
    regions = sorted({r for p in org.policies if p.type == SCP and p.targets for s in scp.policy_statements(p.content)
                      for r in scp.allowed_regions(s) or []})
    yield from scp.guardrail(inv, restriction, "restricts API calls to allowed regions",
                             evidence={"allowed_regions": regions})


@check("org.guardrail-encryption-and-images", needs=_SCP_NEEDS)
def guardrail_encryption_and_images(inv: Inventory) -> Iterator[Finding]:
    """Guardrails that make unencrypted volumes and unsanctioned AMIs impossible, not just discouraged."""
    def encryption(s: Statement, _a: object) -> bool:
        return scp.denies(s, "ec2:DisableEbsEncryptionByDefault") or scp.denies_when(
            s, ("ec2:CreateVolume", "ec2:RunInstances", "rds:CreateDBInstance", "rds:CreateDBCluster"),
            ("ec2:Encrypted", "rds:StorageEncrypted"))

    def images(s: Statement, _a: object) -> bool:
        return scp.denies_when(s, ("ec2:RunInstances",), ("ec2:Owner", "ec2:ImageID"))

    note = {"ec2_allowed_images": "not evaluated: EC2 Allowed AMIs (ec2:GetAllowedImagesSettings) is not collected"}
    yield from scp.guardrail(inv, {"deny unencrypted storage": scp.statement_test(encryption)},
                             "denies unencrypted storage", subkey="encryption")
    yield from scp.guardrail(inv, {"restrict AMIs": scp.statement_test(images)},
                             "restricts ec2:RunInstances to approved AMIs", evidence=note, subkey="images")


@check("org.tag-policy-attached", needs=_SCP_NEEDS)
def tag_policy_attached(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Tag policies keep the tags that cost, ownership and automation rely on consistent across accounts."""
    early = scp.blocked(inv, TREE, POLICIES)
    if early is not None:
        yield from early
        return
    org = inv.organizations
    o = org.organization
    policies = [p for p in org.policies if p.type == TAG_POLICY and not p.aws_managed]
    attached = [p for p in policies if any(t.type in ("ROOT", "ORGANIZATIONAL_UNIT") for t in p.targets or [])]
    enabled = any(TAG_POLICY in r.enabled_policy_types for r in org.roots)
    ev: dict[str, Any] = {"enabled_policy_types": scp.enabled_types(org), "tag_policies": [p.name for p in policies],
                          "attached_to_root_or_ous": [p.name for p in attached]}
    if not enabled or not attached:
        if enabled and scp.unreadable(org, TAG_POLICY):
            return  # an unreadable tag policy may be the attached one: its gap is reported as ERROR
        why = "tag policies are not enabled on the root" if not enabled else "no tag policy is attached to the " \
            "root or an OU"
        yield Finding.failed(o, f"{o.id}: {why}", evidence=ev)
        return
    keys = set().union(*(scp.tag_policy_keys(p.content) for p in attached))
    missing = [k for k in cfg.tag_policy_required_keys if k.lower() not in keys]
    ev["keys"] = sorted(keys)
    msg = f"{o.id}: tag policies {', '.join(p.name for p in attached)} are attached"
    if missing:
        ev["warning"] = f"required tag keys not in any attached tag policy: {', '.join(missing)}"
        msg += f"; warning: {ev['warning']}"
    yield Finding.passed(o, msg, evidence=ev)


@check("org.ou-structure", needs=(ORG, TREE))
def ou_structure(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Informational: environments in separate OUs, shallow enough to reason about. Judgement is attested."""
    early = scp.blocked(inv, TREE)
    if early is not None:
        yield from early
        return
    org = inv.organizations
    o = org.organization
    by_id = {u.id: u for u in org.units}

    def path(node: str) -> str:
        parts = []
        while node in by_id:
            parts.append(by_id[node].name)
            node = by_id[node].parent_id
        return "/".join(["Root", *reversed(parts)])

    names = [u.name for u in org.units] + [a.name for a in org.accounts]
    matched = {kind: sorted(n for n in names if re.search(pattern, n, re.IGNORECASE))
               for kind, pattern in (("production", cfg.ou_production_pattern),
                                     ("non_production", cfg.ou_nonproduction_pattern),
                                     ("security", cfg.ou_security_pattern))}
    depth = max((u.depth for u in org.units), default=0)
    warnings = []
    if not org.units:
        warnings.append("no OUs: every account sits directly under the root")
    if depth > cfg.max_ou_depth:
        warnings.append(f"OU depth {depth} exceeds {cfg.max_ou_depth}")
    if not (matched["production"] and matched["non_production"]):
        warnings.append("no OU or account name separates production from non-production")
    tree: dict[str, list[str]] = {path(u.id): [] for u in org.units}
    for a in org.accounts:
        tree.setdefault(path(a.parent_id), []).append(scp.label(a))
    ev: dict[str, Any] = {"tree": dict(sorted(tree.items())), "depth": depth, "name_matches": matched}
    msg = f"{o.id}: {len(org.units)} OU(s), depth {depth}, {len(org.accounts)} account(s)"
    if warnings:
        ev["warning"] = "; ".join(warnings)
        msg += f"; warning: {ev['warning']}"
    yield Finding.passed(o, msg, evidence=ev)


# Either principal delegates AWS Config (aggregators use one, conformance packs and rules the other).
_SAME_SERVICE = {"config.amazonaws.com": ("config.amazonaws.com", "config-multiaccountsetup.amazonaws.com")}


@check("org.delegated-admins", needs=(ORG, DELEGATION))
def delegated_admins(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Security services administered from a delegated account keep people out of the management account."""
    early = scp.blocked(inv, DELEGATION)
    if early is not None:
        yield from early
        return
    org = inv.organizations
    o = org.organization
    for service in cfg.delegated_admin_services:
        names = _SAME_SERVICE.get(service, (service,))
        trusted = any(n in org.trusted_services for n in names)
        admins = [f"{a.account_id} ({a.name})" for a in org.delegated_admins if set(names) & set(a.services or [])]
        ev = {"trusted_access": trusted, "delegated_administrators": admins}
        if trusted and admins:
            yield Finding.passed(o, f"{service} is administered from {', '.join(admins)}", evidence=ev, subkey=service)
        else:
            missing = [x for x, ok in (("trusted access", trusted), ("delegated administrator", admins)) if not ok]
            yield Finding.failed(o, f"{service} is run from the management account: no {' and no '.join(missing)}",
                                 evidence=ev, subkey=service)
    if org.delegation_policy_read:  # else its gap is reported as ERROR on the delegation-policy setting
        setting = inv.setting("organizations", "delegation-policy")
        stmts = scp.policy_statements(org.delegation_policy)
        ev = {"principals": sorted({p for s in stmts for p in s.principals.get("AWS", ())}),
              "actions": sorted({a for s in stmts if s.allows for a in s.actions})}
        yield Finding.of(setting, passed=org.delegation_policy is not None, evidence=ev,
                         message="an Organizations delegation policy delegates policy management" if
                         org.delegation_policy else "no Organizations delegation policy: policies are managed "
                         "only from the management account")


_NOT_INVENTORIED = ("Lambda functions", "ECS task definitions", "DynamoDB tables")


@check("org.management-account-no-workloads",
       needs=(ORG, "ec2.instances", "rds.db_instances", "s3.buckets"))
def management_account_no_workloads(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """The management account escapes every SCP; anything running there is outside the guardrails."""
    org = inv.organizations
    if org.in_organization is None:
        return
    if not org.in_organization or org.organization is None:
        yield Finding.with_status(Status.NOT_APPLICABLE, inv.account(),
                                  f"account {inv.account_id} is not in an AWS Organization")
        return
    if not org.caller_is_management:
        yield Finding.with_status(Status.NOT_APPLICABLE, inv.account(), f"account {inv.account_id} is not the "
                                  f"management account ({org.organization.management_account_id})")
        return
    allowed = re.compile(cfg.management_bucket_allow_pattern, re.IGNORECASE)
    buckets = [b for b in inv.s3.buckets if not allowed.search(b.id)]
    regions = sorted(set(inv.regions) | {b.region for b in buckets if b.region != "global"})
    for region in regions:
        found = {"ec2_instances": [i.id for i in inv.ec2.instances if i.region == region and i.state != "terminated"],
                 "rds_instances": [d.id for d in inv.rds.instances if d.region == region],
                 "s3_buckets": [b.id for b in buckets if b.region == region]}
        found = {k: v for k, v in found.items() if v}
        ev = {"workloads": found, "not_inventoried": list(_NOT_INVENTORIED)}
        listed = "; ".join(f"{k}: {', '.join(v)}" for k, v in found.items())
        yield Finding.of(inv.setting("organizations", "management-account-workloads", region), passed=not found,
                         evidence=ev, message=f"management account hosts workloads in {region}: {listed}" if found
                         else f"no workloads in the management account in {region}")
