"""Who can reach what: CIFS and all-port exposure, admin-port sources, network ACLs on admin ports.

Security-group rules are read with prefix lists resolved (checks.network.internet_rules); network ACLs
are evaluated in rule-number order with the implicit deny (auditor.network.acl_reach). Every offending
rule is its own finding (subkey); a group or ACL with none gets one PASS.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditor.collectors.ec2 import SecurityGroup, SgRule
from auditor.collectors.ec2_vpc import NetworkAcl
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.models import Finding
from auditor.network import AclAdmission, AclRule, acl_reach, cidr_within, covers_all_ports, covers_port, port_label
from auditor.registry import check
from checks.network import group_label, internet_rules, prefix_lists_by_region, sg_evidence, unresolved_finding

CIFS_PORT = 445
_MAX_LISTED = 20  # CIDRs listed in evidence


@check("vpc.sg-no-cifs-from-internet", needs=("ec2.security_groups",))
def sg_no_cifs_from_internet(inv: Inventory) -> Iterator[Finding]:
    """No ingress rule from 0.0.0.0/0 or ::/0 (directly or through a prefix list) reaches TCP 445,
    by port range or protocol -1 (CIS 6.1.2)."""
    pls = prefix_lists_by_region(inv)
    for g in inv.ec2.security_groups:
        opened, unresolved = internet_rules(g, pls.get(g.region, {}))
        hits = [(r, e) for r, e in opened if e.covers(CIFS_PORT, protocols=("tcp",))]
        unknown = [r for r in unresolved if covers_port(r.protocol, r.from_port, r.to_port, CIFS_PORT, ("tcp",))]
        yield from (unresolved_finding(g, r) for r in unknown)
        if not hits and not unknown:
            yield Finding.passed(g, f"{group_label(g)} does not expose TCP 445 to the internet",
                                 evidence=sg_evidence(g, note_prefix_lists=False))
        for rule, exp in hits:
            yield Finding.failed(g, f"{group_label(g)} exposes CIFS/SMB (TCP 445) to the internet ({exp.label})",
                                 evidence=sg_evidence(g, rule, exp, note_prefix_lists=False), subkey=exp.label)


@check("vpc.sg-no-all-ports-from-internet", needs=("ec2.security_groups",))
def sg_no_all_ports_from_internet(inv: Inventory) -> Iterator[Finding]:
    """No ingress rule from 0.0.0.0/0 or ::/0 allows protocol -1 or a 0-65535 port range. Not exemptible:
    justifications do not change the verdict."""
    pls = prefix_lists_by_region(inv)
    for g in inv.ec2.security_groups:
        opened, unresolved = internet_rules(g, pls.get(g.region, {}))
        hits = [(r, e) for r, e in opened if e.all_traffic]
        yield from (unresolved_finding(g, r) for r in unresolved if _all_ports(r))
        if not hits and not any(_all_ports(r) for r in unresolved):
            yield Finding.passed(g, f"{group_label(g)} opens no all-ports rule to the internet",
                                 evidence=sg_evidence(g, note_prefix_lists=False))
        for rule, exp in hits:
            what = "all traffic" if exp.protocol == "-1" else f"every {exp.protocol} port"
            yield Finding.failed(g, f"{group_label(g)} allows {what} from the internet ({exp.label})",
                                 evidence=sg_evidence(g, rule, exp, note_prefix_lists=False), subkey=exp.label)


def _all_ports(r: SgRule) -> bool:
    return covers_all_ports(r.protocol, r.from_port, r.to_port)


@check("vpc.admin-ports-from-approved-cidrs", needs=("ec2.security_groups",))
def admin_ports_from_approved_cidrs(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Every ingress rule reaching an admin port (config admin_ports; tcp/udp or protocol -1) comes from a
    CIDR inside config approved_admin_cidrs, or a security group / prefix list named in config
    approved_admin_sources. A customer prefix list passes when all its entries are approved CIDRs."""
    by_region = {pl.region: {} for pl in inv.ec2.prefix_lists}
    for pl in inv.ec2.prefix_lists:
        by_region[pl.region][pl.id] = pl
    for g in inv.ec2.security_groups:
        bad: list[Finding] = []
        admin_rules = 0
        for rule in g.ingress:
            ports = [p for p in cfg.admin_ports if covers_port(rule.protocol, rule.from_port, rule.to_port, p)]
            if not ports:
                continue
            admin_rules += 1
            finding = _judge_admin_source(g, rule, ports, cfg, by_region.get(g.region, {}))
            if finding is not None:
                bad.append(finding)
        if bad:
            yield from bad
            continue
        hint = "" if cfg.approved_admin_cidrs or cfg.approved_admin_sources else " (no approved sources configured)"
        msg = (f"{group_label(g)} admits admin ports only from approved sources" if admin_rules
               else f"{group_label(g)} has no rule reaching an admin port{hint}")
        yield Finding.passed(g, msg, evidence={"group_name": g.name, "vpc_id": g.vpc_id, "admin_rules": admin_rules})


def _judge_admin_source(g: SecurityGroup, rule: SgRule, ports: list[int], cfg: AuditConfig,
                        pls: dict[str, Any]) -> Finding | None:
    """None when the rule's source is approved, else its FAIL (or ERROR when a prefix list is unreadable)."""
    source = rule.cidr or rule.prefix_list_id or rule.referenced_group_id or "?"
    label = f"{port_label(rule.protocol, rule.from_port, rule.to_port)}/{source}"
    ev: dict[str, Any] = {"group_name": g.name, "vpc_id": g.vpc_id, "rule_id": rule.rule_id, "source": source,
                          "admin_ports": ports, "description": rule.description,
                          "approved_admin_cidrs": [str(c) for c in cfg.approved_admin_cidrs]}
    if source in cfg.approved_admin_sources:
        return None
    if rule.cidr:
        if cidr_within(rule.cidr, cfg.approved_admin_cidrs):
            return None
        why = f"CIDR {source} is not inside approved_admin_cidrs"
    elif rule.prefix_list_id:
        pl = pls.get(rule.prefix_list_id)
        if pl is None or (not pl.aws_managed and pl.entries is None):
            return unresolved_finding(g, rule)
        if pl.aws_managed:
            why = f"AWS-managed prefix list {source} is not in approved_admin_sources"
        else:
            outside = sorted(c for c in pl.entries or [] if not cidr_within(c, cfg.approved_admin_cidrs))
            if not outside:
                return None
            ev["prefix_list_outside"] = outside[:_MAX_LISTED]
            why = f"prefix list {source} holds {len(outside)} CIDR(s) outside approved_admin_cidrs"
    else:
        self_ref = " (its own group)" if source == g.id else ""
        why = f"security group {source}{self_ref} is not in approved_admin_sources"
    return Finding.failed(g, f"{group_label(g)} admits admin port(s) {', '.join(map(str, ports))} via {label}: {why}",
                          evidence=ev, subkey=label)


@check("vpc.nacl-no-admin-ports", needs=("ec2.network_acls",))
def nacl_no_admin_ports(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Ingress entries in rule-number order, with the implicit deny: FAIL for each allow entry through which
    0.0.0.0/0 or ::/0 reaches TCP admin ports (config admin_ports; CIS 6.2). An entry counts when it is a
    world-wide (/0) allow not wholly shadowed by earlier entries, or when allow entries together admit
    every address; narrower allows from specific ranges are not the internet."""
    for acl in inv.ec2.network_acls:
        rules = [AclRule(e.rule_number, e.allow, e.protocol, e.cidr, e.from_port, e.to_port)
                 for e in acl.entries if not e.egress]
        offending: dict[AclRule, dict[int, AclAdmission]] = {}
        for family in ("ipv4", "ipv6"):
            for port in cfg.admin_ports:
                for adm in acl_reach(rules, "tcp", port, family).offending:
                    offending.setdefault(adm.rule, {})[port] = adm
        label = _acl_label(acl)
        base = {"vpc_id": acl.vpc_id, "subnets": acl.subnet_ids, "is_default": acl.is_default}
        if not offending:
            yield Finding.passed(acl, f"{label} admits no admin port from the internet", evidence=base)
            continue
        for rule, by_port in sorted(offending.items(), key=lambda kv: (kv[0].number, kv[0].cidr)):
            ports = sorted(by_port)
            key = f"{rule.number}/{port_label(rule.protocol, rule.from_port, rule.to_port)}/{rule.cidr}"
            yield Finding.failed(
                acl, f"{label} rule {rule.number} allows TCP {', '.join(map(str, ports))} from {rule.cidr}",
                evidence={**base, "rule_number": rule.number, "protocol": rule.protocol, "from_port": rule.from_port,
                          "to_port": rule.to_port, "cidr": rule.cidr, "admin_ports": ports,
                          # the addresses this entry decides (earlier entries decided the rest)
                          "admitted_sources": {str(p): list(a.sources[:_MAX_LISTED]) for p, a in by_port.items()}},
                subkey=key)


def _acl_label(acl: NetworkAcl) -> str:
    return f"network ACL {acl.id}" + (" (default)" if acl.is_default else "") + f" of {acl.vpc_id}"


