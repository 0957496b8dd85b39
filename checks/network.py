"""VPC network exposure: security group ingress from the internet, default groups and VPCs, flow logs.

Checks added later resolve prefix-list sources (`internet_rules`); the first two checks here report
prefix-list rules as unresolved evidence, as they always have.

Rule descriptions, group names and tag values are user-controlled: they go to evidence as data, and only a
shortened copy goes into messages.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditor.collectors.ec2 import SecurityGroup, SgRule
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.models import Finding, Status
from auditor.network import ALL, Exposure, PrefixLists, covers_port, exposure, port_label, rule_exposures
from auditor.registry import check
from checks.ec2 import short_text

_FLOW_TRAFFIC = ("ALL", "REJECT")
_MAX_LISTED = 20  # ids listed in evidence before "and N more"


def _group_label(g: SecurityGroup) -> str:
    return f"security group {g.id} ({short_text(g.name, 40)})" if g.name else f"security group {g.id}"


def _open_rules(g: SecurityGroup) -> list[tuple[SgRule, Exposure]]:
    found = [(r, exposure(r.protocol, r.from_port, r.to_port, r.cidr)) for r in g.ingress]
    return sorted(((r, e) for r, e in found if e is not None), key=lambda p: p[1].label)


def prefix_lists_by_region(inv: Inventory, family: str | None = None) -> dict[str, PrefixLists]:
    """Prefix-list id -> CIDRs per region. AWS-managed lists (AWS service ranges) never hold the internet,
    nor does a list of the other address family when `family` ("ipv4"/"ipv6") is given."""
    out: dict[str, dict[str, list[str] | None]] = {}
    for pl in inv.ec2.prefix_lists:
        other = family is not None and pl.address_family.lower() not in ("", family)
        out.setdefault(pl.region, {})[pl.id] = [] if pl.aws_managed or other else pl.entries
    return dict(out)


def internet_rules(g: SecurityGroup, pls: PrefixLists) -> tuple[list[tuple[SgRule, Exposure]], list[SgRule]]:
    """(rule, exposure) for every world-wide source of an ingress rule, prefix lists resolved, and the
    rules whose prefix list could not be resolved (they may be open: never a pass)."""
    opened: list[tuple[SgRule, Exposure]] = []
    unresolved: list[SgRule] = []
    for r in g.ingress:
        found = rule_exposures(r.protocol, r.from_port, r.to_port, r.cidr, r.prefix_list_id, pls)
        if found is None:
            unresolved.append(r)
        else:
            opened.extend((r, e) for e in found)
    return sorted(opened, key=lambda p: p[1].label), sorted(unresolved, key=lambda r: r.rule_id)


def unresolved_finding(g: SecurityGroup, rule: SgRule) -> Finding:
    label = f"{port_label(rule.protocol, rule.from_port, rule.to_port)}/{rule.prefix_list_id}"
    return Finding.with_status(
        Status.ERROR, g, f"{group_label(g)} allows {label}: the prefix list's entries could not be read",
        {"group_name": g.name, "vpc_id": g.vpc_id, "rule_id": rule.rule_id, "prefix_list": rule.prefix_list_id},
        label)


def _prefix_list_rules(g: SecurityGroup) -> list[str]:
    """Ingress from prefix lists is not resolved: it may include the internet, so it is noted."""
    return sorted(f"{port_label(r.protocol, r.from_port, r.to_port)}/{r.prefix_list_id}"
                  for r in g.ingress if r.prefix_list_id)


def _justification(rule: SgRule, g: SecurityGroup, cfg: AuditConfig) -> dict[str, str] | None:
    desc = rule.description.strip()
    if len(desc) >= cfg.min_justification_chars:
        return {"source": "rule description", "text": desc}
    tag = cfg.justification_tag
    if rule.tags.get(tag, "").strip():
        return {"source": f"rule tag {tag}", "text": rule.tags[tag].strip()}
    if g.tags.get(tag, "").strip():
        return {"source": f"group tag {tag}", "text": g.tags[tag].strip()}
    return None


def _evidence(g: SecurityGroup, rule: SgRule | None = None, exp: Exposure | None = None,
              note_prefix_lists: bool = True) -> dict[str, Any]:
    ev: dict[str, Any] = {"group_name": g.name, "vpc_id": g.vpc_id}
    if rule is not None and exp is not None:
        ev.update(rule_id=rule.rule_id, protocol=exp.protocol, from_port=rule.from_port, to_port=rule.to_port,
                  source=exp.source, description=rule.description)
        if exp.prefix_list:
            ev["prefix_list"] = exp.prefix_list
    unresolved = _prefix_list_rules(g) if note_prefix_lists else []
    if unresolved:
        ev["unresolved_prefix_list_rules"] = unresolved
    return ev


sg_evidence = _evidence
group_label = _group_label


@check("vpc.sg-internet-ingress-justified", needs=("ec2.security_groups",))
def sg_internet_ingress_justified(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Every ingress rule open to 0.0.0.0/0 or ::/0 says why: a rule description of at least
    min_justification_chars characters, or the justification tag (non-empty) on the rule or its group.
    Each open rule is its own finding; a group with no open rule gets one PASS for the group."""
    for g in inv.ec2.security_groups:
        opened = _open_rules(g)
        if not opened:
            yield Finding.passed(g, f"{_group_label(g)} has no ingress from the internet", evidence=_evidence(g))
            continue
        for rule, exp in opened:
            why = _justification(rule, g, cfg)
            ev = _evidence(g, rule, exp)
            if why:
                ev["justification"] = why
                msg = f"{_group_label(g)} allows {exp.label}, justified by {why['source']}: {short_text(why['text'])}"
            else:
                msg = (f"{_group_label(g)} allows {exp.label} with no justification (description of "
                       f">= {cfg.min_justification_chars} chars or tag {short_text(cfg.justification_tag, 40)})")
            yield Finding.of(g, passed=why is not None, message=msg, evidence=ev, subkey=exp.label)


@check("vpc.sg-no-admin-ports-ipv4", needs=("ec2.security_groups",))
def sg_no_admin_ports_ipv4(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """No ingress rule from 0.0.0.0/0 allows all traffic, or tcp/udp to an admin port (config admin_ports).

    A justified rule (see vpc.sg-internet-ingress-justified) becomes WAIVED only when config
    allow_admin_port_exemptions is true; otherwise it stays FAIL. Each offending rule is its own finding;
    a group with none gets one PASS for the group."""
    for g in inv.ec2.security_groups:
        yield from _admin_port_findings(g, cfg, "ipv4", _open_rules(g), [], resolved=False)


@check("vpc.sg-no-admin-ports-ipv6", needs=("ec2.security_groups",))
def sg_no_admin_ports_ipv6(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """As vpc.sg-no-admin-ports-ipv4 for ::/0 (CIS 6.4), with prefix-list sources resolved: a customer
    prefix list holding ::/0 opens the rule; one whose entries cannot be read gives ERROR for that rule."""
    pls = prefix_lists_by_region(inv, "ipv6")
    for g in inv.ec2.security_groups:
        opened, unresolved = internet_rules(g, pls.get(g.region, {}))
        yield from _admin_port_findings(g, cfg, "ipv6", opened, unresolved, resolved=True)


def _admin_port_findings(g: SecurityGroup, cfg: AuditConfig, family: str, opened: list[tuple[SgRule, Exposure]],
                         unresolved: list[SgRule], resolved: bool) -> Iterator[Finding]:
    world = "0.0.0.0/0" if family == "ipv4" else "::/0"
    hits = []
    for rule, exp in opened:
        ports = [p for p in cfg.admin_ports if exp.covers(p)]
        if exp.family == family and (exp.protocol == ALL or ports):
            hits.append((rule, exp, ports))
    unknown = [r for r in unresolved if any(covers_port(r.protocol, r.from_port, r.to_port, p)
                                            for p in cfg.admin_ports)]
    yield from (unresolved_finding(g, r) for r in unknown)
    if not hits and not unknown:
        yield Finding.passed(g, f"{_group_label(g)} opens no admin port to {world}",
                             evidence=_evidence(g, note_prefix_lists=not resolved))
        return
    for rule, exp, ports in hits:
        ev = _evidence(g, rule, exp, note_prefix_lists=not resolved)
        ev["admin_ports"] = "all" if exp.protocol == ALL else ports
        what = "all traffic" if exp.protocol == ALL else f"admin port(s) {', '.join(map(str, ports))}"
        msg = f"{_group_label(g)} allows {what} from the internet ({exp.label})"
        why = _justification(rule, g, cfg)
        if why:
            ev["justification"] = why
        if why and cfg.allow_admin_port_exemptions:
            exempt = Finding.with_status(Status.WAIVED, g, f"{msg}; exempted by {why['source']}", ev, exp.label)
            yield exempt.model_copy(update={"waiver": {
                "owner": "(justification on the rule or group)", "reason": why["text"], "expires": "",
                "matched_by": f"{why['source']} (config allow_admin_port_exemptions)"}})
        else:
            yield Finding.failed(g, msg, evidence=ev, subkey=exp.label)


@check("vpc.default-sg-restricts-all", needs=("ec2.security_groups",))
def default_sg_restricts_all(inv: Inventory) -> Iterator[Finding]:
    """The 'default' security group of every VPC has no inbound and no outbound rules (CIS 6.5)."""
    for g in inv.ec2.security_groups:
        if g.name != "default":
            continue
        ingress, egress = len(g.ingress), len(g.egress)
        ev = {"vpc_id": g.vpc_id, "ingress_rules": [r.rule_id for r in g.ingress],
              "egress_rules": [r.rule_id for r in g.egress]}
        if ingress or egress:
            msg = f"default security group {g.id} of {g.vpc_id} has {ingress} inbound and {egress} outbound rule(s)"
        else:
            msg = f"default security group {g.id} of {g.vpc_id} has no rules"
        yield Finding.of(g, passed=not (ingress or egress), message=msg, evidence=ev)


@check("vpc.flow-logs-enabled", needs=("ec2.vpcs", "ec2.flow_logs"))
def flow_logs_enabled(inv: Inventory) -> Iterator[Finding]:
    """Every VPC has an ACTIVE flow log capturing ALL or REJECT traffic (CIS 4.7)."""
    logs: dict[tuple[str, str], list[Any]] = {}
    for fl in inv.ec2.flow_logs:
        logs.setdefault((fl.region, fl.resource_id), []).append(fl)
    for vpc in inv.ec2.vpcs:
        mine = logs.get((vpc.region, vpc.id), [])
        good = [fl.id for fl in mine if fl.status == "ACTIVE" and fl.traffic_type in _FLOW_TRAFFIC]
        ev = {"flow_logs": [{"id": fl.id, "status": fl.status, "traffic_type": fl.traffic_type,
                             "destination_type": fl.destination_type} for fl in mine], "is_default": vpc.is_default}
        if good:
            msg = f"VPC {vpc.id} has an active flow log ({', '.join(good)})"
        elif mine:
            msg = f"VPC {vpc.id} has flow logs, but none is ACTIVE and capturing ALL or REJECT traffic"
        else:
            msg = f"VPC {vpc.id} has no flow log"
        yield Finding.of(vpc, passed=bool(good), message=msg, evidence=ev)


@check("vpc.default-vpc-absent", needs=("ec2.vpcs", "ec2.network_interfaces"))
def default_vpc_absent(inv: Inventory) -> Iterator[Finding]:
    """No region keeps its default VPC.

    One finding per region, on the region's "default-vpc" setting (stable across deletion). FAIL when a
    default VPC exists with no network interfaces. A default VPC with ENIs is in use and deleting it would
    break workloads (source 004: some services still assume it); we have no WARN status, so that case is
    PASS with an "in use" warning in the message and evidence.
    """
    enis: dict[str, list[str]] = {}
    for eni in inv.ec2.network_interfaces:
        enis.setdefault(eni.vpc_id, []).append(eni.id)
    defaults = {v.region: v for v in inv.ec2.vpcs if v.is_default}
    for region in sorted(inv.regions):
        ref = inv.setting("ec2", "default-vpc", region)
        vpc = defaults.get(region)
        if vpc is None:
            yield Finding.passed(ref, f"no default VPC in {region}", evidence={"default_vpc": None})
            continue
        used = sorted(enis.get(vpc.id, []))
        ev: dict[str, Any] = {"default_vpc": vpc.id, "network_interfaces": used[:_MAX_LISTED],
                              "network_interface_count": len(used)}
        if used:
            ev["warning"] = "default VPC is in use; move its workloads before deleting it"
            yield Finding.passed(ref, f"warning: default VPC {vpc.id} in {region} is in use "
                                      f"({len(used)} network interface(s)); move workloads, then delete it",
                                 evidence=ev)
        else:
            yield Finding.failed(ref, f"default VPC {vpc.id} in {region} is unused: delete it", evidence=ev)
