"""Compute: EBS snapshots, the AMIs instances run, SSM instead of SSH, workloads inside a VPC.

We have no WARN status: rows that only warn (ec2.ami-age, the SSH part of ec2.ssm-managed-no-ssh, Lambda
outside a VPC) PASS with the warning in the message and in evidence["warning"].
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditor.collectors.ec2 import Instance, SecurityGroup, SgRule
from auditor.collectors.ec2_images import IMAGES, INSTANCE_LIST, SNAPSHOT_PERMISSIONS, SNAPSHOTS, Image
from auditor.collectors.lambda_ import FUNCTIONS, LambdaFunction
from auditor.collectors.rds import INSTANCES as RDS_INSTANCES
from auditor.collectors.ssm import MANAGED
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.models import Finding, Status
from auditor.network import cidr_within, covers_port, port_label
from auditor.registry import check
from checks.ec2 import short_text
from checks.s3 import tag_matches

BLOCK_ALL = "block-all-sharing"
_ORG_TREE = "organizations.tree"
_UNSET = object()


def _warned(ref: Any, message: str, warning: str, evidence: dict[str, Any], subkey: str = "") -> Finding:
    return Finding.passed(ref, f"{message}; warning: {warning}", evidence={**evidence, "warning": warning},
                          subkey=subkey)


@check("ec2.ebs-snapshots-encrypted", needs=(SNAPSHOTS,))
def snapshots_encrypted(inv: Inventory) -> Iterator[Finding]:
    """Every snapshot this account owns is encrypted (a copy of an unencrypted volume stays readable)."""
    for snap in inv.ec2_images.snapshots:
        yield Finding.of(snap, passed=snap.encrypted,
                         message=f"snapshot {snap.id} of {snap.volume_id or 'unknown volume'} is "
                                 f"{'encrypted' if snap.encrypted else 'not encrypted'}",
                         evidence={"encrypted": snap.encrypted, "kms_key_id": snap.kms_key_id,
                                   "volume_id": snap.volume_id, "state": snap.state})


@check("ec2.ebs-snapshots-not-public", needs=(SNAPSHOTS, SNAPSHOT_PERMISSIONS))
def snapshots_not_public(inv: Inventory) -> Iterator[Finding]:
    """No owned snapshot grants createVolumePermission to Group=all. Block public access set to
    block-all-sharing (GetSnapshotBlockPublicAccessState, enrichment) passes the region whatever the grants."""
    blocked = {s.region: s.state for s in inv.ec2_images.snapshot_block_public_access}
    for region, state in sorted(blocked.items()):
        if state == BLOCK_ALL:
            yield Finding.passed(inv.setting("ec2", "snapshot-block-public-access", region),
                                 f"snapshot block public access blocks all sharing in {region}",
                                 evidence={"state": state})
    for snap in inv.ec2_images.snapshots:
        state = blocked.get(snap.region, "unknown")
        ev = {"public_permission": snap.public, "shared_accounts": snap.shared_accounts,
              "block_public_access": state}
        if snap.public is None:
            yield Finding.with_status(Status.ERROR, snap, f"snapshot {snap.id}: createVolumePermission unknown", ev)
        elif not snap.public:
            yield Finding.passed(snap, f"snapshot {snap.id} is not public", evidence=ev)
        elif state == BLOCK_ALL:
            yield _warned(snap, f"snapshot {snap.id} is not public: block public access ({BLOCK_ALL}) overrides it",
                          "its createVolumePermission still grants Group=all", ev)
        else:
            yield Finding.failed(snap, f"snapshot {snap.id} is public: anyone can create a volume from it "
                                       f"(block public access: {state})", evidence=ev)


def _image_of(inv: Inventory) -> Any:
    images = {(i.region, i.id): i for i in inv.ec2_images.images}
    asked = {(lk.region, image_id) for lk in inv.ec2_images.image_lookups for image_id in lk.image_ids}

    def lookup(region: str, image_id: str) -> Image | None | object:
        """The image; None when it was looked up and does not exist; _UNSET when it was not looked up."""
        if (region, image_id) in images:
            return images[(region, image_id)]
        return None if (region, image_id) in asked else _UNSET

    return lookup


def _sanctioned_owners(inv: Inventory, cfg: AuditConfig) -> tuple[set[str], list[str]]:
    owners: set[str] = set()
    notes: list[str] = []
    for entry in cfg.sanctioned_ami_owners:
        if entry == "self":
            owners.add(inv.account_id)
        elif entry == "organization":
            if _ORG_TREE in inv.datasets and not any(g.dataset == _ORG_TREE for g in inv.gaps):
                owners.update(a.id for a in inv.organizations.accounts)
            else:
                notes.append("organization accounts were not read; only listed owners count")
        else:
            owners.add(entry)
    return owners, notes


def _approved(image: Image, tag: str) -> bool:
    value = image.tags.get(tag)
    return value is not None and value.strip().lower() not in ("", "false", "no", "0")


@check("ec2.ami-sanctioned", needs=(INSTANCE_LIST, IMAGES))
def ami_sanctioned(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Instances run AMIs owned by config sanctioned_ami_owners (account ids, aliases, "self",
    "organization") or tagged with config ami_approval_tag; an AMI that cannot be resolved is unknown."""
    lookup = _image_of(inv)
    owners, notes = _sanctioned_owners(inv, cfg)
    allowed = {s.region: s.state for s in inv.ec2_images.allowed_images}
    for inst in inv.ec2_images.instances:
        label = f"instance {inst.id}" + (f" ({short_text(inst.name)})" if inst.name else "")
        ev: dict[str, Any] = {"image_id": inst.image_id, "sanctioned_owners": sorted(owners),
                              "allowed_images_setting": allowed.get(inst.region, "unknown"), "notes": notes}
        image = lookup(inst.region, inst.image_id)
        if image is _UNSET:
            yield Finding.with_status(Status.ERROR, inst, f"{label}: AMI {inst.image_id} was not looked up", ev)
            continue
        if not isinstance(image, Image):
            yield Finding.failed(inst, f"{label} runs unknown AMI {inst.image_id} (deregistered or not visible)",
                                 evidence=ev)
            continue
        ev.update(owner_id=image.owner_id, owner_alias=image.owner_alias, image_name=image.name)
        owner = image.owner_alias or image.owner_id
        if image.owner_id in owners or (image.owner_alias and image.owner_alias in owners):
            yield Finding.passed(inst, f"{label} runs AMI {image.id} from sanctioned owner {owner}", evidence=ev)
        elif _approved(image, cfg.ami_approval_tag):
            yield Finding.passed(inst, f"{label} runs AMI {image.id} approved by tag {cfg.ami_approval_tag}",
                                 evidence=ev)
        else:
            yield Finding.failed(inst, f"{label} runs AMI {image.id} from unsanctioned owner {owner} without tag "
                                       f"{short_text(cfg.ami_approval_tag, 40)}", evidence=ev)


@check("ec2.ami-age", needs=(INSTANCE_LIST, IMAGES))
def ami_age(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Warns when an instance's AMI is older than config ami_max_age_days or past its deprecation time,
    a proxy for continuously rebuilt golden images."""
    lookup = _image_of(inv)
    now = cfg.clock()
    for inst in inv.ec2_images.instances:
        label = f"instance {inst.id}" + (f" ({short_text(inst.name)})" if inst.name else "")
        image = lookup(inst.region, inst.image_id)
        ev: dict[str, Any] = {"image_id": inst.image_id, "max_age_days": cfg.ami_max_age_days}
        if image is _UNSET:
            yield Finding.with_status(Status.ERROR, inst, f"{label}: AMI {inst.image_id} was not looked up", ev)
            continue
        if not isinstance(image, Image) or image.created is None:
            what = "no longer exists" if not isinstance(image, Image) else "has no creation date"
            yield _warned(inst, f"{label} runs AMI {inst.image_id}", f"the AMI {what}; its age is unknown", ev)
            continue
        age = (now - image.created).days
        deprecated = image.deprecation_time is not None and image.deprecation_time <= now
        ev.update(created=image.created.isoformat(), age_days=age,
                  deprecation_time=image.deprecation_time.isoformat() if image.deprecation_time else None)
        problems = ([f"it is {age} days old (limit {cfg.ami_max_age_days})"] if age > cfg.ami_max_age_days else []) \
            + (["it is deprecated"] if deprecated else [])
        message = f"{label} runs AMI {image.id} built {age} days ago"
        yield _warned(inst, message, " and ".join(problems), ev) if problems \
            else Finding.passed(inst, message, evidence=ev)


def _admin_openings(inst: Instance, groups: dict[tuple[str, str], SecurityGroup], cfg: AuditConfig,
                    prefix_lists: dict[tuple[str, str], Any]) -> list[str]:
    """'sg-1 tcp/22-22/0.0.0.0/0' for each rule of the instance's groups that admits an admin port from a
    source outside config approved_admin_cidrs / approved_admin_sources."""
    out = []
    for gid in inst.security_group_ids:
        group = groups.get((inst.region, gid))
        if group is None:
            out.append(f"{gid} (group not read)")
            continue
        for rule in group.ingress:
            if any(covers_port(rule.protocol, rule.from_port, rule.to_port, p) for p in cfg.admin_ports) \
                    and not _approved_source(rule, cfg, prefix_lists.get((inst.region, rule.prefix_list_id or ""))):
                source = rule.cidr or rule.prefix_list_id or rule.referenced_group_id or "?"
                out.append(f"{gid} {port_label(rule.protocol, rule.from_port, rule.to_port)}/{source}")
    return out


def _approved_source(rule: SgRule, cfg: AuditConfig, prefix_list: Any) -> bool:
    source = rule.cidr or rule.prefix_list_id or rule.referenced_group_id or ""
    if source in cfg.approved_admin_sources:
        return True
    if rule.cidr:
        return cidr_within(rule.cidr, cfg.approved_admin_cidrs)
    entries = getattr(prefix_list, "entries", None) if prefix_list is not None else None
    return bool(rule.prefix_list_id and entries and all(cidr_within(c, cfg.approved_admin_cidrs) for c in entries))


@check("ec2.ssm-managed-no-ssh", needs=("ec2.instances", "ec2.security_groups", MANAGED))
def ssm_managed_no_ssh(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Running instances are SSM managed nodes with PingStatus Online; warns when their groups still admit
    SSH/RDP (config admin_ports) from outside the approved admin sources."""
    nodes = {(n.region, n.id): n for n in inv.ssm.managed_nodes}
    groups = {(g.region, g.id): g for g in inv.ec2.security_groups}
    prefix_lists = {(p.region, p.id): p for p in inv.ec2.prefix_lists}
    for inst in inv.ec2.instances:
        if inst.state != "running":
            continue
        label = f"instance {inst.id}" + (f" ({short_text(inst.tags['Name'])})" if inst.tags.get("Name") else "")
        node = nodes.get((inst.region, inst.id))
        ping = node.ping_status if node else "not registered"
        openings = _admin_openings(inst, groups, cfg, prefix_lists)
        ev = {"ssm_ping_status": ping, "instance_profile_arn": inst.instance_profile_arn,
              "admin_port_rules": openings, "agent_version": node.agent_version if node else None}
        ssh = f"admits admin ports via {', '.join(openings)}" if openings else ""
        if ping != "Online":
            yield Finding.failed(inst, f"{label} is not an online SSM managed node (SSM: {ping})"
                                 + (f" and {ssh}" if ssh else ""), evidence=ev)
        elif ssh:
            yield _warned(inst, f"{label} is an online SSM managed node", f"it also {ssh}", ev)
        else:
            yield Finding.passed(inst, f"{label} is an online SSM managed node with no SSH/RDP opening", evidence=ev)


def _functions(inv: Inventory) -> list[LambdaFunction]:
    return list(getattr(inv, "lambda").functions)


@check("compute.inside-vpc", needs=(FUNCTIONS, RDS_INSTANCES))
def inside_vpc(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Lambda functions without VpcConfig.SubnetIds warn (only those tagged config lambda_vpc_scope_tag
    when set); RDS DB instances without a DB subnet group fail."""
    scope = cfg.lambda_vpc_scope_tag
    for fn in _functions(inv):
        ev: dict[str, Any] = {"vpc_id": fn.vpc_id or None, "subnet_ids": fn.subnet_ids, "scope_tag": scope or None}
        if scope and fn.tags is None:
            yield Finding.with_status(Status.ERROR, fn, f"function {fn.name}: tags unreadable, scope unknown", ev)
            continue
        if scope and not tag_matches(fn.tags or {}, scope):
            continue
        if fn.in_vpc:
            where = f"VPC {fn.vpc_id}" if fn.vpc_id else f"subnets {', '.join(fn.subnet_ids)}"
            yield Finding.passed(fn, f"function {fn.name} runs in {where}", evidence=ev)
        else:
            yield _warned(fn, f"function {fn.name} is not attached to a VPC",
                          "it reaches data stores over public endpoints", ev)
    for db in inv.rds.instances:
        ev = {"db_subnet_group": db.db_subnet_group, "subnet_ids": db.subnet_ids}
        if db.db_subnet_group:
            yield Finding.passed(db, f"DB instance {db.id} is in DB subnet group {db.db_subnet_group}", evidence=ev)
        else:
            yield Finding.failed(db, f"DB instance {db.id} has no DB subnet group (not in a VPC)", evidence=ev)
