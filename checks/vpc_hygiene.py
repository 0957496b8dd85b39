"""VPC hygiene: unused security groups, VPCs and subnets, and interfaces left on the default group.

Network interfaces stand for every resource in a VPC (instances, Lambda, RDS, endpoints, load balancers),
so no other service's collector is needed.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditor.inventory import Inventory
from auditor.models import Finding
from auditor.registry import check
from checks.ec2 import short_text
from checks.network import group_label

_MAX_LISTED = 20


def _listed(ids: list[str]) -> list[str]:
    return sorted(ids)[:_MAX_LISTED]


@check("vpc.unused-security-groups",
       needs=("ec2.security_groups", "ec2.network_interfaces"))
def unused_security_groups(inv: Inventory) -> Iterator[Finding]:
    """FAIL for each non-default group attached to no network interface and referenced by no other group's
    rule (ReferencedGroupInfo); a group that only references itself is still unused."""
    enis: dict[tuple[str, str], list[str]] = {}
    for eni in inv.ec2.network_interfaces:
        for gid in eni.security_group_ids:
            enis.setdefault((eni.region, gid), []).append(eni.id)
    referenced: dict[tuple[str, str], set[str]] = {}
    for g in inv.ec2.security_groups:
        for rule in g.rules:
            if rule.referenced_group_id and rule.referenced_group_id != g.id:
                referenced.setdefault((g.region, rule.referenced_group_id), set()).add(g.id)
    for g in inv.ec2.security_groups:
        if g.name == "default":
            continue
        used_by = enis.get((g.region, g.id), [])
        refs = sorted(referenced.get((g.region, g.id), set()))
        ev: dict[str, Any] = {"group_name": g.name, "vpc_id": g.vpc_id, "network_interfaces": _listed(used_by),
                              "network_interface_count": len(used_by), "referenced_by": _listed(refs)}
        if used_by or refs:
            how = [f"{len(used_by)} network interface(s)"] if used_by else []
            how += [f"rules of {len(refs)} other group(s)"] if refs else []
            yield Finding.passed(g, f"{group_label(g)} is used by {' and '.join(how)}", evidence=ev)
        else:
            yield Finding.failed(g, f"{group_label(g)} is unused: no network interface, no referencing group",
                                 evidence=ev)


@check("vpc.unused-vpcs-and-subnets", needs=("ec2.vpcs", "ec2.subnets", "ec2.network_interfaces"))
def unused_vpcs_and_subnets(inv: Inventory) -> Iterator[Finding]:
    """Informational: a warning (PASS) for each non-default VPC, and each subnet that is not a default
    subnet, with no network interface. The default VPC is vpc.default-vpc-absent's business."""
    by_vpc: dict[tuple[str, str], list[str]] = {}
    by_subnet: dict[tuple[str, str], list[str]] = {}
    for eni in inv.ec2.network_interfaces:
        by_vpc.setdefault((eni.region, eni.vpc_id), []).append(eni.id)
        by_subnet.setdefault((eni.region, eni.subnet_id), []).append(eni.id)
    for vpc in inv.ec2.vpcs:
        if not vpc.is_default:
            yield _usage(vpc, f"VPC {vpc.id}", by_vpc.get((vpc.region, vpc.id), []), {"cidr": vpc.cidr})
    for s in inv.ec2.subnets:
        if not s.default_for_az:
            yield _usage(s, f"subnet {s.id} of {s.vpc_id}", by_subnet.get((s.region, s.id), []),
                         {"vpc_id": s.vpc_id, "cidr": s.cidr})


def _usage(resource: Any, name: str, enis: list[str], ev: dict[str, Any]) -> Finding:
    ev = {**ev, "network_interfaces": _listed(enis), "network_interface_count": len(enis)}
    if enis:
        return Finding.passed(resource, f"{name} is in use ({len(enis)} network interface(s))", evidence=ev)
    ev["warning"] = "no network interfaces: delete it if nothing will be deployed here"
    return Finding.passed(resource, f"warning: {name} has no network interfaces (unused?)", evidence=ev)


@check("vpc.resources-not-on-default-sg", needs=("ec2.network_interfaces", "ec2.security_groups"))
def resources_not_on_default_sg(inv: Inventory) -> Iterator[Finding]:
    """FAIL for each network interface whose only security group is its VPC's 'default' group (CIS 6.5).
    Interfaces without security groups (NAT gateways, gateway endpoints ...) are out of scope."""
    defaults = {(g.region, g.id) for g in inv.ec2.security_groups if g.name == "default"}
    for eni in inv.ec2.network_interfaces:
        if not eni.security_group_ids:
            continue
        only_default = all((eni.region, gid) in defaults for gid in eni.security_group_ids)
        owner = eni.instance_id or eni.description or eni.interface_type or "unattached"
        ev = {"security_groups": eni.security_group_ids, "vpc_id": eni.vpc_id, "subnet_id": eni.subnet_id,
              "instance_id": eni.instance_id, "interface_type": eni.interface_type, "description": eni.description}
        msg = (f"network interface {eni.id} ({short_text(owner, 60)}) uses only the VPC's default security group"
               if only_default else f"network interface {eni.id} has its own security group(s)")
        yield Finding.of(eni, passed=not only_default, message=msg, evidence=ev)
